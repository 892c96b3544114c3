"""Where the committed results live: the book's ``book/data`` folder (measured grids, speed
tables, training logs, each CSV with its provenance), found without assuming where the package
or the repository is.

    from bisenet.book.results import results_dir
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
