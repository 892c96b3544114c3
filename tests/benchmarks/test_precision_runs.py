"""benchmarks/precision_runs.py, the writer of book/data/cpu_precision_runs.csv: a row says the
run's precision, seed and final mIoU as its own files do, and the committed file holds, for each
recipe and seed, runs of both precisions."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from precision_runs import run_row

from bisenet.engine.run_log import read_log
from bisenet.engine.trainer import train
from bisenet.recipes import get_recipe

DATA = Path(__file__).resolve().parents[2] / "book" / "data"


def test_a_row_is_what_the_run_says(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=2, amp="bf16", channels_last=True, seed=3)
    result = train(recipe, data_root=minicity, work_dir=tmp_path / "run", progress=False)
    row = run_row(tmp_path / "run")
    log = read_log(result.log)
    assert (row["recipe"], row["seed"], row["precision"], row["iterations"]) == (
        "bisenetv2-smoke",
        3,
        "bf16 + channels_last",
        2,
    )
    assert row["final_val_mIoU"] == round(100 * log[log.kind == "val"]["mIoU"].iloc[-1], 2)
    assert row["threads"] and row["commit"] and "--seed 3" in row["command"]
    assert "--amp none" not in row["command"]


def test_the_committed_runs_pair_the_precisions_seed_by_seed():
    runs = pd.read_csv(DATA / "cpu_precision_runs.csv")
    assert set(runs.precision) == {"fp32", "bf16 + channels_last"}
    pairs = runs.groupby(["recipe", "seed"]).precision.nunique()
    assert (pairs == 2).all(), pairs
    assert runs[["date", "commit", "cpu", "threads", "command"]].notna().all().all()
