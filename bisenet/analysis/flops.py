"""Parameters and FLOPs per component, counted by fvcore.

fvcore counts one fused multiply-add as one FLOP and counts convolutions, matrix products,
BatchNorm and interpolation; element-wise operations (ReLU, sigmoid, sums) are not counted. The
model is measured in eval mode, so auxiliary heads are not run (their FLOPs are 0 here) and
dropout is the identity.
"""

from __future__ import annotations

import logging

import pandas as pd
import torch
from fvcore.nn import FlopCountAnalysis
from torch import nn


def count_flops(model: nn.Module, size: tuple[int, int], batch: int = 1) -> FlopCountAnalysis:
    """An fvcore analysis of ``model`` (put in eval mode) on a (batch, 3, H, W) input."""
    model.eval()
    x = torch.randn(batch, 3, *size, device=next(model.parameters()).device)
    analysis = FlopCountAnalysis(model, x)
    analysis.unsupported_ops_warnings(False)
    analysis.uncalled_modules_warnings(False)
    logging.getLogger("fvcore").setLevel(logging.ERROR)
    with torch.no_grad():
        analysis.total()
    return analysis


def component_table(model: nn.Module, size: tuple[int, int], depth: int = 2) -> pd.DataFrame:
    """One row per module down to ``depth`` levels of nesting (``backbone.detail`` is depth 2):
    parameters and GFLOPs at ``size``, plus a ``total`` row."""
    analysis = count_flops(model, size)
    by_module = analysis.by_module()
    rows = []
    for name, module in model.named_modules():
        if not name or name.count(".") >= depth:
            continue
        rows.append(
            dict(
                component=name,
                type=type(module).__name__,
                params=sum(p.numel() for p in module.parameters()),
                gflops=by_module.get(name, 0) / 1e9,
            )
        )
    rows.append(
        dict(
            component="total",
            type=type(model).__name__,
            params=sum(p.numel() for p in model.parameters()),
            gflops=analysis.total() / 1e9,
        )
    )
    return pd.DataFrame(rows)


def parameter_table(num_classes: int = 19) -> pd.DataFrame:
    """Every registered model's parameter count: for inference (without the auxiliary heads) and
    with them (what training updates)."""
    from bisenet.models import available_models, build_model

    rows = []
    for name in available_models():
        model = build_model(name, num_classes=num_classes)
        with_aux = sum(p.numel() for p in model.parameters())
        aux = sum(p.numel() for p in model.auxiliary_head.parameters())
        rows.append(dict(model=name, params_inference=with_aux - aux, params_with_aux=with_aux))
    return pd.DataFrame(rows)
