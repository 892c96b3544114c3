"""Sizes and memory are bounded before anything is allocated, and the Python API refuses what the
command line refuses, with the package's own errors."""

from __future__ import annotations

import time
import zipfile

import pytest
import torch

from bisenet import build_model
from bisenet.checkpoint import Checkpoint, model_from_checkpoint, save_checkpoint
from bisenet.cli import main
from bisenet.devices import is_out_of_memory
from bisenet.errors import CheckpointError, UsageError
from bisenet.recipes import get_recipe
from bisenet.safe_load import UnsafeCheckpoint, safe_torch_load


def v2_state() -> dict[str, torch.Tensor]:
    return build_model("bisenetv2", num_classes=3, aux_heads=False).state_dict()


@pytest.mark.parametrize(
    "options, says",
    [
        ({"decode_channels": 2**22}, "decode_channels must be an integer from 1 to 8192"),  # 19 GB of weights
        ({"depth": 10**6}, "depth must be an integer from 1 to 16"),  # a minute and 8 GB to build
        ({"width": 8}, "which build"),  # in range, but far more weights than the file holds
    ],
)
def test_a_checkpoints_model_options_are_bounded_before_the_model_is_built(tmp_path, options, says):
    path = save_checkpoint(Checkpoint(v2_state(), "bisenetv2", options), tmp_path / "m.pth")
    start = time.perf_counter()
    with pytest.raises(CheckpointError, match=says):
        model_from_checkpoint(path)
    assert time.perf_counter() - start < 20  # refused from its shapes, not after building the model


def test_the_command_line_says_it_in_one_line(tmp_path, capsys):
    path = save_checkpoint(Checkpoint(v2_state(), "bisenetv2", {"depth": 10**6}), tmp_path / "m.pth")
    args = ["export", "--checkpoint", str(path), "--onnx", str(tmp_path / "m.onnx"), "--size", "64x64"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and "depth" in err[0]


def test_a_small_file_that_inflates_to_a_large_tensor_is_refused_before_reading(tmp_path):
    plain = tmp_path / "plain.pth"
    torch.save({"w": torch.zeros(4 * 2**20)}, plain)  # 16 MiB of zeros, stored as torch.save stores
    bomb = tmp_path / "bomb.pth"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(bomb, "w") as target:
        for entry in source.infolist():  # the same entries, the tensor's data deflated
            method = zipfile.ZIP_DEFLATED if "/data/" in entry.filename else zipfile.ZIP_STORED
            target.writestr(entry.filename, source.read(entry.filename), compress_type=method)
    assert bomb.stat().st_size < 100_000
    assert torch.load(bomb, weights_only=True)["w"].numel() == 4 * 2**20  # torch itself would inflate it
    with pytest.raises(UnsafeCheckpoint, match="compressed and would inflate"):
        safe_torch_load(bomb)
    safe_torch_load(plain)  # what torch.save wrote still loads


def test_a_crop_larger_than_any_augmented_image_is_refused_before_training():
    with pytest.raises(UsageError, match="larger than any image the augmentation makes"):
        get_recipe("bisenetv2-smoke").with_(crop_size=(2048, 4096)).check()
    get_recipe("bisenetv2-smoke").check()  # the recipe as it is trains


def test_the_cpu_allocators_refusal_is_recognised_as_out_of_memory():
    with pytest.raises(RuntimeError) as refused:
        torch.empty(10**15, dtype=torch.uint8)  # a petabyte: the CPU allocator's own error
    assert is_out_of_memory(refused.value)
    assert not is_out_of_memory(RuntimeError("expected scalar type Double but found Float"))


def test_the_python_api_refuses_what_the_command_line_refuses():
    with pytest.raises(UsageError, match="num_classes must be an integer"):
        build_model("bisenetv2", num_classes=2.5)
    with pytest.raises(UsageError, match="num_classes must be an integer"):
        build_model("bisenetv2", num_classes=True)
    model = build_model("bisenetv2", num_classes=3, aux_heads=False).eval()
    with pytest.raises(UsageError, match="float64 for a model whose weights are torch.float32"):
        model(torch.zeros(1, 3, 64, 64, dtype=torch.float64))
    from bisenet.data.folder import FolderDataset

    with pytest.raises(UsageError, match="dataset root must be a folder path"):
        FolderDataset(None)
