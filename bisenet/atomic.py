"""Writing files so that nothing is ever half-written: every file the package writes goes
through this module.

A file is first written to a temporary name in the same folder, flushed to disk, then renamed
over its final name (``os.replace`` is atomic on POSIX and Windows): a process killed while
writing leaves the previous file untouched and at worst a hidden ``.<name>.<pid>.tmp`` file,
which is removed when the write fails and ignored by every reader (:func:`remove_stale` clears
what a killed process left).

* :func:`atomic_path` yields the temporary path, for writers that want a file name
  (``torch.onnx.export``, a video writer);
* :func:`atomic_write` yields an open file object (``torch.save``, ``PIL.Image.save``, text);
* :func:`write_text`, :func:`write_json` and :func:`write_csv` are the one-line cases;
* :func:`append_line` adds one line to a log (JSON lines), flushed to disk: a crash can cut at
  most that last line, which :func:`read_lines` leaves out;
* :func:`exclusive_lock` makes processes that build the same cached thing (a MiniCity, a trained
  model) take turns, so that two notebooks run side by side never write one folder at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from bisenet.errors import FolderInUseError, OutputError

TMP_GLOBS = (".*.tmp", ".*.tmp.*")  # what a killed writer may leave behind


def not_a_regular_file(path: str | Path) -> str | None:
    """What stands at ``path`` if it is neither nothing nor a regular file ("a symbolic link",
    "a named pipe (FIFO)", "a device", "a socket", "a folder"), else None. Writing there would
    replace a link and leave its target stale, block on a pipe, or turn a device node into a
    file: the package refuses such outputs."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return None
    except OSError:
        return None  # unreadable: the write itself reports it
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return f"a symbolic link (to {os.readlink(path)})"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def refuse_non_regular(path: str | Path) -> None:
    """Raise :class:`~bisenet.errors.OutputError` if ``path`` holds anything but a regular file
    (:func:`not_a_regular_file`)."""
    what = not_a_regular_file(path)
    if what is not None:
        raise OutputError(f"cannot write {path}: it is {what}; give the path of a regular file (nothing was written)")


def _fsync_folder(folder: Path) -> None:
    """Make a rename in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path, keep_suffix: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path``; when the block ends without an exception, the file
    written there replaces ``path`` (flushed to disk first). The folder is created if needed.
    ``keep_suffix``: the temporary name ends in ``path``'s suffix too (``.<name>.<pid>.tmp.mp4``),
    for writers that choose the format by it. A write the system refuses (disk full, no
    permission, a folder in the way) raises :class:`~bisenet.errors.OutputError` naming ``path``;
    the previous file, if any, is untouched."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp" + (path.suffix if keep_suffix else ""))
    refuse_non_regular(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp} (for {path})")
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        if isinstance(e, (FileNotFoundError, OutputError)) and not e.errno:
            raise
        reason = e.strerror or str(e)
        raise OutputError(f"cannot write {path}: {reason} (the previous file, if any, is unchanged)") from e
    finally:
        if tmp.exists():
            tmp.unlink()
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """An open file (``mode`` "wb" or "w") whose content replaces ``path`` only once it is
    complete and on disk."""
    if mode not in ("wb", "w"):
        raise ValueError(f"atomic_write writes a whole file: mode must be 'wb' or 'w', got {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode) as f:
        yield f
        f.flush()


def write_text(path: str | Path, text: str) -> Path:
    with atomic_write(path, "w") as f:
        f.write(text)
    return Path(path)


def write_json(path: str | Path, data: Any) -> Path:
    return write_text(path, json.dumps(data, indent=2) + "\n")


def write_csv(path: str | Path, table, overwrite: bool = False) -> Path:
    """A pandas DataFrame as CSV, without its index. An existing file is replaced only if it is a
    table with the same columns (this command's earlier output) or ``overwrite`` is true; else
    :class:`~bisenet.errors.OutputError` says so and nothing is written.

    Args:
        path: the CSV file.
        table: the DataFrame.
        overwrite: replace an existing file whatever it holds (``--overwrite``).
    """
    if not overwrite:
        _refuse_foreign_csv(Path(path), [str(c) for c in table.columns])
    with atomic_write(path, "w") as f:
        table.to_csv(f, index=False)
    return Path(path)


def _refuse_foreign_csv(path: Path, columns: list[str]) -> None:
    """Refuse to replace a file at ``path`` whose first line is not a CSV header of ``columns``."""
    import csv

    refuse_non_regular(path)
    if not path.exists():
        return
    try:
        with open(path, newline="", encoding="utf-8") as f:
            header = next(csv.reader([f.readline()]), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        header = None
    if header != columns:
        raise OutputError(
            f"{path} exists and is not a table this command wrote (its first line is not the header of "
            f"these {len(columns)} columns): pass --overwrite to replace it, or give another file (or remove it)"
        )


PNG_SOFTWARE = "bisenet"  # the PNG "Software" text of every plot and overlay the package writes


def refuse_foreign_png(path: str | Path) -> None:
    """Refuse to replace a file at ``path`` that is not a PNG whose "Software" text is
    :data:`PNG_SOFTWARE` (a plot or overlay the package wrote earlier)."""
    from PIL import Image

    path = Path(path)
    refuse_non_regular(path)
    if not path.exists():
        return
    try:
        with Image.open(path) as image:
            ours = image.format == "PNG" and str(image.info.get("Software", "")).startswith(PNG_SOFTWARE)
    except Exception:  # noqa: BLE001 - whatever PIL cannot read is not ours
        ours = False
    if not ours:
        raise OutputError(
            f"{path} exists and is not an image this package wrote: pass --overwrite to replace it, or give "
            "another file"
        )


def refuse_foreign_json(path: str | Path, keys: list[str]) -> None:
    """Refuse to replace a file at ``path`` that is not a JSON object with exactly ``keys``."""
    path = Path(path)
    refuse_non_regular(path)
    if not path.exists():
        return
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        ours = isinstance(data, dict) and sorted(data) == sorted(keys)
    except (OSError, UnicodeDecodeError, ValueError):
        ours = False
    if not ours:
        raise OutputError(
            f"{path} exists and is not a file this command wrote (not a JSON object with its keys): pass "
            "--overwrite to replace it, or give another file"
        )


def append_line(path: str | Path, line: str) -> None:
    """Append one line (no newline in it) and flush it to disk."""
    if "\n" in line:
        raise ValueError("append_line appends one line: the text must not contain a newline")
    try:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a") as f:
            f.write(line + "\n")
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        raise OutputError(f"cannot append to {path}: {e.strerror or e}") from e


def read_lines(path: str | Path) -> list[str]:
    """The complete lines of a file written by :func:`append_line`: blank lines and a last line
    without its newline (cut by a crash while it was written) are left out."""
    text = Path(path).read_text()
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # the torn last line, or "" for an empty file
    return [line for line in lines if line.strip()]


def remove_stale(folder: str | Path) -> None:
    """Delete the temporary files that killed writers left in ``folder``."""
    for pattern in TMP_GLOBS:
        for stale in Path(folder).glob(pattern):
            stale.unlink(missing_ok=True)


@contextlib.contextmanager
def exclusive_lock(path: str | Path) -> Iterator[None]:
    """Hold an exclusive lock on the file ``path`` (created, with its folder, if needed) for the
    block: a second process (or thread) asking for the same lock waits until the first is done.
    POSIX ``flock``; where it does not exist (Windows) the block runs unlocked."""
    path = Path(path)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(path, "a")
    except OSError as e:
        raise OutputError(f"cannot create {path}: {e.strerror or e} (is its folder writable?)") from e
    with f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def check_writable(path: str | Path) -> Path:
    """Raise :class:`~bisenet.errors.OutputError` now if a file could not be written at ``path``
    later (it is a folder, or a file stands where its folder would be made, or the folder is not
    writable), so that a long computation does not fail at its end; returns ``path``."""
    path = Path(path)
    parent = path.parent
    while not parent.exists():
        parent = parent.parent
    refuse_non_regular(path)
    if not parent.is_dir():
        raise OutputError(f"cannot write {path}: {parent} is a file, not a folder")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"cannot write {path}: no permission to write in {parent}")
    return path


LOCK_FILE = ".bisenet.lock"


@contextlib.contextmanager
def owned_folder(folder: str | Path, what: str = "run") -> Iterator[Path]:
    """Hold ``folder`` (created if needed) for this process for the block: an exclusive ``flock``
    on ``folder/.bisenet.lock``, which holds this process's id, and which the system releases if
    the process dies. A second process asking for the same folder is refused at once with
    :class:`~bisenet.errors.FolderInUseError` naming the first one's id (two runs writing one
    folder would interleave their logs and overwrite each other's checkpoints). Where ``flock``
    does not exist (Windows) the block runs unlocked.

    Args:
        folder: the work folder.
        what: what holds it, for the message ("training run").
    """
    folder = Path(folder)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield folder
        return
    try:
        folder.mkdir(parents=True, exist_ok=True)
        f = open(folder / LOCK_FILE, "a+")
    except OSError as e:
        raise OutputError(f"cannot create {folder / LOCK_FILE}: {e.strerror or e} (is the folder writable?)") from e
    with f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "unknown"
            raise FolderInUseError(
                f"{folder} is in use by another {what} (process {holder}): wait for it to end, or give another "
                "--work-dir"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"{os.getpid()}\n")
        f.flush()
        try:
            yield folder
        finally:
            fcntl.flock(f.fileno(), fcntl.LOCK_UN)
