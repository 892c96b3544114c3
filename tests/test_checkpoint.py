"""One checkpoint schema written, every accepted layout read (bisenet.checkpoint)."""

from __future__ import annotations

import pytest
import torch

from bisenet import build_model
from bisenet.checkpoint import (
    FORMAT,
    Checkpoint,
    CheckpointError,
    latest_valid,
    load_checkpoint,
    model_from_checkpoint,
    read_checkpoint,
    save_checkpoint,
)


@pytest.fixture(scope="module")
def state():
    torch.manual_seed(0)
    return build_model("bisenetv2", num_classes=3, aux_heads=False).state_dict()


def same_logits(model_a, model_b) -> bool:
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.inference_mode():
        return torch.equal(model_a.eval()(x), model_b.eval()(x))


def test_the_schema_round_trips(tmp_path, state):
    written = Checkpoint(
        state,
        "bisenetv2",
        {"ge_dw_relu": True},
        {"name": "r", "model": "bisenetv2"},
        7,
        {"mIoU": 0.5},
        {"commit": "abc"},
        optimizer={"state": {}, "param_groups": []},
        best_miou=0.5,
    )
    save_checkpoint(written, tmp_path / "c.pth")
    raw = read_checkpoint(tmp_path / "c.pth")
    assert raw["format"] == FORMAT and set(raw) >= {
        "model",
        "model_name",
        "model_options",
        "recipe",
        "iteration",
        "metrics",
        "provenance",
        "optimizer",
        "best_miou",
    }
    assert "scaler" not in raw and "rng" not in raw  # absent, not None
    back = load_checkpoint(tmp_path / "c.pth")
    assert (back.model_name, back.model_options, back.iteration, back.metrics, back.best_miou, back.layout) == (
        "bisenetv2",
        {"ge_dw_relu": True},
        7,
        {"mIoU": 0.5},
        0.5,
        "bisenet",
    )
    assert back.resumable and back.num_classes == 3
    assert all(torch.equal(back.state_dict[k], v) for k, v in state.items())


@pytest.mark.parametrize(
    "layout",
    [
        # what the package wrote before the schema had a "format" key
        lambda s: {
            "model": s,
            "optimizer": {"state": {}, "param_groups": []},
            "iteration": 2,
            "best_miou": None,
            "recipe": {"name": "bisenetv2-smoke", "model": "bisenetv2", "model_options": {}},
            "meta": {"torch": "2"},
        },
        lambda s: {
            "model": s,
            "iteration": 2,
            "mIoU": 0.3,
            "recipe": {"name": "x", "model": "bisenetv2", "model_options": {}},
        },
        lambda s: {"model": s, "model_name": "bisenetv2", "model_options": {}, "converted_from": "mmseg: a.pth"},
        lambda s: {
            "model": s,
            "model_name": "bisenetv2",
            "model_options": {},
            "iteration": 4,
            "trained_with": {"name": "bisenetv2-smoke", "model": "bisenetv2"},
        },
    ],
)
def test_earlier_package_files_still_load(tmp_path, state, layout):
    torch.save(layout(state), tmp_path / "old.pth")
    checkpoint = load_checkpoint(tmp_path / "old.pth")
    assert checkpoint.model_name == "bisenetv2" and checkpoint.layout == "bisenet"
    assert same_logits(
        model_from_checkpoint(tmp_path / "old.pth"), model_from_checkpoint(Checkpoint(state, "bisenetv2"))
    )


def test_mmseg_and_bare_layouts_and_the_ddp_prefix(tmp_path, state):
    torch.save(
        {"meta": {"CLASSES": ["a", "b", "c"]}, "state_dict": {f"module.{k}": v for k, v in state.items()}},
        tmp_path / "mmseg.pth",
    )
    mm = load_checkpoint(tmp_path / "mmseg.pth")
    assert mm.layout == "mmseg" and mm.model_name is None and mm.provenance["meta"]["CLASSES"] == ["a", "b", "c"]
    assert set(mm.state_dict) == set(state)
    with pytest.raises(CheckpointError, match="does not say which model"):
        model_from_checkpoint(tmp_path / "mmseg.pth")
    model = model_from_checkpoint(tmp_path / "mmseg.pth", "bisenetv2")
    with pytest.raises(CheckpointError, match="holds a bisenetv2, not a bisenetv1-r18"):
        model_from_checkpoint(Checkpoint(state, "bisenetv2"), "bisenetv1-r18")
    assert load_checkpoint(dict(state)).layout == "state dict"
    assert same_logits(model, model_from_checkpoint(dict(state), "bisenetv2"))


def test_a_file_without_weights_is_refused_naming_its_keys(tmp_path):
    torch.save({"epoch": 3, "notes": "no weights"}, tmp_path / "x.pth")
    with pytest.raises(CheckpointError, match=r"holds no state dict.*\['epoch', 'notes'\]"):
        load_checkpoint(tmp_path / "x.pth")


def test_the_newest_resumable_checkpoint_is_found(tmp_path, state):
    assert latest_valid(tmp_path) is None
    for i in (2, 4):
        save_checkpoint(
            Checkpoint(state, "bisenetv2", iteration=i, optimizer={"state": {}, "param_groups": []}),
            tmp_path / f"iter_{i}.pth",
        )
    save_checkpoint(Checkpoint(state, "bisenetv2", iteration=6), tmp_path / "iter_6.pth")  # weights only
    with pytest.warns(UserWarning, match="iter_6.pth is not a training checkpoint"):
        path, checkpoint = latest_valid(tmp_path)
    assert path.name == "iter_4.pth" and checkpoint.iteration == 4


def test_killed_while_writing_a_checkpoint_leaves_the_previous_one(tmp_path, monkeypatch):
    save_checkpoint(Checkpoint({"w": torch.ones(2)}, iteration=1), tmp_path / "iter_1.pth")

    def dying_save(obj, f, *a, **k):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(torch, "save", dying_save)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(Checkpoint({"w": torch.zeros(2)}, iteration=2), tmp_path / "iter_2.pth")
    monkeypatch.undo()
    assert not (tmp_path / "iter_2.pth").exists()
    assert list(tmp_path.glob("*.tmp")) == []
    assert torch.equal(read_checkpoint(tmp_path / "iter_1.pth")["model"]["w"], torch.ones(2))


def test_a_folder_is_not_a_checkpoint_and_nan_weights_are_refused(tmp_path, state):
    with pytest.raises(CheckpointError, match="is a folder, not a file"):
        read_checkpoint(tmp_path)
    poisoned = {k: v.clone() for k, v in state.items()}
    poisoned["decode_head.conv_seg.weight"][0, 0] = float("inf")
    with pytest.raises(CheckpointError, match="NaN or infinite values in 1 tensor.*decode_head.conv_seg.weight"):
        model_from_checkpoint(Checkpoint(poisoned, "bisenetv2"))
