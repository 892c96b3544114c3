"""Finding the committed results (bisenet.book.results)."""

from __future__ import annotations

import pytest

from bisenet.book.results import MARKER, results_dir
from bisenet.errors import UsageError


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


def test_a_chapters_measured_times_per_profile(tmp_path):
    from bisenet.book.chapter import chapter_time_line, chapter_times

    (tmp_path / "chapter_times.csv").write_text(
        "chapter,profile,seconds,status\n"
        "05_detail_branch,smoke,12.4,ok\n05_detail_branch,cpu,95,ok\n"
        "06_stem_block,cpu,30,ok\n05_detail_branch,gpu,3,failed\n"
    )
    assert chapter_times("05_detail_branch", tmp_path) == {"smoke": 12.4, "cpu": 95.0}
    line = chapter_time_line("05_detail_branch", tmp_path)
    assert line.endswith("smoke 12 s, cpu 2 min, gpu not measured")  # a failed run is no measurement
    assert chapter_times("19_your_own_data", tmp_path) == {}
