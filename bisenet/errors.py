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


class InputNotFoundError(BiSeNetError, FileNotFoundError):
    """An input file or folder named on the command line does not exist."""


class TrainingError(BiSeNetError, RuntimeError):
    """Training cannot go on (out of memory, a non-finite loss); the message names the
    iteration, the cause and the last good checkpoint."""
