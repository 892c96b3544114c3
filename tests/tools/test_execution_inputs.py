"""make book's execution cache is emptied when what the notebooks read changes (tools/execution_inputs.py)."""

from __future__ import annotations

from pathlib import Path

from tools.execution_inputs import inputs_digest, refresh


def make_tree(root: Path) -> Path:
    (root / "book" / "data").mkdir(parents=True)
    (root / "bisenet").mkdir()
    (root / "book" / "data" / "grid.csv").write_text("variant,mIoU\nbga,10\n")
    (root / "bisenet" / "ablation.py").write_text("X = 1\n")
    cache = root / "_build" / ".jupyter_cache"
    cache.mkdir(parents=True)
    (cache / "entry").write_text("executed outputs")
    return cache


def test_the_cache_goes_when_the_data_the_package_or_the_profile_changes(tmp_path):
    cache, env = make_tree(tmp_path), {"BISENET_PROFILE": "cpu"}
    assert refresh(cache, tmp_path, env) and not cache.exists()  # a cache of unknown inputs goes
    cache.mkdir()
    assert not refresh(cache, tmp_path, env) and cache.exists()  # nothing changed: kept
    (tmp_path / "book" / "data" / "grid.csv").write_text("variant,mIoU\nbga,11\n")
    assert refresh(cache, tmp_path, env) and not cache.exists()
    cache.mkdir()
    (tmp_path / "bisenet" / "ablation.py").write_text("X = 2\n")
    assert refresh(cache, tmp_path, env)
    cache.mkdir()
    assert refresh(cache, tmp_path, {"BISENET_PROFILE": "smoke"})
    cache.mkdir()
    assert not refresh(cache, tmp_path, {"BISENET_PROFILE": "smoke", "HOME": "/elsewhere"})  # not an input


def test_the_digest_ignores_bytecode_and_names_each_file(tmp_path):
    make_tree(tmp_path)
    before = inputs_digest(tmp_path, {})
    (tmp_path / "bisenet" / "__pycache__").mkdir()
    (tmp_path / "bisenet" / "__pycache__" / "ablation.cpython-311.pyc").write_bytes(b"\0")
    assert inputs_digest(tmp_path, {}) == before
    (tmp_path / "book" / "data" / "grid.csv").rename(tmp_path / "book" / "data" / "other.csv")
    assert inputs_digest(tmp_path, {}) != before  # same bytes, another file
