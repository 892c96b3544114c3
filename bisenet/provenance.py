"""Where a measurement came from: hardware, software, commit, date."""

from __future__ import annotations

import datetime as _dt
import functools
import os
import platform
import subprocess
from pathlib import Path

import torch


def cpu_name() -> str:
    """The CPU model as the kernel reports it (``/proc/cpuinfo``), else ``platform.processor()``."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# the vector extensions that decide CPU inference speed in low precision: int8 dot products (VNNI),
# bf16 (AVX-512 BF16, AMX); a CPU's model name ("AMD EPYC") does not say which it has
ISA_FLAGS = ("avx2", "avx_vnni", "avx512f", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_int8")


def cpu_isa() -> str:
    """The CPU's extensions of :data:`ISA_FLAGS` the kernel reports (``/proc/cpuinfo``), e.g.
    "avx2 avx512f avx512_vnni"; "" where there is no ``/proc/cpuinfo``."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.exists():
        return ""
    flags = next(
        (line.split(":", 1)[1].split() for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), []
    )
    return " ".join(f for f in ISA_FLAGS if f in flags)


def git_commit(path: str | Path | None = None) -> str:
    """The commit of the git checkout holding ``path`` (default: the source folder of this
    package, when it is one), or 'unknown' (an installed package, no git)."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


@functools.cache
def commit_at_start() -> str:
    """The commit of the package's source when this process first asked (at the start of its
    first run or measurement), then the same answer for the rest of the process: the code a
    process runs is the code it started with, so a commit made while it runs must not be recorded
    as the one that produced its results. Importing the package runs no subprocess."""
    return git_commit()


def provenance(device: str = "cpu") -> dict[str, str]:
    """A flat record to store beside any measured number; ``commit`` is :func:`commit_at_start`."""
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit_at_start(),
        "torch": str(torch.__version__),
        "python": platform.python_version(),
        "cpu": cpu_name(),
        "threads": str(torch.get_num_threads()),
        "device": device,
    }
    if hasattr(os, "getloadavg"):  # how busy the machine was: timings on a loaded machine are slower
        info["load_1min"] = f"{os.getloadavg()[0]:.2f}"
    if device.startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    return info


def with_provenance(table, info: dict[str, str], command: str):
    """A copy of the DataFrame ``table`` with one column per provenance field and the command
    that produced it (what every measured CSV of ``book/data`` carries)."""
    table = table.copy()
    for key, value in info.items():
        table[key] = value
    table["command"] = command
    return table
