"""Empties Jupyter Book's execution cache when what the notebooks read has changed since it was
filled (``make book`` runs it before each build).

    python tools/execution_inputs.py --cache _build/.jupyter_cache

The cache (``execute_notebooks: cache`` in ``_config.yml``) reuses a notebook's executed outputs
while its code cells are unchanged. What the chapters print also depends on what their code
reads: the committed results in ``book/data``, the ``bisenet`` package, the reference
state-dict layouts in ``tests/keys``, and the environment
variables that choose the profile, the data and the cache. A build after any of those changed
would show the old outputs. This script hashes those inputs into ``<cache>/../execution-inputs.txt``
and, when the hash differs from the one there (or there is none while a cache exists), removes the
cache, so that the build executes every notebook again; otherwise it leaves the cache alone.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# the folders whose files the notebooks' outputs depend on, and the variables that change them
FOLDERS = ("book/data", "bisenet", "tests/keys")  # tests/keys: the state-dict layouts chapter 18 reads
SUFFIXES = {".csv", ".json", ".py", ".txt", ".yml", ".yaml"}
VARIABLES = ("BISENET_PROFILE", "BISENET_CACHE", "BISENET_RESULTS", "BISENET_DEVICE", "CITYSCAPES_DATASET")


def inputs_digest(root: Path = ROOT, environ: dict[str, str] | None = None) -> str:
    """A SHA-256 over the relative path and bytes of every input file and the chosen variables."""
    environ = dict(os.environ) if environ is None else environ
    digest = hashlib.sha256()
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and path.suffix in SUFFIXES and "__pycache__" not in path.parts:
                digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for name in VARIABLES:
        digest.update(f"{name}={environ.get(name, '')}\0".encode())
    return digest.hexdigest()


def refresh(cache: Path, root: Path = ROOT, environ: dict[str, str] | None = None) -> bool:
    """Remove ``cache`` if the inputs changed since it was filled; record the inputs' digest.
    Returns True when the cache was removed."""
    stamp = cache.parent / "execution-inputs.txt"
    digest = inputs_digest(root, environ)
    previous = stamp.read_text().strip() if stamp.exists() else None
    removed = False
    if cache.exists() and previous != digest:
        shutil.rmtree(cache)
        removed = True
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(digest + "\n")
    return removed


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", type=Path, required=True, help="the execution cache (e.g. _build/.jupyter_cache)")
    args = p.parse_args(argv)
    if refresh(args.cache):
        print(
            f"{args.cache}: book/data, the package or the profile's variables changed since its notebooks "
            "ran: removed, every notebook executes again"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
