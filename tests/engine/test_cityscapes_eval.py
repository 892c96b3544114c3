"""Agreement with the official Cityscapes evaluation script (bisenet.engine.cityscapes_eval)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from bisenet import build_model
from bisenet.data import Cityscapes, eval_pipeline
from bisenet.data.cityscapes import TRAIN_ID_TO_LABEL_ID
from bisenet.engine import evaluate
from bisenet.engine.cityscapes_eval import CityscapesEvalError, official_miou
from bisenet.engine.evaluator import prediction_path


def test_evaluate_agrees_with_cityscapesscripts(val_tree, tmp_path):
    torch.manual_seed(0)
    model = build_model("bisenetv2")
    for m in model.modules():  # varied predictions from a random network
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.fill_(0.3)
    dataset = Cityscapes(val_tree, "val", transform=eval_pipeline(None))
    preds = tmp_path / "preds"
    ours = evaluate(model, dataset, prediction_dir=preds, label_ids=TRAIN_ID_TO_LABEL_ID, progress=False)
    files = [prediction_path(img, preds) for img, _ in dataset.samples]
    official = official_miou(files, [lab for _, lab in dataset.samples])
    assert ours.classes_evaluated >= 3
    assert ours.mIoU == pytest.approx(official["mIoU"], abs=1e-6)
    for name, iou in ours.iou.items():
        if iou is None:
            assert np.isnan(official["iou"][name])
        else:
            assert iou == pytest.approx(official["iou"][name], abs=1e-6)


def test_minicity_val_agrees_with_cityscapesscripts(tmp_path):
    """The promise of the data chapter: on a MiniCity val split, the package's mIoU is the
    official script's, to 1e-6 (predictions of a real model, here a random BiSeNetV1)."""
    from bisenet.data import MiniCity
    from bisenet.data.minicity import generate_minicity

    root = generate_minicity(tmp_path / "mc", train=1, val=4, size=(64, 128), seed=3)
    torch.manual_seed(0)
    model = build_model("bisenetv1-r18")
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.fill_(0.2)
    dataset = MiniCity(root, "val", transform=eval_pipeline(None))
    preds = tmp_path / "preds"
    ours = evaluate(model, dataset, prediction_dir=preds, label_ids=TRAIN_ID_TO_LABEL_ID, progress=False)
    official = official_miou(
        [prediction_path(i, preds) for i, _ in dataset.samples], [lab for _, lab in dataset.samples]
    )
    assert ours.mIoU == pytest.approx(official["mIoU"], abs=1e-6)
    assert ours.classes_evaluated >= 5


def test_official_script_errors_become_exceptions(tmp_path, write_png):
    write_png(tmp_path / "pred.png", np.zeros((10, 10)))
    write_png(tmp_path / "gt_gtFine_labelIds.png", np.zeros((12, 10)))
    with pytest.raises(CityscapesEvalError, match="not equal"):
        official_miou([tmp_path / "pred.png"], [tmp_path / "gt_gtFine_labelIds.png"])
