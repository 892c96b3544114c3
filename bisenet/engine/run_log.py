"""A training run's records: ``log.jsonl`` (one JSON object per line: ``kind`` "train" or "val",
``iter`` and the values) and ``run.json`` (the recipe and where the run happened).

Lines are appended and flushed one at a time (:func:`bisenet.atomic.append_line`); a line cut
by a crash is left out when the log is read, and a resumed run first forgets what the
interrupted one logged after its checkpoint.
"""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

from bisenet.atomic import LOCK_FILE, append_line, read_lines, write_json, write_text

LOG_FILE = "log.jsonl"
RUN_FILE = "run.json"


def _record(line: str) -> dict | None:
    """The record a log line holds, or None for a damaged line (not JSON, not an object, no
    ``kind`` "train"/"val" or no integer ``iter``: garbage, or the block of NUL bytes a crash can
    leave on some filesystems)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("kind") not in ("train", "val"):
        return None
    step = record.get("iter")
    return record if isinstance(step, int) and not isinstance(step, bool) else None


def log_records(path: str | Path) -> list[dict]:
    """The records of a run's log in order; damaged lines are left out with one warning naming
    their line numbers (a resumed run rewrites the log without them)."""
    records, damaged = [], []
    for number, line in enumerate(read_lines(path), 1):
        record = _record(line)
        if record is None:
            damaged.append(number)
        else:
            records.append(record)
    if damaged:
        shown = ", ".join(map(str, damaged[:5])) + (", ..." if len(damaged) > 5 else "")
        warnings.warn(f"{path}: {len(damaged)} damaged line(s) left out (line {shown}): not log records", stacklevel=2)
    return records


def read_log(path: str | Path):
    """The JSON-lines log of a run as a pandas DataFrame, one row per record (``kind`` is "train"
    or "val"; damaged lines left out, see :func:`log_records`); for the book's loss and mIoU
    curves."""
    import pandas as pd

    return pd.DataFrame.from_records(log_records(path))


def write_record(path: Path, record: dict) -> None:
    """Append one record to the log."""
    append_line(path, json.dumps(record))


def truncate_log(path: Path, iteration: int) -> None:
    """After resuming at ``iteration``, forget what the interrupted run logged past it (atomic: a
    crash here leaves the old log, never half of it)."""
    if path.exists():
        kept = [record for record in log_records(path) if record["iter"] <= iteration]
        write_text(path, "".join(json.dumps(record) + "\n" for record in kept))


def write_run_info(work_dir: Path, info: dict) -> None:
    """``run.json``: the recipe, the process layout and the provenance of the run (and of each
    resumed part of it, under ``"resumed"``)."""
    write_json(work_dir / RUN_FILE, info)


def read_run_info(work_dir: Path) -> dict | None:
    """``run.json`` of ``work_dir``, or None when there is none (or it cannot be read)."""
    try:
        return json.loads((work_dir / RUN_FILE).read_text())
    except (OSError, ValueError):
        return None


def is_run_file(path: Path) -> bool:
    """Whether ``path``, in a work folder, is one a training run writes: its log, ``run.json``,
    checkpoints (``*.pth``), the folder lock, TensorBoard's folder, an atomic writer's leftover."""
    name = path.name
    return (
        name in (LOG_FILE, RUN_FILE, LOCK_FILE, "tensorboard")
        or name.endswith(".pth")
        or (name.startswith(".") and ".tmp" in name)
    )


def remove_run(work_dir: str | Path) -> list[str]:
    """Delete what a training run wrote in ``work_dir`` and the folder itself when nothing else is
    left; anything else in it (a user's notes) is kept. Returns the names of what was kept."""
    work_dir = Path(work_dir)
    if not work_dir.is_dir():
        return []
    kept = []
    for path in sorted(work_dir.iterdir()):
        if not is_run_file(path):
            kept.append(path.name)
        elif path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    if not kept:
        work_dir.rmdir()
    return kept
