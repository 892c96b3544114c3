"""V1 against V2 at one budget: the rows and curves of benchmarks/cpu_budget.sh's runs, for the book.

Reads the V1 R-18 runs (``OUT/B/bisenetv1-r18-seed*``) and the V2 runs (the ``cpu-256`` grid's
``OUT/A/bga+booster-seed*``) that ``benchmarks/cpu_budget.sh`` trained with one budget
(``bisenet.recipes.BUDGET_RECIPES``), and writes one row per run (model, seed, iterations,
crop, batch, precision, final val mIoU, provenance) and every validation of every run::

    python benchmarks/cpu_budget_table.py /work/runs --csv book/data/budget_runs_cpu.csv \\
        --curves book/data/budget_curves_cpu.csv

Unfinished runs are written too, marked ``complete`` False (the chapter shows only complete ones).
"""

from __future__ import annotations

from pathlib import Path

import preamble  # noqa: E402 - beside this script

preamble.use_repository()

from bisenet.atomic import write_csv  # noqa: E402
from bisenet.budget import budget_runs, last_fifth_gain  # noqa: E402
from bisenet.profiles import BUDGET_MINICITY  # noqa: E402


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("out", type=Path, help="the folder benchmarks/cpu_budget.sh trained in")
    p.add_argument("--csv", type=Path, required=True, help="one row per run")
    p.add_argument("--curves", type=Path, required=True, help="one row per validation")
    args = p.parse_args()
    runs = sorted(args.out.glob("B/bisenetv1-r18-seed*")) + sorted(args.out.glob("A/bga+booster-seed*"))
    spec = BUDGET_MINICITY
    data = (
        f"MiniCity {spec.size[0]}x{spec.size[1]}, {spec.train} train / {spec.val} val, seed 0 "
        f"(bisenet minicity --train {spec.train} --val {spec.val} --size {spec.size[0]}x{spec.size[1]})"
    )
    rows, curves = budget_runs(runs, data=data)
    rows["command"] = "benchmarks/cpu_budget.sh A|B OUT"
    gains = {key: last_fifth_gain(c) for key, c in curves.groupby(["model", "seed"])}
    rows["last_fifth_gain"] = [round(gains[(m, s)], 2) for m, s in zip(rows["model"], rows["seed"])]
    print(rows[["model", "seed", "iters", "last_val_iter", "complete", "mIoU", "last_fifth_gain"]].to_string())
    write_csv(args.csv, rows, overwrite=args.overwrite)
    write_csv(args.curves, curves, overwrite=args.overwrite)
    print(f"wrote {args.csv} and {args.curves}")


if __name__ == "__main__":
    main()
