"""Finding the committed results (bisenet.results)."""

from __future__ import annotations

import pytest

from bisenet.errors import UsageError
from bisenet.results import MARKER, results_dir


def test_found_from_the_repository_and_from_notebooks_below_it(tmp_path, monkeypatch):
    monkeypatch.delenv("BISENET_RESULTS", raising=False)
    data = tmp_path / "book" / "data"
    data.mkdir(parents=True)
    assert results_dir(start=tmp_path) is None  # a book/data without the book's tables is not it
    (data / MARKER).write_text("model\n")
    (tmp_path / "notebooks").mkdir()
    assert results_dir(start=tmp_path) == data
    assert results_dir(start=tmp_path / "notebooks") == data
    monkeypatch.chdir(tmp_path / "notebooks")
    assert results_dir() == data


def test_a_downloaded_notebook_finds_none(tmp_path, monkeypatch):
    monkeypatch.delenv("BISENET_RESULTS", raising=False)
    assert results_dir(start=tmp_path) is None


def test_a_given_folder_wins_and_must_exist(tmp_path, monkeypatch):
    monkeypatch.setenv("BISENET_RESULTS", str(tmp_path))
    assert results_dir(start="/") == tmp_path
    assert results_dir(tmp_path / ".") == tmp_path / "."
    with pytest.raises(UsageError, match="missing is not a folder"):
        results_dir(tmp_path / "missing")
    monkeypatch.setenv("BISENET_RESULTS", str(tmp_path / "gone"))
    with pytest.raises(UsageError, match="BISENET_RESULTS .*gone is not a folder"):
        results_dir()
