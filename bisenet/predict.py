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

from bisenet.atomic import PNG_SOFTWARE, atomic_path, atomic_write, refuse_foreign_png
from bisenet.data.base import EXIF_ORIENTATION, read_image
from bisenet.data.transforms import eval_pipeline
from bisenet.errors import BiSeNetError, InputNotFoundError, UsageError

MAX_PIXELS = 4 * 2048 * 1024  # the largest image segmented without --scale
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
def segment(
    model: nn.Module, image: np.ndarray, scale: tuple[int, int] | None = None, device: str | torch.device = "cpu"
) -> np.ndarray:
    """Class ids (H, W) for an RGB uint8 image (H, W, 3), at the image's own resolution."""
    h, w = image.shape[:2]
    # the evaluation's own test pipeline (resize, normalise); it needs a label, which it keeps as is
    x, _ = eval_pipeline(scale)(image, np.zeros((h, w), np.uint8), None)
    logits = model(x[None].to(device))
    if logits.shape[-2:] != (h, w):
        logits = torch.nn.functional.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
    return logits.argmax(1)[0].to("cpu", torch.uint8).numpy()


def expand_inputs(inputs: Sequence[str | Path]) -> list[Path]:
    """Files as given, folders replaced by the images in them (sorted, subfolders included); a path
    that does not exist or is neither an image nor a video raises :class:`InputNotFoundError` /
    :class:`UsageError`."""
    return [source for source, _ in _plan(inputs, Path("."))]


def plan_outputs(inputs: Sequence[str | Path], out: str | Path) -> list[tuple[Path, Path]]:
    """(input file, output file) for every image and video: ``<name>_overlay.png`` or
    ``<name>_overlay.mp4``; a folder's files keep their place below it (``out/sub/a_overlay.png``
    for ``folder/sub/a.png``), a file given by name goes to ``out`` itself. The same file named
    twice is segmented once; two different inputs that would write the same output, and an output
    that would replace an input or a picture the package did not write, raise
    :class:`UsageError` naming them, before anything is written."""
    plan = _plan(inputs, out)
    _refuse_writing_over_inputs({target: source for source, target in plan})
    return plan


def _plan(inputs: Sequence[str | Path], out: str | Path) -> list[tuple[Path, Path]]:
    """:func:`plan_outputs` without the checks of what stands at the outputs."""
    out = Path(out)
    planned: dict[Path, Path] = {}  # output -> input
    for item in map(Path, inputs):
        if item.is_dir():
            known = IMAGE_SUFFIXES | VIDEO_SUFFIXES
            files = sorted(p for p in item.rglob("*") if p.is_file() and p.suffix.lower() in known)
            if not files:
                raise UsageError(f"folder {item} holds no images or videos ({', '.join(sorted(IMAGE_SUFFIXES))})")
            pairs = [(f, out / f.relative_to(item).parent) for f in files]
        elif item.is_file():
            if item.suffix.lower() not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
                raise UsageError(f"{item}: not an image or video file (by its suffix {item.suffix!r})")
            pairs = [(item, out)]
        else:
            raise InputNotFoundError(f"input {item} does not exist")
        for source, folder in pairs:
            suffix = ".mp4" if source.suffix.lower() in VIDEO_SUFFIXES else ".png"
            target = folder / f"{source.stem}_overlay{suffix}"
            if target in planned and planned[target].resolve() != source.resolve():
                raise UsageError(
                    f"{planned[target]} and {source} would both be written to {target}: segment them into "
                    "different --out folders (or give their folders, whose structure is kept)"
                )
            planned[target] = source
    return [(source, target) for target, source in planned.items()]


def _refuse_writing_over_inputs(planned: dict[Path, Path]) -> None:
    """Refuse a plan whose output would replace one of its inputs (``--out`` set to an input
    folder holding ``a.png`` and ``a_overlay.png``), or an existing image that is not an overlay
    this package wrote: predict never writes over a user's file."""
    inputs = {source.resolve() for source in planned.values()}
    for target, source in planned.items():
        if target.resolve() in inputs:
            raise UsageError(
                f"{target} is one of the inputs, and the overlay of {source} would replace it: give --out a folder "
                "outside the inputs (predict never writes over an input)"
            )
        if target.suffix == ".png":
            try:
                refuse_foreign_png(target)
            except BiSeNetError as e:
                raise UsageError(
                    f"{target} exists and is not an overlay this package wrote: move it, or give another --out ({e})"
                ) from None


def _software_tag():
    """The PNG text chunk that marks an overlay as the package's (see :func:`_refuse_writing_over_inputs`)."""
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", PNG_SOFTWARE)
    return info


def _check_images(images: list[Path], scale: tuple[int, int] | None) -> None:
    """Refuse, before any work, images that cannot be read whole (Pillow's ``verify``: a truncated
    PNG is found here), and, while no ``scale`` resizes them, images smaller than the models'
    smallest input (32 x 32) or larger than :data:`MAX_PIXELS`."""
    from bisenet.models.base import MIN_INPUT_SIZE

    small, large = [], []
    for path in images:
        try:
            with Image.open(path) as img:
                img.verify()  # must come first after opening (Pillow)
            with Image.open(path) as img:
                w, h = img.size
                if img.getexif().get(EXIF_ORIENTATION, 1) >= 5:  # turned by 90 degrees when read
                    w, h = h, w
        except Image.DecompressionBombError as e:
            raise UsageError(
                f"image {path} has more pixels than Pillow opens safely ({e}): downscale it first"
            ) from None
        except (OSError, ValueError, SyntaxError) as e:
            raise UsageError(f"cannot read image {path}: {e}") from None
        if scale is None and min(h, w) < MIN_INPUT_SIZE:
            small.append(f"{path} ({w}x{h})")
        if scale is None and h * w > MAX_PIXELS:
            large.append(f"{path} ({w}x{h})")
    if small:
        raise UsageError(
            f"{len(small)} image(s) smaller than {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}, the models' smallest input: "
            f"{', '.join(small[:5])}. Resize them with --scale (e.g. --scale 1024x512), or leave them out"
        )
    if large:
        raise UsageError(
            f"{len(large)} image(s) larger than {MAX_PIXELS:,} pixels (4x Cityscapes' 2048x1024), more than "
            f"inference fits in memory: {', '.join(large[:5])}. Resize them with --scale (e.g. --scale 2048x1024)"
        )


def _first_line(error: Exception) -> str:
    """An error's first line (ffmpeg's errors come with its whole banner)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _check_videos(videos: list[Path]) -> None:
    """Refuse, before any work, videos whose header cannot be read (a missing video extra is said
    with the command that installs it)."""
    if not videos:
        return
    _, iio = _video_modules()
    for path in videos:
        try:
            iio.immeta(path, extension=path.suffix)
        except (OSError, ValueError, RuntimeError) as e:
            raise UsageError(f"cannot read video {path}: {_first_line(e)}") from None


def _video_modules():
    try:
        import imageio.v2 as imageio_v2
        import imageio.v3 as iio
    except ImportError:
        raise UsageError('videos need the video extra: pip install "bisenet[video]" (imageio and its ffmpeg)') from None
    return imageio_v2, iio


def _predict_video(model, source: Path, target: Path, palette, scale, alpha, device, progress) -> None:
    imageio_v2, iio = _video_modules()
    try:
        meta = iio.immeta(source, extension=source.suffix)
        frames = iio.imiter(source, extension=source.suffix)
        with (
            atomic_path(target, keep_suffix=True) as tmp,
            imageio_v2.get_writer(tmp, fps=meta.get("fps", 25), macro_block_size=1) as writer,
        ):
            for frame in tqdm(frames, desc=source.name, unit="frame", leave=False, disable=not progress):
                frame = np.asarray(frame)[..., :3]
                writer.append_data(overlay(frame, segment(model, frame, scale, device), palette, alpha))
    except (OSError, ValueError, RuntimeError) as e:
        if isinstance(e, BiSeNetError):
            raise
        raise UsageError(f"cannot read video {source}: {_first_line(e)}") from None


def predict_inputs(
    model: nn.Module,
    inputs: Sequence[str | Path],
    out: str | Path,
    scale: tuple[int, int] | None = None,
    alpha: float = 0.5,
    device: str | torch.device = "cpu",
    progress: bool = True,
    palette: Sequence[Sequence[int]] | None = None,
) -> list[Path]:
    """Segment every input (see :func:`plan_outputs` for where each overlay goes) and return the
    files written. Every input is checked first (it exists, is readable, is large enough), so a
    bad one stops the command before anything is written. ``alpha`` (0 to 1) is the opacity of
    the colours; ``palette`` the class colours (a checkpoint's, e.g. a folder dataset's
    ``classes.csv`` colours; default :func:`palette_for`); ``progress=False`` hides the progress
    bars."""
    if not 0 <= alpha <= 1:
        raise UsageError(f"alpha must be from 0 to 1 (the colours' opacity), got {alpha!r}")
    plan = plan_outputs(inputs, out)
    images = [source for source, _ in plan if source.suffix.lower() in IMAGE_SUFFIXES]
    _check_images(images, scale)
    _check_videos([source for source, _ in plan if source.suffix.lower() in VIDEO_SUFFIXES])
    model = model.eval().to(device)
    if palette is not None and len(palette) != model.num_classes:
        raise UsageError(f"{len(palette)} colours for a model of {model.num_classes} classes")
    palette = palette_for(model.num_classes) if palette is None else np.array(palette, dtype=np.uint8)
    written = []
    for source, target in tqdm(plan, desc="predict", unit="file", disable=not progress):
        if source.suffix.lower() in VIDEO_SUFFIXES:
            _predict_video(model, source, target, palette, scale, alpha, device, progress)
        else:
            image = read_image(source)
            with atomic_write(target) as f:
                coloured = overlay(image, segment(model, image, scale, device), palette, alpha)
                Image.fromarray(coloured).save(f, format="PNG", pnginfo=_software_tag())
        written.append(target)
    return written
