"""The profile's trained models, cached (bisenet.book.trained)."""

from __future__ import annotations

import pytest

from bisenet.book.chapter import banner
from bisenet.checkpoint import load_checkpoint


def test_trained_model_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path))
    from bisenet.book.trained import trained_model, training_log

    banner()
    line = capsys.readouterr().out
    assert "MiniCity" in line and "smoke" in line
    model = trained_model("bisenetv2")
    said = capsys.readouterr().out  # what it trains and how long that takes, before it does
    assert "training bisenetv2 once for profile smoke (recipe bisenetv2-smoke: 4 iterations of 2 crops of 64x64" in said
    assert "about 10 s (measured" in said
    assert not model.training and model.auxiliary_head is None
    final = next(tmp_path.glob("runs/bisenetv2-smoke-minicity/final.pth"))
    stamp = final.stat().st_mtime_ns
    trained_model("bisenetv2")
    assert final.stat().st_mtime_ns == stamp  # loaded, not retrained
    assert "training" not in capsys.readouterr().out
    saved = load_checkpoint(final)
    assert (saved.model_name, saved.recipe["name"], saved.iteration) == ("bisenetv2", "bisenetv2-smoke", 4)
    assert not saved.resumable  # the final weights, without the optimizer state
    log = training_log("bisenetv2")
    assert (log.kind == "val").any()
    with pytest.raises(ValueError, match="trains"):
        trained_model("bisenetv1-r50")


def test_the_cache_argument_wins_over_the_environment(tmp_path, monkeypatch):
    from bisenet.book.trained import run_dir

    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path / "env"))
    assert run_dir("bisenetv2", cache=tmp_path / "arg").parent.parent == tmp_path / "arg"
    assert run_dir("bisenetv2").is_relative_to(tmp_path / "env")


def test_a_cached_run_of_an_older_recipe_is_kept_aside_and_trained_again(tmp_path, monkeypatch, capsys):
    """When the package changes a profile's recipe (the cpu profile's moved to bf16), a model
    cached with the old recipe is not shown as if it were the new one."""
    import dataclasses

    from bisenet.book.trained import run_dir, stale_run, train_cached
    from bisenet.profiles import get_profile

    monkeypatch.setenv("BISENET_CACHE", str(tmp_path))
    smoke = get_profile("smoke")
    first = train_cached("bisenetv2", smoke, tmp_path)
    changed = dataclasses.replace(
        smoke, recipes={**smoke.recipes, "bisenetv2": smoke.recipe("bisenetv2").with_(seed=1)}
    )
    work_dir = run_dir("bisenetv2", changed, tmp_path)
    assert stale_run(work_dir, changed.recipe("bisenetv2").with_(dataset="minicity")) == ["seed 0 -> 1"]
    capsys.readouterr()
    second = train_cached("bisenetv2", changed, tmp_path)
    said = capsys.readouterr().out
    assert "holds a run of another recipe (seed 0 -> 1)" in said and "training bisenetv2 once" in said
    assert second == first  # the same place, now the new recipe's run
    assert load_checkpoint(second).recipe["seed"] == 1
    kept = work_dir.with_name(work_dir.name + ".previous-recipe")
    assert load_checkpoint(kept / "final.pth").recipe["seed"] == 0
    stamp = second.stat().st_mtime_ns
    train_cached("bisenetv2", changed, tmp_path)
    assert second.stat().st_mtime_ns == stamp  # up to date now: loaded, not retrained
