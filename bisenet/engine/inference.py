"""Three ways to run a segmentation model over an image, as mmsegmentation's test modes.

* ``whole``: the model on the whole (resized) image;
* ``slide``: overlapping ``crop`` windows every ``stride`` pixels, logits averaged where windows
  overlap (mmseg ``mode='slide'``);
* ``msflip``: the image at several scales (mmseg's ratios 0.5 .. 1.75), each also flipped
  horizontally; the softmax probabilities, resized back, are averaged (mmseg's ``SegTTAModel``).

Each takes a normalised batch (N, 3, H, W) and returns scores (N, C, H, W) at the input size:
logits for ``whole`` and ``slide``, averaged probabilities for ``msflip`` (the argmax is what
counts).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bisenet.errors import UsageError

MSFLIP_RATIOS = (0.5, 0.75, 1.0, 1.25, 1.5, 1.75)
MODES = ("whole", "slide", "msflip")


@torch.inference_mode()
def whole_inference(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    return model(images)  # (N, C, H, W)


@torch.inference_mode()
def slide_inference(
    model: nn.Module, images: torch.Tensor, crop: tuple[int, int], stride: tuple[int, int]
) -> torch.Tensor:
    """Windows of ``crop`` (H, W) every ``stride`` pixels, the last one flush with the border."""
    n, _, h, w = images.shape
    crop_h, crop_w = min(crop[0], h), min(crop[1], w)
    stride_h, stride_w = stride
    if stride_h < 1 or stride_w < 1 or stride_h > crop[0] or stride_w > crop[1]:
        raise UsageError(f"slide stride {stride} must be >= 1 and at most the crop {crop}")
    rows = max(h - crop_h + stride_h - 1, 0) // stride_h + 1
    cols = max(w - crop_w + stride_w - 1, 0) // stride_w + 1
    scores = None
    count = images.new_zeros((1, 1, h, w))
    for r in range(rows):
        for c in range(cols):
            y2 = min(r * stride_h + crop_h, h)
            x2 = min(c * stride_w + crop_w, w)
            y1, x1 = y2 - crop_h, x2 - crop_w
            logits = model(images[:, :, y1:y2, x1:x2])  # (N, C, crop_h, crop_w)
            if scores is None:
                scores = images.new_zeros((n, logits.shape[1], h, w))
            scores[:, :, y1:y2, x1:x2] += logits
            count[:, :, y1:y2, x1:x2] += 1
    return scores / count


@torch.inference_mode()
def msflip_inference(
    model: nn.Module, images: torch.Tensor, ratios: Sequence[float] = MSFLIP_RATIOS, flip: bool = True
) -> torch.Tensor:
    """Average of softmax probabilities over scales (and horizontal flips), at the input size."""
    n, _, h, w = images.shape
    probs = None
    views = 0
    for ratio in ratios:
        size = (max(int(h * ratio + 0.5), 32), max(int(w * ratio + 0.5), 32))
        scaled = F.interpolate(images, size=size, mode="bilinear", align_corners=False)
        for flipped in (False, True) if flip else (False,):
            x = scaled.flip(-1) if flipped else scaled
            logits = model(x)
            if flipped:
                logits = logits.flip(-1)
            p = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False).softmax(dim=1)
            probs = p if probs is None else probs + p
            views += 1
    return probs / views


def infer(
    model: nn.Module,
    images: torch.Tensor,
    mode: str = "whole",
    crop: tuple[int, int] | None = None,
    stride: tuple[int, int] | None = None,
    ratios: Sequence[float] = MSFLIP_RATIOS,
) -> torch.Tensor:
    """Dispatch to one of the modes; ``crop``/``stride`` are needed by ``slide`` only."""
    if mode == "whole":
        return whole_inference(model, images)
    if mode == "slide":
        if crop is None or stride is None:
            raise UsageError("slide inference needs crop and stride (e.g. crop=(1024, 1024), stride=(768, 768))")
        return slide_inference(model, images, crop, stride)
    if mode == "msflip":
        return msflip_inference(model, images, ratios)
    raise UsageError(f"unknown inference mode {mode!r}; use one of {', '.join(MODES)}")
