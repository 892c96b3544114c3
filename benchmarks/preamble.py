"""What every measurement script here shares: the package of this repository on the import path
(the scripts run from a clone, not from an installed package), and a parser with the options all
of them have.

    import preamble

    preamble.use_repository()
    from bisenet ... import ...          # this tree's package
    p = preamble.script_parser(__doc__)  # --overwrite included
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "benchmarks"


def use_repository() -> None:
    """Put this repository (its ``bisenet``) and ``benchmarks/`` (the helpers beside the scripts:
    ``mmseg_env``, ``stub_modules``) first on the import path."""
    for path in (BENCHMARKS, REPO):
        if str(path) not in sys.path:
            sys.path.insert(0, str(path))


def script_parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser described by the first paragraph of the script's docstring, with
    ``--overwrite``: replace an existing output file that holds another table (without it, the
    package's writer refuses, naming the file: ``bisenet.atomic.write_csv``)."""
    p = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file that holds another table")
    return p
