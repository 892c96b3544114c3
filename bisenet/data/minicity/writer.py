"""Writing MiniCity in Cityscapes' layout: the file names, the three PNGs of each sample, the
``minicity.json`` metadata, and :func:`generate_minicity`, which writes (or keeps) a whole
dataset. Every file goes through ``bisenet.atomic``: an interrupted run never leaves a
half-written PNG or metadata file behind.
"""

from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

from bisenet.atomic import atomic_write, write_json
from bisenet.data.minicity.labels import label_ids_to_train_ids
from bisenet.data.minicity.scene import _check_size, render_scene
from bisenet.errors import RunExistsError, UsageError

VERSION = "1.0"
SPLITS: tuple[str, ...] = ("train", "val")  # the split index (0, 1) seeds the random streams
CITIES: dict[str, tuple[str, ...]] = {"train": ("aachenia", "bremenburg"), "val": ("frankton",)}
FRAME = 19  # Cityscapes' annotated frame is the 20th of each 30-frame snippet
META_FILE = "minicity.json"


# ----------------------------------------------------------------------------------------------
# Writing the dataset
# ----------------------------------------------------------------------------------------------


def sample_name(split: str, index: int) -> tuple[str, str]:
    """(city, file stem) of image ``index`` of ``split``, e.g. ("aachenia", "aachenia_000003_000019")."""
    cities = CITIES[split]
    city = cities[index % len(cities)]
    return city, f"{city}_{index:06d}_{FRAME:06d}"


def sample_paths(root: Path, split: str, index: int) -> tuple[Path, Path, Path]:
    """(image, labelIds, labelTrainIds) paths of image ``index`` of ``split`` under ``root``."""
    city, stem = sample_name(split, index)
    image = root / "leftImg8bit" / split / city / f"{stem}_leftImg8bit.png"
    gt = root / "gtFine" / split / city
    return image, gt / f"{stem}_gtFine_labelIds.png", gt / f"{stem}_gtFine_labelTrainIds.png"


def _save_png(array: np.ndarray, path: Path) -> None:
    """Write a PNG fast: zlib level 1 with the run-length strategy, which only looks for
    repeats of the previous byte. A photo's noisy low bits defeat longer string matching
    anyway, and label maps are long runs of one value: both come out smaller and faster than
    with the default strategy."""
    with atomic_write(path) as f:
        Image.fromarray(array).save(f, format="PNG", compress_level=1, compress_type=zlib.Z_RLE)


def write_sample(root: Path, split: str, index: int, size: tuple[int, int], seed: int) -> None:
    """Render image ``index`` of ``split`` (its own random stream) and write its three PNGs."""
    rng = np.random.default_rng([seed, SPLITS.index(split), index])
    image, label_ids = render_scene(rng, size)
    image_path, ids_path, train_path = sample_paths(root, split, index)
    image_path.parent.mkdir(parents=True, exist_ok=True)
    ids_path.parent.mkdir(parents=True, exist_ok=True)
    _save_png(image, image_path)
    _save_png(label_ids, ids_path)
    _save_png(label_ids_to_train_ids(label_ids), train_path)


def _check_count(name: str, value: int) -> int:
    """A number of images: a non-negative int, or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise UsageError(f"{name} must be a non-negative integer, got {value!r}")
    return int(value)


def _is_complete(root: Path, meta: dict) -> bool:
    """Whether the MiniCity described by ``meta`` was fully written under ``root``."""
    if not meta.get("complete"):
        return False
    for split in SPLITS:
        n = meta.get(split, 0)
        if n and not all(p.is_file() for p in sample_paths(root, split, n - 1)):
            return False
        if len(list((root / "leftImg8bit" / split).glob("*/*_leftImg8bit.png"))) != n:
            return False
    return True


def _meta(train: int, val: int, size: tuple[int, int], seed: int) -> dict:
    """What ``minicity.json`` records of a MiniCity: its arguments and the generator's version."""
    return {
        "name": "MiniCity",
        "version": VERSION,
        "seed": seed,
        "size": list(size),
        "train": train,
        "val": val,
        "cities": {split: list(CITIES[split]) for split in SPLITS},
        "frame": FRAME,
    }


def generate_minicity(
    out: str | Path,
    train: int = 40,
    val: int = 10,
    size: tuple[int, int] = (512, 1024),
    seed: int = 0,
    overwrite: bool = False,
    announce: str | None = None,
) -> Path:
    """Write the dataset under ``out`` and return ``out`` as a Path. ``announce``, when given, is
    printed before the first image is written (not when the city is already there).

    ``out`` may be missing or empty. If it already holds a MiniCity made with the same arguments,
    nothing is rewritten (unless ``overwrite``); a MiniCity made with other arguments is replaced
    only with ``overwrite=True`` (an interrupted, incomplete one is simply redone); a folder
    holding anything else is never touched (:class:`~bisenet.errors.RunExistsError`, a
    ``FileExistsError``). Bad arguments raise :class:`~bisenet.errors.UsageError` (a ``ValueError``).

    Image ``i`` of a split depends only on (seed, split, i), through
    ``np.random.default_rng([seed, split_index, i])``: the first images of a larger city are
    those of a smaller one, byte for byte. Train images alternate between the train cities.

    """
    out = Path(out)
    height, width = _check_size(size)
    train, val = _check_count("train", train), _check_count("val", val)
    if train + val == 0:
        raise UsageError(f"train + val must be positive, got train={train}, val={val}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    meta = _meta(train, val, (height, width), int(seed))
    meta_path = out / META_FILE
    if out.exists() and not out.is_dir():
        raise RunExistsError(f"{out} exists and is not a folder; MiniCity needs a folder")
    if meta_path.is_file():
        try:
            old = json.loads(meta_path.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise RunExistsError(f"{out} holds an unreadable {META_FILE}; not writing MiniCity there") from None
        if not isinstance(old, dict) or old.get("name") != "MiniCity":
            raise RunExistsError(f"{out} holds a {META_FILE} that is not MiniCity's; not writing there")
        same = {k: v for k, v in old.items() if k != "complete"} == meta
        if same and not overwrite and _is_complete(out, old):
            return out
        if not same and not overwrite and old.get("complete"):
            raise RunExistsError(
                f"{out} holds a MiniCity made with other arguments (seed {old.get('seed')}, size "
                f"{old.get('size')}, train {old.get('train')}, val {old.get('val')}); "
                "pass --overwrite (overwrite=True in Python) to replace it"
            )
        for sub in ("leftImg8bit", "gtFine"):
            shutil.rmtree(out / sub, ignore_errors=True)
        meta_path.unlink()
    elif out.is_dir() and any(out.iterdir()):
        raise RunExistsError(
            f"{out} is not empty and holds no MiniCity ({META_FILE} is missing); choose another folder or empty it"
        )

    if announce is not None:
        print(announce, flush=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json(meta_path, {**meta, "complete": False})
    for split, count in (("train", train), ("val", val)):
        for index in range(count):
            write_sample(out, split, index, (height, width), int(seed))
    write_json(meta_path, {**meta, "complete": True})
    return out
