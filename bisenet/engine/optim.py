"""The optimiser and the learning-rate schedule of the model-zoo recipes.

mmsegmentation (all BiSeNet configs): SGD, momentum 0.9, weight decay 5e-4, and the learning
rate, iteration by iteration,

    warm-up  (i < W):  lr(i) = base_lr * (r + (1 - r) * i / W)                 r = 0.1, W = 1000
    poly     (i >= W): lr(i) = (base_lr - eta_min) * (1 - (i - W) / (T - W)) ** p + eta_min
                                                                     p = 0.9, eta_min = 1e-4, T = iters

This is the schedule mmengine's ``LinearLR(start_factor=0.1, end=1000)`` then
``PolyLR(begin=1000, end=T)`` describe, written as closed formulas. mmengine's chained
schedulers step by one less than the span (they reach ``base_lr`` at i = W - 1 and exactly
``eta_min`` at i = T - 1; here at i = W and about 1.01e-4 at i = T - 1): the two differ by under
0.1 % of ``base_lr`` at any iteration (chapter 14 compares them).
CoinCheung's variant ("coincheung"): no weight decay on 1-D parameters (BN and biases) and 10x the
learning rate on the heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from bisenet.errors import UsageError


@dataclass(frozen=True)
class WarmupPoly:
    """The schedule as a pure function of the iteration (so that resuming needs only ``i``)."""

    base_lr: float
    total_iters: int
    warmup_iters: int = 1000
    warmup_ratio: float = 0.1
    power: float = 0.9
    eta_min: float = 1e-4

    def __call__(self, i: int) -> float:
        if i < self.warmup_iters:
            return self.base_lr * (self.warmup_ratio + (1 - self.warmup_ratio) * i / self.warmup_iters)
        span = max(self.total_iters - self.warmup_iters, 1)
        progress = min(i - self.warmup_iters, span) / span
        return (self.base_lr - self.eta_min) * (1 - progress) ** self.power + self.eta_min


def is_head_parameter(name: str) -> bool:
    return name.startswith(("decode_head.", "auxiliary_head.", "module.decode_head.", "module.auxiliary_head."))


def build_optimizer(
    model: nn.Module, lr: float, momentum: float = 0.9, weight_decay: float = 5e-4, variant: str = "mmseg"
) -> torch.optim.SGD:
    """SGD over the model's parameters; ``variant`` "mmseg" (one group) or "coincheung".

    Every group carries an ``lr_scale`` that :func:`set_lr` multiplies the schedule's value by."""
    if variant == "mmseg":
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr_scale": 1.0}]
    elif variant == "coincheung":
        buckets: dict[tuple[bool, bool], list[nn.Parameter]] = {}
        for name, p in model.named_parameters():
            if p.requires_grad:
                buckets.setdefault((is_head_parameter(name), p.ndim == 1), []).append(p)
        groups = [
            {"params": ps, "lr_scale": 10.0 if head else 1.0, "weight_decay": 0.0 if flat else weight_decay}
            for (head, flat), ps in sorted(buckets.items())
        ]
    else:
        raise UsageError(f"optimizer variant must be 'mmseg' or 'coincheung', got {variant!r}")
    return torch.optim.SGD(groups, lr=lr, momentum=momentum, weight_decay=weight_decay)


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr * group.get("lr_scale", 1.0)
