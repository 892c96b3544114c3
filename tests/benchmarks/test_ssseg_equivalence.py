"""Equality with sssegmentation 1.7.0 itself, where it is installed (never a project dependency:
run this file in a separate venv, see benchmarks/ssseg_env.py; pytest's pythonpath puts
benchmarks/ on the path). Skips cleanly otherwise."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("ssseg", reason="sssegmentation is not installed (optional side-by-side check)")

from ssseg_env import CONFIGS, build_ssseg_segmentor, ssseg_logits  # noqa: E402

from bisenet.deploy import randomize_bn_statistics  # noqa: E402
from bisenet.interop import from_sssegmentation  # noqa: E402


@pytest.mark.parametrize("config", list(CONFIGS))
@pytest.mark.parametrize("size", [(64, 128), (97, 131)])
def test_from_sssegmentation_equals_ssseg_inference(config, size):
    torch.manual_seed(0)
    reference = randomize_bn_statistics(build_ssseg_segmentor(config), seed=1).eval()
    # the dict sssegmentation's train.py saves (scheduler state + segmentor.module.state_dict())
    checkpoint = {"cur_epoch": 1, "cur_iter": 185, "model": reference.state_dict()}
    ours = from_sssegmentation(checkpoint)
    assert sum(p.numel() for p in ours.parameters()) == sum(p.numel() for p in reference.parameters())
    x = torch.randn(1, 3, *size)
    expected = ssseg_logits(reference, x)
    with torch.no_grad():
        got = ours(x)
    assert got.shape == expected.shape
    assert ((got - expected).abs().max() / expected.abs().max()).item() < 1e-4
