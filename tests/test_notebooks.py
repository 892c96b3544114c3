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
    """A downloaded notebook has no ../book/data: results come from bisenet.book.results.results_dir,
    which may answer None (the chapter then says so and computes its own)."""
    code = code_of(notebook)
    assert not re.search(r"Path\(\s*[\"'](?:\.\./)?book/data", code), f"{notebook.name} assumes where book/data is"


def test_every_chapter_is_here():
    assert len(NOTEBOOKS) >= 18


def test_the_book_map_draws_the_prerequisites_each_chapter_states():
    """Chapter 1's map of the book (PREREQUISITES) and each chapter's header line
    "**Prerequisites:** {doc}`...`" say the same: change one, the other must follow."""
    import ast

    first = next(p for p in NOTEBOOKS if p.stem.startswith("01_"))
    drawn = ast.literal_eval(re.search(r"PREREQUISITES = (\{.*?\n\})", code_of(first), re.S).group(1))

    def chapter(stem):
        """1 for 01_first_look, "14b" for 14b_training_runs (a chapter's second half), "A" for the appendix."""
        number = stem.split("_")[0]
        return "A" if stem.startswith("appendix") else int(number) if number.isdigit() else number.lstrip("0")

    stated = {}
    for notebook in NOTEBOOKS:
        header = "".join(json.loads(notebook.read_text())["cells"][1]["source"])
        assert header.startswith("**Prerequisites:**"), notebook.name
        cited = re.findall(r"\{doc\}`\.\./notebooks/(\w+)`", header.split("**Time:**")[0])
        stated[chapter(notebook.stem)] = {chapter(name) for name in cited}
    assert {k: set(v) for k, v in drawn.items()} == stated
