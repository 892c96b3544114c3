"""The book's appendix on the `bisenet` package and its command line, generated from the parser and
the docstrings, so that it cannot drift from the code:

    python tools/cli_reference.py --out book/reference.md

`tests/tools/test_cli_reference.py` fails when the committed page differs from what this writes.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import os
import pkgutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bisenet  # noqa: E402
from bisenet.cli import build_parser  # noqa: E402

WIDTH = "100"  # argparse wraps the help at $COLUMNS: fixed, so the page is the same everywhere
SKIPPED = ("bisenet.cli", "bisenet.__main__")  # the command line has its own section


def commands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in the parser's order."""
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help or "" for choice in sub._choices_actions}
    return [(name, helps.get(name, ""), p) for name, p in sub.choices.items()]


def first_paragraph(obj: object) -> str:
    doc = inspect.getdoc(obj) or ""
    return " ".join(doc.split("\n\n")[0].split())


def public_members(module) -> list[tuple[str, str]]:
    """(name, first docstring paragraph) of the classes and functions defined in ``module``."""
    members = []
    for name, obj in vars(module).items():
        if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if getattr(obj, "__module__", None) != module.__name__:
            continue
        members.append((name, first_paragraph(obj)))
    return sorted(members)


def page() -> str:
    """The whole page, as Markdown."""
    os.environ["COLUMNS"] = WIDTH
    parser = build_parser()
    lines = [
        "# The `bisenet` package and command line",
        "",
        "This page is generated from the package itself (`python tools/cli_reference.py --out",
        "book/reference.md`: every command's `--help`, every module's docstring and the first",
        "paragraph of every public class and function), and a test fails when it differs from what",
        "the code says. The chapters show how each piece is used; this is where to look one up.",
        "",
        "## The command line at a glance",
        "",
        "| command | what it does |",
        "|---|---|",
    ]
    listed = commands(parser)
    for name, text, _ in listed:
        lines.append(f"| `bisenet {name}` | {text.replace('|', '/')} |")
    lines += ["", "A refused value or file ends in one line `error: ...` and exit status 2.", ""]
    for name, _, sub in listed:
        lines += [f"### `bisenet {name}`", "", "```text", sub.format_help().rstrip(), "```", ""]
    lines += ["## The package, module by module", ""]
    names = sorted(
        m.name for m in pkgutil.walk_packages(bisenet.__path__, "bisenet.") if not m.name.startswith(SKIPPED)
    )
    for name in ["bisenet", *names]:
        module = importlib.import_module(name)
        lines += [f"### `{name}`", "", first_paragraph(module) or "(no docstring)", ""]
        members = public_members(module)
        if members:
            lines += ["| name | what it is |", "|---|---|"]
            lines += [f"| `{n}` | {text.replace('|', '/') or '-'} |" for n, text in members]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", type=Path, required=True, help="the Markdown page to write (book/reference.md)")
    args = p.parse_args()
    from bisenet.atomic import write_text

    print(f"wrote {write_text(args.out, page())}")


if __name__ == "__main__":
    main()
