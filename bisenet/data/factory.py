"""Datasets by name, for the command line and the recipes."""

from __future__ import annotations

from pathlib import Path

from bisenet.data.base import SegmentationDataset, Transform
from bisenet.data.cityscapes import Cityscapes
from bisenet.data.cocostuff import COCOStuff
from bisenet.data.minicity import MiniCity
from bisenet.errors import UsageError

DATASETS = {"cityscapes": Cityscapes, "minicity": MiniCity, "cocostuff": COCOStuff}
# mmseg's test-time resize (long side, short side); None keeps the image's own size
# (Cityscapes' (2048, 1024) is its own size anyway).
EVAL_SCALES: dict[str, tuple[int, int] | None] = {"cityscapes": None, "minicity": None, "cocostuff": (2048, 512)}


def build_dataset(
    name: str, root: str | Path | None, split: str, transform: Transform | None = None, seed: int = 0
) -> SegmentationDataset:
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    return DATASETS[name](root, split, transform=transform, seed=seed)
