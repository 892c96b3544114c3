"""The `cpu` profile's training runs, measured: ``cpu_profile_training.csv`` (one row per recipe)
and ``cpu_profile_training_logs.csv`` (every record the runs logged), both with provenance.

Run from the repository root, alone on the machine:

    python benchmarks/cpu_training_profile.py --out book/data

It generates the MiniCity the runs train on (``bisenet minicity --train 200 --val 30 --size
256x512 --seed 0``) into a temporary folder, trains each recipe with ``bisenet train --recipe
NAME --data-root DIR --work-dir DIR`` in a child process of its own (so that its wall clock and
its peak resident memory are its own), and reads the run's ``log.jsonl``. Every row of both files
carries the same provenance (``bisenet.provenance``, taken when this script starts: the
children run the same code on the same machine), the data and the command that trained it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import preamble  # noqa: E402 - beside this script

preamble.use_repository()

from bisenet.atomic import write_csv  # noqa: E402
from bisenet.engine.run_log import LOG_FILE, read_log  # noqa: E402
from bisenet.provenance import provenance  # noqa: E402
from bisenet.recipes import get_recipe  # noqa: E402

RECIPES = ("bisenetv2-cpu", "bisenetv1-r18-cpu")
MINICITY = {"train": 200, "val": 30, "size": "256x512", "seed": 0}
SUMMARY_FILE = "cpu_profile_training.csv"
LOGS_FILE = "cpu_profile_training_logs.csv"
# the log's columns, in this order (a column no record has is left out)
LOG_COLUMNS = (
    "kind",
    "iter",
    "lr",
    "loss",
    "loss_main",
    "loss_aux0",
    "loss_aux1",
    "loss_aux2",
    "loss_aux3",
    "time",
    "data_time",
    "memory_mb",
    "mIoU",
    "mAcc",
    "aAcc",
)


def minicity_description(root: str = "DIR") -> str:
    """What the runs train on, as the files' ``data`` column says it."""
    m = MINICITY
    return (
        f"MiniCity {m['size']}, {m['train']} train / {m['val']} val, seed {m['seed']} (bisenet minicity "
        f"--out {root} --train {m['train']} --val {m['val']} --size {m['size']} --seed {m['seed']})"
    )


def train_command(recipe: str) -> str:
    """The command the files' ``command`` column records for ``recipe`` (paths as DIR)."""
    return f"bisenet train --recipe {recipe} --data-root DIR --work-dir DIR"


def run_tables(runs: list[dict], info: dict[str, str], data: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary, logs) of finished runs, every row with ``data``, its command and ``info``.

    Args:
        runs: one dict per run: ``recipe`` (name), ``work_dir`` (holding its ``log.jsonl``),
            ``wall_clock_s`` and ``peak_rss_mb`` (required).
        info: the provenance record (:func:`bisenet.provenance.provenance`) (required).
        data: what the runs trained on (required).
    """
    summaries, logs = [], []
    for run in runs:
        recipe = get_recipe(run["recipe"])
        log = read_log(Path(run["work_dir"]) / LOG_FILE)
        train, val = log[log["kind"] == "train"], log[log["kind"] == "val"]
        tail = {"data": data, "command": train_command(recipe.name), **info}
        summaries.append(
            {
                "recipe": recipe.name,
                "iterations": int(train["iter"].max()),
                "batch": recipe.global_batch,
                "crop": f"{recipe.crop_size[0]}x{recipe.crop_size[1]}",
                "s_per_iter_median": round(float(train["time"].median()), 3),
                "data_s_per_iter_median": round(float(train["data_time"].median()), 4),
                "wall_clock_s": round(float(run["wall_clock_s"]), 1),
                "final_val_mIoU": round(100 * float(val["mIoU"].iloc[-1]), 2),
                "best_val_mIoU": round(100 * float(val["mIoU"].max()), 2),
                "final_val_aAcc": round(100 * float(val["aAcc"].iloc[-1]), 2),
                "peak_rss_mb": round(float(run["peak_rss_mb"])),
                **tail,
            }
        )
        logs.append(log.assign(recipe=recipe.name, **tail))
    logs = pd.concat(logs, ignore_index=True)
    columns = [c for c in LOG_COLUMNS if c in logs.columns]
    return pd.DataFrame(summaries), logs[["recipe", *columns, *tail]]


def train_measured(recipe: str, data_root: Path, work_dir: Path) -> dict:
    """Train ``recipe`` in a child process; its wall clock and peak resident memory."""
    command = [
        sys.executable,
        "-m",
        "bisenet",
        "train",
        "--recipe",
        recipe,
        "--data-root",
        str(data_root),
        "--work-dir",
        str(work_dir),
    ]
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit status {child.returncode}")
    return {"recipe": recipe, "work_dir": work_dir, "wall_clock_s": wall, "peak_rss_mb": usage.ru_maxrss / 1024}


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("--recipes", default=",".join(RECIPES))
    p.add_argument("--out", type=Path, help=f"folder for {SUMMARY_FILE} and {LOGS_FILE} (default: print only)")
    p.add_argument(
        "--cache",
        type=Path,
        help="train in this book cache instead of a temporary folder: on its cpu-profile MiniCity "
        "(made there if missing), into runs/<model>-cpu-minicity, where `bisenet book-cache` "
        "(BISENET_CACHE=the same folder, BISENET_PROFILE=cpu) then finds the runs done",
    )
    args = p.parse_args()
    info = provenance("cpu")
    with tempfile.TemporaryDirectory(prefix="bisenet-cpu-profile-") as tmp:
        m = MINICITY
        root = args.cache / f"minicity-{m['size']}" if args.cache else Path(tmp) / "minicity"
        if not (root / "leftImg8bit").is_dir():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "bisenet",
                    "minicity",
                    "--out",
                    str(root),
                    "--train",
                    str(m["train"]),
                    "--val",
                    str(m["val"]),
                    "--size",
                    m["size"],
                    "--seed",
                    str(m["seed"]),
                ],
                check=True,
            )

        def work_dir(recipe: str) -> Path:
            if args.cache:  # the book cache's run folder of the recipe's model (bisenet.book.trained.run_dir)
                return args.cache / "runs" / f"{get_recipe(recipe).model}-cpu-minicity"
            return Path(tmp) / recipe

        runs = [train_measured(r, root, work_dir(r)) for r in args.recipes.split(",")]
        summary, logs = run_tables(runs, info, minicity_description())
    print(summary.to_string())
    if args.out:
        write_csv(args.out / SUMMARY_FILE, summary, overwrite=args.overwrite)
        write_csv(args.out / LOGS_FILE, logs, overwrite=args.overwrite)
        print(f"wrote {args.out / SUMMARY_FILE} and {args.out / LOGS_FILE}")


if __name__ == "__main__":
    main()
