"""A run folder damaged between two sessions (garbage or NUL bytes in its log, a checkpoint whose
fields were edited or broken, a checkpoint of a newer schema) is resumed where it can be, with a
warning naming what was left out, and refused in one line where it cannot: never a traceback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from bisenet.checkpoint import NewerCheckpointError, load_checkpoint
from bisenet.cli import main
from bisenet.engine.run_log import LOG_FILE, log_records
from bisenet.engine.trainer import train
from bisenet.recipes import get_recipe

RECIPE = get_recipe("bisenetv2-smoke").with_(iters=4, checkpoint_interval=2, val_interval=100)


@pytest.fixture(scope="module")
def stopped_once(minicity, tmp_path_factory):
    work = tmp_path_factory.mktemp("stopped") / "run"
    train(RECIPE, data_root=minicity, work_dir=work, stop_after=2, progress=False)
    return work


@pytest.fixture
def stopped_run(stopped_once, tmp_path):
    """A copy of a run stopped after its checkpoint at iteration 2 of 4."""
    return Path(shutil.copytree(stopped_once, tmp_path / "run"))


def edit_checkpoint(path, **fields):
    data = torch.load(path, weights_only=False)  # our own test file
    data.update(fields)
    torch.save(data, path)


@pytest.mark.parametrize(
    "damage", [b"garbage{", b"\x00" * 64, b"[1, 2]", b'{"iter": 3}', b'{"kind": "train", "iter": "x"}']
)
def test_a_damaged_log_line_is_left_out_with_a_warning_and_the_run_resumes(stopped_run, minicity, damage):
    log = stopped_run / LOG_FILE
    lines = log.read_bytes().split(b"\n")
    log.write_bytes(b"\n".join([lines[0], damage, *lines[1:]]))
    with pytest.warns(UserWarning, match=r"1 damaged line\(s\) left out \(line 2\)"):
        result = train(RECIPE, data_root=minicity, work_dir=stopped_run, resume=True, progress=False)
    assert result.iteration == 4
    assert [r["iter"] for r in log_records(log) if r["kind"] == "train"] == [1, 2, 3, 4]  # rewritten without it


@pytest.mark.parametrize(
    "field, value, says",
    [
        ("iteration", "abc", "'iteration' field holds 'abc'"),
        ("optimizer", {"state": 5}, "'optimizer' field"),
        ("rng", {"torch": "x"}, "'rng' field"),
        ("best_miou", "hi", "'best_miou' field"),
        ("recipe", [1, 2], "'recipe' field"),
        ("model", {"a": 1}, "'model' field"),
        ("iteration", -1, "'iteration' field holds -1"),
        ("iteration", 10**9, "past the end of its recipe's 4 iterations"),
        ("recipe", "bisenetv2-smoke", "'recipe' field"),
    ],
)
def test_a_checkpoint_with_a_damaged_field_is_named_and_skipped(stopped_run, minicity, field, value, says):
    path = stopped_run / "iter_2.pth"
    edit_checkpoint(path, **{field: value})
    with pytest.raises(Exception, match=says) as refused:
        load_checkpoint(path)
    assert type(refused.value).__name__ == "CheckpointError"
    with pytest.warns(UserWarning, match=f"skipping corrupt checkpoint.*{says}"):
        result = train(RECIPE, data_root=minicity, work_dir=stopped_run, resume=True, progress=False)
    assert result.iteration == 4  # started again from 0, as a run with no usable checkpoint


def test_a_training_state_that_does_not_fit_stops_the_resume_in_one_line(stopped_run, minicity):
    from bisenet.checkpoint import CheckpointError

    intact = (stopped_run / "iter_2.pth").read_bytes()
    for damage in ({"optimizer": {"state": {}, "param_groups": []}}, {"rng": None}):  # emptied, or left out
        (stopped_run / "iter_2.pth").write_bytes(intact)
        edit_checkpoint(stopped_run / "iter_2.pth", **damage)
        with pytest.raises(CheckpointError, match="its training state does not fit this run"):
            train(RECIPE, data_root=minicity, work_dir=stopped_run, resume=True, progress=False)


def test_a_checkpoint_of_a_newer_schema_stops_the_resume_in_one_line(stopped_run, minicity, capsys):
    edit_checkpoint(stopped_run / "iter_2.pth", format="bisenet-checkpoint-2")
    with pytest.raises(NewerCheckpointError, match="bisenet-checkpoint-2"):
        train(RECIPE, data_root=minicity, work_dir=stopped_run, resume=True, progress=False)
    args = ["train", "--recipe", "bisenetv2-smoke", "--data-root", str(minicity), "--work-dir", str(stopped_run)]
    assert main([*args, "--iters", "4", "--resume"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and "another version of the package" in err[-1]
    assert json.loads((stopped_run / LOG_FILE).read_text().splitlines()[-1])["iter"] <= 2  # nothing trained over it
