"""The built-book check (tools/check_book.py)."""

from __future__ import annotations

from tools.check_book import check_static, toc_files


def test_check_static_finds_missing_pages_figureless_chapters_and_errors(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/intro\nchapters:\n- file: notebooks/a\n- file: notebooks/b\n- file: notebooks/c\n"
    )
    assert toc_files(toc) == ["book/intro", "notebooks/a", "notebooks/b", "notebooks/c"]
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    (html / "notebooks").mkdir()
    (html / "book" / "intro.html").write_text("<html><body>intro</body></html>")
    (html / "notebooks" / "a.html").write_text('<html><body><img src="x.png"></body></html>')
    (html / "notebooks" / "b.html").write_text("<html><body>no figure</body></html>")
    problems = check_static(html, toc)
    assert any("b.html: a chapter without a figure" in p for p in problems)
    assert any("c.html: missing" in p for p in problems)
    (html / "notebooks" / "a.html").write_text('<img src="x.png"><pre>Traceback (most recent call last)</pre>')
    assert any("a.html: contains error output" in p for p in check_static(html, toc))


def test_check_slides_finds_missing_decks_network_loads_and_broken_deck_links(tmp_path):
    from tools.check_book import check_slides

    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: notebooks/a\n- file: notebooks/b\n")
    html = tmp_path / "html"
    (html / "slides" / "reveal.js" / "dist").mkdir(parents=True)
    (html / "slides" / "reveal.js" / "dist" / "reveal.js").write_text("")
    (html / "book").mkdir()
    (html / "book" / "intro.html").write_text(
        '<a href="../slides/a.slides.html">a</a> <a href="../slides/c.slides.html">c</a>'
    )
    (html / "slides" / "a.slides.html").write_text(
        '<script src="reveal.js/dist/reveal.js"></script><img src="data:image/png;base64,AA">'
    )
    problems = check_slides(html, toc)
    assert any("b.slides.html: missing" in p for p in problems)
    assert any("intro.html: its link to ../slides/c.slides.html does not resolve" in p for p in problems)
    assert len(problems) == 2
    (html / "slides" / "b.slides.html").write_text(
        '<script src="https://unpkg.com/reveal.js"></script><link href="reveal.js/dist/missing.css" rel="stylesheet">'
    )
    problems = check_slides(html, toc)
    assert any("loads https://unpkg.com/reveal.js from the network" in p for p in problems)
    assert any("reveal.js/dist/missing.css does not exist" in p for p in problems)


def test_check_no_solutions_finds_both_solution_formats(tmp_path):
    from tools.check_book import check_no_solutions

    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: notebooks/a\n- file: notebooks/b\n")
    html = tmp_path / "html"
    (html / "book").mkdir(parents=True)
    (html / "notebooks").mkdir()
    (html / "book" / "intro.html").write_text('<p class="admonition-title">Run this chapter yourself</p>')
    (html / "notebooks" / "a.html").write_text('<p class="admonition-title">Solutions</p>')
    (html / "notebooks" / "b.html").write_text('<span class="sd-summary-text">Solution</span>')
    assert [p.split(":")[0] for p in check_no_solutions(html, toc)] == [
        str(html / "notebooks" / "a.html"),
        str(html / "notebooks" / "b.html"),
    ]


def test_chromium_can_be_given_by_path(tmp_path, monkeypatch):
    from tools.check_book import chromium_binary

    binary = tmp_path / "chromium"
    binary.write_text("")
    monkeypatch.setenv("BISENET_CHROMIUM", str(binary))
    assert chromium_binary() == str(binary)
    monkeypatch.setenv("BISENET_CHROMIUM", str(tmp_path / "absent"))
    assert chromium_binary() is None
