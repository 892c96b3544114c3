"""The contract every model keeps (bisenet.models.base): logits at the input size in eval mode,
main and booster logits in training, a gradient for every parameter, determinism, dropout,
seeds, mmseg's initialisation, clear errors for bad input, keyword-only options, a
config kept as given."""

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
