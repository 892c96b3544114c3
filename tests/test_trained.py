"""The profile's trained models, cached (bisenet.trained)."""

from __future__ import annotations

import pytest

from bisenet.checkpoint import load_checkpoint
from bisenet.profiles import banner


def test_trained_model_trains_once_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path))
    from bisenet.trained import trained_model, training_log

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
    from bisenet.trained import run_dir

    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path / "env"))
    assert run_dir("bisenetv2", cache=tmp_path / "arg").parent.parent == tmp_path / "arg"
    assert run_dir("bisenetv2").is_relative_to(tmp_path / "env")
