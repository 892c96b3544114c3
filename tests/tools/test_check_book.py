"""The built-book check (tools/check_book.py)."""

from __future__ import annotations

from tools.check_book import check_static, toc_files


def test_check_static_finds_missing_pages_figureless_chapters_and_errors(tmp_path):
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/intro\nchapters:\n- file: notebooks/a\n- file: notebooks/b\n- file: notebooks/c\n")
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
