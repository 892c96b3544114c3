"""Equality with mmsegmentation 1.2.2 itself, where it is installed (never a project dependency:
run this file in a separate venv, see benchmarks/mmseg_env.py; pytest's pythonpath puts
benchmarks/ on the path). Skips cleanly otherwise."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("mmseg", reason="mmsegmentation is not installed (optional side-by-side check)")

from mmseg_env import build_mmseg_model  # noqa: E402
from mmseg_side_by_side import CONFIGS, mmseg_logits  # noqa: E402

from bisenet.interop import from_mmseg  # noqa: E402


@pytest.mark.parametrize("name", list(CONFIGS))
@pytest.mark.parametrize("size", [(64, 128), (97, 131)])
def test_from_mmseg_equals_mmseg_whole_inference(name, size, trained_like):
    reference = build_mmseg_model(CONFIGS[name]).eval()
    reference.load_state_dict(trained_like(name).state_dict())
    checkpoint = {"meta": {}, "state_dict": reference.state_dict()}  # an mmseg-saved checkpoint
    ours = from_mmseg(checkpoint)
    x = torch.randn(1, 3, *size)
    with torch.no_grad():
        expected = mmseg_logits(reference, x)
        got = ours(x)
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-4
