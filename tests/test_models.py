"""The model contract: shapes, train/eval outputs, gradients, seeds, options and bad inputs."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from bisenet import available_models, build_model
from bisenet.models import (
    AttentionRefinementModule,
    BilateralGuidedAggregation,
    BiSeNetV1,
    BiSeNetV1Config,
    BiSeNetV2,
    BiSeNetV2Config,
    ContextEmbeddingBlock,
    ContextPath,
    DetailBranch,
    FCNHead,
    FeatureFusionModule,
    GatherExpansionLayer,
    ResNet,
    SemanticBranch,
    SpatialPath,
    StemBlock,
    bisenetv1,
    bisenetv2,
    model_options,
    model_spec,
)

ALL = ["bisenetv2", "bisenetv2-large", "bisenetv1-r18", "bisenetv1-r50", "bisenetv1-r101"]
NUM_AUX = {"bisenetv2": 4, "bisenetv2-large": 4, "bisenetv1-r18": 2, "bisenetv1-r50": 2, "bisenetv1-r101": 2}


def test_registry_names():
    assert available_models() == sorted(ALL)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("size", [(32, 32), (65, 97), (96, 160)])
def test_eval_logits_at_input_size(name, size):
    model = build_model(name, num_classes=7).eval()
    with torch.inference_mode():
        out = model(torch.randn(1, 3, *size))
    assert out.shape == (1, 7, *size)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", ALL)
def test_train_returns_main_and_aux_logits_at_input_size(name):
    model = build_model(name, num_classes=5).train()
    logits, aux = model(torch.randn(2, 3, 70, 100))
    assert logits.shape == (2, 5, 70, 100)
    assert len(aux) == NUM_AUX[name]
    assert all(a.shape == (2, 5, 70, 100) for a in aux)


@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv1-r18"])
def test_without_aux_heads_there_are_none(name):
    model = build_model(name, aux_heads=False)
    assert model.auxiliary_head is None
    assert not any(k.startswith("auxiliary_head") for k in model.state_dict())
    logits, aux = model.train()(torch.randn(2, 3, 64, 64))
    assert aux == [] and logits.shape == (2, 19, 64, 64)


@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv2-large", "bisenetv1-r18", "bisenetv1-r50"])
def test_every_parameter_gets_a_gradient(name):
    model = build_model(name, num_classes=4).train()
    x = torch.randn(2, 3, 64, 96)
    target = torch.randint(0, 4, (2, 64, 96))
    logits, aux = model(x)
    loss = F.cross_entropy(logits, target) + sum(F.cross_entropy(a, target) for a in aux)
    loss.backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), pname
    zero = [n for n, p in model.named_parameters() if p.grad.abs().sum() == 0]
    # One exception, a property of the architecture (mmseg's too): the shift of the BN after the
    # CE block's global pooling is followed by a 1x1 conv and a BN in training mode, which
    # subtracts every per-channel constant again, so its gradient is exactly zero.
    expected_zero = ["backbone.semantic.stage4_CEBlock.gap.1.bias"] if "v2" in name else []
    assert zero == expected_zero


def test_eval_is_deterministic_and_independent_of_batch():
    model = build_model("bisenetv2").eval()
    x = torch.randn(3, 3, 64, 64)
    with torch.inference_mode():
        whole = model(x)
        single = torch.cat([model(x[i : i + 1]) for i in range(3)])
        again = model(x)
    assert torch.equal(whole, again)
    torch.testing.assert_close(whole, single, rtol=1e-4, atol=1e-5)


def test_dropout_only_in_training():
    model = build_model("bisenetv2", aux_heads=False)
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        model.train()
        a, b = model(x)[0], model(x)[0]
        model.eval()
        c, d = model(x), model(x)
    assert not torch.equal(a, b)  # Dropout2d before the classifier is active in training
    assert torch.equal(c, d)


@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv1-r18"])
def test_same_seed_same_weights(name):
    torch.manual_seed(123)
    a = build_model(name).state_dict()
    torch.manual_seed(123)
    b = build_model(name).state_dict()
    torch.manual_seed(124)
    c = build_model(name).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not all(torch.equal(a[k], c[k]) for k in a)


def test_initialisation_is_mmsegs():
    model = build_model("bisenetv2")
    conv = model.backbone.detail.detail_branch[2][1].conv  # 128 -> 128, 3 x 3
    fan_out = conv.out_channels * 9
    assert conv.weight.std().item() == pytest.approx((2 / fan_out) ** 0.5, rel=0.05)
    assert model.decode_head.conv_seg.weight.std().item() == pytest.approx(0.01, rel=0.1)
    assert torch.all(model.decode_head.conv_seg.bias == 0)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            assert torch.all(m.weight == 1) and torch.all(m.bias == 0)


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
    assert [o.shape[1:] for o in outs] == [
        (16, 16, 32), (32, 8, 16), (64, 4, 8), (128, 2, 4), (128, 2, 4)
    ]
    bga = BilateralGuidedAggregation(128)
    assert bga(torch.randn(2, 128, 8, 16), torch.randn(2, 128, 2, 4)).shape == (2, 128, 8, 16)
    assert SpatialPath()(x).shape == (2, 128, 8, 16)
    arm = AttentionRefinementModule(256, 128)
    assert arm(torch.randn(2, 256, 4, 8)).shape == (2, 128, 4, 8)
    assert arm.attention(torch.randn(2, 256, 4, 8)).shape == (2, 128, 1, 1)
    ffm = FeatureFusionModule(256, 256)
    assert ffm(torch.randn(2, 128, 8, 16), torch.randn(2, 128, 8, 16)).shape == (2, 256, 8, 16)


def test_ge_layer_rejects_impossible_configurations():
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        GatherExpansionLayer(16, 16, stride=3)
    with pytest.raises(ValueError, match="identity shortcut"):
        GatherExpansionLayer(16, 32, stride=1)


# --- the paper's forms as options --------------------------------------------------------


def _outputs_with_shared_weights(name, **option):
    torch.manual_seed(0)
    default = build_model(name, aux_heads=False).eval()
    variant = build_model(name, aux_heads=False, **option).eval()
    variant.load_state_dict(default.state_dict())
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        return default(x), variant(x)


def test_paper_ge_layer_without_depthwise_relu_changes_the_function_not_the_weights():
    a, b = _outputs_with_shared_weights("bisenetv2", ge_dw_relu=False)
    assert a.shape == b.shape and not torch.allclose(a, b)
    variant = build_model("bisenetv2", ge_dw_relu=False)
    assert not any(
        isinstance(m.dwconv[-1].act, torch.nn.ReLU)
        for m in variant.modules()
        if isinstance(m, GatherExpansionLayer)
    )


@pytest.mark.parametrize(
    "option, delta",
    [
        # the last conv of CE / BGA loses BN (2 x 128) and gains a bias (128)
        (dict(ce_last_bn_relu=False), -128),
        (dict(bga_out_bn_relu=False), -128),
        # FFM: conv+BN (256*256 + 512) -> two convs with bias (2 * (256*256 + 256))
        (dict(ffm_attention="paper"), 256 * 256),
        (dict(ffm_attention="coincheung"), 0),
    ],
)
def test_paper_forms_build_and_run(option, delta):
    name = "bisenetv1-r18" if "ffm_attention" in option else "bisenetv2"
    base = sum(p.numel() for p in build_model(name, aux_heads=False).parameters())
    model = build_model(name, aux_heads=False, **option)
    assert sum(p.numel() for p in model.parameters()) - base == delta
    model.eval()
    with torch.no_grad():
        out = model(torch.randn(1, 3, 64, 96))
    assert out.shape == (1, 19, 64, 96) and torch.isfinite(out).all()


def test_coincheung_ffm_differs_from_mmseg_only_by_the_relu():
    a, b = _outputs_with_shared_weights("bisenetv1-r18", ffm_attention="coincheung")
    assert not torch.allclose(a, b)


def test_bisenetv2_large_reading_of_alpha_and_d():
    model = build_model("bisenetv2-large", aux_heads=False)
    assert model.backbone.detail.out_channels == 256
    assert model.backbone.semantic.channels == (32, 64, 128, 256)
    assert [len(getattr(model.backbone.semantic, f"stage{i}")) for i in (2, 3, 4)] == [4, 4, 10]


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "x, fragment",
    [
        (torch.randn(3, 64, 64), "3-D tensor"),
        (torch.randn(1, 4, 64, 64), "got 4 channels"),
        (torch.randint(0, 255, (1, 3, 64, 64), dtype=torch.uint8), "dtype torch.uint8"),
        (torch.randn(1, 3, 31, 64), "31 x 64"),
        (torch.randn(1, 3, 64, 16), "64 x 16"),
        ([[1.0]], "type list"),
    ],
)
@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv1-r18"])
def test_bad_input_raises_a_clear_value_error(name, x, fragment):
    model = build_model(name).eval()
    with pytest.raises(ValueError, match="H, W >= 32") as info:
        model(x)
    assert fragment in str(info.value)


def test_unknown_model_and_option_are_named():
    with pytest.raises(ValueError, match="available: bisenetv1-r101, bisenetv1-r18"):
        build_model("bisenetv3")
    with pytest.raises(TypeError, match="no option \\['colour'\\].*ge_dw_relu"):
        build_model("bisenetv2", colour="red")
    with pytest.raises(ValueError, match="num_classes"):
        build_model("bisenetv2", num_classes=0)
    with pytest.raises(ValueError, match="ffm_attention"):
        build_model("bisenetv1-r18", ffm_attention="fancy")


# --- configs, presets and the registry -----------------------------------------------------------

V2_PRESETS = {"mmseg": bisenetv2.MMSEG_OPTIONS, "paper": bisenetv2.PAPER_OPTIONS, "coincheung": bisenetv2.COINCHEUNG_OPTIONS}
V1_PRESETS = {"mmseg": bisenetv1.MMSEG_OPTIONS, "paper": bisenetv1.PAPER_OPTIONS, "coincheung": bisenetv1.COINCHEUNG_OPTIONS}


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
    [(n, p) for n in ("bisenetv2", "bisenetv2-large") for p in V2_PRESETS]
    + [(n, p) for n in ("bisenetv1-r18", "bisenetv1-r50", "bisenetv1-r101") for p in V1_PRESETS],
)
def test_build_model_with_a_preset_equals_the_class_with_its_config(name, preset):
    options = (V2_PRESETS if "v2" in name else V1_PRESETS)[preset]
    fixed = {"bisenetv2-large": dict(width=2, depth=3), "bisenetv1-r18": dict(depth=18),
             "bisenetv1-r50": dict(depth=50), "bisenetv1-r101": dict(depth=101)}.get(name, {})
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


@pytest.mark.parametrize("name", ALL)
def test_model_spec_round_trips_every_registered_model(name):
    for aux in (True, False):
        model = build_model(name, num_classes=3, aux_heads=aux)
        assert model_spec(model) == (name, {})
        spec_name, options = model_spec(model)
        rebuilt = build_model(spec_name, num_classes=3, aux_heads=aux, **options)
        assert rebuilt.config == model.config
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


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


def test_model_options_and_fixed_values():
    assert model_options("bisenetv2") == [
        "aggregation", "aux_channels", "bga_out_bn_relu", "bga_pointwise_bias", "bga_upsample", "branches",
        "ce_last_bn_relu", "decode_channels", "depth", "dropout", "expand_ratio", "ge_dw_relu", "head",
        "in_channels", "semantic_ratio", "width",
    ]
    assert model_options("bisenetv1-r18") == ["dropout", "ffm_attention", "in_channels", "pretrained_backbone"]
    # the name fixes V2-L's width and depth and V1's depth: they are not options
    assert not {"width", "depth"} & set(model_options("bisenetv2-large"))
    with pytest.raises(TypeError, match="bisenetv2-large has no option \\['width'\\]"):
        build_model("bisenetv2-large", width=1)
    with pytest.raises(TypeError, match="bisenetv1-r50 has no option \\['depth'\\]"):
        build_model("bisenetv1-r50", depth=18)
    with pytest.raises(ValueError, match="unknown model 'bisenetv3'"):
        model_options("bisenetv3")


def test_the_model_keeps_its_config():
    config = BiSeNetV2Config(**bisenetv2.PAPER_OPTIONS)
    assert BiSeNetV2(config=config).config is config
    assert build_model("bisenetv1-r50", dropout=0.0).config == BiSeNetV1Config(depth=50, dropout=0.0)
    assert BiSeNetV2Config(aux_channels=[1, 2, 3, 4]).aux_channels == (1, 2, 3, 4)  # a list from JSON too
    with pytest.raises(TypeError, match="config must be a BiSeNetV2Config, got dict"):
        BiSeNetV2(config=dict(ge_dw_relu=False))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.width = 2  # frozen


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
    with pytest.raises(ValueError, match="BiSeNetV1 depth must be one of \\[18, 50, 101\\], got 34"):
        BiSeNetV1Config(depth=34)
    with pytest.raises(ValueError, match="ffm_attention must be"):
        BiSeNetV1Config(ffm_attention="fancy")
    with pytest.raises(ValueError, match="branches='detail' has no semantic branch"):
        BiSeNetV2(config=BiSeNetV2Config(branches="detail"))


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        BiSeNetV2(19)
    with pytest.raises(TypeError):
        BiSeNetV1(19, True)
    with pytest.raises(TypeError):
        GatherExpansionLayer(16, 16, 6)
    with pytest.raises(TypeError):
        FCNHead(16, 16, 3, 2)
    with pytest.raises(TypeError):
        ResNet(50)
    with pytest.raises(TypeError):
        ContextPath(18)
    with pytest.raises(TypeError):
        FeatureFusionModule(256, 256, "paper")
