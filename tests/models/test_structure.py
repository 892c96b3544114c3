"""The models have mmsegmentation 1.2.2's structure: the same state-dict names, shapes and order
as its Cityscapes configs (layouts recorded in tests/keys, aux heads and BN buffers
included), the same parameter counts and the same fvcore FLOPs."""

from __future__ import annotations

import pytest

from bisenet import build_model
from bisenet.analysis.flops import component_table, count_flops

MMSEG_LAYOUTS = {
    "bisenetv2": "keys_mmseg_v2.txt",
    "bisenetv1-r18": "keys_mmseg_v1_r18.txt",
    "bisenetv1-r50": "keys_mmseg_v1_r50.txt",
}


@pytest.mark.parametrize("name", MMSEG_LAYOUTS)
def test_state_dict_matches_mmseg_layout(name, read_keys):
    reference = read_keys(MMSEG_LAYOUTS[name])
    ours = {k: tuple(v.shape) for k, v in build_model(name).state_dict().items()}
    assert list(ours) == list(reference)  # same names, same order
    assert ours == reference  # same shapes


@pytest.mark.parametrize(
    "name, inference, with_aux",
    [
        ("bisenetv2", 3_358_883, 14_804_255),
        ("bisenetv1-r18", 13_275_539, 13_425_721),
        ("bisenetv1-r50", 56_873_299, 59_243_385),
    ],
)
def test_parameter_counts_match_mmseg(name, inference, with_aux):
    assert sum(p.numel() for p in build_model(name, aux_heads=False).parameters()) == inference
    assert sum(p.numel() for p in build_model(name).parameters()) == with_aux


@pytest.mark.parametrize("name, gflops", [("bisenetv2", 24.75), ("bisenetv1-r18", 29.72), ("bisenetv1-r50", 198.02)])
def test_fvcore_flops_match_mmseg(name, gflops):
    total = count_flops(build_model(name, aux_heads=False), (512, 1024)).total() / 1e9
    assert total == pytest.approx(gflops, rel=0.005)


def test_bisenetv2_components_match_mmseg():
    """Per-component figures of mmseg's BiSeNetV2 at 512x1024 (mmsegmentation 1.2.2's BiSeNetV2,
    config bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024, counted with fvcore)."""
    table = component_table(build_model("bisenetv2", aux_heads=False), (512, 1024)).set_index("component")
    expected = {
        "backbone.detail": (519_232, 11.76),
        "backbone.semantic": (1_159_504, 1.37),
        "backbone.bga": (478_976, 1.75),
        "decode_head": (1_201_171, 9.84),
    }
    for component, (params, gflops) in expected.items():
        assert table.loc[component, "params"] == params, component
        assert table.loc[component, "gflops"] == pytest.approx(gflops, abs=0.01), component


def test_bisenetv1_components_match_mmseg():
    table = component_table(build_model("bisenetv1-r18", aux_heads=False), (512, 1024), depth=3)
    table = table.set_index("component")
    expected = {
        "backbone.context_path.backbone": (11_176_512, 19.00),
        "backbone.context_path": (12_456_256, 21.42),
        "backbone.spatial_path": (91_968, 2.83),
        "backbone.ffm": (132_096, 0.54),
        "decode_head": (595_219, 4.88),
    }
    for component, (params, gflops) in expected.items():
        assert table.loc[component, "params"] == params, component
        assert table.loc[component, "gflops"] == pytest.approx(gflops, abs=0.01), component
