"""The errors the package raises on bad input: each message names the file, value or setting
and says what to do.

The command line reports exactly these (``error: <message>``, exit status 2); anything else
that escapes a command is a bug in the package and keeps its traceback. Each class also derives
from the built-in exception a Python caller would expect (``ValueError`` for a bad value,
``FileExistsError`` for a folder already in use, ...), so ``except ValueError`` still works for
callers of the library.
"""

from __future__ import annotations


class BiSeNetError(Exception):
    """Base class: something the user gave (an argument, a file, a dataset) cannot be used."""


class UsageError(BiSeNetError, ValueError):
    """A bad argument value: an unknown model, recipe, option, variant or device, a size out of
    range, a combination of settings that cannot work."""


class DatasetError(BiSeNetError, RuntimeError):
    """A dataset cannot be used as given; the message names the path or value and what to do."""


class CheckpointError(BiSeNetError, RuntimeError):
    """A checkpoint cannot be read or does not fit the model; the message says which and why."""


class RunExistsError(BiSeNetError, FileExistsError):
    """A work folder or output already holds a run or a file that would be overwritten."""


class FolderInUseError(BiSeNetError, RuntimeError):
    """A work folder another process is using (a second ``train`` on the same ``--work-dir``); the
    message names that process."""


class InputNotFoundError(BiSeNetError, FileNotFoundError):
    """An input file or folder named on the command line does not exist."""


class OutputError(BiSeNetError, OSError):
    """A file cannot be written (disk full, no permission, a folder in the way); the message
    names it and says that the previous file, if any, is intact."""


class TrainingError(BiSeNetError, RuntimeError):
    """Training cannot go on (out of memory, a non-finite loss); the message names the
    iteration, the cause and the last good checkpoint."""


def unwrap_worker_error(error: BiSeNetError) -> BiSeNetError:
    """The error as a DataLoader worker raised it. PyTorch re-raises a worker's exception in the
    main process as the same class with the worker's whole traceback as its message ("Caught
    DatasetError in DataLoader worker process 0. Original Traceback ..."); this gives back an
    error of that class with just the original message (naming the file), or ``error`` itself
    when it did not come from a worker."""
    text = str(error)
    if "in DataLoader worker process" not in text:
        return error
    marker = f"{type(error).__module__}.{type(error).__qualname__}: "
    original = text.rsplit(marker, 1)[-1].strip() if marker in text else text.strip().splitlines()[-1]
    return type(error)(original)
