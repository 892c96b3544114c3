"""Copies the book's sources into a folder without the exercises' solutions, for a students'
build (``make book-students``).

    python tools/strip_solutions.py --out _build/students/source [--cache _build/.jupyter_cache]

A solution is a MyST directive block in a markdown cell (or page) whose directive is
``admonition`` titled "Solution" or "Solutions" (the book's format: one block with
``:class: dropdown`` after the exercises) or ``dropdown`` titled likewise (the per-exercise
format some chapters use); fences of backticks or colons, of any length. Each such block is
removed with the blank line before it; nothing else changes, and no code cell is touched, so the
notebooks' code (what the execution cache matches on) is the same as the full book's and the
students' build reuses the full build's executed outputs when ``--cache`` points at its cache.

The copy holds what a build needs: ``_config.yml`` (with ``execute.cache`` set when ``--cache``
is given, and the title marked as the students' edition), ``_toc.yml``, ``book/``,
``notebooks/`` and ``tests/keys`` (a chapter reads it).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("_config.yml", "_toc.yml", "book", "notebooks", "tests/keys")
IGNORED = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", ".pytest_cache", "*.pyc")
OPENING = re.compile(
    r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[a-zA-Z0-9_-]+)\}[ \t]*(?P<title>.*?)[ \t]*$"
)
SOLUTION_TITLE = re.compile(r"^solutions?\b", re.I)


def is_solution(name: str, title: str) -> bool:
    return name in ("admonition", "dropdown") and bool(SOLUTION_TITLE.match(title.strip()))


def strip_text(text: str) -> tuple[str, int]:
    """``text`` (markdown) without its solution blocks, and how many were removed. The blank lines
    around a removed block become one (none at the end of the text)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    removed = 0
    i = 0
    while i < len(lines):
        m = OPENING.match(lines[i].rstrip("\r\n"))
        if not (m and is_solution(m["name"], m["title"])):
            out.append(lines[i])
            i += 1
            continue
        fence = m["fence"]
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        j = i + 1
        while j < len(lines) and not closing.match(lines[j].rstrip("\r\n")):
            j += 1  # an unclosed fence runs to the end of the text, as in CommonMark
        removed += 1
        while out and not out[-1].strip():
            out.pop()
        i = j + 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        if out and i < len(lines):
            out.append("\n")
    result = "".join(out)
    if removed and not text.endswith("\n"):
        result = result.rstrip("\n")
    return result, removed


def strip_notebook(nb: dict) -> int:
    """Remove the solution blocks of every markdown cell of ``nb`` (a notebook as a dict) in place;
    the number removed. A markdown cell left empty is dropped."""
    removed = 0
    kept = []
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            new, n = strip_text(source)
            if n:
                removed += n
                if not new.strip():
                    continue
                cell["source"] = new.splitlines(keepends=True)
        kept.append(cell)
    nb["cells"] = kept
    return removed


def strip_file(source: Path, target: Path) -> int:
    """Copy ``source`` (.ipynb or .md) to ``target`` without solutions; the number removed."""
    if source.suffix == ".ipynb":
        nb = json.loads(source.read_text())
        removed = strip_notebook(nb)
        target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n")
        return removed
    text, removed = strip_text(source.read_text())
    target.write_text(text)
    return removed


def students_config(config: dict, cache: Path | None) -> dict:
    config = dict(config)
    config["title"] = f"{config.get('title', 'The book')} (students' edition, without solutions)"
    if cache is not None:
        config["execute"] = {**config.get("execute", {}), "cache": str(cache.resolve())}
    return config


def make_copy(out: Path, root: Path = ROOT, cache: Path | None = None) -> dict[str, int]:
    """Write the students' sources into ``out`` (emptied first); solutions removed per file."""
    if out.resolve() in (root.resolve(), *root.resolve().parents):
        raise SystemExit(f"refusing to write the copy over {out}")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name in COPIED:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=IGNORED)
        elif source.exists():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, out / name)
    config = yaml.safe_load((root / "_config.yml").read_text())
    (out / "_config.yml").write_text(yaml.safe_dump(students_config(config, cache), sort_keys=False))
    counts = {}
    for path in sorted(
        [*(out / "book").rglob("*.md"), *(out / "notebooks").rglob("*.ipynb"), *(out / "book").rglob("*.ipynb")]
    ):
        n = strip_file(path, path)
        if n:
            counts[str(path.relative_to(out))] = n
    return counts


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "_build" / "students" / "source"))
    p.add_argument(
        "--cache",
        default=None,
        help="the full build's jupyter cache (e.g. _build/.jupyter_cache), reused for execution",
    )
    args = p.parse_args(argv)
    counts = make_copy(Path(args.out), cache=Path(args.cache) if args.cache else None)
    for name, n in counts.items():
        print(f"  {name}: {n} solution block(s) removed")
    print(f"wrote {args.out}: {sum(counts.values())} solution block(s) removed from {len(counts)} file(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
