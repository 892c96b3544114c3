"""The schedule and the optimiser (bisenet.engine.optim)."""

from __future__ import annotations

import pytest

from bisenet.engine.optim import WarmupPoly, build_optimizer, set_lr
from bisenet.models import build_model


def test_warmup_then_poly_against_the_formulas():
    s = WarmupPoly(base_lr=0.05, total_iters=160_000)
    assert s(0) == pytest.approx(0.005)  # 0.1 x base
    assert s(500) == pytest.approx(0.05 * (0.1 + 0.9 * 0.5))
    assert s(1000) == pytest.approx(0.05)  # poly starts at the base lr
    i = 80_500
    assert s(i) == pytest.approx((0.05 - 1e-4) * (1 - (i - 1000) / 159_000) ** 0.9 + 1e-4)
    assert s(160_000) == pytest.approx(1e-4)


def test_coincheung_optimizer_groups():
    model = build_model("bisenetv2")
    opt = build_optimizer(model, 0.01, variant="coincheung")
    set_lr(opt, 0.01)
    for g in opt.param_groups:
        flat = all(p.ndim == 1 for p in g["params"])
        assert g["weight_decay"] == (0.0 if flat else 5e-4)
        assert g["lr"] in (pytest.approx(0.01), pytest.approx(0.1))
    assert sum(len(g["params"]) for g in opt.param_groups) == len(list(model.parameters()))
    head_groups = [g for g in opt.param_groups if g["lr_scale"] == 10.0]
    assert head_groups and all(g["lr"] == pytest.approx(0.1) for g in head_groups)
