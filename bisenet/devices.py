"""The device a command runs on: one rule for every command and function that takes ``device``.

``None`` (the default everywhere) means this process's GPU when CUDA is available (``cuda:N``
with N the ``LOCAL_RANK`` torchrun sets, ``cuda:0`` otherwise), else the CPU. An explicit
``"cpu"``, ``"cuda"`` or ``"cuda:N"`` is taken as given, and refused with :class:`UsageError`
when torch cannot run there.
"""

from __future__ import annotations

import os

import torch

from bisenet.errors import UsageError


def resolve_device(name: str | torch.device | None = None) -> torch.device:
    """The :class:`torch.device` for ``name`` by the rule of the module docstring."""
    if name is None:
        if torch.cuda.is_available():
            return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as e:
        raise UsageError(f"device {name!r} is not a device: use cpu, cuda or cuda:N") from e
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UsageError(
                f"device {name!r} but torch sees no CUDA device (torch {torch.__version__}): "
                "use --device cpu, or install a CUDA build of PyTorch (environment.yml)"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise UsageError(f"device {name!r} but torch sees {torch.cuda.device_count()} CUDA device(s)")
    elif device.type != "cpu":
        raise UsageError(f"device {name!r}: the package runs on cpu or cuda")
    return device


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` is an allocation that failed: CUDA's ``OutOfMemoryError``, or the CPU
    allocator's ``RuntimeError`` ("DefaultCPUAllocator: can't allocate memory", "not enough
    memory"), or Python's ``MemoryError``."""
    if isinstance(error, (torch.OutOfMemoryError, MemoryError)):
        return True
    text = str(error)
    return "can't allocate memory" in text or "not enough memory" in text
