"""Metrics on hand-computed cases."""

from __future__ import annotations

import math

import pytest
import torch

from bisenet.metrics import ConfusionMatrix


def test_hand_computed_case():
    # 3 classes; class 2 appears in neither prediction nor ground truth
    target = torch.tensor([[0, 0, 0, 1], [1, 1, 255, 255]])
    pred = torch.tensor([[0, 0, 1, 1], [1, 0, 2, 0]])
    cm = ConfusionMatrix(3)
    cm.update(pred, target)
    # labelled pixels: gt 0 -> pred 0,0,1 ; gt 1 -> pred 1,1,0
    assert cm.matrix.tolist() == [[2, 1, 0], [1, 2, 0], [0, 0, 0]]
    m = cm.compute(["a", "b", "c"])
    assert m.iou["a"] == pytest.approx(2 / 4) and m.iou["b"] == pytest.approx(2 / 4)
    assert m.iou["c"] is None and m.classes_evaluated == 2
    assert m.mIoU == pytest.approx(0.5)
    assert m.acc["a"] == pytest.approx(2 / 3) and m.mAcc == pytest.approx(2 / 3)
    assert m.aAcc == pytest.approx(4 / 6)
    frame = m.to_dataframe()
    assert math.isnan(frame.loc["c", "IoU"]) and frame.loc["a", "IoU"] == pytest.approx(50.0)
    assert '"mIoU": 0.5' in m.to_json()


def test_predicted_but_absent_class_counts_as_zero():
    cm = ConfusionMatrix(3)
    cm.update(torch.tensor([0, 2]), torch.tensor([0, 0]))
    m = cm.compute()
    assert m.iou["2"] == 0.0 and m.iou["1"] is None
    assert m.mIoU == pytest.approx((0.5 + 0.0) / 2)
    assert m.acc["2"] is None  # no ground-truth pixels


def test_accumulates_over_batches_and_matches_one_shot():
    g = torch.Generator().manual_seed(0)
    target = torch.randint(0, 5, (4, 16, 16), generator=g)
    target[target == 4] = 255
    pred = torch.randint(0, 4, (4, 16, 16), generator=g)
    one, many = ConfusionMatrix(4), ConfusionMatrix(4)
    one.update(pred, target)
    for p, t in zip(pred, target):
        many.update(p, t)
    assert torch.equal(one.matrix, many.matrix)
    assert one.matrix.sum() == (target != 255).sum()


def test_out_of_range_values_are_refused():
    cm = ConfusionMatrix(3)
    with pytest.raises(ValueError, match="target values must be in 0..2 or 255"):
        cm.update(torch.tensor([0]), torch.tensor([7]))
    with pytest.raises(ValueError, match="differ in shape"):
        cm.update(torch.tensor([0, 1]), torch.tensor([0]))
