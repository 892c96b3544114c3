"""The contract every model keeps (bisenet.models.base): logits at the input size in eval mode,
main and booster logits in training, a gradient for every parameter, determinism, dropout,
seeds, mmseg's initialisation, clear errors for bad input, an input check that accepts exactly
the sizes whose shapes line up, keyword-only options, a config kept as given."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from bisenet import build_model
from bisenet.models import (
    BiSeNetV1,
    BiSeNetV1Config,
    BiSeNetV2,
    BiSeNetV2Config,
    ContextPath,
    FCNHead,
    FeatureFusionModule,
    GatherExpansionLayer,
    ResNet,
    bisenetv2,
)
from bisenet.models.base import MIN_INPUT_SIZE, check_input, side_aligns

NUM_AUX = {"bisenetv2": 4, "bisenetv2-large": 4, "bisenetv1-r18": 2, "bisenetv1-r50": 2, "bisenetv1-r101": 2}
ALL = list(NUM_AUX)


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


def shapes_align(model, h, w):
    """Brute force, without the input check: the backbone runs on an H x W input and returns
    its main feature at 1/8, ceil(H / 8) x ceil(W / 8) (no broadcast of a mismatched size 1)."""
    try:
        with torch.inference_mode():
            feature = model.backbone(torch.zeros(1, 3, h, w))[0]
    except RuntimeError:  # "The size of tensor a (9) must match the size of tensor b (12)"
        return False
    return tuple(feature.shape[-2:]) == (-(-h // 8), -(-w // 8))


@pytest.mark.parametrize(
    "name, options, vary_width",
    [
        ("bisenetv2", {}, False),
        ("bisenetv2", {"bga_upsample": "nearest4x"}, True),
        ("bisenetv2", bisenetv2.COINCHEUNG_OPTIONS, False),
        ("bisenetv2", {"bga_upsample": "nearest4x", "aggregation": "sum"}, False),  # no BGA
        ("bisenetv1-r18", {}, False),
    ],
)
def test_the_input_check_accepts_exactly_the_sizes_whose_shapes_align(name, options, vary_width):
    model = build_model(name, aux_heads=False, **options).eval()
    rule = model.fixed_upsampling
    for side in range(1, 98):
        for h, w in [(side, 64), (64, side)] if vary_width else [(side, 64)]:
            aligns = shapes_align(model, h, w)
            assert aligns == (side_aligns(h, rule) and side_aligns(w, rule)), (h, w)
            try:
                check_input(torch.zeros(1, 3, h, w), 3, name, rule)
                accepted = True
            except ValueError:
                accepted = False
            assert accepted == (aligns and side >= MIN_INPUT_SIZE), (h, w)
    fixed = options.get("bga_upsample") == "nearest4x" and "aggregation" not in options
    assert rule == ((8, 4) if fixed else None)


def test_nearest4x_accepts_sides_that_are_not_multiples_of_32_and_says_the_rule():
    model = build_model("bisenetv2", aux_heads=False, bga_upsample="nearest4x").eval()
    assert [s for s in range(32, 129) if side_aligns(s, model.fixed_upsampling)] == (
        [32, *range(57, 65), *range(89, 97), *range(121, 129)]
    )
    assert model.size_divisor == 32 and build_model("bisenetv2").size_divisor == 1
    with torch.inference_mode():
        assert model(torch.randn(1, 3, 60, 89)).shape == (1, 19, 60, 89)  # 60, 89: not / 32
        with pytest.raises(ValueError) as info:
            model(torch.randn(1, 3, 65, 64))
    message = str(info.value)
    assert "H, W >= 32" in message
    assert "each side rounded up to a multiple of 8 must be a multiple of 32" in message
    assert "side % 32 is 0 or 25-31" in message
    assert "got H x W = 65 x 64" in message and "89 x 64" in message  # the nearest that fits


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


def test_the_model_keeps_its_config():
    config = BiSeNetV2Config(**bisenetv2.PAPER_OPTIONS)
    assert BiSeNetV2(config=config).config is config
    assert build_model("bisenetv1-r50", dropout=0.0).config == BiSeNetV1Config(depth=50, dropout=0.0)
    assert BiSeNetV2Config(aux_channels=[1, 2, 3, 4]).aux_channels == (1, 2, 3, 4)  # a list from JSON too
    with pytest.raises(TypeError, match="config must be a BiSeNetV2Config, got dict"):
        BiSeNetV2(config=dict(ge_dw_relu=False))
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.width = 2  # frozen
