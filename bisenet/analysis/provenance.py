"""Where a measurement came from: hardware, software, commit, date."""

from __future__ import annotations

import datetime as _dt
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


def git_commit(path: str | Path | None = None) -> str:
    """The commit of the repository holding ``path`` (default: this package), or 'unknown'."""
    where = Path(path) if path else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 else "unknown"


# The code a process runs is the code it imported: a commit made while it runs must not be
# recorded as the one that produced its results.
COMMIT_AT_START = git_commit()


def provenance(device: str = "cpu") -> dict[str, str]:
    """A flat record to store beside any measured number. ``commit`` is the repository's commit
    when the package was imported (when this process started), not when the record is made."""
    info = {
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": COMMIT_AT_START,
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
