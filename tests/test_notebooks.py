"""What every chapter's code must do so that `make test` executing it in the smoke and gpu-dryrun
profiles covers what a reader runs (the notebooks themselves are executed by `make test`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def code_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_branches_follow_the_profile_kind_and_sizes_not_its_name(notebook):
    """gpu-dryrun executes the gpu branches only if no chapter branches on the profile's name:
    code paths follow `profile.kind`, sizes `profile.pick(...)` (the name is for labels)."""
    code = code_of(notebook)
    found = re.findall(r"profile\.name\s*(?:==|!=|in\b)|\[profile\.name\]|\.get\(profile\.name", code)
    assert not found, f"{notebook.name} branches on profile.name: {found}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_results_are_found_through_the_package(notebook):
    """A downloaded notebook has no ../book/data: results come from bisenet.results.results_dir,
    which may answer None (the chapter then says so and computes its own)."""
    code = code_of(notebook)
    assert not re.search(r"Path\(\s*[\"'](?:\.\./)?book/data", code), f"{notebook.name} assumes where book/data is"


def test_every_chapter_is_here():
    assert len(NOTEBOOKS) >= 18
