"""Execution profiles: how big a run the book's notebooks and the CLI make.

* ``gpu``: a CUDA device; full resolution; Cityscapes when ``CITYSCAPES_DATASET`` points at it.
* ``cpu``: the default without a GPU; reduced resolution, short schedules.
* ``smoke``: seconds per notebook; what the tests run.

The profile comes from ``BISENET_PROFILE`` when set, otherwise it is auto-detected (``gpu`` when
CUDA is available, else ``cpu``). Every notebook prints :func:`describe` in its first output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

PROFILES = ("gpu", "cpu", "smoke")
ENV_VAR = "BISENET_PROFILE"


@dataclass(frozen=True)
class Profile:
    name: str  # "gpu", "cpu" or "smoke"
    device: str  # "cuda" or "cpu"
    source: str  # where the name came from

    def __str__(self) -> str:
        return f"profile {self.name!r} ({self.source}), device {self.device}"


def current_profile() -> Profile:
    """The profile in force: ``BISENET_PROFILE`` if set, else auto-detected."""
    cuda = torch.cuda.is_available()
    requested = os.environ.get(ENV_VAR, "").strip().lower()
    if not requested:
        return Profile("gpu" if cuda else "cpu", "cuda" if cuda else "cpu", "auto-detected")
    if requested not in PROFILES:
        raise ValueError(
            f"{ENV_VAR}={os.environ[ENV_VAR]!r} is not a profile; use one of {', '.join(PROFILES)} "
            "or leave it unset to auto-detect"
        )
    if requested == "gpu" and not cuda:
        raise ValueError(
            f"{ENV_VAR}=gpu but torch sees no CUDA device (torch {torch.__version__}); install a "
            "CUDA build of PyTorch (environment.yml) or use BISENET_PROFILE=cpu"
        )
    device = "cuda" if cuda and requested == "gpu" else "cpu"
    return Profile(requested, device, f"from {ENV_VAR}")


def describe() -> str:
    """One line for a notebook's first output: profile, device, torch and thread count."""
    p = current_profile()
    return f"{p}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"
