"""Measures how long each chapter of the book takes to execute, in one profile, and records it in
``book/data/chapter_times.csv`` (one row per chapter and profile, with its provenance), which the
teachers' page (``book/teaching.ipynb``) reads.

    BISENET_PROFILE=cpu BISENET_CACHE=.cache/bisenet python tools/chapter_times.py
    python tools/chapter_times.py --profile smoke --cache /tmp/cache --chapters 01_first_look,13_losses

Each notebook of the table of contents runs on its own, one after the other, in a fresh kernel
(nbclient, as the book build executes it: the working folder is the notebook's, the timeout the
book's). First ``bisenet book-cache`` trains (or finds) the models the profile caches, as ``make
book`` does before its build, and its time is recorded as the row ``book-cache``: so the chapters'
times are those of a build whose cache holds the trained models, and the one-off training is
its own row. A chapter that fails is recorded with its error in ``status`` (and the tool exits 1).

Rows of the chapters and profile measured replace the earlier rows of the same chapter and
profile; the other rows are kept. Every row carries ``bisenet.provenance``'s columns,
the sha-256 of the notebook file that ran (``notebook_sha256``, 12 hex digits: which version of
the chapter the time belongs to), the cache folder, whether the profile's trained models were
already cached when the row's run started (``models_cached``: all, some or none; a ``book-cache``
row with "all" trained nothing) and the command.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CSV = ROOT / "book" / "data" / "chapter_times.csv"
COLUMNS = ["chapter", "profile", "seconds", "status", "notebook_sha256", "cache", "models_cached"]
BOOK_CACHE_ROW = "book-cache"
SKIP = {"book/teaching"}  # the page that reads this file (it computes nothing)
TIMEOUT_S = 1800  # _config.yml's execute.timeout


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of the table of contents, in its order (pages written in markdown skipped)."""
    sys.path.insert(0, str(root))
    from tools.check_book import toc_files

    found = []
    for name in toc_files(root / "_toc.yml"):
        path = root / f"{name}.ipynb"
        if name not in SKIP and path.exists():
            found.append(path)
    return found


def models_cached(profile_name: str) -> str:
    """ "all", "none" or "some": whether the profile's trained models (``bisenet book-cache``) were
    already in the cache, looked up without generating anything."""
    from bisenet.book.trained import FINAL
    from bisenet.cache import cache_dir
    from bisenet.profiles import get_profile

    runs = cache_dir() / "runs"
    found = [any(runs.glob(f"{model}-{profile_name}-*/{FINAL}")) for model in get_profile(profile_name).recipes]
    return "all" if all(found) else "none" if not any(found) else "some"


def sha256_12(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def execute(notebook: Path, timeout: int = TIMEOUT_S) -> tuple[float, str]:
    """Execute ``notebook`` in a fresh kernel in its own folder; (wall seconds, status)."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    nb = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=nb.metadata.get("kernelspec", {}).get("name", "python3"),
        resources={"metadata": {"path": str(notebook.parent)}},
        allow_errors=False,
    )
    start = time.perf_counter()
    try:
        client.execute()
        status = "ok"
    except CellTimeoutError:
        status = f"error: a cell ran past {timeout} s"
    except CellExecutionError as e:
        last = [line for line in str(e).strip().splitlines() if line.strip()]
        status = "error: " + (last[-1][:200] if last else "a cell failed")
    return time.perf_counter() - start, status


def book_cache(python: str = sys.executable) -> tuple[float, str]:
    """``bisenet book-cache`` in this profile and cache; (wall seconds, status)."""
    start = time.perf_counter()
    out = subprocess.run([python, "-m", "bisenet", "book-cache"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if out.returncode:
        lines = (out.stderr or out.stdout).strip().splitlines()
        return seconds, "error: " + (lines[-1][:200] if lines else f"exit {out.returncode}")
    return seconds, "ok"


def merge(old, new):
    """``old`` without the (chapter, profile) pairs of ``new``, then ``new``."""
    import pandas as pd

    if old is None or old.empty:
        merged = new.reset_index(drop=True)
    else:
        measured = set(zip(new["chapter"], new["profile"]))
        keep = old[[(c, p) not in measured for c, p in zip(old["chapter"], old["profile"])]]
        merged = pd.concat([keep, new], ignore_index=True)
    first = [c for c in COLUMNS if c in merged.columns]
    return merged[first + [c for c in merged.columns if c not in first]]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--profile",
        default=os.environ.get("BISENET_PROFILE"),
        help="the profile to run in (default: BISENET_PROFILE; required)",
    )
    p.add_argument(
        "--cache",
        default=os.environ.get("BISENET_CACHE"),
        help="the cache folder (default: BISENET_CACHE, else the package's ~/.cache/bisenet)",
    )
    p.add_argument(
        "--chapters", default="", help="comma-separated notebook stems (default: every notebook of _toc.yml)"
    )
    p.add_argument("--no-book-cache", action="store_true", help="skip the `bisenet book-cache` step (and its row)")
    p.add_argument("--csv", default=str(DEFAULT_CSV))
    p.add_argument("--timeout", type=int, default=TIMEOUT_S, help="seconds per cell")
    args = p.parse_args(argv)
    if not args.profile:
        p.error("give --profile or set BISENET_PROFILE: the times are per profile")
    os.environ["BISENET_PROFILE"] = args.profile
    if args.cache:
        os.environ["BISENET_CACHE"] = str(Path(args.cache).resolve())

    notebooks = toc_notebooks()
    if args.chapters:
        wanted = [c.strip() for c in args.chapters.split(",") if c.strip()]
        by_stem = {nb.stem: nb for nb in notebooks}
        unknown = [c for c in wanted if c not in by_stem]
        if unknown:
            p.error(f"not notebooks of _toc.yml: {', '.join(unknown)}")
        notebooks = [by_stem[c] for c in wanted]

    import pandas as pd

    from bisenet.cache import cache_dir
    from bisenet.profiles import get_profile
    from bisenet.provenance import provenance, with_provenance

    device = get_profile(args.profile).device
    cache = str(cache_dir())
    command = " ".join(
        shlex.quote(a)
        for a in [
            f"BISENET_PROFILE={args.profile}",
            f"BISENET_CACHE={cache}",
            f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', '')}",
            "python",
            "tools/chapter_times.py",
            *(argv if argv is not None else sys.argv[1:]),
        ]
    )
    rows = []
    csv = Path(args.csv)
    old = pd.read_csv(csv) if csv.exists() else None

    def record(chapter: str, seconds: float, status: str, sha: str, cached: str) -> None:
        row = {
            "chapter": chapter,
            "profile": args.profile,
            "seconds": round(seconds, 1),
            "status": status,
            "notebook_sha256": sha,
            "cache": cache,
            "models_cached": cached,
        }
        rows.append(with_provenance(pd.DataFrame([row]), provenance(device), command))
        print(f"{chapter:45s} {seconds:8.1f} s  {status}", flush=True)
        # written after every chapter: an interrupted run keeps what it measured
        from bisenet.atomic import write_csv

        write_csv(csv, merge(old, pd.concat(rows, ignore_index=True)))

    if not args.no_book_cache:
        cached = models_cached(args.profile)
        seconds, status = book_cache()
        record(BOOK_CACHE_ROW, seconds, status, "", cached)
    for notebook in notebooks:
        cached = models_cached(args.profile)
        seconds, status = execute(notebook, args.timeout)
        record(notebook.stem, seconds, status, sha256_12(notebook), cached)
    failed = [r for r in rows if r["status"].iloc[0] != "ok"]
    print(f"wrote {csv}: {len(rows)} row(s) for profile {args.profile}, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
