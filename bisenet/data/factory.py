"""Datasets by name, for the command line and the recipes."""

from __future__ import annotations

from pathlib import Path

from bisenet.data.base import SegmentationDataset, Transform
from bisenet.data.cityscapes import Cityscapes
from bisenet.data.cocostuff import COCOStuff
from bisenet.data.folder import CamVid, FolderDataset, FolderOptions, detect_dataset
from bisenet.data.minicity import MiniCity
from bisenet.errors import UsageError

DATASETS = {
    "cityscapes": Cityscapes,
    "minicity": MiniCity,
    "cocostuff": COCOStuff,
    "folder": FolderDataset,
    "camvid": CamVid,
}
# mmseg's test-time resize (long side, short side); None keeps the image's own size
# (Cityscapes' (2048, 1024) is its own size anyway).
EVAL_SCALES: dict[str, tuple[int, int] | None] = {
    "cityscapes": None,
    "minicity": None,
    "cocostuff": (2048, 512),
    "folder": None,
    "camvid": None,
}


def build_dataset(
    name: str,
    root: str | Path | None,
    split: str,
    transform: Transform | None = None,
    seed: int = 0,
    options: FolderOptions | None = None,
) -> SegmentationDataset:
    """A split of dataset ``name`` ("auto": the kind ``root`` holds, :func:`detect_dataset`).
    ``options`` (a folder dataset's layout and mask options) only for "folder"."""
    if name == "auto":
        name = resolve_dataset_kind(None, root)
    if name not in DATASETS:
        raise UsageError(f"unknown dataset {name!r}; available: {', '.join(DATASETS)}")
    if name == "folder":
        if root is None:
            raise UsageError("a folder dataset needs --data-root (the folder holding classes.csv)")
        return FolderDataset(root, split, transform=transform, seed=seed, options=options or FolderOptions())
    if options is not None and options != FolderOptions():
        raise UsageError(
            f"the folder options (--reduce-zero-label, --img-suffix, ...) are for folder datasets, not {name}"
        )
    return DATASETS[name](root, split, transform=transform, seed=seed)


def resolve_dataset_kind(name: str | None, root: str | Path | None, root_option: str = "--data-root") -> str:
    """``name`` when given, else the kind the root holds; neither raises :class:`UsageError`.

    Args:
        name: the dataset kind, or None / "auto" to recognise it.
        root: the dataset root.
        root_option: the option that gave ``root``, for the message ("--calibration" for
            ``export``, which has no ``--data`` to name the kind). Default "--data-root".
    """
    if name and name != "auto":
        return name
    kind = detect_dataset(root) if root is not None else None
    if kind is None:
        if root is not None and not Path(root).exists():
            raise UsageError(f"{root_option} {root} does not exist: give the folder of a dataset")
        kinds = "cityscapes, minicity, cocostuff, folder, camvid"
        fix = f"give --data ({kinds})"
        if root_option != "--data-root":  # a command without --data (export --calibration)
            fix = f"{root_option} takes the root of one ({kinds})"
        raise UsageError(
            f"cannot tell which dataset {root} holds: {fix}; a folder dataset has a classes.csv at its root"
        )
    return kind
