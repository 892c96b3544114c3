"""The appendix on the package and its command line (book/reference.md) is generated from the code
(tools/cli_reference.py) and committed: it must be what the code says now."""

from __future__ import annotations

from pathlib import Path

from bisenet.cli import build_parser
from tools.cli_reference import commands, page

REFERENCE = Path(__file__).resolve().parents[2] / "book" / "reference.md"


def test_the_committed_reference_is_what_the_code_says():
    assert REFERENCE.read_text() == page(), (
        "book/reference.md differs from the code: run python tools/cli_reference.py --out book/reference.md"
    )


def test_every_command_has_its_section():
    text = REFERENCE.read_text()
    for name, _, _ in commands(build_parser()):
        assert f"### `bisenet {name}`" in text


def test_the_readmes_command_table_lists_every_command():
    readme = (REFERENCE.parents[1] / "README.md").read_text()
    for name, _, _ in commands(build_parser()):
        assert f"| `bisenet {name}` |" in readme, name
    assert len(readme) < 15_000  # a front page, not a manual
