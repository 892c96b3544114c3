"""V1 against V2 at one budget (bisenet.budget): rows and curves read back from run folders."""

from __future__ import annotations

import pandas as pd
import pytest

from bisenet.budget import budget_runs, last_fifth_gain
from bisenet.engine.run_log import LOG_FILE, write_record, write_run_info
from bisenet.errors import UsageError
from bisenet.recipes import BUDGET_RECIPES


def _fake_run(folder, recipe, seed, curve):
    recipe = recipe.with_(seed=seed)
    write_run_info(
        folder,
        {
            "recipe": recipe.to_dict(),
            "date": "2026-12-07T00:00:00Z",
            "commit": "abc",
            "torch": "2.13.0+cpu",
            "cpu": "AMD EPYC",
            "threads": "1",
            "device": "cpu",
        },
    )
    for it, miou in curve:
        write_record(folder / LOG_FILE, {"kind": "train", "iter": it, "loss": 1.0})
        write_record(folder / LOG_FILE, {"kind": "val", "iter": it, "mIoU": miou, "mAcc": miou, "aAcc": 0.5})
    return folder


def test_budget_runs_rows_and_curves(tmp_path):
    v1, v2 = BUDGET_RECIPES["bisenetv1-r18"], BUDGET_RECIPES["bisenetv2"]
    assert (v1.iters, v1.crop_size, v1.global_batch, v1.amp) == (v2.iters, v2.crop_size, v2.global_batch, v2.amp)
    runs = [
        _fake_run(tmp_path / "a", v1, 0, [(600, 0.20), (960, 0.25), (1200, 0.255)]),
        _fake_run(tmp_path / "b", v2, 0, [(600, 0.18), (960, 0.20), (1200, 0.23)]),
        _fake_run(tmp_path / "c", v2, 1, [(600, 0.17)]),
    ]  # still training
    rows, curves = budget_runs(runs, data="MiniCity")
    assert rows[["model", "seed", "iters", "crop", "batch", "precision"]].values.tolist() == [
        ["bisenetv1-r18", 0, 1200, "256x256", "1x4", "fp32"],
        ["bisenetv2", 0, 1200, "256x256", "1x4", "fp32"],
        ["bisenetv2", 1, 1200, "256x256", "1x4", "fp32"],
    ]
    assert rows["mIoU"].round(2).tolist() == [25.5, 23.0, 17.0]
    assert rows["complete"].tolist() == [True, True, False]
    assert len(curves) == 7 and set(curves.columns) >= {"model", "seed", "iter", "mIoU"}
    v1_curve = curves[curves.model == "bisenetv1-r18"]
    assert last_fifth_gain(v1_curve) == pytest.approx(0.5)  # 25.5 at 1200 against 25.0 at 960


def test_budget_runs_refuses_runs_of_different_budgets(tmp_path):
    v1, v2 = BUDGET_RECIPES["bisenetv1-r18"], BUDGET_RECIPES["bisenetv2"]
    runs = [
        _fake_run(tmp_path / "a", v1, 0, [(1200, 0.2)]),
        _fake_run(tmp_path / "b", v2.with_(amp="bf16"), 0, [(1200, 0.2)]),
    ]
    with pytest.raises(UsageError, match="differ in precision"):
        budget_runs(runs)
    with pytest.raises(UsageError, match="holds no training run"):
        budget_runs([tmp_path / "nothing"])
    with pytest.raises(UsageError, match="same \\(model, seed\\)"):
        budget_runs([tmp_path / "a", _fake_run(tmp_path / "d", v1, 0, [(1200, 0.3)])])
    assert isinstance(last_fifth_gain(pd.DataFrame({"iter": [100], "mIoU": [5.0]})), float)
