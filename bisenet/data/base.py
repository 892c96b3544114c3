"""What the datasets share: a list of (image file, label file) pairs, reading them with clear
errors, and deterministic augmentation.

Each sample is augmented with its own random generator, seeded from (dataset seed, epoch, sample
index): the augmentation of a sample never depends on which worker loads it, on the batch size
or on what was loaded before, so runs are reproducible and a resumed run sees exactly the data an
uninterrupted one would. The training sampler asks for ``dataset[epoch, index]``
(:class:`bisenet.engine.sampler.IterationSampler`); ``dataset[index]`` is epoch 0.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from bisenet.errors import DatasetError, UsageError

IGNORE_INDEX = 255
UNKNOWN = 256  # marker in label lookup tables (stored as int16) for values outside the table

# transform(image (H, W, 3) uint8, label (H, W) uint8, rng) -> (image, label)
Transform = Callable[[np.ndarray, np.ndarray, np.random.Generator], tuple]


def read_text_file(path: Path, what: str) -> str:
    """A text file a user wrote (a class table, a list of files), as text: UTF-8, with or without
    the byte-order mark that Excel's "CSV UTF-8" puts first (dropped). Any other encoding raises
    :class:`DatasetError` naming the file, the line and what to do, rather than guessing the
    encoding (a guess can turn a class name into another)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise DatasetError(
            f"{what} {path}, line {line}: byte 0x{data[e.start]:02x} is not UTF-8 text (a Latin-1 or Windows "
            "file?): save it as UTF-8 (in Excel: 'CSV UTF-8')"
        ) from None


EXIF_ORIENTATION = 0x0112  # the EXIF tag; values 5 to 8 turn the stored image by 90 degrees


def upright(img: Image.Image) -> Image.Image:
    """The image as every viewer shows it: a camera's EXIF orientation tag (a phone photo stored
    sideways) applied, so that masks drawn on the shown view line up with it. No tag: unchanged."""
    return ImageOps.exif_transpose(img)


def _too_large(path: Path, error: Exception) -> DatasetError:
    return DatasetError(
        f"image {path} has more pixels than Pillow opens safely ({error}): downscale it first (e.g. to the "
        "size the model is evaluated at)"
    )


def read_image(path: Path) -> np.ndarray:
    """An RGB image as a (H, W, 3) uint8 array, upright (:func:`upright`: its EXIF orientation
    applied); a missing, unreadable or truncated file raises
    :class:`DatasetError` naming it (we fail rather than skip: a silently smaller dataset gives
    numbers that cannot be compared), as does an image too large to decode safely (Pillow's
    decompression-bomb limit). A 16-bit image is brought to 8 bits by its top byte
    (Pillow's own conversion would clip it to white); a floating-point or 32-bit one is refused."""
    try:
        with Image.open(path) as opened:
            img = upright(opened)
            if img.mode.startswith("I;16"):
                return np.repeat((np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8)[..., None], 3, axis=2)
            if img.mode in ("I", "F"):
                raise DatasetError(
                    f"image {path} has {img.mode!r} pixels (32-bit integers or floats): save it as an 8-bit "
                    "RGB or grayscale image"
                )
            return np.asarray(img.convert("RGB"))
    except Image.DecompressionBombError as e:
        raise _too_large(path, e) from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetError(f"cannot read image {path}: {e} (re-extract or remove this file)") from e


def read_label(path: Path) -> np.ndarray:
    """A single-channel label PNG as a (H, W) uint8 array; errors as :func:`read_image`."""
    try:
        with Image.open(path) as opened:
            img = upright(opened)
            if img.mode not in ("L", "P", "I", "I;16"):
                raise DatasetError(f"label {path} has mode {img.mode!r}; expected a single-channel PNG")
            label = np.asarray(img)
    except Image.DecompressionBombError as e:
        raise _too_large(path, e) from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetError(f"cannot read label {path}: {e} (re-extract or remove this file)") from e
    if label.ndim != 2:
        raise DatasetError(f"label {path} has shape {label.shape}; expected (H, W)")
    if label.dtype != np.uint8:
        if label.min() < 0 or label.max() > 255:
            raise DatasetError(f"label {path} has values outside 0..255 ({label.min()}..{label.max()})")
        label = label.astype(np.uint8)
    return label


def pair_files(
    images: Sequence[Path], labels: Sequence[Path], image_suffix: str, label_suffix: str, where: str
) -> list[tuple[Path, Path]]:
    """Match image and label files by the part of their name before the suffixes; an image
    without its label or a label without its image raises :class:`DatasetError` naming them."""

    def stem(path: Path, suffix: str) -> str:
        return str(path)[: -len(suffix)].rsplit("/", 1)[-1]

    by_image = {stem(p, image_suffix): p for p in images}
    by_label = {stem(p, label_suffix): p for p in labels}
    no_label = sorted(set(by_image) - set(by_label))
    no_image = sorted(set(by_label) - set(by_image))
    if no_label or no_image:
        parts = []
        if no_label:
            parts.append(f"{len(no_label)} image(s) without a label, e.g. {by_image[no_label[0]]}")
        if no_image:
            parts.append(f"{len(no_image)} label(s) without an image, e.g. {by_label[no_image[0]]}")
        raise DatasetError(
            f"{where}: images and labels do not pair up: {'; '.join(parts)} (an incomplete download or "
            "extraction? both archives are needed)"
        )
    return [(by_image[k], by_label[k]) for k in sorted(by_image)]


def dataset_root(root: object) -> Path:
    """``root`` as a Path (``~`` expanded); anything but a str or Path (``None``, a number) raises
    :class:`~bisenet.errors.UsageError` naming what it got, rather than a TypeError from deep in
    pathlib."""
    if not isinstance(root, (str, Path)):
        raise UsageError(f"the dataset root must be a folder path (str or Path), got {type(root).__name__} {root!r}")
    return Path(root).expanduser()


class SegmentationDataset(torch.utils.data.Dataset):
    """(image, label) pairs read from files, label values mapped to train ids, transformed.

    ``__getitem__`` returns ``(image, label)``: with a transform that ends in
    :class:`~bisenet.data.transforms.Normalize`, a float tensor (3, H, W) and an int64 tensor
    (H, W) of train ids with 255 for "ignore"; without a transform, the uint8 arrays.
    """

    classes: tuple[str, ...] = ()
    palette: tuple[tuple[int, int, int], ...] = ()
    # the value written for each train id in prediction files: the dataset's own label ids, which
    # its official evaluation reads (Cityscapes); None writes the train ids themselves
    prediction_ids: np.ndarray | None = None

    def __init__(
        self,
        samples: list[tuple[Path, Path]],
        transform: Transform | None = None,
        seed: int = 0,
        label_map: np.ndarray | None = None,
        name: str = "dataset",
    ) -> None:
        if not samples:
            raise DatasetError(f"{name}: no samples (refusing to train or evaluate on an empty set)")
        self.samples = samples
        self.transform = transform
        self.seed = seed
        self.label_map = label_map  # a 256-entry lookup table: file value -> train id
        self.name = name
        self._warned_unknown = False
        self.unknown_label_pixels = 0

    def __len__(self) -> int:
        return len(self.samples)

    def rng(self, index: int, epoch: int = 0) -> np.random.Generator:
        """The random generator of sample ``index`` in ``epoch``."""
        return np.random.default_rng([self.seed, epoch, index])

    def map_label(self, raw: np.ndarray, path: Path) -> np.ndarray:
        """File values -> train ids through ``label_map``; values outside the table become 255,
        are counted in ``unknown_label_pixels`` and warned about once per dataset."""
        if self.label_map is None:
            return raw
        mapped = self.label_map[raw]  # (H, W) int16
        unknown = mapped == UNKNOWN
        if unknown.any():
            n = int(unknown.sum())
            self.unknown_label_pixels += n
            mapped = np.where(unknown, IGNORE_INDEX, mapped)
            if not self._warned_unknown:
                self._warned_unknown = True
                values = np.unique(raw[unknown]).tolist()
                warnings.warn(
                    f"{path}: {n} pixel(s) with label value(s) {values} outside the label table; "
                    "mapped to ignore (255). Further occurrences in this dataset are counted in "
                    "`unknown_label_pixels` without a warning.",
                    stacklevel=2,
                )
        return mapped.astype(np.uint8)

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The untransformed sample: image (H, W, 3) uint8 and train-id label (H, W) uint8."""
        image_path, label_path = self.samples[index]
        image = read_image(image_path)
        label = self.map_label(read_label(label_path), label_path)
        if image.shape[:2] != label.shape:
            raise DatasetError(
                f"{image_path} is {image.shape[1]}x{image.shape[0]} but its label {label_path} "
                f"is {label.shape[1]}x{label.shape[0]} (width x height)"
            )
        return image, label

    def __getitem__(self, key: int | tuple[int, int]):
        """``dataset[index]``, or ``dataset[epoch, index]`` (what the training sampler asks for:
        the sample with the augmentation of that epoch)."""
        epoch, index = key if isinstance(key, tuple) else (0, key)
        image, label = self.load(index)
        if self.transform is None:
            return image, label
        return self.transform(image, label, self.rng(index, epoch))


def lookup_table(pairs: dict[int, int]) -> np.ndarray:
    """A 256-entry int16 table: file value -> train id, ``UNKNOWN`` for values not in ``pairs``."""
    table = np.full(256, UNKNOWN, dtype=np.int16)
    for value, train_id in pairs.items():
        if 0 <= value < 256:
            table[value] = train_id
    return table
