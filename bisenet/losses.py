"""Losses: cross-entropy with an ignore label, online hard example mining (OHEM), and the
booster's weighted sum of the main and auxiliary losses (BiSeNetV2, Sec. 4.4; BiSeNetV1,
Sec. 3.3: "auxiliary loss functions")."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bisenet.data.base import IGNORE_INDEX
from bisenet.errors import UsageError


def cross_entropy(logits: torch.Tensor, target: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> torch.Tensor:
    """Mean cross-entropy over the pixels whose label is not ``ignore_index``.

    logits (N, C, H, W), target (N, H, W) -> scalar. A batch with no labelled pixel gives 0
    (with a gradient path), not NaN."""
    valid = target != ignore_index
    if not valid.any():
        return logits.sum() * 0.0
    return F.cross_entropy(logits.float(), target, ignore_index=ignore_index)


@torch.no_grad()
def ohem_mask(
    logits: torch.Tensor, target: torch.Tensor, thresh: float = 0.7, min_kept: int = 10_000,
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
    logits: torch.Tensor, target: torch.Tensor, thresh: float = 0.7, min_kept: int = 10_000,
    ignore_index: int = IGNORE_INDEX,
) -> torch.Tensor:
    """Cross-entropy averaged over the pixels :func:`ohem_mask` keeps (CoinCheung's averaging;
    mmseg divides the same sum by all pixels instead, which only rescales the loss)."""
    keep = ohem_mask(logits, target, thresh, min_kept, ignore_index)
    if not keep.any():
        return logits.sum() * 0.0
    hard_target = torch.where(keep, target, torch.full_like(target, ignore_index))
    return F.cross_entropy(logits.float(), hard_target, ignore_index=ignore_index)


class SegmentationLoss(nn.Module):
    """The training loss: ``main_weight * L(main) + sum_k aux_weights[k] * L(aux_k)``.

    ``kind`` is "ce" (cross-entropy) or "ohem"; ``ohem_on_aux`` applies OHEM to the auxiliary
    heads too (CoinCheung does; mmseg's OHEM configs only on the main head). ``forward`` returns
    a dict of the total (``loss``) and every term (``loss_main``, ``loss_aux0`` ...), so that the
    log shows each.
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
    ) -> None:
        super().__init__()
        if kind not in ("ce", "ohem"):
            raise UsageError(f"loss kind must be 'ce' or 'ohem', got {kind!r}")
        self.kind = kind
        self.aux_weights = tuple(aux_weights)
        self.main_weight = main_weight
        self.ohem_thresh = ohem_thresh
        self.ohem_min_kept = ohem_min_kept
        self.ohem_on_aux = ohem_on_aux
        self.ignore_index = ignore_index

    def _term(self, logits: torch.Tensor, target: torch.Tensor, ohem: bool) -> torch.Tensor:
        if ohem:
            return ohem_cross_entropy(logits, target, self.ohem_thresh, self.ohem_min_kept, self.ignore_index)
        return cross_entropy(logits, target, self.ignore_index)

    def forward(
        self, logits: torch.Tensor, aux_logits: Sequence[torch.Tensor], target: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        if aux_logits and len(aux_logits) != len(self.aux_weights):
            raise ValueError(f"{len(aux_logits)} auxiliary outputs but {len(self.aux_weights)} auxiliary weights")
        terms = {"loss_main": self._term(logits, target, self.kind == "ohem")}
        total = self.main_weight * terms["loss_main"]
        for k, (aux, weight) in enumerate(zip(aux_logits, self.aux_weights)):
            terms[f"loss_aux{k}"] = self._term(aux, target, self.kind == "ohem" and self.ohem_on_aux)
            total = total + weight * terms[f"loss_aux{k}"]
        return {"loss": total, **terms}
