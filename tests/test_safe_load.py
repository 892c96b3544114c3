"""Checkpoints as the training tools write them, read without running code (bisenet.safe_load,
bisenet.checkpoint.read_checkpoint): mmseg 1.x's mmengine runner (numpy scalars, HistoryBuffer
objects in the message hub), mmseg 0.x's mmcv runner, and a pickle that would run code."""

from __future__ import annotations

import collections
import os
import sys
import types

import numpy as np
import pytest
import torch

from bisenet.checkpoint import CheckpointError, load_checkpoint, read_checkpoint
from bisenet.cli import main
from bisenet.interop import from_mmseg
from bisenet.models import build_model
from bisenet.safe_load import Inert, UnsafeCheckpoint, safe_torch_load


def _mmengine_classes(monkeypatch) -> type:
    """mmengine's HistoryBuffer, recreated under its own module name (as pickle records it):
    the class mmengine 0.10's MessageHub keeps every logged scalar in."""
    for name in ("mmengine", "mmengine.logging", "mmengine.logging.history_buffer"):
        monkeypatch.setitem(sys.modules, name, types.ModuleType(name))

    class HistoryBuffer:
        def __init__(self, log_history=(), count_history=(), max_length=1_000_000):
            self.max_length = max_length
            self._log_history = np.array(log_history)
            self._count_history = np.array(count_history)
            # mmengine keeps its statistics as functions of the class: pickle protocol 2 (torch.save's)
            # writes each as getattr(HistoryBuffer, "min"), a call the loader must answer safely
            self.statistics_methods = {"min": HistoryBuffer.min, "mean": HistoryBuffer.mean}

        def min(self):
            return self._log_history.min()

        def mean(self):
            return self._log_history.mean()

    HistoryBuffer.__module__, HistoryBuffer.__qualname__ = "mmengine.logging.history_buffer", "HistoryBuffer"
    for method in (HistoryBuffer.min, HistoryBuffer.mean):
        method.__module__, method.__qualname__ = HistoryBuffer.__module__, f"HistoryBuffer.{method.__name__}"
    sys.modules["mmengine.logging.history_buffer"].HistoryBuffer = HistoryBuffer
    return HistoryBuffer


@pytest.fixture
def v2():
    torch.manual_seed(0)
    return build_model("bisenetv2", 19, aux_heads=True).eval()


def _mmengine_checkpoint(model, HistoryBuffer) -> dict:
    """What mmengine 0.10's CheckpointHook saves for mmseg 1.2 (Runner.save_checkpoint)."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    return {
        "meta": {
            "cfg": "model = dict(type='EncoderDecoder', ...)\n",
            "seed": np.int64(304128),
            "experiment_name": "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024",
            "time": "20230101_000000",
            "mmengine_version": "0.10.7",
            "epoch": 0,
            "iter": 160000,
            "dataset_meta": {"classes": ("road", "sidewalk"), "palette": [[128, 64, 128], [244, 35, 232]]},
        },
        "state_dict": model.state_dict(),
        "message_hub": {
            "log_scalars": {
                "train/loss": HistoryBuffer([2.5, 2.1], [1, 1]),
                "train/lr": HistoryBuffer([np.float64(0.05)], [1]),
            },
            "runtime_info": {"iter": 160000, "max_iters": np.int64(160000), "loss_scale": np.float32(512)},
            "resumed_keys": {"iter": True},
        },
        "optimizer": optimizer.state_dict(),
        "param_schedulers": [{"start_factor": 0.1, "end_factor": 1.0, "by_epoch": False, "last_step": np.int64(999)}],
    }


def test_an_mmengine_runner_checkpoint_loads_without_mmengine(tmp_path, monkeypatch, v2, capsys, minicity):
    HistoryBuffer = _mmengine_classes(monkeypatch)
    path = tmp_path / "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024_20210902_015551-bcf10f09.pth"
    torch.save(_mmengine_checkpoint(v2, HistoryBuffer), path)
    monkeypatch.undo()  # mmengine is not importable when the package reads the file
    assert "mmengine.logging.history_buffer" not in sys.modules
    data = read_checkpoint(path)
    buffer = data["message_hub"]["log_scalars"]["train/loss"]
    assert isinstance(buffer, Inert) and buffer.pickled_as == "mmengine.logging.history_buffer.HistoryBuffer"
    assert list(buffer.state["_log_history"]) == [2.5, 2.1]  # kept as data, nothing ran
    method = buffer.state["statistics_methods"]["min"]  # getattr(HistoryBuffer, "min"), answered inertly
    assert isinstance(method, Inert) and method.pickled_as == "mmengine.logging.history_buffer.HistoryBuffer.min"
    assert data["meta"]["seed"] == 304128 and isinstance(data["meta"]["seed"], np.integer)
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        assert torch.equal(from_mmseg(path)(x), v2(x))  # the same logits as the model that wrote it
    assert load_checkpoint(path).layout == "mmseg"
    out = tmp_path / "converted.pth"
    assert main(["convert", "--from", "mmseg", str(path), str(out)]) == 0, capsys.readouterr().err
    with torch.no_grad():
        assert torch.equal(from_mmseg(out)(x), v2(x))
    # eval and predict read the same file (the model found from its keys)
    image = next((minicity / "leftImg8bit" / "val").rglob("*.png"))
    assert main(["eval", "--checkpoint", str(path), "--data", "minicity", "--data-root", str(minicity)]) == 0
    assert main(["predict", "--checkpoint", str(path), str(image), "--out", str(tmp_path / "pred")]) == 0
    assert list((tmp_path / "pred").rglob("*.png"))


def test_an_mmcv_runner_checkpoint_loads(tmp_path, v2):
    """mmseg 0.x (mmcv's runner): config text, CLASSES and PALETTE, hook messages, optimizer."""
    path = tmp_path / "mmseg0x.pth"
    torch.save(
        {
            "meta": {
                "mmseg_version": "0.30.0",
                "config": "norm_cfg = dict(type='SyncBN')\n",
                "CLASSES": ("road", "sidewalk"),
                "PALETTE": [[128, 64, 128], [244, 35, 232]],
                "env_info": "sys.platform: linux",
                "seed": 0,
                "exp_name": "bisenetv2.py",
                "epoch": 1,
                "iter": 160000,
                "hook_msgs": {"last_ckpt": "work_dirs/iter_160000.pth"},
            },
            "state_dict": v2.state_dict(),
            "optimizer": torch.optim.SGD(v2.parameters(), lr=0.01).state_dict(),
        },
        path,
    )
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        assert torch.equal(from_mmseg(path)(x), v2(x))


class _RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_a_pickle_that_would_run_code_is_refused_and_runs_nothing(tmp_path, v2):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": v2.state_dict(), "meta": _RunsCode(marker)}, path)
    with pytest.raises(UnsafeCheckpoint, match=r"posix\.system|os\.system"):
        safe_torch_load(path)
    with pytest.raises(CheckpointError, match=r"evil.pth is not safe to load: .*system.*nothing from it was executed"):
        from_mmseg(path)
    assert not marker.exists()


class _GetattrOnARealObject:
    def __reduce__(self):  # getattr on a class torch allows: a way to reach code from an allowed name
        return (getattr, (collections.OrderedDict, "fromkeys"))


def test_getattr_is_answered_only_for_placeholders(tmp_path, v2):
    path = tmp_path / "getattr.pth"
    torch.save({"state_dict": v2.state_dict(), "meta": _GetattrOnARealObject()}, path)
    with pytest.raises(CheckpointError, match=r"not safe to load: .*getattr\(type object, 'fromkeys'\)"):
        read_checkpoint(path)


def test_a_class_of_an_unknown_module_is_refused(tmp_path, monkeypatch, v2):
    monkeypatch.setitem(sys.modules, "somelib", types.ModuleType("somelib"))

    class Thing:
        pass

    Thing.__module__, Thing.__qualname__ = "somelib", "Thing"
    sys.modules["somelib"].Thing = Thing
    path = tmp_path / "unknown.pth"
    torch.save({"state_dict": v2.state_dict(), "extra": Thing()}, path)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match=r"not safe to load: .*somelib\.Thing"):
        read_checkpoint(path)


def test_a_truncated_file_is_still_called_truncated(tmp_path):
    path = tmp_path / "cut.pth"
    path.write_bytes(b"PK\x03\x04 cut")
    with pytest.raises(CheckpointError, match="not a PyTorch checkpoint, or truncated"):
        read_checkpoint(path)


class _RunsCode:
    """A pickle payload that would create a file if it were ever run."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("layout", ["zip", "legacy", "plain pickle"])
def test_no_message_ever_advises_loading_unsafely(tmp_path, capsys, layout, minicity):
    """Whatever the file's layout, the refusal never passes on torch's advice to retry with
    weights_only=False (which would run the payload), and the payload never runs."""
    import pickle

    marker = tmp_path / "ran"
    path = tmp_path / f"evil-{layout.replace(' ', '-')}.pth"
    if layout == "zip":
        torch.save({"state_dict": _RunsCode(marker)}, path)
    elif layout == "legacy":
        torch.save({"state_dict": _RunsCode(marker)}, path, _use_new_zipfile_serialization=False)
    else:
        path.write_bytes(pickle.dumps({"x": _RunsCode(marker)}))
    with pytest.raises(CheckpointError) as refused:
        read_checkpoint(path)
    assert "weights_only" not in str(refused.value) and "nothing from it was executed" in str(refused.value)
    for option in ("--checkpoint", "--init"):
        args = ["eval", "--checkpoint", str(path), "--data-root", str(minicity)]
        if option == "--init":
            args = [
                "train",
                "--recipe",
                "bisenetv2-smoke",
                "--init",
                str(path),
                "--data-root",
                str(minicity),
                "--work-dir",
                str(tmp_path / "run"),
                "--iters",
                "1",
            ]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and len(err.strip().splitlines()) == 1, err
        assert "weights_only" not in err
    assert not marker.exists()
