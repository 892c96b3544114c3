"""The chapters' slide decks (tools/slides.py), on a tiny executed notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tools.slides import build_decks, chapter_title, deck_name, myst_to_markdown, read_bibliography, slide_notebook

ROOT = Path(__file__).resolve().parents[2]


def cell(kind: str, source: str, tags=(), outputs=None) -> dict:
    c = {"cell_type": kind, "metadata": {"tags": list(tags)} if tags else {}, "source": source}
    if kind == "code":
        c.update(outputs=outputs or [], execution_count=1)
    return c


def tiny_notebook() -> dict:
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    return {
        "cells": [
            cell("markdown", "# 9. A tiny chapter\n\n**Prerequisites:** none."),
            cell("markdown", "## Untagged\n\nleft out of the slides"),
            cell("markdown", "## The idea\n\n$k^2 C$ as in {cite}`yu2018bisenet`, see {term}`BGA`.", ["slide"]),
            cell("code", "print('shown')", ["slide"], [{"output_type": "stream", "name": "stdout", "text": "shown\n"}]),
            cell(
                "code",
                "hidden_code = 1",
                ["slide-continue", "remove-input"],
                [{"output_type": "display_data", "metadata": {}, "data": {"image/png": png, "text/plain": "<Figure>"}}],
            ),
            cell("code", "never = 2", ["slide", "remove-cell"]),
            cell(
                "code",
                "figure_code = 3",
                ["slide-output"],
                [{"output_type": "stream", "name": "stdout", "text": ["figure ", "output\n"]}],
            ),
            cell(
                "markdown",
                "## Exercises\n\n1. Do it.\n\n```{admonition} Solutions\n:class: dropdown\n\n1. secret\n```",
                ["slide"],
            ),
        ],
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def test_only_tagged_cells_make_slides_after_a_title_slide_and_before_a_link_back():
    bib = read_bibliography(ROOT / "book" / "references.bib")
    deck = slide_notebook(tiny_notebook(), "../notebooks/09_tiny.html", bib)
    kinds = [(c["cell_type"], c["metadata"]["slideshow"]["slide_type"]) for c in deck["cells"]]
    assert kinds == [
        ("markdown", "slide"),
        ("markdown", "slide"),
        ("code", "slide"),
        ("code", "-"),
        ("code", "slide"),
        ("markdown", "slide"),
        ("markdown", "slide"),
    ]
    text = [c["source"] for c in deck["cells"]]
    assert text[0] == "# 9. A tiny chapter"
    assert "left out" not in "".join(text) and "never" not in "".join(text)
    assert "(Yu et al., 2018)" in text[1] and "see BGA." in text[1] and "{term}" not in text[1]
    assert deck["cells"][3]["metadata"]["transient"] == {"remove_source": True}
    assert deck["cells"][4]["metadata"]["transient"] == {"remove_source": True}  # slide-output: no code
    assert deck["cells"][4]["outputs"][0]["text"] == "figure output\n"
    assert "secret" not in text[5] and "1. Do it." in text[5]
    assert '<a href="../notebooks/09_tiny.html">9. A tiny chapter</a>' in text[6]
    assert deck["metadata"]["bisenet_slides"] == {"tagged_cells": 5}
    assert chapter_title(tiny_notebook()) == "9. A tiny chapter"


def test_myst_becomes_plain_markdown():
    bib = {"a2020": "Ann et al., 2020", "b2021": "Bo and Cy, 2021"}
    out = myst_to_markdown(
        "(sec-x)=\n## T\n\n{cite}`a2020,b2021`; {term}`booster heads <booster>`; "
        "{doc}`../notebooks/04_bisenetv1`; {numref}`Figure %s <fig-a>`; {math}`x^2`\n\n"
        "$$\ny = 1\n$$ (eq-y)\n\n```{note} Careful\n:class: tip\n\nbody line\n```\n\n"
        "```{bibliography}\n```",
        bib,
    )
    assert "(sec-x)=" not in out and "bibliography" not in out
    assert "(Ann et al., 2020; Bo and Cy, 2021)" in out
    assert "booster heads;" in out and "04_bisenetv1;" in out and "Figure;" in out and "$x^2$" in out
    assert "$$\ny = 1\n$$\n" in out and "(eq-y)" not in out
    assert "> **Careful**" in out and "> body line" in out and ":class:" not in out


def test_the_bibliography_is_read_as_author_and_year():
    bib = read_bibliography(ROOT / "book" / "references.bib")
    assert bib["yu2018bisenet"] == "Yu et al., 2018"
    assert bib["mmseg2020"] == "MMSegmentation Contributors, 2020"


def test_a_deck_is_written_offline_with_reveal_and_mathjax_beside_it(tmp_path):
    pytest.importorskip("nbconvert")
    pytest.importorskip("sphinx_revealjs")
    executed, html = tmp_path / "jupyter_execute", tmp_path / "html"
    (executed / "notebooks").mkdir(parents=True)
    (executed / "notebooks" / "09_tiny.ipynb").write_text(json.dumps(tiny_notebook()))
    (html / "_static" / "mathjax").mkdir(parents=True)
    (html / "_static" / "mathjax" / "tex-chtml.js").write_text("// MathJax")
    made = build_decks(executed, html, ["notebooks/09_tiny"], ROOT / "book" / "references.bib")
    assert made == [("notebooks/09_tiny", "9. A tiny chapter", 6)]
    deck = (html / "slides" / deck_name("notebooks/09_tiny")).read_text()
    assert deck.count("<section") >= 6 and "shown" in deck and "hidden_code" not in deck
    assert "figure output" in deck and "figure_code" not in deck
    assert "data:image/png;base64," in deck and "secret" not in deck
    loads = re.findall(r'<(?:script|link)\b[^>]*?\b(?:src|href)="([^"]+)"', deck)
    assert loads and not [u for u in loads if re.match(r"(?:https?:)?//", u)]
    for url in loads:
        assert (html / "slides" / url).exists(), url
    assert "../_static/mathjax/tex-chtml.js" in loads and "reveal.js/dist/reveal.js" in loads
    assert (html / "slides" / "reveal.js" / "LICENSE").exists()
    assert "09_tiny.slides.html" in (html / "slides" / "index.html").read_text()
    # a chapter without an executed notebook is an error, reported as no decks
    assert build_decks(executed, html, ["notebooks/09_tiny", "notebooks/10_missing"]) == []


def test_equations_keep_the_books_numbers_on_the_slides(tmp_path):
    from tools.slides import equation_numbers

    page = tmp_path / "notebooks" / "02_x.html"
    page.parent.mkdir()
    page.write_text(
        '<span class="eqno">(2)<a class="headerlink" href="#equation-eq-iou" '
        'title="Link to this equation">#</a></span>\\['
    )
    (tmp_path / "slides").mkdir()  # a deck's own copy is not read
    (tmp_path / "slides" / "02_x.slides.html").write_text(page.read_text().replace("(2)", "(9)"))
    numbers = equation_numbers(tmp_path)
    assert numbers == {"eq-iou": "2"}
    out = myst_to_markdown("$$\nI = a / b\n$$ (eq-iou)\n\nBy {eq}`eq-iou`, not {eq}`eq-gone`.", {}, numbers)
    assert out == "$$\nI = a / b\n\\tag{2}\n$$\n\nBy (2), not (the equation in the chapter)."
    assert myst_to_markdown("$$\nI\n$$ (eq-iou)\n", {}) == "$$\nI\n$$"  # no number known: label dropped
