"""Training checkpoints: written atomically, the last K kept, the newest valid one found again.

A checkpoint is first written to a temporary file in the same folder, flushed to disk, then
renamed over its final name (``os.replace`` is atomic): a run killed while writing leaves the
previous checkpoints untouched and at worst a ``*.tmp`` file, which is ignored and cleaned up.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from bisenet.checkpoint import CheckpointError, read_checkpoint

ITER_PATTERN = re.compile(r"^iter_(\d+)\.pth$")


def save_atomic(state: dict[str, Any], path: Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def iteration_checkpoints(work_dir: Path) -> list[tuple[int, Path]]:
    """(iteration, path) of the ``iter_N.pth`` files in ``work_dir``, oldest first."""
    found = []
    for p in Path(work_dir).glob("iter_*.pth"):
        m = ITER_PATTERN.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def prune(work_dir: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` iteration checkpoints (``best.pth`` is never touched)."""
    for _, path in iteration_checkpoints(work_dir)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)
    for stale in Path(work_dir).glob(".*.tmp"):
        stale.unlink(missing_ok=True)


def latest_valid(work_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The newest iteration checkpoint that loads; a corrupt newer one is reported (a warning
    naming it and the error) and skipped, never loaded."""
    for _, path in reversed(iteration_checkpoints(work_dir)):
        try:
            state = read_checkpoint(path)
            if "iteration" not in state or "model" not in state:
                raise CheckpointError(f"{path} is not a training checkpoint (no 'iteration'/'model')")
        except CheckpointError as e:
            warnings.warn(f"skipping corrupt checkpoint: {e}", stacklevel=2)
            continue
        return path, state
    return None
