"""ResNet trunks: torchvision layout, and loading a local torchvision-format checkpoint."""

from __future__ import annotations

import pytest
import torch

from bisenet import build_model
from bisenet.models import ResNet


def _torchvision_style_checkpoint(path, depth, wrap=False):
    """What torchvision's resnetNN().state_dict() holds: the trunk plus the fc classifier."""
    trunk = ResNet(depth=depth)
    for p in trunk.parameters():
        p.data.normal_()
    state = dict(trunk.state_dict())
    width = 512 * (1 if depth == 18 else 4)
    state["fc.weight"] = torch.randn(1000, width)
    state["fc.bias"] = torch.randn(1000)
    torch.save({"state_dict": state} if wrap else state, path)
    return trunk


@pytest.mark.parametrize("wrap", [False, True])
def test_pretrained_backbone_loads_from_a_local_path(tmp_path, wrap):
    path = tmp_path / "resnet18.pth"
    trunk = _torchvision_style_checkpoint(path, 18, wrap)
    model = build_model("bisenetv1-r18", pretrained_backbone=path)
    loaded = model.backbone.context_path.backbone.state_dict()
    assert all(torch.equal(v, trunk.state_dict()[k]) for k, v in loaded.items())


def test_pretrained_backbone_errors_name_the_file(tmp_path):
    from bisenet.errors import CheckpointError

    # the package's own error (one line from the CLI), never torch's advice to load unsafely
    with pytest.raises(CheckpointError, match="nothing.pth"):
        build_model("bisenetv1-r18", pretrained_backbone=tmp_path / "nothing.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pth") as refused:
        build_model("bisenetv1-r18", pretrained_backbone=garbage)
    assert "weights_only" not in str(refused.value)
    r50 = tmp_path / "resnet50.pth"
    _torchvision_style_checkpoint(r50, 50)
    with pytest.raises(CheckpointError, match="resnet50.pth is not a torchvision ResNet-18"):
        build_model("bisenetv1-r18", pretrained_backbone=r50)


@pytest.mark.parametrize("depth, channels", [(18, (64, 128, 256, 512)), (50, (256, 512, 1024, 2048))])
def test_stage_outputs(depth, channels):
    outs = ResNet(depth=depth).eval()(torch.randn(1, 3, 64, 96))
    assert [o.shape[1] for o in outs] == list(channels)
    assert [o.shape[-2:] for o in outs] == [(16, 24), (8, 12), (4, 6), (2, 3)]


def test_unknown_depth():
    with pytest.raises(ValueError, match="depth must be one of \\[18, 50, 101\\]"):
        ResNet(depth=34)
