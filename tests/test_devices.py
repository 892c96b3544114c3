"""One rule for ``device`` everywhere (bisenet.devices)."""

from __future__ import annotations

import pytest
import torch

from bisenet.devices import resolve_device
from bisenet.errors import UsageError


def test_default_is_the_gpu_when_there_is_one_else_the_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("LOCAL_RANK", "3")
    assert resolve_device(None) == torch.device("cuda:3")


@pytest.mark.parametrize(
    "name, message", [("cuda", "no CUDA device"), ("tpu", "not a device|cpu or cuda"), ("cuda:x", "not a device")]
)
def test_a_device_torch_cannot_use_is_refused(monkeypatch, name, message):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UsageError, match=message):
        resolve_device(name)


def test_an_explicit_cpu_is_taken_as_given():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
