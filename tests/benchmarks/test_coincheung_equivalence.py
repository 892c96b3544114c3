"""Equality with CoinCheung/BiSeNet's own networks, where a clone of its repository is given in
COINCHEUNG_BISENET (see benchmarks/coincheung_env.py; it needs only torch). Skips cleanly
otherwise."""

from __future__ import annotations

import os

import pytest
import torch

if not os.environ.get("COINCHEUNG_BISENET"):
    pytest.skip(
        "COINCHEUNG_BISENET is not set (a clone of CoinCheung/BiSeNet; optional side-by-side check)",
        allow_module_level=True,
    )

from coincheung_env import build_coincheung_model  # noqa: E402

from bisenet.deploy import randomize_bn_statistics  # noqa: E402
from bisenet.interop import from_coincheung  # noqa: E402

NAMES = {"bisenetv2": "bisenetv2", "bisenetv1": "bisenetv1-r18"}


@pytest.mark.parametrize("theirs", list(NAMES))
@pytest.mark.parametrize(
    "size", [(64, 128), (96, 160)]
)  # sides his nearest-4x BGA accepts (multiples of 32 do; see base.side_aligns)
def test_from_coincheung_equals_his_eval_output(theirs, size):
    torch.manual_seed(0)
    reference = randomize_bn_statistics(build_coincheung_model(os.environ["COINCHEUNG_BISENET"], theirs), seed=1)
    with torch.no_grad():  # random non-zero biases too, so that a missing or extra bias would show
        for m in reference.modules():
            if isinstance(m, torch.nn.Conv2d) and m.bias is not None:
                m.bias.normal_(0, 0.1)
    ours = from_coincheung(reference.state_dict())  # a bare state dict, as his train script saves
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = reference(x)[0]  # aux_mode "eval": (logits,) at the input size
        got = ours(x)
    assert got.shape == expected.shape
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-5
