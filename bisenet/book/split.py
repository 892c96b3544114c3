"""Writing a dataset as a split of a folder dataset, its classes regrouped: how chapter 19 makes
"your own data" from MiniCity (and the tests a folder dataset to train on)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from bisenet.atomic import atomic_path
from bisenet.data.base import IGNORE_INDEX, DatasetError, SegmentationDataset
from bisenet.data.folder import CLASSES_FILE, ClassTable, write_classes


def regroup(groups: dict[str, list[str]], classes: tuple[str, ...]) -> np.ndarray:
    """A 256-entry lookup table from a dataset's train ids to new class ids: ``groups`` maps each
    new class (in id order) to the old class names it takes; old classes in no group, and 255,
    become 255. An unknown old name raises :class:`DatasetError`."""
    table = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for new_id, names in enumerate(groups.values()):
        for name in names:
            if name not in classes:
                raise DatasetError(f"class {name!r} is not a class of the source dataset ({', '.join(classes)})")
            table[classes.index(name)] = new_id
    return table


def write_split(
    dataset: SegmentationDataset,
    root: str | Path,
    split: str,
    lookup: np.ndarray,
    table: ClassTable,
    colour_masks: bool = True,
    count: int | None = None,
) -> int:
    """Write ``dataset`` (any of the package's datasets) as split ``split`` of a folder dataset at
    ``root``: ``images/<split>/NAME.png`` and ``masks/<split>/NAME.png``, the masks' train ids
    mapped through ``lookup`` (:func:`regroup`) and saved as colour masks in ``table``'s colours
    (ignore as black, the default ``ignore_colour``, which must then be no class's colour) or as
    index masks (ignore as 255); ``count``: only the first that many samples (more than the
    dataset holds is refused, not clamped). Also writes
    ``classes.csv``. Returns the number of pairs written."""
    root = Path(root)
    if colour_masks and (0, 0, 0) in table.colours:
        raise DatasetError("black (0, 0, 0) marks 'ignore' in the colour masks written here: give no class that colour")
    write_classes(root / CLASSES_FILE, table)
    colours = np.zeros((256, 3), dtype=np.uint8)  # 255 (ignore) stays black
    colours[: len(table)] = np.array(table.colours, dtype=np.uint8)
    for folder in ("images", "masks"):
        (root / folder / split).mkdir(parents=True, exist_ok=True)
    if count is not None and not 0 <= count <= len(dataset):
        raise DatasetError(
            f"count {count}: the {split} split to copy holds {len(dataset)} samples; ask for at most that"
        )
    n = len(dataset) if count is None else count
    for index in range(n):
        image, label = dataset.load(index)
        name = f"{index:05d}.png"
        ids = lookup[label]
        # PNG files written whole or not at all (a crash leaves no half image for a later run)
        with atomic_path(root / "images" / split / name, keep_suffix=True) as tmp:
            Image.fromarray(image).save(tmp)
        with atomic_path(root / "masks" / split / name, keep_suffix=True) as tmp:
            Image.fromarray(colours[ids] if colour_masks else ids).save(tmp)
    return n
