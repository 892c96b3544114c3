"""A run's folder and the rules for continuing it (bisenet.engine.runs)."""

from __future__ import annotations

import pytest

from bisenet.engine.runs import recipe_to_continue, resume_or_start
from bisenet.engine.trainer import TrainOptions, train
from bisenet.errors import UsageError
from bisenet.recipes import get_recipe


def test_resume_or_start(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=4, checkpoint_interval=2, val_interval=4)
    assert resume_or_start(tmp_path / "none") is False  # no folder: start
    stopped = tmp_path / "stopped"  # a run stopped before its first checkpoint
    stopped.mkdir()
    (stopped / "log.jsonl").write_text('{"kind": "train", "iter": 1}\n')
    (stopped / "notes.txt").write_text("mine")
    assert resume_or_start(stopped) is False
    assert sorted(p.name for p in stopped.iterdir()) == ["notes.txt"]  # the run's files gone, the user's kept
    run = tmp_path / "run"
    train(recipe, TrainOptions(data_root=minicity, work_dir=run, stop_after=2, progress=False))
    assert resume_or_start(run) is True
    result = train(recipe, data_root=minicity, work_dir=run, resume="auto", progress=False)  # continues at 2
    assert result.iteration == 4


def test_train_options_are_checked(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke")
    with pytest.raises(UsageError, match="resume must be True, False or 'auto'"):
        train(recipe, data_root=minicity, work_dir=tmp_path / "a", resume="yes", progress=False)
    with pytest.raises(TypeError):  # not an option of TrainOptions
        train(recipe, data_root=minicity, colour=True)


def test_recipe_to_continue_refuses_another_recipes_run(minicity, tmp_path):
    recipe = get_recipe("bisenetv2-smoke").with_(iters=2, checkpoint_interval=2, val_interval=2)
    train(recipe, data_root=minicity, work_dir=tmp_path / "run", progress=False)
    assert recipe_to_continue(recipe.with_(iters=99), tmp_path / "run").iters == 2  # the run's own
    assert recipe_to_continue(recipe, tmp_path / "empty") is recipe
    with pytest.raises(UsageError, match="holds a run of recipe 'bisenetv2-smoke'"):
        recipe_to_continue(get_recipe("bisenetv1-r18-smoke"), tmp_path / "run")


def test_recipe_overrides_change_only_what_is_given():
    from bisenet.engine.runs import RecipeOverrides, recipe_to_run

    recipe = get_recipe("bisenetv1-r18-cpu")  # trains in bf16 + channels_last
    same = RecipeOverrides().apply(recipe)
    assert same == recipe
    changed = recipe_to_run(
        recipe, RecipeOverrides(iters=7, amp="none", channels_last=False), resume=False, work_dir=None
    )
    assert (changed.iters, changed.amp, changed.channels_last) == (7, None, False)
    assert changed.lr == recipe.lr and changed.crop_size == recipe.crop_size
