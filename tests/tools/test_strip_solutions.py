"""The students' edition (tools/strip_solutions.py): every solution block of every chapter goes,
nothing else does."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from tools.strip_solutions import make_copy, strip_notebook, strip_text

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# written independently of the tool: a fenced admonition or dropdown titled Solution(s), up to the
# first closing fence of the same character and at least the same length
BLOCK = re.compile(
    r"^ {0,3}(?P<fence>`{3,}|:{3,})\{(?:admonition|dropdown)\}[ \t]+Solutions?\b.*?\n"
    r"(?:.*\n)*? {0,3}(?P=fence)[`:]*[ \t]*(?:\n|$)",
    re.M | re.I,
)


def markdown_cells(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def content_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_solution_block_of_the_chapter_goes_and_nothing_else(chapter):
    nb = json.loads(chapter.read_text())
    original = markdown_cells(nb)
    expected_blocks = sum(len(BLOCK.findall(text)) for text in original)
    if any("## Exercises" in text for text in original):
        assert expected_blocks >= 1, f"{chapter.name} has exercises but no solution block the tool recognises"
    code_before = [c["source"] for c in nb["cells"] if c["cell_type"] == "code"]

    removed = strip_notebook(nb)

    assert removed == expected_blocks
    after = markdown_cells(nb)
    assert not any(BLOCK.search(text) for text in after)
    assert not any(re.search(r"\{(?:admonition|dropdown)\}\s+Solutions?\b", text) for text in after)
    # nothing else changed: the remaining lines are the original's without the blocks
    kept = [content_lines(BLOCK.sub("\n", text)) for text in original]
    assert [lines for lines in kept if lines] == [content_lines(text) for text in after]
    assert [c["source"] for c in nb["cells"] if c["cell_type"] == "code"] == code_before


def test_both_formats_any_fence_and_other_admonitions_kept():
    text = (
        "## Exercises\n\n1. First.\n\n"
        "````{admonition} Solutions\n:class: dropdown\n\n1. Run\n\n```python\nx = 1\n```\n````\n\n"
        "2. Second.\n\n:::{dropdown} Solution\nanswer\n:::\n\n"
        "```{admonition} Run this chapter yourself\nkeep me\n```\n\n"
        "```{note}\nSolutions are not this.\n```\n"
    )
    stripped, n = strip_text(text)
    assert n == 2
    assert "x = 1" not in stripped and "answer" not in stripped
    assert "keep me" in stripped and "Solutions are not this." in stripped
    assert stripped == (
        "## Exercises\n\n1. First.\n\n2. Second.\n\n"
        "```{admonition} Run this chapter yourself\nkeep me\n```\n\n"
        "```{note}\nSolutions are not this.\n```\n"
    )


def test_a_block_at_the_end_leaves_no_trailing_blank_lines():
    assert strip_text("1. Q\n\n```{admonition} Solutions\n:class: dropdown\n\nA\n```") == ("1. Q", 1)
    assert strip_text("no solutions here\n") == ("no solutions here\n", 0)


def test_the_copy_holds_the_book_without_solutions_and_points_at_the_full_builds_cache(tmp_path):
    root = tmp_path / "repo"
    (root / "book").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "tests" / "keys").mkdir(parents=True)
    (root / "_config.yml").write_text("title: T\nexecute:\n  execute_notebooks: cache\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/intro\n")
    (root / "book" / "intro.md").write_text("# Intro\n\n```{dropdown} Solution\nx\n```\n")
    (root / "tests" / "keys" / "k.txt").write_text("key")
    nb = {
        "cells": [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": [
                    "## Exercises\n",
                    "\n",
                    "```{admonition} Solutions\n",
                    ":class: dropdown\n",
                    "\n",
                    "1. a\n",
                    "```",
                ],
            },
            {"cell_type": "code", "metadata": {}, "source": ["print(1)"], "outputs": [], "execution_count": None},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (root / "notebooks" / "a.ipynb").write_text(json.dumps(nb))
    out = tmp_path / "students"
    counts = make_copy(out, root=root, cache=tmp_path / "cache")
    assert counts == {"book/intro.md": 1, "notebooks/a.ipynb": 1}
    config = yaml.safe_load((out / "_config.yml").read_text())
    assert config["execute"] == {"execute_notebooks": "cache", "cache": str((tmp_path / "cache").resolve())}
    assert "students" in config["title"]
    copied = json.loads((out / "notebooks" / "a.ipynb").read_text())
    assert "".join(copied["cells"][0]["source"]) == "## Exercises"
    assert copied["cells"][1]["source"] == ["print(1)"]
    assert (out / "tests" / "keys" / "k.txt").read_text() == "key"
    assert "Solution" in (root / "book" / "intro.md").read_text()  # the sources are untouched
    with pytest.raises(SystemExit):
        make_copy(root, root=root)
