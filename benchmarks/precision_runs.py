"""fp32 against bf16 autocast + channels_last: the final MiniCity val mIoU of cpu-profile runs.

Reads finished training runs (each a work dir of ``bisenet train``: its ``run.json`` and
``log.jsonl``) and writes one row per run: recipe, seed, precision, the final and best val mIoU,
the median seconds per iteration, and the run's own provenance (from its ``run.json``: when,
at which commit, on which CPU, with how many threads). The runs behind
``book/data/cpu_precision_runs.csv`` were made with

    bisenet train --recipe bisenetv2-cpu --seed S --data-root DIR --work-dir DIR            (bf16)
    bisenet train --recipe bisenetv2-cpu --seed S --amp none --no-channels-last ...         (fp32)

(and the same for bisenetv1-r18-cpu), on the cpu profile's MiniCity, then

    python benchmarks/precision_runs.py --out book/data/cpu_precision_runs.csv RUN_DIR ...
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import preamble  # noqa: E402 - beside this script

preamble.use_repository()

from bisenet.atomic import write_csv  # noqa: E402
from bisenet.engine.run_log import LOG_FILE, RUN_FILE, read_log  # noqa: E402

PROVENANCE = ("date", "commit", "torch", "python", "cpu", "threads", "device", "load_1min")


def run_row(work_dir: Path) -> dict:
    """One finished run as a row (its recipe and provenance from run.json, metrics from the log)."""
    info = json.loads((work_dir / RUN_FILE).read_text())
    recipe = info["recipe"]
    log = read_log(work_dir / LOG_FILE)
    train, val = log[log["kind"] == "train"], log[log["kind"] == "val"]
    layout = info.get("channels_last", recipe.get("channels_last", False))
    precision = (recipe.get("amp") or "fp32") + (" + channels_last" if layout else "")
    return {
        "recipe": recipe["name"],
        "seed": recipe["seed"],
        "precision": precision,
        "iterations": int(train["iter"].max()),
        "final_val_mIoU": round(100 * float(val["mIoU"].iloc[-1]), 2),
        "best_val_mIoU": round(100 * float(val["mIoU"].max()), 2),
        "s_per_iter_median": round(float(train["time"].median()), 3),
        **{k: info.get(k, "") for k in PROVENANCE},
        "command": f"bisenet train --recipe {recipe['name']} --seed {recipe['seed']}"
        + ("" if recipe.get("amp") else " --amp none --no-channels-last")
        + " --data-root DIR --work-dir DIR",
    }


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("runs", nargs="+", type=Path, help="work dirs of finished runs")
    p.add_argument("--out", type=Path, help="the CSV to write (default: print only)")
    args = p.parse_args()
    table = pd.DataFrame([run_row(d) for d in args.runs]).sort_values(["recipe", "seed", "precision"])
    print(table[["recipe", "seed", "precision", "final_val_mIoU", "s_per_iter_median", "threads"]].to_string())
    if args.out:
        write_csv(args.out, table, overwrite=args.overwrite)
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
