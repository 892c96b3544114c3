"""Fixtures of the models' tests."""

from __future__ import annotations

import pytest
import torch

from bisenet import build_model


@pytest.fixture(scope="session")
def outputs_with_shared_weights():
    """``outputs_with_shared_weights(name, **option)``: eval logits of the default model and of
    the model with ``option``, both holding the default's weights, on one 64x64 input."""

    def outputs(name, **option):
        torch.manual_seed(0)
        default = build_model(name, aux_heads=False).eval()
        variant = build_model(name, aux_heads=False, **option).eval()
        variant.load_state_dict(default.state_dict())
        x = torch.randn(1, 3, 64, 64)
        with torch.no_grad():
            return default(x), variant(x)

    return outputs


@pytest.fixture(scope="session")
def build_and_run():
    """``build_and_run(name, **option)``: (the parameters the option adds to the model without
    booster heads, its eval logits on a random 1x3x64x96 input)."""

    def build_and_run(name, **option):
        base = sum(p.numel() for p in build_model(name, aux_heads=False).parameters())
        model = build_model(name, aux_heads=False, **option)
        delta = sum(p.numel() for p in model.parameters()) - base
        model.eval()
        with torch.no_grad():
            out = model(torch.randn(1, 3, 64, 96))
        return delta, out

    return build_and_run
