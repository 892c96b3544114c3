"""The book's helpers: the cached trained models and the built-book check."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tools.check_book import check_static, toc_files  # noqa: E402


def test_trained_model_trains_once_then_loads(tmp_path, monkeypatch):
    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path))
    from bisenet.book import banner, trained_model, training_log

    assert "MiniCity" in banner() and "smoke" in banner()
    model = trained_model("bisenetv2")
    assert not model.training and model.auxiliary_head is None
    final = next(tmp_path.glob("runs/bisenetv2-smoke-minicity/final.pth"))
    stamp = final.stat().st_mtime_ns
    trained_model("bisenetv2")
    assert final.stat().st_mtime_ns == stamp  # loaded, not retrained
    log = training_log("bisenetv2")
    assert (log.kind == "val").any()
    with pytest.raises(ValueError, match="the book trains"):
        trained_model("bisenetv1-r50")


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
