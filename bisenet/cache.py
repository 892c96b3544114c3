"""Where the package keeps what it makes once and reuses: generated MiniCity datasets, the
profile's trained models, the ablation grid's runs.

The folder is ``BISENET_CACHE`` when set, else ``~/.cache/bisenet``; every function that uses it
also takes the folder as an argument. Deleting it is always safe: everything in it is
regenerated (or retrained) on first use.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from bisenet.atomic import exclusive_lock
from bisenet.errors import UsageError

ENV_VAR = "BISENET_CACHE"


def cache_dir(cache: str | Path | None = None) -> Path:
    """``cache`` if given, else ``BISENET_CACHE``, else ``~/.cache/bisenet`` (not created here);
    one that exists and is not a folder raises :class:`~bisenet.errors.UsageError`."""
    if cache is not None:
        folder, where = Path(cache).expanduser(), f"the cache {cache}"
    elif os.environ.get(ENV_VAR):
        folder, where = Path(os.environ[ENV_VAR]).expanduser(), f"{ENV_VAR}={os.environ[ENV_VAR]}"
    else:
        folder, where = Path.home() / ".cache" / "bisenet", "the cache ~/.cache/bisenet"
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{where} is a file, not a folder: point {ENV_VAR} (or --cache) at a folder")
    return folder


@dataclass(frozen=True)
class MiniCitySpec:
    """A MiniCity to generate (``bisenet.data.minicity.generate_minicity``), always with seed 0.

    Args:
        train: training images.
        val: validation images.
        size: (H, W) of every image.
    """

    train: int
    val: int
    size: tuple[int, int]

    @property
    def folder(self) -> str:
        """Its folder's name in the cache: ``minicity-<H>x<W>``."""
        return f"minicity-{self.size[0]}x{self.size[1]}"

    def __str__(self) -> str:
        return f"MiniCity {self.size[0]}x{self.size[1]} ({self.train} train + {self.val} val images)"


def cached_minicity(spec: MiniCitySpec, cache: str | Path | None = None, cost: str | None = None) -> Path:
    """The root of the MiniCity ``spec`` in the cache, generated on first use (one process at a
    time: others wait, then find it made). Before generating it prints what it is about to make
    and ``cost``, the time that takes (e.g. :meth:`bisenet.profiles.Profile.cost`), when given."""
    from bisenet.data.minicity import generate_minicity

    root = cache_dir(cache) / spec.folder
    announce = None if cost is None else f"generating {spec} into {root} (once; later runs find it): {cost}"
    with exclusive_lock(root.with_name(f".{root.name}.lock")):
        return generate_minicity(root, train=spec.train, val=spec.val, size=spec.size, seed=0, announce=announce)
