"""The data checker: read every pair of a folder dataset once and report what would go wrong.

The classic mistakes of training on one's own data (the most frequent questions of every
BiSeNet repository: CoinCheung/BiSeNet issues 83, 96, 180, 219, 326; PaddleX issue 1146) have
signatures in the masks, and :func:`check` looks for each:

* values only 0 and 255: a binary mask saved as 0/255, whose foreground would all be *ignored*
  (255 is the ignore value);
* ids 1..C and never 0: masks that count from 1 (mmseg's ``reduce_zero_label`` convention);
* RGB masks with three identical channels: index masks saved as RGB (read as index values);
* JPEG masks: lossy compression invents label values along every edge;
* values outside the class table, colours in no class of ``classes.csv``, image and mask sizes
  that differ, unreadable files, images without masks and masks without images.

It also counts, per split, the masks of each storage mode and the pixels and images of each
class (the frequencies ``--class-weights auto`` weights by). ``bisenet check-data`` prints the
report; ``bisenet train`` runs the same check first and refuses data with errors, naming the
files.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bisenet.data.base import IGNORE_INDEX, DatasetError, dataset_root, read_image
from bisenet.data.folder import (
    CLASSES_FILE,
    ClassTable,
    FolderOptions,
    colour_ids,
    find_pairs,
    gray_as_colour,
    index_ids,
    read_classes,
    read_mask_values,
)

SHOWN_FILES = 5  # files named per problem in the summary (all are kept in Problem.files)


@dataclass
class Problem:
    """One kind of problem and every file that has it. ``severity`` "error" stops training;
    "warning" does not."""

    severity: str
    kind: str
    message: str
    files: list[str] = field(default_factory=list)

    def describe(self) -> str:
        shown = ", ".join(self.files[:SHOWN_FILES])
        more = f" and {len(self.files) - SHOWN_FILES} more" if len(self.files) > SHOWN_FILES else ""
        where = f"\n    {len(self.files)} file(s): {shown}{more}" if self.files else ""
        return f"{self.severity}: {self.message}{where}"


@dataclass
class DataReport:
    """What :func:`check` found. ``ok`` is True when nothing stops training."""

    root: Path
    classes: ClassTable
    splits: dict[str, int] = field(default_factory=dict)  # pairs per split
    modes: dict[str, Counter] = field(default_factory=dict)  # split -> {"index": n, "colour": n, ...}
    pixels: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (C,) labelled pixels per class
    images: dict[str, np.ndarray] = field(default_factory=dict)  # split -> (C,) images holding the class
    ignored: dict[str, int] = field(default_factory=dict)  # split -> ignored pixels
    sizes: dict[str, Counter] = field(default_factory=dict)  # split -> {(height, width): images}
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    def errors(self) -> str:
        """The errors alone, as text (what ``bisenet train`` refuses the data with)."""
        return "\n".join(p.describe() for p in self.problems if p.severity == "error")

    def typical_size(self, split: str = "train") -> tuple[int, int]:
        """The median (height, width) of the split's images."""
        sizes = [hw for hw, n in self.sizes.get(split, Counter()).items() for _ in range(n)]
        if not sizes:
            raise DatasetError(f"{self.root}: no {split} image could be read")
        heights, widths = zip(*sizes, strict=True)
        return int(np.median(heights)), int(np.median(widths))

    def frequencies(self, split: str = "train"):
        """Per class of ``split``: labelled pixels, their share, and the images holding it (a DataFrame)."""
        import pandas as pd

        pixels = self.pixels[split]
        total = max(int(pixels.sum()), 1)
        return pd.DataFrame(
            {
                "class": self.classes.names,
                "pixels": pixels.astype(np.int64),
                "share (%)": 100 * pixels / total,
                "images": self.images[split].astype(np.int64),
            }
        ).set_index("class")

    def plot(self, path: str | Path, split: str = "train", overwrite: bool = False) -> Path:
        """A bar chart of the class frequencies of ``split`` (share of pixels, log scale) to ``path``
        (its suffix chooses the format); an existing file that is not a PNG plot the package wrote
        is replaced only with ``overwrite``."""
        import matplotlib

        matplotlib.use("Agg", force=False)
        import matplotlib.pyplot as plt

        from bisenet.atomic import PNG_SOFTWARE, atomic_path, refuse_foreign_png

        if not overwrite:
            refuse_foreign_png(path)
        table = self.frequencies(split)
        fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * len(table) + 1.5), 3.2))
        colours = [tuple(c / 255 for c in rgb) for rgb in self.classes.colours]
        ax.bar(table.index, table["share (%)"].clip(lower=1e-4), color=colours, edgecolor="black", linewidth=0.5)
        ax.set_yscale("log")
        ax.set_ylabel("share of labelled pixels (%)")
        ax.set_title(f"{self.root.name}, {split}: {self.splits.get(split, 0)} masks", fontsize=9)
        ax.tick_params(axis="x", rotation=60, labelsize=8)
        fig.tight_layout()
        with atomic_path(path, keep_suffix=True) as tmp:
            png = Path(path).suffix.lower() == ".png"
            fig.savefig(tmp, dpi=120, metadata={"Software": PNG_SOFTWARE} if png else None)
        plt.close(fig)
        return Path(path)

    def summary(self) -> str:
        """The report as text: counts, mask modes, the class table of the first split, every problem."""
        lines = [f"{self.root}: {len(self.classes)} classes ({', '.join(self.classes.names)})"]
        for split, n in self.splits.items():
            modes = ", ".join(f"{m} {c}" for m, c in sorted(self.modes.get(split, {}).items())) or "none read"
            lines.append(
                f"  {split}: {n} image/mask pairs; masks: {modes}; ignored pixels {self.ignored.get(split, 0):,}"
            )
        first = next(iter(self.pixels), None)
        if first is not None:
            lines.append(f"class frequencies ({first}):")
            lines += ["  " + line for line in self.frequencies(first).round(3).to_string().splitlines()]
        errors = sum(p.severity == "error" for p in self.problems)
        lines.append(
            f"{errors} error(s), {len(self.problems) - errors} warning(s)" if self.problems else "no problems found"
        )
        lines += [p.describe() for p in self.problems]
        lines.append("the data can be trained on" if self.ok else "fix the errors above before training")
        return "\n".join(lines)


class _Split:
    """What one pass over a split's pairs gathers."""

    def __init__(self, n_classes: int) -> None:
        self.modes: Counter = Counter()
        self.pixels = np.zeros(n_classes, dtype=np.int64)
        self.images = np.zeros(n_classes, dtype=np.int64)
        self.ignored = 0
        self.sizes: Counter = Counter()
        self.raw_index_values: set[int] = set()
        self.files: dict[str, list[str]] = {}  # problem kind -> files
        self.details: dict[str, set] = {}  # problem kind -> values seen

    def note(self, kind: str, file: Path, *values) -> None:
        self.files.setdefault(kind, []).append(str(file))
        self.details.setdefault(kind, set()).update(values)


def _read_pair(image_path: Path, mask_path: Path, table: ClassTable, options: FolderOptions, acc: _Split) -> None:
    try:
        image = read_image(image_path)
    except DatasetError:
        acc.note("unreadable-image", image_path)
        image = None
    else:
        acc.sizes[image.shape[:2]] += 1
    try:
        values, mode = read_mask_values(mask_path)
    except DatasetError as e:
        acc.note("jpeg-mask" if "JPEG" in str(e) else "unreadable-mask", mask_path)
        return
    values, mode = gray_as_colour(values, mode, table, options)
    acc.modes[mode] += 1
    if mode == "rgb-gray":
        acc.note("rgb-gray", mask_path)
    if mode == "colour":
        ids, unknown = colour_ids(values, table, options.ignore_colour)
        if unknown:
            acc.note("unknown-colour", mask_path, *unknown[:5])
    else:
        acc.raw_index_values.update(np.unique(values).tolist())
        ids = index_ids(values, options)
        bad = (ids >= len(table)) & (ids != IGNORE_INDEX)
        if bad.any():
            acc.note("outside-table", mask_path, *np.unique(ids[bad]).tolist()[:8])
            ids = np.where(bad, IGNORE_INDEX, ids)
    if image is not None and image.shape[:2] != ids.shape:
        acc.note(
            "size",
            mask_path,
            f"{image_path.name} {image.shape[1]}x{image.shape[0]} vs mask {ids.shape[1]}x{ids.shape[0]}",
        )
    counts = np.bincount(ids.ravel(), minlength=256)
    acc.pixels += counts[: len(table)]
    acc.images += counts[: len(table)] > 0
    acc.ignored += int(counts[IGNORE_INDEX])


_MESSAGES = {
    "unreadable-image": ("error", "images that cannot be read (truncated or not an image): re-export or remove them"),
    "unreadable-mask": ("error", "masks that cannot be read: re-export or remove them"),
    "jpeg-mask": ("error", "JPEG masks: lossy compression changes label values along every edge; save masks as PNG"),
    "no-mask": ("error", "images without a mask of the same name: add the masks or remove the images"),
    "no-image": ("error", "masks without an image of the same name: add the images or remove the masks"),
    "missing-file": ("error", "files the list file names that do not exist"),
    "size": ("error", "masks whose size differs from their image's (never resized to fit: re-export them)"),
    "rgb-gray": (
        "warning",
        "RGB masks with three identical channels: read as index masks (value = class id); if "
        "they were meant as colour masks, their gray colours are in no class",
    ),
}


def _split_problems(split: str, acc: _Split, table: ClassTable, options: FolderOptions) -> list[Problem]:
    problems = []
    for kind, files in acc.files.items():
        seen = sorted(acc.details.get(kind, set()), key=str)
        if kind == "outside-table":
            hint = (
                " (ids 1..C: --reduce-zero-label?)" if max(v for v in seen if isinstance(v, int)) == len(table) else ""
            )
            message = (
                f"masks with value(s) {seen[:8]} outside the {len(table)} classes of {CLASSES_FILE} (ids "
                f"0..{len(table) - 1}, 255 = ignore){hint}"
            )
            problems.append(Problem("error", kind, f"{split}: {message}", files))
        elif kind == "unknown-colour":
            severity = "warning" if options.unknown_colour == "ignore" else "error"
            what = (
                "read as ignore (--unknown-colour ignore)"
                if severity == "warning"
                else (f"add them to {CLASSES_FILE}, fix the masks, or read them as ignore with --unknown-colour ignore")
            )
            problems.append(
                Problem(
                    severity,
                    kind,
                    f"{split}: colour masks with colours that are no class, e.g. {seen[:3]}: {what}",
                    files,
                )
            )
        elif kind == "size":
            problems.append(Problem("error", kind, f"{split}: {_MESSAGES[kind][1]}; e.g. {seen[0]}", files))
        else:
            severity, message = _MESSAGES[kind]
            problems.append(Problem(severity, kind, f"{split}: {message}", files))
    return problems


def _signatures(split: str, acc: _Split, table: ClassTable, options: FolderOptions) -> list[Problem]:
    """The classic mistakes recognised from a split's index values and modes."""
    problems = []
    values = acc.raw_index_values
    if values and values <= {0, 255} and 255 in values and not options.reduce_zero_label:
        problems.append(
            Problem(
                "error",
                "binary-255",
                (
                    f"{split}: the masks hold only 0 and 255: a binary mask saved as 0/255? 255 means 'ignore', "
                    "so every "
                    "foreground pixel would be ignored; save the foreground as 1 (mask // 255) with 2 classes in "
                    f"{CLASSES_FILE}"
                ),
            )
        )
    elif values and 0 not in values and not options.reduce_zero_label:
        ids = values - {IGNORE_INDEX}
        if ids and min(ids) >= 1 and max(ids) == len(table):
            problems.append(
                Problem(
                    "error",
                    "zero-label",
                    (
                        f"{split}: the ids run 1..{len(table)} and 0 never appears: masks that count classes "
                        "from 1? pass "
                        "--reduce-zero-label (0 = ignore, ids shift down by one), or renumber them from 0"
                    ),
                )
            )
        elif ids:
            problems.append(
                Problem(
                    "warning",
                    "no-zero",
                    (
                        f"{split}: class 0 ({table.names[0]}) never appears: if the masks count from 1 and 0 "
                        "means 'other', "
                        "pass --reduce-zero-label"
                    ),
                )
            )
    if split == "train":
        absent = [name for name, n in zip(table.names, acc.pixels, strict=True) if n == 0]
        if absent and sum(acc.modes.values()):
            problems.append(
                Problem(
                    "warning",
                    "absent-class",
                    (
                        f"train: class(es) {absent} have no pixel: the model cannot learn them and their val IoU "
                        "will be 0 "
                        "or NaN"
                    ),
                )
            )
    return problems


def check(
    root: str | Path,
    splits: tuple[str, ...] = ("train", "val"),
    options: FolderOptions = FolderOptions(),
    classes: ClassTable | None = None,
    progress: bool = True,
) -> DataReport:
    """Read every image/mask pair of ``splits`` once and report (see the module docstring).

    Args:
        root: the dataset folder (required).
        splits: the splits to read. Default ("train", "val").
        options: the layout and mask options (:class:`FolderOptions`). Default: detected.
        classes: the class table; default ``ROOT/classes.csv`` (a missing or malformed one raises
            :class:`DatasetError`: nothing can be checked without it).
        progress: a progress bar per split. Default True.
    """
    from tqdm import tqdm

    root = dataset_root(root)
    if not root.is_dir():
        raise DatasetError(f"dataset root {root} does not exist")
    names = [str(s).strip() for s in splits]
    if not names or not all(names) or len(set(names)) != len(names):
        # a check of nothing must not pass ("--split ," used to report the data as trainable)
        raise DatasetError(f"splits {tuple(splits)!r}: name each split to read once, e.g. train,val")
    table = classes or read_classes(root / CLASSES_FILE)
    report = DataReport(root, table)
    for split in splits:
        try:
            found = find_pairs(root, split, options)
        except DatasetError as e:
            report.problems.append(Problem("error", "layout", f"{split}: {e}"))
            continue
        acc = _Split(len(table))
        for image_path, mask_path in tqdm(found.pairs, desc=f"check {split}", disable=not progress):
            if not (image_path.is_file() and mask_path.is_file()):
                continue  # reported from the list file below
            _read_pair(image_path, mask_path, table, options, acc)
        for kind, paths in (
            ("no-mask", found.images_without_mask),
            ("no-image", found.masks_without_image),
            ("missing-file", found.missing_files),
        ):
            for path in paths:
                acc.note(kind, path)
        if not found.pairs:
            report.problems.append(Problem("error", "empty", f"{split}: no image/mask pairs"))
        report.splits[split] = len(found.pairs)
        report.modes[split] = acc.modes
        report.pixels[split], report.images[split], report.ignored[split] = acc.pixels, acc.images, acc.ignored
        report.sizes[split] = acc.sizes
        report.problems += _split_problems(split, acc, table, options) + _signatures(split, acc, table, options)
    return report
