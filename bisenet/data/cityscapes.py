"""Cityscapes (Cordts et al., CVPR 2016) in its standard layout.

    <root>/leftImg8bit/<split>/<city>/<city>_<seq>_<frame>_leftImg8bit.png
    <root>/gtFine/<split>/<city>/<city>_<seq>_<frame>_gtFine_labelIds.png

The 34 label ids of the annotation map to the 19 train ids plus 255 ("ignore") through
cityscapesscripts' own label table (``cityscapesscripts.helpers.labels``), never a copy of it.
MiniCity (``bisenet.data.minicity``) writes the same layout, so this class reads it too: its
dataset class, ``bisenet.data.minicity.MiniCity``, is this one with a required root.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from cityscapesscripts.helpers.labels import labels as _CS_LABELS

from bisenet.data.base import (
    IGNORE_INDEX,
    DatasetError,
    SegmentationDataset,
    Transform,
    dataset_root,
    lookup_table,
    pair_files,
)

ENV_VAR = "CITYSCAPES_DATASET"  # the variable cityscapesscripts itself uses

# The 19 evaluated classes, in train-id order, and their colours, from cityscapesscripts.
_TRAIN_LABELS = sorted((lb for lb in _CS_LABELS if 0 <= lb.trainId < IGNORE_INDEX), key=lambda lb: lb.trainId)
CITYSCAPES_CLASSES: tuple[str, ...] = tuple(lb.name for lb in _TRAIN_LABELS)
CITYSCAPES_PALETTE: tuple[tuple[int, int, int], ...] = tuple(tuple(lb.color) for lb in _TRAIN_LABELS)
# label id (0..33) -> train id (0..18 or 255); values not in the table are UNKNOWN.
LABEL_ID_TO_TRAIN_ID: np.ndarray = lookup_table(
    {lb.id: (lb.trainId if 0 <= lb.trainId < IGNORE_INDEX else IGNORE_INDEX) for lb in _CS_LABELS if lb.id >= 0}
)
# train id -> label id (what the official evaluation reads from prediction files)
TRAIN_ID_TO_LABEL_ID: np.ndarray = np.array([lb.id for lb in _TRAIN_LABELS], dtype=np.uint8)

IMAGE_SUFFIX = "_leftImg8bit.png"
LABEL_SUFFIX = "_gtFine_labelIds.png"


def resolve_root(root: str | Path | None) -> Path:
    """The dataset root from the argument or ``CITYSCAPES_DATASET``, checked to exist."""
    if root is None:
        root = os.environ.get(ENV_VAR)
        if not root:
            raise DatasetError(
                f"no Cityscapes root given and {ENV_VAR} is not set. Cityscapes needs an account: "
                "download leftImg8bit_trainvaltest.zip and gtFine_trainvaltest.zip from "
                f"https://www.cityscapes-dataset.com, unzip both into one folder and set {ENV_VAR} "
                "to it (or pass root=...). Without it, use MiniCity, the synthetic city in the same "
                "layout: `bisenet minicity --out data/minicity`, then root='data/minicity'."
            )
    root = dataset_root(root)
    if not root.is_dir():
        raise DatasetError(f"Cityscapes root {root} does not exist or is not a folder")
    return root


def cityscapes_samples(root: Path, split: str) -> list[tuple[Path, Path]]:
    """The (image, labelIds) pairs of a split, sorted by name."""
    image_dir = root / "leftImg8bit" / split
    label_dir = root / "gtFine" / split
    for folder in (image_dir, label_dir):
        if not folder.is_dir():
            raise DatasetError(
                f"{folder} does not exist: {root} is not a Cityscapes root with a {split!r} split "
                "(expected leftImg8bit/<split>/<city>/ and gtFine/<split>/<city>/)"
            )
    images = sorted(image_dir.glob(f"*/*{IMAGE_SUFFIX}"))
    labels = sorted(label_dir.glob(f"*/*{LABEL_SUFFIX}"))
    if not images and not labels:
        raise DatasetError(
            f"split {split!r} of {root} is empty: no {image_dir}/*/*{IMAGE_SUFFIX} and no {label_dir}/*/*{LABEL_SUFFIX}"
        )
    return pair_files(images, labels, IMAGE_SUFFIX, LABEL_SUFFIX, f"Cityscapes {split} split at {root}")


class Cityscapes(SegmentationDataset):
    """Cityscapes ``split`` ("train", "val" or "test") with labels mapped to train ids.

    ``root`` defaults to ``CITYSCAPES_DATASET``. ``transform(image, label, rng)`` is applied to
    every sample (see ``bisenet.data.transforms``). Label ids outside cityscapesscripts' table are
    mapped to 255, counted and warned about once.
    """

    classes = CITYSCAPES_CLASSES
    palette = CITYSCAPES_PALETTE
    prediction_ids = TRAIN_ID_TO_LABEL_ID  # what cityscapesscripts' evaluation reads

    def __init__(
        self, root: str | Path | None = None, split: str = "train", transform: Transform | None = None, seed: int = 0
    ) -> None:
        self.root = resolve_root(root)
        self.split = split
        samples = cityscapes_samples(self.root, split)
        super().__init__(samples, transform, seed, LABEL_ID_TO_TRAIN_ID, f"Cityscapes {split} at {self.root}")
