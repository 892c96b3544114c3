"""The three inference modes: whole, slide and msflip (bisenet.engine.inference)."""

from __future__ import annotations

import pytest
import torch

from bisenet import build_model
from bisenet.engine import infer


def test_slide_equals_whole_for_a_per_pixel_model(pixel_model):
    torch.manual_seed(0)
    model, x = pixel_model(), torch.randn(2, 3, 70, 150)
    whole = infer(model, x, "whole")
    slide = infer(model, x, "slide", crop=(32, 64), stride=(20, 40))
    torch.testing.assert_close(slide, whole)
    assert infer(model, x, "slide", crop=(512, 512), stride=(256, 256)).shape == whole.shape


def test_msflip_of_one_scale_without_flip_is_the_softmax():
    model, x = build_model("bisenetv2", num_classes=5).eval(), torch.randn(1, 3, 64, 96)
    probs = infer(model, x, "msflip", ratios=(1.0,))
    assert probs.shape == (1, 5, 64, 96)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(1, 64, 96))
    from bisenet.engine.inference import msflip_inference

    torch.testing.assert_close(msflip_inference(model, x, (1.0,), flip=False), model(x).softmax(1))


def test_modes_are_validated(pixel_model):
    model, x = pixel_model(), torch.randn(1, 3, 64, 64)
    with pytest.raises(ValueError, match="needs crop and stride"):
        infer(model, x, "slide")
    with pytest.raises(ValueError, match="unknown inference mode 'fast'"):
        infer(model, x, "fast")
    with pytest.raises(ValueError, match="stride"):
        infer(model, x, "slide", crop=(32, 32), stride=(64, 64))
