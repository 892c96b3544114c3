"""The losses (bisenet.losses): OHEM, the booster sum, Dice, Lovász-softmax and class weights,
each against a hand computation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from bisenet.errors import UsageError
from bisenet.losses import (
    LOSS_KINDS,
    SegmentationLoss,
    class_weights_from_frequencies,
    cross_entropy,
    dice_loss,
    lovasz_grad,
    lovasz_softmax,
    ohem_cross_entropy,
    ohem_mask,
)


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
    assert loss.item() == pytest.approx(
        -(torch.log(torch.tensor(0.8)) + torch.log(torch.tensor(0.9))).item() / 2, rel=1e-5
    )


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


def _logits_from_probs(rows):
    """Logits (1, C, 1, n) whose softmax at pixel j is rows[j] (each row sums to 1)."""
    return torch.log(torch.tensor(rows)).T.reshape(1, len(rows[0]), 1, len(rows))


# Two labelled pixels, two classes: pixel a is class 0 with p = (0.8, 0.2), pixel b class 1 with
# p = (0.4, 0.6); a third pixel, ignored, has arbitrary (confidently wrong) logits.
TWO_PIXELS = _logits_from_probs([[0.8, 0.2], [0.4, 0.6], [0.01, 0.99]])
TWO_TARGET = torch.tensor([[[0, 1, 255]]])


def test_dice_by_hand_over_the_labelled_pixels():
    # class 0: sum(p*y) = 0.8, sum(p) = 0.8 + 0.4 = 1.2, sum(y) = 1
    #   L_0 = 1 - (2*0.8 + 1) / (1.2 + 1 + 1) = 1 - 2.6/3.2 = 0.6/3.2 = 3/16
    # class 1: sum(p*y) = 0.6, sum(p) = 0.2 + 0.6 = 0.8, sum(y) = 1
    #   L_1 = 1 - (2*0.6 + 1) / (0.8 + 1 + 1) = 1 - 2.2/2.8 = 0.6/2.8 = 3/14
    # mean = (3/16 + 3/14) / 2 = (21 + 24) / 224 = 45/224 = 0.2008929
    assert dice_loss(TWO_PIXELS, TWO_TARGET).item() == pytest.approx(45 / 224, rel=1e-5)
    # weights (1, 3): (1 * 3/16 + 3 * 3/14) / 4 = (21 + 72) / 448 = 93/448 = 0.2075893
    assert dice_loss(TWO_PIXELS, TWO_TARGET, class_weights=[1.0, 3.0]).item() == pytest.approx(93 / 448, rel=1e-5)
    # smooth 0: L_0 = 1 - 1.6/2.2 = 3/11, L_1 = 1 - 1.2/1.8 = 1/3, mean = (9 + 11) / 66 = 10/33
    assert dice_loss(TWO_PIXELS, TWO_TARGET, smooth=0.0).item() == pytest.approx(10 / 33, rel=1e-5)


def test_dice_of_a_perfect_prediction_is_zero_even_with_an_absent_class():
    target = torch.tensor([[[0, 1], [1, 255]]])  # class 2 in neither target nor prediction
    logits = 30.0 * F.one_hot(target.clamp(max=2), 3).permute(0, 3, 1, 2).float()
    assert dice_loss(logits, target).item() == pytest.approx(0.0, abs=1e-6)
    # the absent class alone: L_2 = sum(p_2) / (sum(p_2) + 1) with sum(p_2) ~ 3 e^-30 ~ 0
    assert dice_loss(logits, target, class_weights=[0.0, 0.0, 1.0]).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(UsageError, match="2 class weights for 3 classes"):
        dice_loss(logits, target, class_weights=[1.0, 1.0])


def test_lovasz_grad_by_hand():
    # column 0: sorted pixels (not class, class): Delta_J({b}) = 1/|{a} U {b}| = 1/2, then
    # Delta_J({b, a}) = 2/2 = 1, so g = (1/2, 1/2); column 1: (class, not class):
    # Delta_J({b}) = 1/1, Delta_J({b, a}) = 2/2, so g = (1, 0)
    gt_sorted = torch.tensor([[0.0, 1.0], [1.0, 0.0]])
    assert lovasz_grad(gt_sorted).tolist() == [[0.5, 1.0], [0.5, 0.0]]


def test_lovasz_softmax_two_pixels_by_hand():
    # class 0: errors m = (|1 - 0.8|, |0 - 0.4|) = (0.2, 0.4); sorted: b (0.4), a (0.2);
    #   g = (1/2, 1/2) (test above): 0.4 * 1/2 + 0.2 * 1/2 = 0.3
    # class 1: m = (|0 - 0.2|, |1 - 0.6|) = (0.2, 0.4); sorted: b (0.4), a (0.2);
    #   g = (1, 0): 0.4 * 1 + 0.2 * 0 = 0.4;  mean = (0.3 + 0.4) / 2 = 0.35
    assert lovasz_softmax(TWO_PIXELS, TWO_TARGET).item() == pytest.approx(0.35, rel=1e-5)
    # three classes, class 2 absent: a (class 0) p = (0.7, 0.2, 0.1), b (class 1) p = (0.2, 0.6, 0.2)
    # class 0: m = (0.3, 0.2), sorted a, b, g = (1, 0) [Delta({a}) = 1/1]: 0.3
    # class 1: m = (0.2, 0.4), sorted b, a, g = (1, 0): 0.4
    # class 2: m = (0.1, 0.2), no pixel of the class, Delta = |M|/|M| = 1 for any M, g = (1, 0): 0.2
    logits = _logits_from_probs([[0.7, 0.2, 0.1], [0.2, 0.6, 0.2]])
    target = torch.tensor([[[0, 1]]])
    assert lovasz_softmax(logits, target, classes="present").item() == pytest.approx((0.3 + 0.4) / 2, rel=1e-5)
    assert lovasz_softmax(logits, target, classes="all").item() == pytest.approx((0.3 + 0.4 + 0.2) / 3, rel=1e-5)
    with pytest.raises(UsageError, match="present, all"):
        lovasz_softmax(logits, target, classes="some")


def test_lovasz_at_hard_predictions_is_one_minus_iou():
    # target  0 0 1 | 1 2 2      prediction  0 1 1 | 1 2 0      (+ an ignored pixel predicted 2)
    # class 0: |{0,1} & {0,5}| / |{0,1,5}| = 1/3;  class 1: |{2,3} & {1,2,3}| / 3 = 2/3;
    # class 2: |{4,5} & {4}| / |{4,5}| = 1/2;  mean(1 - IoU) = (2/3 + 1/3 + 1/2) / 3 = 0.5
    target = torch.tensor([[[0, 0, 1, 1, 2, 2, 255]]])
    pred = torch.tensor([[[0, 1, 1, 1, 2, 0, 2]]])
    hard = 50.0 * F.one_hot(pred, 3).permute(0, 3, 1, 2).float()  # softmax 1 or e^-50 ~ 0
    assert lovasz_softmax(hard, target).item() == pytest.approx(0.5, abs=1e-6)
    perfect = 50.0 * F.one_hot(target.clamp(max=2), 3).permute(0, 3, 1, 2).float()
    assert lovasz_softmax(perfect, target).item() == pytest.approx(0.0, abs=1e-6)


def test_class_weighted_cross_entropy_by_hand():
    # pixel a: class 0, p_true 0.8; pixel b: class 1, p_true 0.6; weights (1, 3):
    # (1 * -ln 0.8 + 3 * -ln 0.6) / (1 + 3) = (0.2231436 + 3 * 0.5108256) / 4 = 0.4389051
    weight = torch.tensor([1.0, 3.0])
    expected = 0.4389051
    assert cross_entropy(TWO_PIXELS, TWO_TARGET, weight=weight).item() == pytest.approx(expected, rel=1e-5)
    reference = F.cross_entropy(TWO_PIXELS, TWO_TARGET, weight=weight, ignore_index=255)
    assert reference.item() == pytest.approx(expected, rel=1e-5)
    # OHEM keeping both pixels (p_true < 0.9) averages them the same way
    assert ohem_cross_entropy(TWO_PIXELS, TWO_TARGET, 0.9, 1, weight=weight).item() == pytest.approx(expected, rel=1e-5)
    # unweighted: (0.2231436 + 0.5108256) / 2; only weight-0 pixels: 0, not NaN
    assert cross_entropy(TWO_PIXELS, TWO_TARGET).item() == pytest.approx(0.3669846, rel=1e-5)
    assert cross_entropy(TWO_PIXELS, torch.tensor([[[0, 255, 255]]]), weight=[0.0, 1.0]).item() == 0.0


def test_enet_and_median_weights_by_hand():
    counts = [700, 200, 100, 0]  # shares 0.7, 0.2, 0.1, 0
    # ENet 1 / ln(1.02 + p): ln 1.72 = 0.542324, ln 1.22 = 0.198851, ln 1.12 = 0.113329, ln 1.02 = 0.0198026
    assert class_weights_from_frequencies(counts) == pytest.approx([1.843915, 5.028895, 8.823891, 50.49835], rel=1e-6)
    # median of (0.7, 0.2, 0.1) = 0.2: 0.2/0.7, 0.2/0.2, 0.2/0.1, and 0 for the empty class
    assert class_weights_from_frequencies(counts, "median") == pytest.approx([2 / 7, 1.0, 2.0, 0.0])
    assert class_weights_from_frequencies(torch.tensor([1, 3]), "median") == pytest.approx([2.0, 2 / 3])  # median 0.5
    assert all(math.isfinite(w) for w in class_weights_from_frequencies([5, 0, 0], c=1.5))
    for bad in ([0, 0], [1, -1], [1, float("nan")]):
        with pytest.raises(UsageError, match="pixel counts"):
            class_weights_from_frequencies(bad)
    with pytest.raises(UsageError, match="enet, median"):
        class_weights_from_frequencies(counts, "inverse")
    with pytest.raises(UsageError, match="c must be > 1"):
        class_weights_from_frequencies(counts, c=1.0)


def test_segmentation_loss_kinds():
    torch.manual_seed(0)
    main, aux = torch.randn(2, 3, 4, 4), [torch.randn(2, 3, 4, 4)]
    target = torch.randint(0, 3, (2, 4, 4))
    target[0, 0] = 255
    weights = [0.5, 1.0, 2.0]
    ce, dice = cross_entropy(main, target), dice_loss(main, target)
    assert SegmentationLoss("dice", (1,))(main, aux, target)["loss_main"].item() == pytest.approx(dice.item())
    terms = SegmentationLoss("ce+dice", (0.4,))(main, aux, target)
    assert terms["loss_main"].item() == pytest.approx((ce + dice).item())
    aux_sum = cross_entropy(aux[0], target) + dice_loss(aux[0], target)
    assert terms["loss"].item() == pytest.approx((ce + dice + 0.4 * aux_sum).item())
    weighted = SegmentationLoss("ce+dice", (1,), class_weights=weights)(main, aux, target)["loss_main"]
    expected = cross_entropy(main, target, weight=weights) + dice_loss(main, target, class_weights=weights)
    assert weighted.item() == pytest.approx(expected.item())
    lovasz = [
        SegmentationLoss("lovasz", (1,), class_weights=w)(main, aux, target)["loss_main"] for w in (None, weights)
    ]
    assert lovasz[0].item() == lovasz[1].item() == pytest.approx(lovasz_softmax(main, target).item())
    ohem = SegmentationLoss("ohem", (1,), ohem_min_kept=4, class_weights=weights)(main, aux, target)
    assert ohem["loss_aux0"].item() == pytest.approx(cross_entropy(aux[0], target, weight=weights).item())
    assert set(LOSS_KINDS) == {"ce", "ohem", "dice", "lovasz", "ce+dice"}
    with pytest.raises(UsageError, match="ce, ohem, dice, lovasz, ce\\+dice, got 'focal'"):
        SegmentationLoss("focal")
    with pytest.raises(UsageError, match="class weights"):
        SegmentationLoss("ce", class_weights=[1.0, -1.0, 1.0])


@pytest.mark.parametrize("kind", LOSS_KINDS)
def test_gradients_are_finite_and_an_unlabelled_batch_gives_zero(kind):
    torch.manual_seed(1)
    logits = torch.randn(2, 3, 4, 4, requires_grad=True)
    target = torch.randint(0, 3, (2, 4, 4))
    target[:, :2] = 255
    criterion = SegmentationLoss(kind, (), ohem_min_kept=8, class_weights=[1.0, 2.0, 0.5])
    loss = criterion(logits, [], target)["loss"]
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all() and logits.grad.abs().sum() > 0
    assert logits.grad[:, :, :2].abs().max() == 0  # ignored pixels get no gradient
    logits.grad = None
    empty = criterion(logits, [], torch.full_like(target, 255))["loss"]
    empty.backward()
    assert empty.item() == 0.0 and torch.isfinite(logits.grad).all()
