"""mmsegmentation's Cityscapes training pipeline on numpy arrays, deterministic for a seed.

    RandomResize(scale=(2048, 1024), ratio_range=(0.5, 2.0))   keep the aspect ratio
    RandomCrop(crop_size, cat_max_ratio=0.75)                  no class may fill > 75 % of a crop
    RandomFlip(prob=0.5)                                       horizontal
    PhotoMetricDistortion()                                    brightness, contrast, saturation, hue
    Normalize(mean, std)                                       RGB, ImageNet statistics, to tensors
    Pad(crop_size)                                             image with 0, label with 255

Every transform is a callable ``t(image, label, rng) -> (image, label)``: ``image`` (H, W, 3)
uint8 RGB, ``label`` (H, W) uint8 train ids, ``rng`` a ``numpy.random.Generator`` (the dataset
gives each sample its own, see ``bisenet.data.base``). Labels are always resized with nearest
neighbour, so 255 ("ignore") survives and no new class ids appear. Sizes are (H, W) except the
resize ``scale``, which is mmseg's (long side, short side), e.g. (2048, 1024).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.colors import hsv_to_rgb, rgb_to_hsv

from bisenet.data.base import IGNORE_INDEX
from bisenet.errors import UsageError

MEAN = (123.675, 116.28, 103.53)  # RGB, ImageNet, as mmseg's data preprocessor
STD = (58.395, 57.12, 57.375)


def rescale_size(hw: tuple[int, int], scale: tuple[int, int]) -> tuple[int, int]:
    """mmcv's keep-ratio rescale: the largest size with the same aspect ratio whose long side is
    at most ``max(scale)`` and short side at most ``min(scale)``."""
    h, w = hw
    factor = min(max(scale) / max(h, w), min(scale) / min(h, w))
    return int(h * factor + 0.5), int(w * factor + 0.5)


def _as_tensor(array: np.ndarray) -> torch.Tensor:
    """A tensor sharing the array's memory (copied first if read-only, e.g. from PIL)."""
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def resize_image(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Bilinear resize of a (H, W, 3) uint8 image with half-pixel centres (as cv2.INTER_LINEAR).

    PyTorch's uint8 path computes in fixed point: fast, and bit-identical whatever the number of
    threads or workers (a float resize is not: rounding at .5 can flip with the thread count).
    It may differ by one grey level from an exactly rounded float resize."""
    if image.shape[:2] == tuple(size):
        return image
    x = _as_tensor(image).permute(2, 0, 1)[None]  # (1, 3, H, W), channels-last memory
    x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
    return x[0].permute(1, 2, 0).contiguous().numpy()


def resize_label(label: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-neighbour resize of a (H, W) label map: no value is invented, 255 survives."""
    if label.shape == tuple(size):
        return label
    h, w = label.shape
    rows = np.minimum((np.arange(size[0]) + 0.5) * h / size[0], h - 1).astype(np.int64)
    cols = np.minimum((np.arange(size[1]) + 0.5) * w / size[1], w - 1).astype(np.int64)
    return label[rows[:, None], cols[None, :]]


class Compose:
    """Apply transforms in order, passing the same random generator along."""

    def __init__(self, transforms: Sequence) -> None:
        self.transforms = list(transforms)

    def __call__(self, image, label, rng: np.random.Generator):
        for t in self.transforms:
            image, label = t(image, label, rng)
        return image, label

    def __repr__(self) -> str:
        return "Compose(\n" + "".join(f"  {t!r},\n" for t in self.transforms) + ")"


class Resize:
    """Resize to ``scale`` keeping the aspect ratio (the test-time resize). With
    ``resize_label=False`` the label keeps its size: evaluation then compares predictions
    resized back to the original resolution, as mmseg does."""

    def __init__(self, scale: tuple[int, int], resize_label: bool = True) -> None:
        self.scale = tuple(scale)
        self.resize_label = resize_label

    def __call__(self, image, label, rng=None):
        size = rescale_size(image.shape[:2], self.scale)
        image = resize_image(image, size)
        if self.resize_label:
            label = resize_label(label, size)
        return image, label

    def __repr__(self) -> str:
        return f"Resize(scale={self.scale}, resize_label={self.resize_label})"


class RandomResize:
    """Resize to ``scale * r`` with r uniform in ``ratio_range``, keeping the aspect ratio
    (mmseg ``RandomResize(scale, ratio_range, keep_ratio=True)``)."""

    def __init__(self, scale: tuple[int, int] = (2048, 1024), ratio_range: tuple[float, float] = (0.5, 2.0)) -> None:
        if not 0 < ratio_range[0] <= ratio_range[1]:
            raise UsageError(f"ratio_range must satisfy 0 < low <= high, got {ratio_range}")
        self.scale = tuple(scale)
        self.ratio_range = tuple(ratio_range)

    def __call__(self, image, label, rng: np.random.Generator):
        ratio = rng.uniform(*self.ratio_range)
        target = (int(self.scale[0] * ratio), int(self.scale[1] * ratio))
        size = rescale_size(image.shape[:2], target)
        return resize_image(image, size), resize_label(label, size)

    def __repr__(self) -> str:
        return f"RandomResize(scale={self.scale}, ratio_range={self.ratio_range})"


class RandomCrop:
    """A random ``crop_size`` (H, W) window; with ``cat_max_ratio`` < 1, re-draw the window (up
    to 10 times, as mmseg) while one class covers ``cat_max_ratio`` or more of the crop's
    labelled pixels. An image smaller than the crop is kept whole (``Pad`` fills it up)."""

    def __init__(
        self, crop_size: tuple[int, int], cat_max_ratio: float = 0.75, ignore_index: int = IGNORE_INDEX
    ) -> None:
        self.crop_size = tuple(crop_size)
        self.cat_max_ratio = cat_max_ratio
        self.ignore_index = ignore_index

    def _window(self, hw: tuple[int, int], rng: np.random.Generator) -> tuple[int, int, int, int]:
        margin_h = max(hw[0] - self.crop_size[0], 0)
        margin_w = max(hw[1] - self.crop_size[1], 0)
        top = int(rng.integers(0, margin_h + 1))
        left = int(rng.integers(0, margin_w + 1))
        return top, min(top + self.crop_size[0], hw[0]), left, min(left + self.crop_size[1], hw[1])

    def __call__(self, image, label, rng: np.random.Generator):
        top, bottom, left, right = self._window(label.shape, rng)
        if self.cat_max_ratio < 1.0:
            for _ in range(10):
                values, counts = np.unique(label[top:bottom, left:right], return_counts=True)
                counts = counts[values != self.ignore_index]
                if len(counts) > 1 and counts.max() / counts.sum() < self.cat_max_ratio:
                    break
                top, bottom, left, right = self._window(label.shape, rng)
        return image[top:bottom, left:right], label[top:bottom, left:right]

    def __repr__(self) -> str:
        return f"RandomCrop(crop_size={self.crop_size}, cat_max_ratio={self.cat_max_ratio})"


class RandomFlip:
    """Horizontal flip with probability ``prob``."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = prob

    def __call__(self, image, label, rng: np.random.Generator):
        if rng.random() < self.prob:
            return image[:, ::-1], label[:, ::-1]
        return image, label

    def __repr__(self) -> str:
        return f"RandomFlip(prob={self.prob})"


class PhotoMetricDistortion:
    """mmseg's photometric distortion, each step with probability 1/2, the image rounded to uint8
    after each: brightness (+- 32), contrast (x 0.5..1.5) either first or last, saturation
    (x 0.5..1.5) and hue (+- 18 in OpenCV's 0..180 hue units, i.e. +- 36 degrees) in HSV."""

    def __init__(
        self,
        brightness_delta: int = 32,
        contrast_range: tuple[float, float] = (0.5, 1.5),
        saturation_range: tuple[float, float] = (0.5, 1.5),
        hue_delta: int = 18,
    ) -> None:
        self.brightness_delta = brightness_delta
        self.contrast_range = contrast_range
        self.saturation_range = saturation_range
        self.hue_delta = hue_delta

    @staticmethod
    def _to_uint8(x: np.ndarray) -> np.ndarray:
        return np.clip(x, 0, 255).astype(np.uint8)

    def __call__(self, image, label, rng: np.random.Generator):
        img = image
        if rng.integers(2):
            img = self._to_uint8(img.astype(np.float32) + rng.uniform(-self.brightness_delta, self.brightness_delta))
        contrast_first = rng.integers(2) == 1
        if contrast_first and rng.integers(2):
            img = self._to_uint8(img.astype(np.float32) * rng.uniform(*self.contrast_range))
        saturate, shift_hue = rng.integers(2), rng.integers(2)
        if saturate or shift_hue:
            hsv = rgb_to_hsv(img.astype(np.float32) / 255.0)
            if saturate:
                hsv[..., 1] = np.clip(hsv[..., 1] * rng.uniform(*self.saturation_range), 0, 1)
            if shift_hue:
                hsv[..., 0] = (hsv[..., 0] + rng.integers(-self.hue_delta, self.hue_delta + 1) / 180.0) % 1.0
            img = self._to_uint8(np.round(hsv_to_rgb(hsv) * 255.0))
        if not contrast_first and rng.integers(2):
            img = self._to_uint8(img.astype(np.float32) * rng.uniform(*self.contrast_range))
        return img, label

    def __repr__(self) -> str:
        return "PhotoMetricDistortion()"


class Normalize:
    """(image - mean) / std per RGB channel; returns tensors: image float32 (3, H, W), label int64
    (H, W)."""

    def __init__(self, mean: Sequence[float] = MEAN, std: Sequence[float] = STD) -> None:
        self.mean = torch.tensor(mean, dtype=torch.float32).view(3, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(3, 1, 1)

    def __call__(self, image, label, rng=None):
        x = _as_tensor(np.ascontiguousarray(image)).permute(2, 0, 1).float()
        x = (x - self.mean) / self.std
        return x, _as_tensor(np.ascontiguousarray(label)).long()

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.flatten().tolist()}, std={self.std.flatten().tolist()})"


class Pad:
    """Pad (bottom and right) to at least ``size`` (H, W): image with 0 (the mean colour after
    Normalize), label with 255, as mmseg's data preprocessor does."""

    def __init__(self, size: tuple[int, int], ignore_index: int = IGNORE_INDEX) -> None:
        self.size = tuple(size)
        self.ignore_index = ignore_index

    def __call__(self, image: torch.Tensor, label: torch.Tensor, rng=None):
        pad_h = max(self.size[0] - image.shape[-2], 0)
        pad_w = max(self.size[1] - image.shape[-1], 0)
        if pad_h or pad_w:
            image = F.pad(image, (0, pad_w, 0, pad_h), value=0.0)
            label = F.pad(label, (0, pad_w, 0, pad_h), value=self.ignore_index)
        return image, label

    def __repr__(self) -> str:
        return f"Pad(size={self.size})"


def train_pipeline(
    crop_size: tuple[int, int] = (1024, 1024),
    scale: tuple[int, int] = (2048, 1024),
    ratio_range: tuple[float, float] = (0.5, 2.0),
    cat_max_ratio: float = 0.75,
) -> Compose:
    """mmseg's Cityscapes training pipeline (defaults: the 1024x1024 BiSeNet configs); smaller
    ``scale``/``crop_size`` give the same pipeline for the cpu and smoke profiles."""
    return Compose(
        [
            RandomResize(scale, ratio_range),
            RandomCrop(crop_size, cat_max_ratio),
            RandomFlip(0.5),
            PhotoMetricDistortion(),
            Normalize(),
            Pad(crop_size),
        ]
    )


def eval_pipeline(scale: tuple[int, int] | None = (2048, 1024)) -> Compose:
    """mmseg's test pipeline: resize the image to ``scale`` (keep ratio; None: no resize),
    normalise; the label keeps its original size, so metrics are computed at the original
    resolution."""
    if scale is None:
        return Compose([Normalize()])
    return Compose([Resize(scale, resize_label=False), Normalize()])
