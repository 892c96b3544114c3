"""BiSeNet V1 (bisenet.models.bisenetv1): its components' shapes, the paper's and CoinCheung's
FFM as options, and its config."""

from __future__ import annotations

import pytest
import torch

from bisenet.models import AttentionRefinementModule, BiSeNetV1Config, FeatureFusionModule, SpatialPath

# --- components: shapes as documented --------------------------------------------------


def test_component_shapes():
    x = torch.randn(2, 3, 64, 128)
    assert SpatialPath()(x).shape == (2, 128, 8, 16)
    arm = AttentionRefinementModule(256, 128)
    assert arm(torch.randn(2, 256, 4, 8)).shape == (2, 128, 4, 8)
    assert arm.attention(torch.randn(2, 256, 4, 8)).shape == (2, 128, 1, 1)
    ffm = FeatureFusionModule(256, 256)
    assert ffm(torch.randn(2, 128, 8, 16), torch.randn(2, 128, 8, 16)).shape == (2, 256, 8, 16)


# --- the paper's forms as options --------------------------------------------------------


@pytest.mark.parametrize(
    "option, delta",
    [
        # FFM: conv+BN (256*256 + 512) -> two convs with bias (2 * (256*256 + 256))
        (dict(ffm_attention="paper"), 256 * 256),
        (dict(ffm_attention="coincheung"), 0),
    ],
)
def test_paper_forms_build_and_run(option, delta, build_and_run):
    added, out = build_and_run("bisenetv1-r18", **option)
    assert added == delta
    assert out.shape == (1, 19, 64, 96) and torch.isfinite(out).all()


def test_coincheung_ffm_differs_from_mmseg_only_by_the_relu(outputs_with_shared_weights):
    a, b = outputs_with_shared_weights("bisenetv1-r18", ffm_attention="coincheung")
    assert not torch.allclose(a, b)


# --- the config ----------------------------------------------------------------------------


def test_configs_reject_bad_values_when_made():
    with pytest.raises(ValueError, match="BiSeNetV1 depth must be one of \\[18, 50, 101\\], got 34"):
        BiSeNetV1Config(depth=34)
    with pytest.raises(ValueError, match="ffm_attention must be"):
        BiSeNetV1Config(ffm_attention="fancy")
