"""benchmarks/cpu_training_profile.py, the writer of book/data/cpu_profile_training.csv and
cpu_profile_training_logs.csv: every row of both carries the runs' provenance, and the summary is
what the logs say (checked on the committed files, without training anything)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from cpu_training_profile import LOGS_FILE, SUMMARY_FILE, minicity_description, run_tables, train_command

from bisenet.provenance import provenance

DATA = Path(__file__).resolve().parents[2] / "book" / "data"
PROVENANCE = ["data", "command", "date", "commit", "torch", "python", "cpu", "threads", "device"]


@pytest.fixture(scope="module")
def committed():
    return pd.read_csv(DATA / SUMMARY_FILE), pd.read_csv(DATA / LOGS_FILE)


def write_runs(logs: pd.DataFrame, root: Path) -> dict[str, Path]:
    """Each recipe's committed log back as the log.jsonl a run writes."""
    dirs = {}
    for recipe, rows in logs.groupby("recipe"):
        dirs[recipe] = root / recipe
        dirs[recipe].mkdir()
        records = rows.drop(columns=["recipe", *PROVENANCE]).to_dict("records")
        lines = [json.dumps({k: v for k, v in r.items() if pd.notna(v)}) for r in records]
        (dirs[recipe] / "log.jsonl").write_text("".join(line + "\n" for line in lines))
    return dirs


def test_every_committed_row_has_the_provenance_of_its_run(committed):
    summary, logs = committed
    assert set(PROVENANCE) <= set(summary.columns) and set(PROVENANCE) <= set(logs.columns)
    assert logs[PROVENANCE].notna().all().all()
    by_recipe = summary.set_index("recipe")[PROVENANCE]
    for recipe, rows in logs.groupby("recipe"):
        assert (rows[PROVENANCE] == by_recipe.loc[recipe]).all().all(), recipe
    assert set(logs["recipe"]) == set(summary["recipe"])


def test_the_writer_rebuilds_the_committed_summary_from_the_committed_logs(committed, tmp_path):
    summary, logs = committed
    dirs = write_runs(logs, tmp_path)
    measured = summary.set_index("recipe")
    recorded = PROVENANCE[2:] + [c for c in ("load_1min",) if c in measured.columns]  # newer files
    info = measured.iloc[0][recorded].astype(str).to_dict()
    runs = [
        {
            "recipe": r,
            "work_dir": d,
            "wall_clock_s": measured.loc[r, "wall_clock_s"],
            "peak_rss_mb": measured.loc[r, "peak_rss_mb"],
        }
        for r, d in dirs.items()
    ]
    rebuilt, rebuilt_logs = (as_written(t) for t in run_tables(runs, info, minicity_description()))
    key = ["recipe", "kind", "iter"]
    pd.testing.assert_frame_equal(rebuilt.set_index("recipe").loc[measured.index], measured)
    pd.testing.assert_frame_equal(rebuilt_logs.set_index(key).loc[logs.set_index(key).index].reset_index(), logs)


def as_written(table: pd.DataFrame) -> pd.DataFrame:
    """The table as a CSV of book/data reads back."""
    return pd.read_csv(io.StringIO(table.to_csv(index=False)))


def test_a_new_run_gets_this_machines_provenance(tmp_path):
    (tmp_path / "log.jsonl").write_text(
        json.dumps({"kind": "train", "iter": 10, "loss": 1.0, "time": 0.5, "data_time": 0.1})
        + "\n"
        + json.dumps({"kind": "val", "iter": 10, "mIoU": 0.1, "mAcc": 0.2, "aAcc": 0.3})
        + "\n"
    )
    info = provenance("cpu")
    run = {"recipe": "bisenetv2-cpu", "work_dir": tmp_path, "wall_clock_s": 12.0, "peak_rss_mb": 900}
    summary, logs = run_tables([run], info, "toy data")
    assert summary.loc[0, "final_val_mIoU"] == 10.0 and summary.loc[0, "iterations"] == 10
    for table in (summary, logs):
        assert (table["command"] == train_command("bisenetv2-cpu")).all() and (table["data"] == "toy data").all()
        for key, value in info.items():
            assert (table[key] == value).all(), key
