"""V1 against V2 at one budget: the rows and validation curves of runs trained with the shared CPU
budget (:data:`bisenet.recipes.BUDGET_RECIPES`: the same iterations, crops, batch and precision
for both networks), read back from their run folders.

A run folder is what :func:`bisenet.engine.trainer.train` leaves (``run.json``, ``log.jsonl``
with a validation record every ``val_interval`` iterations): ``benchmarks/cpu_budget.sh`` trains
V1 R-18 with ``bisenet train --recipe bisenetv1-r18-cpu-1200 --seed S`` and V2 as the
``bga+booster`` rows of the ``cpu-256`` ablation grid (the same budget). :func:`budget_runs`
turns the folders into one row per run (model, seed, iterations, crop, batch, precision, final
val mIoU, provenance) and the curves; it refuses runs of different budgets, so a table it writes
compares networks, not schedules.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bisenet.errors import UsageError

# what must be equal between the runs of one comparison
BUDGET_FIELDS = ("iters", "crop", "batch", "precision", "dataset", "data")


def _run(work_dir: Path) -> tuple[dict, pd.DataFrame]:
    from bisenet.engine.run_log import LOG_FILE, RUN_FILE, read_log, read_run_info

    info = read_run_info(work_dir)
    if info is None or not (work_dir / LOG_FILE).is_file():
        raise UsageError(
            f"{work_dir} holds no training run ({RUN_FILE} and {LOG_FILE}): give the folders "
            "`bisenet train` or `bisenet ablate --keep-runs` trained in"
        )
    recipe = info["recipe"]
    records = read_log(work_dir / LOG_FILE)
    val = records[records["kind"] == "val"].drop_duplicates("iter", keep="last").sort_values("iter")
    run = {
        "model": recipe["model"],
        "seed": recipe["seed"],
        "recipe": recipe["name"],
        "iters": recipe["iters"],
        "crop": "x".join(map(str, recipe["crop_size"])),
        "batch": f"{recipe['gpus']}x{recipe['batch_per_gpu']}",
        "precision": recipe.get("amp") or "fp32",
        "channels_last": bool(info.get("channels_last", False)),
        "lr": recipe["lr"],
        "dataset": recipe["dataset"],
        "aux_heads": len(recipe["aux_weights"]),
        **{k: info.get(k, "") for k in ("date", "commit", "torch", "cpu", "threads", "device")},
    }
    return run, val


def budget_runs(work_dirs: list[str | Path], data: str = "") -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rows, curves) of the runs in ``work_dirs``.

    Args:
        work_dirs: run folders, one per (model, seed).
        data: the data they trained on, in words (e.g. "MiniCity 256x512, 200 train / 30 val"),
            recorded in every row.

    Returns:
        rows: one per run: model, seed, recipe, iters, crop, batch, precision, lr, the last
        validation's mIoU/mAcc/aAcc (percent) and iteration, whether the run reached its end, and
        its provenance (date, commit, torch, cpu, threads, device).
        curves: one per (run, validation): model, seed, iter, mIoU, mAcc, aAcc.

    Raises:
        UsageError: a folder holds no run, two folders hold the same (model, seed), or the runs'
        budgets (iterations, crop, batch, precision, dataset) differ.
    """
    rows, curves = [], []
    for work_dir in map(Path, work_dirs):
        run, val = _run(work_dir)
        run["data"] = data
        last = val.iloc[-1] if len(val) else None
        rows.append(
            {
                **run,
                "mIoU": 100 * last["mIoU"] if last is not None else float("nan"),
                "mAcc": 100 * last["mAcc"] if last is not None else float("nan"),
                "aAcc": 100 * last["aAcc"] if last is not None else float("nan"),
                "last_val_iter": int(last["iter"]) if last is not None else 0,
                "complete": last is not None and int(last["iter"]) == run["iters"],
                "run_dir": work_dir.name,
            }
        )
        for record in val.itertuples():
            curves.append(
                {
                    "model": run["model"],
                    "seed": run["seed"],
                    "iter": int(record.iter),
                    "mIoU": 100 * record.mIoU,
                    "mAcc": 100 * record.mAcc,
                    "aAcc": 100 * record.aAcc,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        raise UsageError("no run folders given")
    twice = table[table.duplicated(["model", "seed"], keep=False)]
    if len(twice):
        raise UsageError(f"two runs of the same (model, seed): {sorted(twice['run_dir'])}")
    for field in BUDGET_FIELDS:
        if table[field].nunique() > 1:
            raise UsageError(
                f"the runs differ in {field} ({sorted(table[field].astype(str).unique())}): a "
                "comparison at one budget needs runs of the same budget"
            )
    return table, pd.DataFrame(curves)


def last_fifth_gain(curve: pd.DataFrame) -> float:
    """How much a validation curve (columns iter, mIoU) rose over the last fifth of its run: the
    last validation's mIoU minus that of the validation nearest to 80 % of the way (the book's
    criterion for a curve that has flattened: a gain under 1 point)."""
    curve = curve.sort_values("iter")
    end = curve["iter"].iloc[-1]
    at = curve.iloc[(curve["iter"] - 0.8 * end).abs().argmin()]
    return float(curve["mIoU"].iloc[-1] - at["mIoU"])
