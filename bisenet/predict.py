"""Segment images, folders of images and videos; write coloured overlays.

Images and folders need nothing beyond the package; videos are read and written with imageio's
ffmpeg plugin (``pip install "bisenet[video]"``, which ships its own ffmpeg binary).
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from tqdm import tqdm

from bisenet.atomic import atomic_path, atomic_write
from bisenet.data.transforms import eval_pipeline
from bisenet.errors import InputNotFoundError, UsageError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


def palette_for(num_classes: int) -> np.ndarray:
    """(num_classes, 3) uint8 colours: Cityscapes' for 19 classes, COCO-Stuff's for 171, else
    colours spread around the hue circle."""
    if num_classes == 19:
        from bisenet.data.cityscapes import CITYSCAPES_PALETTE

        return np.array(CITYSCAPES_PALETTE, dtype=np.uint8)
    if num_classes == 171:
        from bisenet.data.cocostuff import COCOSTUFF_PALETTE

        return np.array(COCOSTUFF_PALETTE, dtype=np.uint8)
    return np.array(
        [[int(255 * c) for c in colorsys.hsv_to_rgb((i * 0.618034) % 1, 0.7, 0.95)] for i in range(num_classes)],
        dtype=np.uint8,
    )


def overlay(image: np.ndarray, prediction: np.ndarray, palette: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """The image with each pixel tinted by its predicted class's colour (uint8, (H, W, 3))."""
    colours = palette[prediction]
    return (image.astype(np.float32) * (1 - alpha) + colours.astype(np.float32) * alpha).round().astype(np.uint8)


@torch.inference_mode()
def segment(model: nn.Module, image: np.ndarray, scale: tuple[int, int] | None = None, device: str = "cpu") -> np.ndarray:
    """Class ids (H, W) for an RGB uint8 image (H, W, 3), at the image's own resolution."""
    h, w = image.shape[:2]
    # the evaluation's own test pipeline (resize, normalise); it needs a label, which it keeps as is
    x, _ = eval_pipeline(scale)(image, np.zeros((h, w), np.uint8), None)
    logits = model(x[None].to(device))
    if logits.shape[-2:] != (h, w):
        logits = torch.nn.functional.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
    return logits.argmax(1)[0].to("cpu", torch.uint8).numpy()


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given, folders replaced by the images in them (sorted); a path that does not
    exist or is neither an image nor a video raises :class:`InputNotFoundError` / :class:`UsageError`."""
    found: list[Path] = []
    for item in map(Path, inputs):
        if item.is_dir():
            images = sorted(p for p in item.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not images:
                raise UsageError(f"folder {item} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
            found += images
        elif item.is_file():
            if item.suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                raise UsageError(f"{item}: not an image or video file (by its suffix {item.suffix!r})")
            found.append(item)
        else:
            raise InputNotFoundError(f"input {item} does not exist")
    return found


def predict_inputs(
    model: nn.Module,
    inputs: Sequence[str | Path],
    out: str | Path,
    scale: tuple[int, int] | None = None,
    alpha: float = 0.5,
    device: str = "cpu",
    progress: bool = True,
) -> list[Path]:
    """Segment every input; write ``<name>_overlay.png`` per image and ``<name>_overlay.mp4`` per
    video into ``out``. Returns the files written. ``progress=False`` hides the progress bars."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    model = model.eval().to(device)
    palette = palette_for(model.num_classes)
    written = []
    for path in tqdm(expand_inputs(inputs), desc="predict", unit="file", disable=not progress):
        if path.suffix.lower() in VIDEO_SUFFIXES:
            import imageio.v2 as imageio_v2
            import imageio.v3 as iio

            meta = iio.immeta(path, extension=path.suffix)
            target = out / f"{path.stem}_overlay.mp4"
            with atomic_path(target, keep_suffix=True) as tmp, \
                    imageio_v2.get_writer(tmp, fps=meta.get("fps", 25), macro_block_size=1) as writer:
                for frame in tqdm(iio.imiter(path, extension=path.suffix), desc=path.name, unit="frame", leave=False,
                                  disable=not progress):
                    frame = np.asarray(frame)[..., :3]
                    writer.append_data(overlay(frame, segment(model, frame, scale, device), palette, alpha))
            written.append(target)
        else:
            with Image.open(path) as img:
                image = np.asarray(img.convert("RGB"))
            target = out / f"{path.stem}_overlay.png"
            with atomic_write(target) as f:
                coloured = overlay(image, segment(model, image, scale, device), palette, alpha)
                Image.fromarray(coloured).save(f, format="PNG")
            written.append(target)
    return written
