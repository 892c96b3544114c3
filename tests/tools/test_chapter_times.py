"""The chapters' execution times (tools/chapter_times.py) and the teachers' page that shows them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from tools.chapter_times import execute, merge, toc_notebooks

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_measurement_replaces_its_chapter_and_profile_and_keeps_the_rest():
    old = pd.DataFrame({"chapter": ["a", "a", "b"], "profile": ["smoke", "cpu", "smoke"], "seconds": [1.0, 50.0, 2.0]})
    new = pd.DataFrame({"chapter": ["a"], "profile": ["smoke"], "seconds": [1.5]})
    merged = merge(old, new)
    assert sorted(zip(merged.chapter, merged.profile, merged.seconds)) == [
        ("a", "cpu", 50.0),
        ("a", "smoke", 1.5),
        ("b", "smoke", 2.0),
    ]
    assert merge(None, new).equals(new)


def test_the_chapters_measured_are_the_notebooks_of_the_table_of_contents():
    stems = [p.stem for p in toc_notebooks()]
    assert stems[:2] == ["01_first_look", "02_realtime_segmentation"]
    assert "teaching" not in stems and len(stems) >= 19


def test_a_notebook_is_timed_in_its_own_folder_and_a_failing_one_reported(tmp_path):
    def notebook(code: str) -> Path:
        path = tmp_path / f"nb{len(list(tmp_path.iterdir()))}.ipynb"
        path.write_text(
            json.dumps(
                {
                    "cells": [
                        {
                            "cell_type": "code",
                            "id": "c1",
                            "metadata": {},
                            "source": code,
                            "outputs": [],
                            "execution_count": None,
                        }
                    ],
                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                    "nbformat": 4,
                    "nbformat_minor": 5,
                }
            )
        )
        return path

    (tmp_path / "marker.txt").write_text("here")
    seconds, status = execute(notebook("assert open('marker.txt').read() == 'here'"), timeout=60)
    assert status == "ok" and seconds > 0
    _, status = execute(notebook("raise ValueError('broken chapter')"), timeout=60)
    assert status.startswith("error:") and "broken chapter" in status


def test_the_committed_times_carry_their_provenance():
    table = pd.read_csv(ROOT / "book" / "data" / "chapter_times.csv")
    for column in (
        "chapter",
        "profile",
        "seconds",
        "status",
        "notebook_sha256",
        "date",
        "commit",
        "cpu",
        "threads",
        "device",
        "command",
    ):
        assert column in table.columns, column
    assert set(table.profile) <= {"smoke", "cpu", "gpu", "gpu-dryrun"}
    assert (table.seconds > 0).all() and table.status.notna().all()


def test_the_teachers_page_knows_every_chapter_and_runs(tmp_path):
    nbclient = pytest.importorskip("nbclient")
    import nbformat

    page = ROOT / "book" / "teaching.ipynb"
    code = "\n".join("".join(c["source"]) for c in json.loads(page.read_text())["cells"] if c["cell_type"] == "code")
    known = set(re.findall(r'^    "([0-9a-z_]+)": \(', code, re.M))
    assert {p.stem for p in toc_notebooks()} <= known, "a chapter of _toc.yml is missing from teaching's CHAPTERS"
    nb = nbformat.read(page, as_version=4)
    # the page is executed whenever it is read, and read again when the times change
    assert nb.metadata["mystnb"] == {"execution_mode": "force"}
    assert any(":file: data/chapter_times.csv" in c.source for c in nb.cells if c.cell_type == "markdown")
    nbclient.NotebookClient(nb, timeout=120, resources={"metadata": {"path": str(page.parent)}}).execute()
    html = "".join(o.get("data", {}).get("text/html", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert '<a href="../notebooks/04_bisenetv1.html">' in html
    assert '<a href="../slides/04_bisenetv1.slides.html">' in html
