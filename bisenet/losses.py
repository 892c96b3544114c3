"""Losses: cross-entropy with an ignore label and optional class weights, online hard example
mining (OHEM), soft Dice, Lovász-softmax, class weights from pixel counts (ENet; median
frequency balancing), and the booster's weighted sum of the main and auxiliary losses
(BiSeNetV2, Sec. 4.4; BiSeNetV1, Sec. 3.3: "auxiliary loss functions")."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bisenet.data.base import IGNORE_INDEX
from bisenet.errors import UsageError

LOSS_KINDS = ("ce", "ohem", "dice", "lovasz", "ce+dice")
WEIGHT_METHODS = ("enet", "median")
LOVASZ_CLASSES = ("present", "all")


def _zero(logits: torch.Tensor) -> torch.Tensor:
    """A 0 that keeps a gradient path to ``logits`` (for batches with nothing to average)."""
    return logits.sum() * 0.0


def _weight_on(weight: torch.Tensor | Sequence[float], logits: torch.Tensor) -> torch.Tensor:
    """A per-class weight as a float32 tensor (C,) on ``logits``' device; its length must be C."""
    weight = torch.as_tensor(weight, dtype=torch.float32, device=logits.device)
    if weight.shape != (logits.shape[1],):
        raise UsageError(f"{weight.numel()} class weights for {logits.shape[1]} classes")
    return weight


def _weighted_ce(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int, weight: torch.Tensor | Sequence[float] | None
) -> torch.Tensor:
    """F.cross_entropy's mean over the pixels labelled in ``target``: sum_i w[y_i] * CE_i /
    sum_i w[y_i] (w = 1 without ``weight``). 0 with a gradient path, not NaN, when no pixel is
    labelled or all the labelled ones weigh 0."""
    valid = target != ignore_index  # (N, H, W)
    if weight is None:
        if not valid.any():
            return _zero(logits)
        return F.cross_entropy(logits.float(), target, ignore_index=ignore_index)
    weight = _weight_on(weight, logits)
    if weight[target[valid]].sum() == 0:  # also when no pixel is labelled
        return _zero(logits)
    return F.cross_entropy(logits.float(), target, weight=weight, ignore_index=ignore_index)


def cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = IGNORE_INDEX,
    weight: torch.Tensor | Sequence[float] | None = None,
) -> torch.Tensor:
    """Mean cross-entropy over the pixels whose label is not ``ignore_index``.

    logits (N, C, H, W), target (N, H, W) -> scalar. ``weight`` (C,), optional, is passed to
    F.cross_entropy: pixel i's term is scaled by w[y_i] and the mean divides by sum_i w[y_i]
    (a weighted mean, not a division by the pixel count). A batch with no labelled pixel (or
    only pixels of weight 0) gives 0 (with a gradient path), not NaN."""
    return _weighted_ce(logits, target, ignore_index, weight)


@torch.no_grad()
def ohem_mask(
    logits: torch.Tensor,
    target: torch.Tensor,
    thresh: float = 0.7,
    min_kept: int = 10_000,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """The pixels OHEM keeps: the labelled pixels whose predicted probability of their true
    class is below ``thresh`` (the "hard" ones); if there are fewer than ``min_kept`` of them,
    instead exactly the ``min_kept`` labelled pixels with the lowest such probability (all of
    them if fewer are labelled). Ignored pixels are never kept.

    ``min_kept`` counts pixels over the whole batch (mmseg multiplies its ``min_kept`` by the
    batch size; CoinCheung uses 1/16 of the labelled pixels). Returns a bool mask (N, H, W).
    """
    valid = target != ignore_index
    prob = logits.float().softmax(dim=1)  # (N, C, H, W)
    safe_target = torch.where(valid, target, torch.zeros_like(target))
    p_true = prob.gather(1, safe_target.unsqueeze(1)).squeeze(1)  # (N, H, W)
    keep = valid & (p_true < thresh)
    needed = min(min_kept, int(valid.sum()))
    if int(keep.sum()) >= needed:
        return keep
    hardest = p_true.masked_fill(~valid, float("inf")).flatten().topk(needed, largest=False).indices
    keep = torch.zeros_like(valid)
    keep.view(-1)[hardest] = True
    return keep


def ohem_cross_entropy(
    logits: torch.Tensor,
    target: torch.Tensor,
    thresh: float = 0.7,
    min_kept: int = 10_000,
    ignore_index: int = IGNORE_INDEX,
    weight: torch.Tensor | Sequence[float] | None = None,
) -> torch.Tensor:
    """Cross-entropy averaged over the pixels :func:`ohem_mask` keeps (CoinCheung's averaging;
    mmseg divides the same sum by all pixels instead, which only rescales the loss).

    The selection ignores ``weight``; the kept pixels are then averaged as in
    :func:`cross_entropy` with that ``weight`` (sum_i w[y_i] * CE_i / sum_i w[y_i] over them)."""
    keep = ohem_mask(logits, target, thresh, min_kept, ignore_index)
    hard_target = torch.where(keep, target, torch.full_like(target, ignore_index))
    return _weighted_ce(logits, hard_target, ignore_index, weight)


def _class_average(per_class: torch.Tensor, class_weights: torch.Tensor | Sequence[float] | None) -> torch.Tensor:
    """(C,) -> scalar: the mean, or sum_c w_c * l_c / sum_c w_c with ``class_weights``."""
    if class_weights is None:
        return per_class.mean()
    weight = torch.as_tensor(class_weights, dtype=per_class.dtype, device=per_class.device)
    if weight.shape != per_class.shape:
        raise UsageError(f"{weight.numel()} class weights for {per_class.numel()} classes")
    return (weight * per_class).sum() / weight.sum()


def dice_loss(
    logits: torch.Tensor,
    target: torch.Tensor,
    ignore_index: int = IGNORE_INDEX,
    smooth: float = 1.0,
    class_weights: torch.Tensor | Sequence[float] | None = None,
) -> torch.Tensor:
    """Multi-class soft Dice loss over the softmax probabilities, with plain (not squared) sums.

    logits (N, C, H, W), target (N, H, W) -> scalar. With p = softmax(logits), y the one-hot
    target and every sum over the labelled pixels of the whole batch (ignored pixels count in
    neither numerator nor denominator; the batch is one set, not averaged per image)::

        L_c = 1 - (2 * sum(p_c * y_c) + smooth) / (sum(p_c) + sum(y_c) + smooth)
        L   = mean_c L_c          (or sum_c w_c * L_c / sum_c w_c with ``class_weights`` w)

    This is the soft Dice of V-Net (Milletari, Navab & Ahmadi, 2016, "V-Net") with the
    denominator's terms not squared (V-Net has sum p^2 + sum y^2): the per-class form of
    mmseg's (SegmenTron-derived) DiceLoss with ``exponent=1`` and ``smooth`` added above and
    below, except that mmseg takes each image's Dice and averages them where this sums over
    the batch, keeps the ignored pixels in its denominator, and divides its class-weighted sum
    by C where this divides by sum_c w_c.

    A class absent from both the target and the prediction (sum(y_c) = 0, sum(p_c) ~ 0) gets
    L_c = sum(p_c) / (sum(p_c) + smooth) ~ 0 thanks to ``smooth`` (1 - smooth / smooth with
    no pixel at all), so it neither divides by zero nor inflates the loss; with smooth = 0 the
    loss is the plain soft Dice, where such a class costs 1 (and 0/0 = NaN if its probabilities
    underflow to exactly 0). A batch with no labelled pixel gives 0 (with a gradient path)."""
    if smooth < 0:
        raise UsageError(f"dice smooth must be >= 0, got {smooth}")
    num_classes = logits.shape[1]
    valid = target != ignore_index  # (N, H, W)
    if not valid.any():
        return _zero(logits)
    mask = valid.unsqueeze(1).float()  # (N, 1, H, W)
    prob = logits.float().softmax(dim=1) * mask  # (N, C, H, W), 0 on ignored pixels
    safe_target = torch.where(valid, target, torch.zeros_like(target))  # (N, H, W)
    onehot = F.one_hot(safe_target, num_classes).permute(0, 3, 1, 2).float() * mask  # (N, C, H, W)
    dims = (0, 2, 3)  # batch and pixels: one sum per class
    intersection = (prob * onehot).sum(dims)  # (C,)
    cardinality = prob.sum(dims) + onehot.sum(dims)  # (C,)
    per_class = 1.0 - (2.0 * intersection + smooth) / (cardinality + smooth)  # (C,)
    return _class_average(per_class, class_weights)


def lovasz_grad(gt_sorted: torch.Tensor) -> torch.Tensor:
    """The gradient g of the Lovász extension of the Jaccard loss (Berman et al., 2018, Eq. 9;
    Algorithm 1), for errors already sorted in decreasing order, one column per class.

    gt_sorted (P, K): 1 where the pixel (row) belongs to the class (column), in the order of
    that class's decreasing errors -> g (P, K), with
    g_i = Delta_J({pi_1..pi_i}) - Delta_J({pi_1..pi_{i-1}}), Delta_J(empty) = 0, and
    Delta_J(M) = |M| / |{y = c} U M| for the set M of mispredicted pixels (Eq. 6), which is
    1 - |{y = c} \\ M| / |{y = c} U M|: the Jaccard loss if exactly the first i pixels were
    wrong. The union holds at least one pixel (pi_1), so nothing divides by zero."""
    gt_sorted = gt_sorted.float()
    gts = gt_sorted.sum(dim=0)  # (K,) |{y = c}|
    intersection = gts - gt_sorted.cumsum(dim=0)  # (P, K) |{y = c} \ {pi_1..pi_i}|
    union = gts + (1.0 - gt_sorted).cumsum(dim=0)  # (P, K) |{y = c} U {pi_1..pi_i}|
    jaccard_loss = 1.0 - intersection / union  # (P, K) Delta_J({pi_1..pi_i})
    return torch.cat([jaccard_loss[:1], jaccard_loss[1:] - jaccard_loss[:-1]], dim=0)  # (P, K)


def lovasz_softmax(
    logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX, classes: str = "present"
) -> torch.Tensor:
    """The Lovász-softmax loss (Berman, Rannen Triki & Blaschko, CVPR 2018, "The Lovász-Softmax
    loss: A tractable surrogate for the optimization of the intersection-over-union measure in
    neural networks"), a convex surrogate of 1 - IoU per class.

    logits (N, C, H, W), target (N, H, W) -> scalar. Over the labelled pixels of the whole
    batch flattened into one set (their code's ``per_image=False``): with f = softmax(logits),
    each class c has the error vector m_i(c) = 1 - f_i(c) if y_i = c else f_i(c), and the loss
    is the Lovász extension of the Jaccard loss Delta_J at m(c) (Eq. 8-9),
    sum_i m_{pi_i}(c) * g_i(m(c)) with pi sorting m(c) in decreasing order and g from
    :func:`lovasz_grad` (Algorithm 1), averaged over the classes present in the target
    (``classes="present"``, the default of their code: a class only predicted, never labelled,
    is then not penalised) or over all C classes (``"all"``; an absent class then costs its
    largest probability). At hard 0/1 probabilities it equals the mean of 1 - IoU_c exactly.
    A batch with no labelled pixel gives 0 (with a gradient path). Takes no class weights."""
    if classes not in LOVASZ_CLASSES:
        raise UsageError(f"lovasz classes must be one of {', '.join(LOVASZ_CLASSES)}, got {classes!r}")
    num_classes = logits.shape[1]
    prob = logits.float().softmax(dim=1).permute(0, 2, 3, 1).reshape(-1, num_classes)  # (N*H*W, C)
    labels = target.reshape(-1)  # (N*H*W,)
    valid = labels != ignore_index
    prob, labels = prob[valid], labels[valid]  # (P, C), (P,)
    if labels.numel() == 0:
        return _zero(logits)
    fg = F.one_hot(labels, num_classes).float()  # (P, C) 1 where y_i = c
    if classes == "present":
        present = fg.sum(dim=0) > 0  # (C,)
        fg, prob = fg[:, present], prob[:, present]  # (P, K)
    errors = (fg - prob).abs()  # (P, K) m_i(c)
    errors_sorted, perm = errors.sort(dim=0, descending=True)  # (P, K) each column decreasing
    grad = lovasz_grad(fg.gather(0, perm))  # (P, K), constant (fg has no gradient)
    per_class = (errors_sorted * grad).sum(dim=0)  # (K,) Lovász extension of Delta_J per class
    return per_class.mean()


def class_weights_from_frequencies(
    pixel_counts: Sequence[float] | torch.Tensor, method: str = "enet", c: float = 1.02
) -> list[float]:
    """Per-class loss weights from the classes' labelled-pixel counts n_c (C,) -> list of C.

    ``"enet"`` (Paszke et al., 2016, "ENet"): w_c = 1 / ln(c + p_c), with
    p_c = n_c / sum_k n_k the class's share of the labelled pixels and c = 1.02; the weights
    lie in [1 / ln(c + 1), 1 / ln(c)], about [1.42, 50.5] for c = 1.02. A class with no
    pixel gets the formula's own value at p_c = 0, its maximum 1 / ln(c) (finite).

    ``"median"`` (median frequency balancing, Eigen & Fergus, ICCV 2015): w_c = median(f) / f_c
    with f_c = n_c / sum_k n_k (the class's share of all counted pixels) and the median over
    the classes with n_c > 0 (the mean of the two middle ones for an even count). Eigen &
    Fergus divide n_c by the pixels of only the images where c is present, which per-class
    totals cannot give; as the common denominator cancels, w_c = median(n) / n_c here. A class
    with no pixel gets 0.0 (there is no frequency to invert). ``c`` is unused.

    Counts must be finite, >= 0 and not all 0; ``c`` must exceed 1 (so that ln(c + p) > 0)."""
    if method not in WEIGHT_METHODS:
        raise UsageError(f"class weight method must be one of {', '.join(WEIGHT_METHODS)}, got {method!r}")
    counts = [float(n) for n in pixel_counts]
    if not counts or any(not math.isfinite(n) or n < 0 for n in counts) or sum(counts) == 0:
        raise UsageError(f"pixel counts must be finite, >= 0 and not all 0, got {counts}")
    total = sum(counts)
    if method == "enet":
        if not c > 1:
            raise UsageError(f"ENet's c must be > 1, got {c}")
        return [1.0 / math.log(c + n / total) for n in counts]
    median = statistics.median(n / total for n in counts if n > 0)
    return [median / (n / total) if n > 0 else 0.0 for n in counts]


def _checked_class_weights(class_weights: Sequence[float] | None) -> torch.Tensor | None:
    if class_weights is None:
        return None
    weight = torch.as_tensor([float(w) for w in class_weights], dtype=torch.float32)
    if weight.numel() == 0 or not torch.isfinite(weight).all() or (weight < 0).any() or weight.sum() == 0:
        raise UsageError(f"class weights must be finite, >= 0 and not all 0, got {weight.tolist()}")
    return weight


class SegmentationLoss(nn.Module):
    """The training loss: ``main_weight * L(main) + sum_k aux_weights[k] * L(aux_k)``.

    ``kind`` is one of :data:`LOSS_KINDS`: "ce" (cross-entropy), "ohem", "dice"
    (:func:`dice_loss`, smooth 1), "lovasz" (:func:`lovasz_softmax`, present classes) or
    "ce+dice" (``cross_entropy + dice_loss``, weight 1 each); every head gets the same kind,
    except that ``ohem_on_aux`` decides whether the auxiliary heads get OHEM or plain CE (each
    head then selects its own hard pixels with the same threshold and minimum). CoinCheung's
    training and mmseg 0.x's OHEM config (the one behind its published 73.57) give OHEM to every
    head; mmseg 1.x's copy of that config misspells the key and trains plain CE everywhere.

    ``class_weights`` (C,), optional, weights the classes in CE and OHEM (F.cross_entropy's
    ``weight``) and in Dice (the weighted average over the classes); Lovász ignores them.
    ``forward`` returns a dict of the total (``loss``) and every term (``loss_main``,
    ``loss_aux0`` ...), so that the log shows each.
    """

    def __init__(
        self,
        kind: str = "ce",
        aux_weights: Sequence[float] = (1.0, 1.0, 1.0, 1.0),
        main_weight: float = 1.0,
        ohem_thresh: float = 0.7,
        ohem_min_kept: int = 10_000,
        ohem_on_aux: bool = False,
        ignore_index: int = IGNORE_INDEX,
        class_weights: Sequence[float] | None = None,
    ) -> None:
        super().__init__()
        if kind not in LOSS_KINDS:
            raise UsageError(f"loss kind must be one of {', '.join(LOSS_KINDS)}, got {kind!r}")
        self.kind = kind
        self.aux_weights = tuple(aux_weights)
        self.main_weight = main_weight
        self.ohem_thresh = ohem_thresh
        self.ohem_min_kept = ohem_min_kept
        self.ohem_on_aux = ohem_on_aux
        self.ignore_index = ignore_index
        self.class_weights: torch.Tensor | None
        self.register_buffer("class_weights", _checked_class_weights(class_weights), persistent=False)

    def _term(self, logits: torch.Tensor, target: torch.Tensor, kind: str) -> torch.Tensor:
        weight, ignore = self.class_weights, self.ignore_index
        if kind == "ohem":
            return ohem_cross_entropy(logits, target, self.ohem_thresh, self.ohem_min_kept, ignore, weight)
        if kind == "dice":
            return dice_loss(logits, target, ignore, class_weights=weight)
        if kind == "lovasz":
            return lovasz_softmax(logits, target, ignore)
        if kind == "ce+dice":
            dice = dice_loss(logits, target, ignore, class_weights=weight)
            return cross_entropy(logits, target, ignore, weight) + dice
        return cross_entropy(logits, target, ignore, weight)

    def forward(
        self, logits: torch.Tensor, aux_logits: Sequence[torch.Tensor], target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if aux_logits and len(aux_logits) != len(self.aux_weights):
            raise ValueError(f"{len(aux_logits)} auxiliary outputs but {len(self.aux_weights)} auxiliary weights")
        aux_kind = "ce" if self.kind == "ohem" and not self.ohem_on_aux else self.kind
        terms = {"loss_main": self._term(logits, target, self.kind)}
        total = self.main_weight * terms["loss_main"]
        for k, (aux, weight) in enumerate(zip(aux_logits, self.aux_weights)):
            terms[f"loss_aux{k}"] = self._term(aux, target, aux_kind)
            total = total + weight * terms[f"loss_aux{k}"]
        return {"loss": total, **terms}
