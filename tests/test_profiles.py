from __future__ import annotations

import pytest

from bisenet.profiles import current_profile, describe


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
