"""Where the committed results live: the book's ``book/data`` folder (measured grids, speed
tables, training logs, each CSV with its provenance), found without assuming where the package
or the repository is.

    from bisenet.results import results_dir
    data = results_dir()          # book/data of the repository this is run from, or None
    data = results_dir("my/data") # a folder given by its path

A notebook downloaded on its own has no ``book/data`` beside it: :func:`results_dir` then
returns None and the chapter says so and computes what it needs at the profile's scale.
"""

from __future__ import annotations

import os
from pathlib import Path

from bisenet.errors import UsageError

ENV_VAR = "BISENET_RESULTS"
MARKER = "speed_accuracy_landscape.csv"  # a file every book/data holds


def results_dir(path: str | Path | None = None, start: str | Path | None = None) -> Path | None:
    """The folder of committed results: ``path`` if given (it must exist), else ``BISENET_RESULTS``
    if set (likewise), else the first ``book/data`` holding the book's tables found in ``start``
    (default: the current folder) or a folder above it; None when there is none."""
    for given, where in ((path, "the results folder"), (os.environ.get(ENV_VAR) or None, ENV_VAR)):
        if given is not None:
            folder = Path(given).expanduser()
            if not folder.is_dir():
                raise UsageError(f"{where} {given} is not a folder: point it at the book's book/data")
            return folder
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "book" / "data"
        if (candidate / MARKER).is_file():
            return candidate
    return None


TIMES_FILE = "chapter_times.csv"  # written by the repository's tools/chapter_times.py
PROFILE_ORDER = ("smoke", "cpu", "gpu")


def chapter_times(chapter: str, data: str | Path | None = None) -> dict[str, float]:
    """The measured execution seconds of notebook ``chapter`` (its file name without
    ``.ipynb``, e.g. "05_detail_branch") per profile, from ``chapter_times.csv`` in the results
    folder (:func:`results_dir`); {} when there is none or the chapter has no row."""
    import csv

    folder = results_dir(data) if data is not None else results_dir()
    path = folder / TIMES_FILE if folder else None
    if path is None or not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["chapter"] == chapter and r.get("status", "ok") == "ok"]
    return {r["profile"]: float(r["seconds"]) for r in rows}


def chapter_time_line(chapter: str, data: str | Path | None = None) -> str:
    """One line: how long ``chapter`` took to execute in each profile, as measured
    (``chapter_times.csv``); the profiles without a measurement say so."""
    from bisenet.profiles import format_duration  # (profiles imports this module)

    times = chapter_times(chapter, data)
    parts = [f"{p} {format_duration(times[p])}" if p in times else f"{p} not measured" for p in PROFILE_ORDER]
    return "execution time of this chapter, measured on the build machine (book/data/chapter_times.csv): " + ", ".join(
        parts
    )
