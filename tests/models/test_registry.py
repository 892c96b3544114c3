"""The model registry (bisenet.models.registry): names, unknown names and options,
model_options, model_spec, and the presets build_model takes."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from bisenet import available_models, build_model
from bisenet.models import (
    BiSeNetV1,
    BiSeNetV1Config,
    BiSeNetV2,
    BiSeNetV2Config,
    bisenetv1,
    bisenetv2,
    model_options,
    model_spec,
)

ALL = ["bisenetv2", "bisenetv2-large", "bisenetv1-r18", "bisenetv1-r50", "bisenetv1-r101"]
V2_PRESETS = {
    "mmseg": bisenetv2.MMSEG_OPTIONS,
    "paper": bisenetv2.PAPER_OPTIONS,
    "coincheung": bisenetv2.COINCHEUNG_OPTIONS,
}
V1_PRESETS = {
    "mmseg": bisenetv1.MMSEG_OPTIONS,
    "paper": bisenetv1.PAPER_OPTIONS,
    "coincheung": bisenetv1.COINCHEUNG_OPTIONS,
}


def test_registry_names():
    assert available_models() == sorted(ALL)


def test_unknown_model_and_option_are_named():
    with pytest.raises(ValueError, match="available: bisenetv1-r101, bisenetv1-r18"):
        build_model("bisenetv3")
    with pytest.raises(TypeError, match="no option \\['colour'\\].*ge_dw_relu"):
        build_model("bisenetv2", colour="red")
    with pytest.raises(ValueError, match="num_classes"):
        build_model("bisenetv2", num_classes=0)
    with pytest.raises(ValueError, match="ffm_attention"):
        build_model("bisenetv1-r18", ffm_attention="fancy")


def test_model_options_and_fixed_values():
    assert model_options("bisenetv2") == [
        "aggregation",
        "aux_channels",
        "bga_out_bn_relu",
        "bga_pointwise_bias",
        "bga_upsample",
        "branches",
        "ce_last_bn_relu",
        "decode_channels",
        "depth",
        "dropout",
        "expand_ratio",
        "ge_dw_relu",
        "head",
        "in_channels",
        "semantic_ratio",
        "width",
    ]
    assert model_options("bisenetv1-r18") == [
        "deep_stem",
        "dropout",
        "ffm_attention",
        "in_channels",
        "pretrained_backbone",
    ]
    # the name fixes V2-L's width and depth and V1's depth: they are not options
    assert not {"width", "depth"} & set(model_options("bisenetv2-large"))
    with pytest.raises(TypeError, match="bisenetv2-large has no option \\['width'\\]"):
        build_model("bisenetv2-large", width=1)
    with pytest.raises(TypeError, match="bisenetv1-r50 has no option \\['depth'\\]"):
        build_model("bisenetv1-r50", depth=18)
    with pytest.raises(ValueError, match="unknown model 'bisenetv3'"):
        model_options("bisenetv3")


@pytest.fixture(autouse=True)
def _on_the_meta_device(request):
    """Tests marked ``structure`` build their models on the meta device: configs, names and
    shapes without allocating or initialising weights (a ResNet-101 costs about a second)."""
    if request.node.get_closest_marker("structure"):
        with torch.device("meta"):
            yield
    else:
        yield


@pytest.mark.structure
@pytest.mark.parametrize("name", ALL)
def test_model_spec_round_trips_every_registered_model(name):
    for aux in (True, False):
        model = build_model(name, num_classes=3, aux_heads=aux)
        assert model_spec(model) == (name, {})
        spec_name, options = model_spec(model)
        rebuilt = build_model(spec_name, num_classes=3, aux_heads=aux, **options)
        assert rebuilt.config == model.config
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
            k: v.shape for k, v in model.state_dict().items()
        }


@pytest.mark.structure
def test_model_spec_picks_the_name_with_the_fewest_options():
    assert model_spec(build_model("bisenetv2", width=2, depth=3)) == ("bisenetv2-large", {})
    assert model_spec(build_model("bisenetv2", width=2, depth=3, dropout=0.0)) == ("bisenetv2-large", {"dropout": 0.0})
    assert model_spec(build_model("bisenetv2", width=2)) == ("bisenetv2", {"width": 2})
    assert model_spec(build_model("bisenetv1-r50")) == ("bisenetv1-r50", {})
    assert model_spec(BiSeNetV1(config=BiSeNetV1Config(depth=101))) == ("bisenetv1-r101", {})
    options = dict(aggregation="concat", semantic_ratio=1 / 8, in_channels=4)
    assert model_spec(build_model("bisenetv2", **options)) == ("bisenetv2", options)
    assert model_spec(build_model("bisenetv1-r18", in_channels=1)) == ("bisenetv1-r18", {"in_channels": 1})
    with pytest.raises(ValueError, match="no registered model builds this Module"):
        model_spec(torch.nn.Module())


def test_presets_are_the_documented_options():
    assert bisenetv2.MMSEG_OPTIONS == {} and bisenetv1.MMSEG_OPTIONS == {}
    assert bisenetv2.PAPER_OPTIONS == dict(ge_dw_relu=False, ce_last_bn_relu=False, bga_out_bn_relu=False)
    assert bisenetv2.COINCHEUNG_OPTIONS == dict(bga_upsample="nearest4x", bga_pointwise_bias=False, head="coincheung")
    assert bisenetv1.PAPER_OPTIONS == dict(ffm_attention="paper")
    assert bisenetv1.COINCHEUNG_OPTIONS == dict(ffm_attention="coincheung", dropout=0.0)
    # every preset is a dict of config fields, usable as Config(**preset)
    for config_class, presets in [(BiSeNetV2Config, V2_PRESETS), (BiSeNetV1Config, V1_PRESETS)]:
        for preset in presets.values():
            assert set(preset) <= {f.name for f in dataclasses.fields(config_class)}
            config = config_class(**preset)
            assert {k: getattr(config, k) for k in preset} == preset


@pytest.mark.parametrize(
    "name, preset",
    # bit for bit on the small models; the names that fix config fields (bisenetv2-large,
    # bisenetv1-r50, -r101) go through the same code, checked on the meta device below
    [("bisenetv2", p) for p in V2_PRESETS] + [("bisenetv1-r18", p) for p in V1_PRESETS],
)
def test_build_model_with_a_preset_equals_the_class_with_its_config(name, preset):
    options = (V2_PRESETS if "v2" in name else V1_PRESETS)[preset]
    fixed = {
        "bisenetv2-large": dict(width=2, depth=3),
        "bisenetv1-r18": dict(depth=18),
        "bisenetv1-r50": dict(depth=50),
        "bisenetv1-r101": dict(depth=101),
    }.get(name, {})
    torch.manual_seed(3)
    built = build_model(name, num_classes=5, **options)
    model_class, config_class = (BiSeNetV2, BiSeNetV2Config) if "v2" in name else (BiSeNetV1, BiSeNetV1Config)
    torch.manual_seed(3)
    direct = model_class(num_classes=5, config=config_class(**fixed, **options))
    assert type(built) is model_class and built.config == direct.config == config_class(**fixed, **options)
    a, b = built.state_dict(), direct.state_dict()
    assert list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)
    # and model_spec gives back the name and the preset, which rebuild the same network
    assert model_spec(built) == (name, options)
    torch.manual_seed(3)
    again = build_model(model_spec(built)[0], num_classes=5, **model_spec(built)[1])
    assert again.config == built.config
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in a.items())


@pytest.mark.structure
@pytest.mark.parametrize(
    "name, preset",
    [(n, p) for n in ("bisenetv2-large",) for p in V2_PRESETS]
    + [(n, p) for n in ("bisenetv1-r50", "bisenetv1-r101") for p in V1_PRESETS],
)
def test_a_preset_on_a_name_with_fixed_fields_builds_the_class_with_its_config(name, preset):
    options = (V2_PRESETS if "v2" in name else V1_PRESETS)[preset]
    fixed = {
        "bisenetv2-large": dict(width=2, depth=3),
        "bisenetv1-r50": dict(depth=50),
        "bisenetv1-r101": dict(depth=101),
    }[name]
    model_class, config_class = (BiSeNetV2, BiSeNetV2Config) if "v2" in name else (BiSeNetV1, BiSeNetV1Config)
    built = build_model(name, num_classes=5, **options)
    direct = model_class(num_classes=5, config=config_class(**fixed, **options))
    assert type(built) is model_class and built.config == direct.config == config_class(**fixed, **options)
    assert [(k, v.shape) for k, v in built.state_dict().items()] == [
        (k, v.shape) for k, v in direct.state_dict().items()
    ]
    assert model_spec(built) == (name, options)
