"""BiSeNet V2 (bisenet.models.bisenetv2): its components' shapes, the paper's forms as options,
V2-L, and its config."""

from __future__ import annotations

import pytest
import torch

from bisenet import build_model
from bisenet.models import (
    BilateralGuidedAggregation,
    BiSeNetV2,
    BiSeNetV2Config,
    ContextEmbeddingBlock,
    DetailBranch,
    GatherExpansionLayer,
    SemanticBranch,
    StemBlock,
)

# --- components: shapes as documented --------------------------------------------------


def test_component_shapes():
    x = torch.randn(2, 3, 64, 128)
    assert DetailBranch()(x).shape == (2, 128, 8, 16)
    assert StemBlock()(x).shape == (2, 16, 16, 32)
    f = torch.randn(2, 16, 16, 32)
    assert GatherExpansionLayer(16, 32, stride=2)(f).shape == (2, 32, 8, 16)
    assert GatherExpansionLayer(16, 16, stride=1)(f).shape == (2, 16, 16, 32)
    assert ContextEmbeddingBlock(16, 16)(f).shape == f.shape
    outs = SemanticBranch()(x)
    assert [o.shape[1:] for o in outs] == [(16, 16, 32), (32, 8, 16), (64, 4, 8), (128, 2, 4), (128, 2, 4)]
    bga = BilateralGuidedAggregation(128)
    assert bga(torch.randn(2, 128, 8, 16), torch.randn(2, 128, 2, 4)).shape == (2, 128, 8, 16)


def test_ge_layer_rejects_impossible_configurations():
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        GatherExpansionLayer(16, 16, stride=3)
    with pytest.raises(ValueError, match="identity shortcut"):
        GatherExpansionLayer(16, 32, stride=1)


# --- the paper's forms as options --------------------------------------------------------


def test_paper_ge_layer_without_depthwise_relu_changes_the_function_not_the_weights(outputs_with_shared_weights):
    a, b = outputs_with_shared_weights("bisenetv2", ge_dw_relu=False)
    assert a.shape == b.shape and not torch.allclose(a, b)
    variant = build_model("bisenetv2", ge_dw_relu=False)
    assert not any(
        isinstance(m.dwconv[-1].act, torch.nn.ReLU) for m in variant.modules() if isinstance(m, GatherExpansionLayer)
    )


@pytest.mark.parametrize(
    "option, delta",
    [
        # the last conv of CE / BGA loses BN (2 x 128) and gains a bias (128)
        (dict(ce_last_bn_relu=False), -128),
        (dict(bga_out_bn_relu=False), -128),
    ],
)
def test_paper_forms_build_and_run(option, delta, build_and_run):
    added, out = build_and_run("bisenetv2", **option)
    assert added == delta
    assert out.shape == (1, 19, 64, 96) and torch.isfinite(out).all()


def test_bisenetv2_large_reading_of_alpha_and_d():
    model = build_model("bisenetv2-large", aux_heads=False)
    assert model.backbone.detail.out_channels == 256
    assert model.backbone.semantic.channels == (32, 64, 128, 256)
    assert [len(getattr(model.backbone.semantic, f"stage{i}")) for i in (2, 3, 4)] == [4, 4, 10]


# --- the config ----------------------------------------------------------------------------


def test_configs_reject_bad_values_when_made():
    for options, fragment in [
        (dict(head="x"), "head must be 'mmseg'"),
        (dict(aggregation="x"), "aggregation must be one of"),
        (dict(branches="x"), "branches must be one of"),
        (dict(bga_upsample="x"), "BGA upsample must be"),
        (dict(semantic_ratio=0.3), "semantic_ratio 0.3 must be in"),
        (dict(aggregation="sum", semantic_ratio=1 / 8), "aggregation='sum' adds two features"),
    ]:
        with pytest.raises(ValueError, match=fragment):
            BiSeNetV2Config(**options)
    with pytest.raises(ValueError, match="branches='detail' has no semantic branch"):
        BiSeNetV2(config=BiSeNetV2Config(branches="detail"))
