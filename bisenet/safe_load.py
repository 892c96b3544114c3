"""Reading a checkpoint someone else wrote without running code from it.

``torch.load(weights_only=True)`` rebuilds tensors, containers and plain values and refuses any
other class or function the pickle names. The checkpoints of the training tools the book meets
name a few more in their *non-weight* parts:

* numpy scalars, arrays and dtypes (mmengine's ``meta`` and message hub): allowed by name, and
  rebuilt by numpy from their bytes;
* objects of the tools' own classes (mmengine's ``HistoryBuffer`` in ``message_hub``, mmcv's and
  sssegmentation's bookkeeping): read as :class:`Inert` placeholders, which keep the pickled
  arguments and state and run nothing, so the package needs neither tool installed;
* ``getattr`` on such a placeholder: pickle protocol 2 writes a method as
  ``getattr(Class, "name")`` (mmengine's HistoryBuffer keeps ``HistoryBuffer.min`` and its
  siblings in a dict), so ``builtins.getattr`` is replaced by :func:`inert_getattr`, which gives
  another placeholder for a placeholder and refuses anything else.

Anything else (``os.system``, ``builtins.eval``, a class of an unknown module) is refused before
the file is unpickled, with the names it would have used: loading it would mean running code
from the file.

    from bisenet.safe_load import safe_torch_load
    data = safe_torch_load("bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024_20210902_015551-bcf10f09.pth")
"""

from __future__ import annotations

import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.serialization import get_unsafe_globals_in_checkpoint, safe_globals

# the modules whose classes may stand in a checkpoint's bookkeeping, read as placeholders
INERT_MODULES = ("mmengine.", "mmcv.", "mmseg.", "ssseg.")


class Inert:
    """Stands for an object of a class the package does not import, found in a checkpoint's
    non-weight parts (e.g. ``mmengine.logging.history_buffer.HistoryBuffer``): keeps what the
    pickle held (``args``, ``state``) and runs nothing. ``pickled_as`` names the class."""

    pickled_as = ""

    def __new__(cls, *args: Any, **kwargs: Any) -> Inert:  # pickle's NEWOBJ and REDUCE both come here
        instance = super().__new__(cls)
        instance.args, instance.kwargs, instance.state = args, kwargs, None
        return instance

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def __repr__(self) -> str:
        return f"<inert {self.pickled_as}>"


def _is_inert(obj: Any) -> bool:
    return isinstance(obj, Inert) or (isinstance(obj, type) and issubclass(obj, Inert))


def inert_getattr(obj: Any, name: str) -> Inert:
    """``builtins.getattr`` as the checkpoint may use it: only on an :class:`Inert` placeholder
    (class or object), answered by a placeholder for the attribute; anything else raises
    :class:`UnsafeCheckpoint` (an attribute of a real object could be code to run)."""
    if not (_is_inert(obj) and isinstance(name, str)):
        raise UnsafeCheckpoint(
            f"the checkpoint asks for getattr({type(obj).__name__} object, {name!r}) outside the tools' bookkeeping "
            "classes: refused, nothing from it was executed"
        )
    return type(name, (Inert,), {"pickled_as": f"{obj.pickled_as}.{name}"})()


def _numpy_globals() -> dict[str, Any]:
    """numpy's functions and classes that rebuild scalars, arrays and dtypes from bytes, under the
    names numpy 1.x and 2.x pickle them with."""
    core = np._core.multiarray if hasattr(np, "_core") else np.core.multiarray
    found = {"numpy.ndarray": np.ndarray, "numpy.dtype": np.dtype}
    for module in ("numpy.core.multiarray", "numpy._core.multiarray"):
        found[f"{module}.scalar"] = core.scalar
        found[f"{module}._reconstruct"] = core._reconstruct
    for kind in (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.bool_):
        cls = type(np.dtype(kind))
        found[f"numpy.dtypes.{cls.__name__}"] = cls
    return found


def unsafe_names(path: str | Path) -> list[str]:
    """The classes and functions the pickle in ``path`` names that ``weights_only`` loading does
    not allow (read from the pickle's opcodes; nothing is executed)."""
    return list(get_unsafe_globals_in_checkpoint(str(path)))


def safe_torch_load(path: str | Path) -> Any:
    """``torch.load(path, weights_only=True)``, also allowing numpy values and reading the training
    tools' bookkeeping classes as :class:`Inert` placeholders. A file that names any other class
    or function raises :class:`UnsafeCheckpoint` (a ``ValueError``) naming them; nothing from it
    runs. Errors of an unreadable file are torch's own."""
    _refuse_inflating_entries(path)
    try:
        return _quiet_load(path)
    except Exception as first:  # noqa: BLE001 - torch raises many types; only an unsafe name is retried
        if "weights_only" not in str(first) and "Unsupported global" not in str(first):
            raise
        try:
            names = unsafe_names(path)
        except Exception:  # noqa: BLE001 - not a zip checkpoint: torch's first error says why
            raise first from None
    numpy = _numpy_globals()
    refused = [n for n in names if n not in numpy and n != "builtins.getattr" and not n.startswith(INERT_MODULES)]
    if refused:
        raise UnsafeCheckpoint(
            f"it would run code or build objects outside the weights to load ({', '.join(refused)}); it was "
            "refused and nothing from it was executed. Ask whoever made it for the weights alone: a state dict "
            "saved with torch.save(model.state_dict(), path)"
        )
    allowed = [(obj, name) for name, obj in numpy.items()] + [(inert_getattr, "builtins.getattr")]
    for name in names:
        if name.startswith(INERT_MODULES):
            placeholder = type(name.rsplit(".", 1)[1], (Inert,), {"pickled_as": name})
            allowed.append((placeholder, name))
    with safe_globals(allowed):
        return _quiet_load(path)


MAX_COMPRESSED_ENTRY = 1 << 20  # bytes: torch.save stores every entry uncompressed


def _refuse_inflating_entries(path: str | Path) -> None:
    """Refuse a zip checkpoint with a compressed entry of more than :data:`MAX_COMPRESSED_ENTRY`
    bytes, before torch reads it: torch.save never compresses, and a small file whose entries
    inflate to gigabytes would make torch allocate them all before any check could look at them."""
    try:
        if not zipfile.is_zipfile(path):
            return
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (OSError, zipfile.BadZipFile):
        return  # torch's own reading reports what is wrong with the file
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED and entry.file_size > MAX_COMPRESSED_ENTRY:
            raise UnsafeCheckpoint(
                f"its entry {entry.filename} is compressed and would inflate from {entry.compress_size:,} to "
                f"{entry.file_size:,} bytes; torch.save writes no compressed entries, so this file was made "
                "otherwise and was refused before reading it"
            )


def _quiet_load(path: str | Path) -> Any:
    """torch.load with weights only, without the warnings torch prints for old file formats (the
    caller reports a failure in one line of its own)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return torch.load(path, map_location="cpu", weights_only=True)


def load_failure(error: BaseException) -> str:
    """What went wrong when torch could not read a file, in one line, for a message. Torch's text
    for a pickle it refuses advises loading with ``weights_only`` off, which would run the file's
    code: that advice is never passed on."""
    text = str(error)
    if "weights_only" in text or "Weights only load failed" in text or "Unsupported global" in text:
        return (
            "it holds Python objects other than tensors and plain values (a pickle that would run code to "
            "load); nothing from it was executed"
        )
    return f"not a PyTorch checkpoint, or truncated ({(text.strip().splitlines() or [type(error).__name__])[0]})"


class UnsafeCheckpoint(ValueError):
    """A checkpoint whose pickle names functions or classes that would run code to load."""
