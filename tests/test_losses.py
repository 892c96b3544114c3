"""OHEM and the booster loss (bisenet.losses)."""

from __future__ import annotations

import pytest
import torch

from bisenet.losses import SegmentationLoss, ohem_cross_entropy, ohem_mask


def _logits_with_true_class_probs(p_true, num_classes=2):
    """Logits (1, C, 1, n) whose softmax gives the true class (0) the probabilities p_true."""
    p = torch.tensor(p_true)
    logits = torch.zeros(1, num_classes, 1, len(p_true))
    logits[0, 0, 0] = torch.log(p)
    logits[0, 1, 0] = torch.log(1 - p)
    return logits, torch.zeros(1, 1, len(p_true), dtype=torch.long)


def test_ohem_keeps_exactly_the_hard_pixels():
    logits, target = _logits_with_true_class_probs([0.1, 0.5, 0.69, 0.71, 0.9, 0.3])
    keep = ohem_mask(logits, target, thresh=0.7, min_kept=2)
    assert keep.flatten().tolist() == [True, True, True, False, False, True]


def test_ohem_min_kept_floor_and_ignore():
    logits, target = _logits_with_true_class_probs([0.95, 0.8, 0.99, 0.9, 0.6])
    target[0, 0, 4] = 255  # the only hard pixel is ignored
    keep = ohem_mask(logits, target, thresh=0.7, min_kept=2)
    assert keep.flatten().tolist() == [False, True, False, True, False]  # the 2 lowest labelled
    assert ohem_mask(logits, target, 0.7, min_kept=10).flatten().tolist() == [True, True, True, True, False]
    loss = ohem_cross_entropy(logits, target, 0.7, min_kept=2)
    assert loss.item() == pytest.approx(-(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.9))).item() / 2, rel=1e-5)


def test_booster_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    main, aux = torch.randn(2, 3, 8, 8), [torch.randn(2, 3, 8, 8) for _ in range(2)]
    target = torch.randint(0, 3, (2, 8, 8))
    terms = SegmentationLoss("ce", aux_weights=(0.4, 1.5))(main, aux, target)
    assert set(terms) == {"loss", "loss_main", "loss_aux0", "loss_aux1"}
    expected = terms["loss_main"] + 0.4 * terms["loss_aux0"] + 1.5 * terms["loss_aux1"]
    assert terms["loss"].item() == pytest.approx(expected.item())
    all_ignored = torch.full_like(target, 255)
    assert SegmentationLoss("ce", (1, 1))(main, aux, all_ignored)["loss"].item() == 0.0
