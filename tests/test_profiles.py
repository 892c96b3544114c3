from __future__ import annotations

import pytest

from bisenet.book.chapter import describe
from bisenet.profiles import current_profile


@pytest.mark.parametrize("value", ["cpu", "smoke", " SMOKE "])
def test_profile_from_environment(monkeypatch, value):
    monkeypatch.setenv("BISENET_PROFILE", value)
    p = current_profile()
    assert p.name == value.strip().lower() and p.device == "cpu" and "BISENET_PROFILE" in p.source


def test_auto_detected_without_gpu(monkeypatch):
    monkeypatch.delenv("BISENET_PROFILE", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert current_profile().name == "cpu"
    assert "auto-detected" in describe()


def test_bad_profile_is_explained(monkeypatch):
    monkeypatch.setenv("BISENET_PROFILE", "fast")
    with pytest.raises(ValueError, match="'fast' is not a profile; use one of gpu, cpu, smoke"):
        current_profile()


def test_gpu_profile_without_cuda_is_explained(monkeypatch):
    monkeypatch.setenv("BISENET_PROFILE", "gpu")
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    with pytest.raises(ValueError, match="no CUDA device"):
        current_profile()


def test_gpu_dryrun_runs_on_the_cpu_and_says_what_it_is(monkeypatch, tmp_path, capsys):
    from bisenet.book.chapter import banner

    monkeypatch.setenv("BISENET_PROFILE", "gpu-dryrun")
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    profile = current_profile()
    assert (profile.name, profile.kind, profile.sizes, profile.device) == ("gpu-dryrun", "gpu", "smoke", "cpu")
    banner(profile, cache=tmp_path)
    out = capsys.readouterr().out
    assert "generating MiniCity 64x128 (8 train + 4 val images)" in out  # said before it is made
    assert "no figure here is a result" in out and "CITYSCAPES_DATASET" not in out  # always MiniCity
    banner(profile, cache=tmp_path)
    assert "generating" not in capsys.readouterr().out  # made once


def test_cityscapes_replaces_minicity_in_the_gpu_profile_only(monkeypatch, tmp_path):
    from bisenet.profiles import get_profile, profile_data

    monkeypatch.setenv("CITYSCAPES_DATASET", str(tmp_path))
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path / "cache"))
    assert profile_data(get_profile("gpu")) == ("cityscapes", tmp_path)
    # the dry run keeps to its toy MiniCity: Cityscapes' 500 full-size val images are no dry run
    assert profile_data(get_profile("gpu-dryrun"))[0] == "minicity"


@pytest.mark.parametrize("name", ["gpu", "cpu", "smoke", "gpu-dryrun"])
def test_every_slow_step_has_a_cost_that_says_what_it_rests_on(name):
    from bisenet.profiles import get_profile

    profile = get_profile(name)
    for step in ["minicity", "ablation-minicity", "ablation-run", *(f"train:{m}" for m in profile.recipes)]:
        cost = profile.cost(step)
        assert cost.startswith("about ") and ("measured" in cost or "estimate" in cost), (step, cost)
    assert profile.cost("nothing") == "no estimate"
    if profile.kind == "gpu" and profile.device == "cuda":
        assert "estimate, not measured" in profile.cost("train:bisenetv2")  # until a GPU has run it


def test_banner_is_shown_once_in_a_notebook_cell(monkeypatch, tmp_path, capsys):
    """Every chapter's first code cell is ``banner()``: it must print its lines once and return
    None, since Jupyter would display a returned value as a second copy (the cell's result)."""
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setenv("BISENET_PROFILE", "smoke")
    monkeypatch.setenv("BISENET_CACHE", str(tmp_path))
    monkeypatch.delenv("CITYSCAPES_DATASET", raising=False)
    shell = InteractiveShell.instance()
    try:
        result = shell.run_cell("from bisenet.book.chapter import banner\nbanner()", store_history=False)
    finally:
        InteractiveShell.clear_instance()
    assert result.success and result.result is None  # nothing for Jupyter to display
    out = capsys.readouterr().out
    assert out.count("profile 'smoke'") == 1 and out.count("data: MiniCity") == 1, out
    assert "Out[" not in out


def test_the_cpu_profile_trains_v1_in_bf16_and_channels_last_and_v2_and_its_ablation_in_fp32():
    """The fastest measured CPU training settings (benchmarks/training_speed.py) are a cpu recipe's
    default where they cost no accuracy (book/data/cpu_precision_runs.csv): V1 R-18's; V2 ended
    lower in bf16 at every seed, so its recipe stays fp32; the ablation grid keeps the fp32 of its
    committed runs."""
    from bisenet.profiles import get_profile

    cpu = get_profile("cpu")
    assert (cpu.recipe("bisenetv1-r18").amp, cpu.recipe("bisenetv1-r18").channels_last) == ("bf16", True)
    assert (cpu.recipe("bisenetv2").amp, cpu.recipe("bisenetv2").channels_last) == (None, False)
    assert (cpu.ablation.amp, cpu.ablation.channels_last) == (None, False)


def test_every_profile_says_what_each_slow_step_costs():
    """A step without a figure in ``costs`` is a KeyError in the chapter that prints it."""
    from bisenet.profiles import PROFILES

    for profile in PROFILES.values():
        steps = {"minicity", "ablation-minicity", "ablation-run", "own-data", *(f"train:{m}" for m in profile.recipes)}
        assert steps <= set(profile.costs), (profile.name, steps - set(profile.costs))
