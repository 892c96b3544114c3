"""What every chapter prints first: the profile, device and data it runs with (:func:`banner`), and
how long it took to execute in each profile, as measured (``book/data/chapter_times.csv``).

    from bisenet.book.chapter import banner
    banner(chapter="05_detail_branch")
"""

from __future__ import annotations

from pathlib import Path

from bisenet.book.results import results_dir
from bisenet.profiles import CITYSCAPES_ENV_VAR, Profile, current_profile, format_duration, profile_data

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
    times = chapter_times(chapter, data)
    parts = [f"{p} {format_duration(times[p])}" if p in times else f"{p} not measured" for p in PROFILE_ORDER]
    return "execution time of this chapter, measured on the build machine (book/data/chapter_times.csv): " + ", ".join(
        parts
    )


def describe(profile: Profile | None = None) -> str:
    """One line: profile, device, torch and thread count."""
    import torch

    profile = profile or current_profile()
    return f"{profile}; torch {torch.__version__}, {torch.get_num_threads()} CPU threads"


def banner(profile: Profile | None = None, cache: str | Path | None = None, chapter: str | None = None) -> None:
    """Print the profile, device and data a notebook (or command) runs with: every notebook's
    first output, so that no figure passes for something it is not; with ``chapter`` (the
    notebook's file name without ``.ipynb``) also its measured execution time in each profile
    (:func:`chapter_time_line`). Returns None: a notebook cell ending in
    ``banner()`` would display a returned value as a second copy of the line."""
    profile = profile or current_profile()
    name, root = profile_data(profile, cache)
    what = "Cityscapes" if name == "cityscapes" else "MiniCity (synthetic; never Cityscapes results)"
    print(f"{describe(profile)}; data: {what} at {root}")
    if profile.name != profile.kind:
        print(
            f"{profile.name}: the {profile.kind} profile's code, recipes and file names at the {profile.sizes} "
            f"profile's sizes on the {profile.device.upper()}: it checks that the {profile.kind} branches run; "
            "no figure here is a result"
        )
    if profile.cityscapes and name != "cityscapes":
        print(
            f"{CITYSCAPES_ENV_VAR} is not set, so this profile runs on {profile.minicity}, not on Cityscapes: "
            f"set {CITYSCAPES_ENV_VAR}=/path/to/cityscapes (the folder holding leftImg8bit/ and gtFine/) "
            "to train and evaluate on Cityscapes"
        )
    if chapter is not None:
        print(chapter_time_line(chapter))
