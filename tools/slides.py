"""Builds a reveal.js slide deck of every chapter from the executed notebooks of a book build, for
teachers: offline (reveal.js and MathJax are local files of the HTML output), one deck per chapter.

    python tools/slides.py [--executed _build/jupyter_execute] [--html _build/html] [--toc _toc.yml]

What goes on the slides is chosen in the notebooks with cell tags:

* ``slide``: the cell starts a new slide (an equation, one code cell per idea);
* ``slide-output``: a code cell's outputs alone start a new slide, without its code (the key
  figure or table);
* ``slide-continue``: the cell joins the slide before it (a figure under its explanation);
* every other cell is left out. The chapter's title (the first heading of its first cell) is always
  the first slide, and the last slide links back to the chapter.

The book's own cell tags still apply: ``remove-cell`` drops a cell, ``remove-input`` /
``hide-input`` its code, ``remove-output`` / ``hide-output`` its outputs. Markdown is MyST in the
book and plain Markdown in nbconvert, so before the export each slide's MyST is rewritten:
``{cite}`` becomes "(Author et al., year)" from ``book/references.bib``, ``{term}``, ``{doc}``,
``{numref}`` and ``{ref}`` their text, ``{eq}`` and a labelled equation the equation's number
in the built book (read from the HTML output's pages), admonitions a quoted block with the title in bold;
solution blocks (``tools/strip_solutions.py``) are left out, so the slides can be shown in class.

The decks are written to ``<html>/slides/<chapter>.slides.html`` with ``<html>/slides/index.html``
listing them; reveal.js is copied once into ``<html>/slides/reveal.js/`` from the ``sphinx-revealjs``
package (the book's extra ``book``: it ships reveal.js 5, MIT licence), and MathJax comes from the
book's ``_static/mathjax`` (``sphinx-mathjax-offline``), copied beside the decks when the HTML
output has none. Exit status 1 when a chapter's executed notebook is missing.
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_DIR = Path(__file__).resolve().parent / "slides_template"
TEMPLATE = "bisenet_reveal"
SLIDE_TAG, OUTPUT_TAG, CONTINUE_TAG = "slide", "slide-output", "slide-continue"
REMOVE_CELL = {"remove-cell"}
REMOVE_INPUT = {"remove-input", "hide-input"}
REMOVE_OUTPUT = {"remove-output", "hide-output"}
SLIDES_FOLDER = "slides"
REVEAL_FOLDER = "reveal.js"

sys.path.insert(0, str(ROOT))
from tools.strip_solutions import strip_text  # noqa: E402

# ---------------------------------------------------------------- MyST to plain Markdown


def read_bibliography(bib: Path | None) -> dict[str, str]:
    """key -> "Author et al., year" (or "Author and Other, year") from a BibTeX file."""
    if bib is None or not bib.exists():
        return {}
    entries = {}
    for m in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", bib.read_text(), re.S):
        key, body = m.group(1), m.group(2)
        author = re.search(r"\bauthor\s*=\s*\{(.*?)\}\s*,?\s*\n", body, re.S)
        year = re.search(r"\byear\s*=\s*\{?(\d{4})", body)
        names = [a.strip() for a in re.split(r"\s+and\s+", author.group(1))] if author else []
        surnames = [_surname(n) for n in names if n]
        if len(surnames) > 2:
            who = f"{surnames[0]} et al."
        elif len(surnames) == 2:
            who = f"{surnames[0]} and {surnames[1]}"
        else:
            who = surnames[0] if surnames else key
        entries[key] = f"{who}, {year.group(1)}" if year else who
    return entries


def _surname(name: str) -> str:
    """ "Yu, Changqian" -> "Yu"; "Changqian Yu" -> "Yu"; "{MMSegmentation Contributors}" as it is."""
    if name.startswith("{") and name.endswith("}"):
        return name.strip("{}")
    name = name.replace("{", "").replace("}", "")
    return name.split(",")[0].strip() if "," in name else name.split()[-1]


ROLE = re.compile(r"\{(?P<role>[a-zA-Z:+-]+)\}`(?P<body>[^`]*)`")
TITLED = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
DIRECTIVE = re.compile(
    r"^(?P<indent> {0,3})(?P<fence>`{3,}|:{3,})\{(?P<name>[a-zA-Z0-9_-]+)\}[ \t]*(?P<arg>.*?)[ \t]*$"
)
DROPPED_DIRECTIVES = {"bibliography", "tableofcontents", "glossary"}
ADMONITIONS = {
    "admonition",
    "note",
    "tip",
    "hint",
    "important",
    "warning",
    "caution",
    "attention",
    "danger",
    "error",
    "seealso",
    "dropdown",
}


EQUATION_NUMBER = re.compile(r'<span class="eqno">\(([^()<]+)\)<a class="headerlink" href="#equation-([^"]+)"')


def equation_numbers(html_dir: Path) -> dict[str, str]:
    """Each equation label of the built book and its number there (``{"eq-iou": "2"}``), read
    from the HTML pages of ``html_dir`` (the decks under it are not read)."""
    numbers: dict[str, str] = {}
    for page in sorted(html_dir.rglob("*.html")):
        if SLIDES_FOLDER not in page.relative_to(html_dir).parts:
            numbers.update((label, number) for number, label in EQUATION_NUMBER.findall(page.read_text()))
    return numbers


def _role(m: re.Match, bib: dict[str, str], equations: dict[str, str]) -> str:
    role, body = m.group("role"), m.group("body")
    if role.startswith("cite"):
        keys = [k.strip() for k in body.split(",") if k.strip()]
        return "(" + "; ".join(bib.get(k, k) for k in keys) + ")"
    if role == "math":
        return f"${body}$"
    if role == "eq":
        return f"({equations[body]})" if body in equations else "(the equation in the chapter)"
    titled = TITLED.match(body)
    text = titled.group("text") if titled else body
    if role in ("numref",):
        text = text.replace("%s", "").replace("{number}", "").strip()
    if role == "doc" and not titled:
        text = Path(body).name
    return text


def myst_to_markdown(text: str, bib: dict[str, str] | None = None, equations: dict[str, str] | None = None) -> str:
    """The Markdown nbconvert can render, from one cell's MyST: roles to their text, admonitions
    to quoted blocks, targets dropped, a labelled equation tagged with its number in the book
    (``equations``, from :func:`equation_numbers`; the label dropped when it has none), solution
    blocks removed."""
    bib, equations = bib or {}, equations or {}
    text, _ = strip_text(text)
    out: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.match(r"^\s*\([^()\s]+\)=\s*$", line):  # a MyST target, "(label)="
            i += 1
            continue
        m = DIRECTIVE.match(line)
        if not m:
            out.append(line)
            i += 1
            continue
        fence, name, arg = m.group("fence"), m.group("name"), m.group("arg")
        closing = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        j = i + 1
        body = []
        while j < len(lines) and not closing.match(lines[j]):
            body.append(lines[j])
            j += 1
        i = j + 1
        while body and re.match(r"^:[\w-]+:", body[0]):  # the directive's options
            body.pop(0)
        if name in DROPPED_DIRECTIVES:
            continue
        if name == "math":
            out += ["$$", *body, "$$"]
        elif name in ("code-block", "code", "code-cell"):
            out += [f"```{arg}", *body, "```"]
        elif name in ADMONITIONS:
            title = arg if arg else name.capitalize()
            out += [f"> **{title}**", ">"] + [f"> {b}" if b.strip() else ">" for b in body]
        else:  # anything else: its content, unframed
            out += body
    result = "\n".join(out)

    def tagged(m: re.Match) -> str:  # "$$ (label)": the equation keeps its number as a \tag
        number = equations.get(m.group(1))
        return f"\\tag{{{number}}}\n$$" if number else "$$"

    result = re.sub(r"\$\$[ \t]*\(([^()\s]+)\)[ \t]*$", tagged, result, flags=re.M)
    return ROLE.sub(lambda m: _role(m, bib, equations), result)


# ---------------------------------------------------------------- choosing the slides


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def chapter_title(nb: dict) -> str:
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found = re.search(r"^#\s+(.+?)\s*$", _source(cell), re.M)
            if found:
                return found.group(1)
    return ""


def slide_notebook(
    nb: dict,
    chapter_href: str | None = None,
    bib: dict[str, str] | None = None,
    equations: dict[str, str] | None = None,
) -> dict:
    """A copy of ``nb`` (an executed notebook, as a dict) holding only its slides: a title slide,
    the tagged cells with ``metadata.slideshow.slide_type`` set ("slide" or "-"), and a closing
    slide linking to ``chapter_href``."""
    import nbformat

    nb = copy.deepcopy(dict(nb))
    for n, cell in enumerate(nb["cells"]):
        cell.setdefault("id", f"cell-{n}")
    nb["nbformat"], nb["nbformat_minor"] = 4, max(5, nb.get("nbformat_minor", 5))
    nb = nbformat.reads(json.dumps(nb), as_version=4)  # multi-line strings joined, as nbconvert expects
    title = chapter_title(nb)
    cells = []

    def markdown(text: str, slide_type: str):
        return nbformat.v4.new_markdown_cell(text, metadata={"slideshow": {"slide_type": slide_type}})

    cells.append(markdown(f"# {myst_to_markdown(title, bib, equations)}" if title else "# Slides", "slide"))
    tagged = 0
    for cell in nb["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & REMOVE_CELL or not tags & {SLIDE_TAG, OUTPUT_TAG, CONTINUE_TAG}:
            continue
        cell = copy.deepcopy(cell)
        slide_type = "slide" if tags & {SLIDE_TAG, OUTPUT_TAG} else "-"
        cell.setdefault("metadata", {})["slideshow"] = {"slide_type": slide_type}
        if cell["cell_type"] == "markdown":
            cell["source"] = myst_to_markdown(_source(cell), bib, equations)
        elif cell["cell_type"] == "code":
            if tags & REMOVE_INPUT or OUTPUT_TAG in tags:
                cell.setdefault("metadata", {}).setdefault("transient", {})["remove_source"] = True
            if tags & REMOVE_OUTPUT:
                cell["outputs"] = []
        else:
            continue
        cell.setdefault("id", f"slide-cell-{len(cells)}")
        cells.append(cell)
        tagged += 1
    if chapter_href:
        cells.append(
            markdown(
                f'<p class="bisenet-deck-footer">The whole chapter, with its code, derivations and exercises: '
                f'<a href="{html.escape(chapter_href)}">{html.escape(title or chapter_href)}</a></p>',
                "slide",
            )
        )
    out = nbformat.from_dict({k: v for k, v in nb.items() if k != "cells"})
    out["cells"] = cells
    out.setdefault("metadata", {})["title"] = f"{title} (slides)" if title else "Slides"
    out["metadata"].pop("widgets", None)
    out["metadata"]["bisenet_slides"] = {"tagged_cells": tagged}
    return out


# ---------------------------------------------------------------- export


def reveal_source() -> Path:
    """The reveal.js distribution shipped by the ``sphinx-revealjs`` package."""
    try:
        import sphinx_revealjs
    except ImportError as e:
        raise SystemExit(
            "tools/slides.py needs reveal.js from the sphinx-revealjs package: pip install -e '.[book]'"
        ) from e
    folder = Path(sphinx_revealjs.__file__).resolve().parent / "_static" / "revealjs"
    if not (folder / "dist" / "reveal.js").exists():
        raise SystemExit(f"{folder} has no dist/reveal.js: reinstall sphinx-revealjs")
    return folder


def mathjax_source() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "tools/slides.py needs MathJax from the sphinx-mathjax-offline package: pip install -e '.[book]'"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "static" / "mathjax"


def install_assets(slides_dir: Path, html_dir: Path) -> str:
    """Copy reveal.js beside the decks (dist and the notes plugin, without source maps); the
    MathJax URL the decks use, relative to them."""
    source = reveal_source()
    target = slides_dir / REVEAL_FOLDER
    if target.exists():
        shutil.rmtree(target)
    ignore = shutil.ignore_patterns("*.map", "*.esm.js")
    shutil.copytree(source / "dist", target / "dist", ignore=ignore)
    shutil.copytree(source / "plugin" / "notes", target / "plugin" / "notes", ignore=ignore)
    shutil.copy2(source / "LICENSE", target / "LICENSE")
    if (html_dir / "_static" / "mathjax" / "tex-chtml.js").exists():
        return "../_static/mathjax/tex-chtml.js"
    local = slides_dir / "mathjax"
    if not local.exists():
        shutil.copytree(mathjax_source(), local)
    return "mathjax/tex-chtml.js"


def exporter(mathjax_url: str):
    from nbconvert import SlidesExporter
    from traitlets.config import Config

    config = Config()
    config.SlidesExporter.extra_template_basedirs = [str(TEMPLATE_DIR)]
    config.SlidesExporter.template_name = TEMPLATE
    config.SlidesExporter.reveal_url_prefix = REVEAL_FOLDER
    config.SlidesExporter.reveal_theme = "simple"
    config.SlidesExporter.reveal_transition = "none"
    config.SlidesExporter.reveal_number = "c/t"
    config.SlidesExporter.reveal_width = "1280"
    config.SlidesExporter.reveal_height = "800"
    config.SlidesExporter.mathjax_url = mathjax_url
    config.SlidesExporter.exclude_input_prompt = True
    config.SlidesExporter.exclude_output_prompt = True
    return SlidesExporter(config=config)


def export_deck(nb: dict, target: Path, mathjax_url: str) -> int:
    """Write ``nb`` (already reduced by :func:`slide_notebook`) as a deck; the number of slides."""
    import nbformat

    node = nbformat.from_dict(nb)
    body, _ = exporter(mathjax_url).from_notebook_node(node)
    loads = re.findall(r'<(?:script|link|img|iframe)\b[^>]*?\b(?:src|href)="((?:https?:)?//[^"]+)"', body)
    if loads:
        raise SystemExit(f"{target}: the deck would load {loads[0]} from the network")
    target.write_text(body)
    return sum(1 for c in nb["cells"] if c["metadata"].get("slideshow", {}).get("slide_type") == "slide")


def deck_name(chapter: str) -> str:
    return f"{Path(chapter).name}.slides.html"


def write_index(slides_dir: Path, decks: list[tuple[str, str, int]]) -> None:
    items = "\n".join(
        f'<li><a href="{html.escape(deck_name(c))}">{html.escape(t)}</a> ({n} slides)</li>' for c, t, n in decks
    )
    slides_dir.joinpath("index.html").write_text(
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>Slides</title></head><body>\n'
        "<h1>Slide decks of the chapters</h1>\n<p>Offline reveal.js decks; arrow keys to move, "
        "<kbd>s</kbd> for the speaker view, <kbd>Esc</kbd> for an overview.</p>\n"
        f'<ul>\n{items}\n</ul>\n<p><a href="../index.html">Back to the book</a></p>\n</body></html>\n'
    )


def build_decks(
    executed: Path, html_dir: Path, chapters: list[str], bib: Path | None = None
) -> list[tuple[str, str, int]]:
    """One deck per chapter (toc paths such as ``notebooks/04_bisenetv1``); (chapter, title, slides)."""
    bibliography = read_bibliography(bib)
    slides_dir = html_dir / SLIDES_FOLDER
    slides_dir.mkdir(parents=True, exist_ok=True)
    mathjax_url = install_assets(slides_dir, html_dir)
    equations = equation_numbers(html_dir)
    made, missing = [], []
    for chapter in chapters:
        source = executed / f"{chapter}.ipynb"
        if not source.exists():
            missing.append(str(source))
            continue
        nb = json.loads(source.read_text())
        href = "../" + chapter + ".html"
        reduced = slide_notebook(nb, href, bibliography, equations)
        n = export_deck(reduced, slides_dir / deck_name(chapter), mathjax_url)
        tagged = reduced["metadata"]["bisenet_slides"]["tagged_cells"]
        print(
            f"  {deck_name(chapter)}: {n} slides from {tagged} tagged cell(s)"
            + ("  (no cell tagged 'slide' yet: title and closing slide only)" if not tagged else "")
        )
        made.append((chapter, chapter_title(nb) or chapter, n))
    write_index(slides_dir, made)
    if missing:
        print("FAIL no executed notebook: " + ", ".join(missing))
    return made if not missing else []


def chapters_of(toc: Path) -> list[str]:
    from tools.check_book import toc_files

    return [name for name in toc_files(toc) if name.startswith("notebooks/")]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--executed",
        default=str(ROOT / "_build" / "jupyter_execute"),
        help="the build's executed notebooks (jupyter-book writes them to _build/jupyter_execute)",
    )
    p.add_argument("--html", default=str(ROOT / "_build" / "html"), help="the HTML output to add slides/ to")
    p.add_argument("--toc", default=str(ROOT / "_toc.yml"))
    p.add_argument("--bib", default=str(ROOT / "book" / "references.bib"))
    p.add_argument("--chapters", default="", help="comma-separated toc paths (default: every notebooks/ entry)")
    args = p.parse_args(argv)
    chapters = [c.strip() for c in args.chapters.split(",") if c.strip()] or chapters_of(Path(args.toc))
    made = build_decks(Path(args.executed), Path(args.html), chapters, Path(args.bib))
    print(f"wrote {len(made)} deck(s) to {Path(args.html) / SLIDES_FOLDER}")
    return 0 if len(made) == len(chapters) else 1


if __name__ == "__main__":
    sys.exit(main())
