"""Evaluation: the three inference modes, the evaluator, the CLI, and agreement with the
official Cityscapes script."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from bisenet import build_model
from bisenet.cli import main
from bisenet.data import Cityscapes, eval_pipeline
from bisenet.data.cityscapes import TRAIN_ID_TO_LABEL_ID
from bisenet.engine import evaluate, infer
from bisenet.engine.cityscapes_eval import CityscapesEvalError, official_miou
from bisenet.engine.evaluator import prediction_path
from conftest import make_cityscapes_tree, write_png


class PixelModel(nn.Module):
    """A per-pixel classifier: sliding windows and flips cannot change its output."""

    def __init__(self, num_classes: int = 19) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv = nn.Conv2d(3, num_classes, 1)

    def forward(self, x):
        return self.conv(x)


def test_slide_equals_whole_for_a_per_pixel_model():
    torch.manual_seed(0)
    model, x = PixelModel(), torch.randn(2, 3, 70, 150)
    whole = infer(model, x, "whole")
    slide = infer(model, x, "slide", crop=(32, 64), stride=(20, 40))
    torch.testing.assert_close(slide, whole)
    assert infer(model, x, "slide", crop=(512, 512), stride=(256, 256)).shape == whole.shape


def test_msflip_of_one_scale_without_flip_is_the_softmax():
    model, x = build_model("bisenetv2", num_classes=5).eval(), torch.randn(1, 3, 64, 96)
    probs = infer(model, x, "msflip", ratios=(1.0,))
    assert probs.shape == (1, 5, 64, 96)
    torch.testing.assert_close(probs.sum(dim=1), torch.ones(1, 64, 96))
    from bisenet.engine.inference import msflip_inference

    torch.testing.assert_close(msflip_inference(model, x, (1.0,), flip=False), model(x).softmax(1))


def test_modes_are_validated():
    model, x = PixelModel(), torch.randn(1, 3, 64, 64)
    with pytest.raises(ValueError, match="needs crop and stride"):
        infer(model, x, "slide")
    with pytest.raises(ValueError, match="unknown inference mode 'fast'"):
        infer(model, x, "fast")
    with pytest.raises(ValueError, match="stride"):
        infer(model, x, "slide", crop=(32, 32), stride=(64, 64))


@pytest.fixture
def val_tree(tmp_path):
    make_cityscapes_tree(tmp_path, "val", n=3, size=(64, 128))
    return tmp_path


def test_evaluate_agrees_with_cityscapesscripts(val_tree, tmp_path):
    torch.manual_seed(0)
    model = build_model("bisenetv2")
    for m in model.modules():  # varied predictions from a random network
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.fill_(0.3)
    dataset = Cityscapes(val_tree, "val", transform=eval_pipeline(None))
    preds = tmp_path / "preds"
    ours = evaluate(model, dataset, prediction_dir=preds, label_ids=TRAIN_ID_TO_LABEL_ID, progress=False)
    files = [prediction_path(img, preds) for img, _ in dataset.samples]
    official = official_miou(files, [lab for _, lab in dataset.samples])
    assert ours.classes_evaluated >= 3
    assert ours.mIoU == pytest.approx(official["mIoU"], abs=1e-6)
    for name, iou in ours.iou.items():
        if iou is None:
            assert np.isnan(official["iou"][name])
        else:
            assert iou == pytest.approx(official["iou"][name], abs=1e-6)


def test_evaluate_keeps_the_models_mode(val_tree):
    model = build_model("bisenetv2").train()
    evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline(None)), progress=False)
    assert model.training


def test_evaluate_resizes_predictions_to_the_label(val_tree):
    """Inference at a smaller scale, metrics at the label's original resolution."""
    model = PixelModel()
    small = evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline((64, 32))), progress=False)
    assert sum(small.pixels.values()) > 0


def test_official_script_errors_become_exceptions(tmp_path):
    write_png(tmp_path / "pred.png", np.zeros((10, 10)))
    write_png(tmp_path / "gt_gtFine_labelIds.png", np.zeros((12, 10)))
    with pytest.raises(CityscapesEvalError, match="not equal"):
        official_miou([tmp_path / "pred.png"], [tmp_path / "gt_gtFine_labelIds.png"])


def test_cli_eval_on_a_checkpoint(val_tree, tmp_path, capsys):
    torch.manual_seed(1)
    model = build_model("bisenetv2", num_classes=19)
    ckpt = tmp_path / "model.pth"
    torch.save({"model": model.state_dict()}, ckpt)
    out = tmp_path / "metrics.json"
    code = main(["eval", "--model", "bisenetv2", "--checkpoint", str(ckpt), "--data", "minicity",
                 "--data-root", str(val_tree), "--json", str(out)])
    assert code == 0
    result = json.loads(out.read_text())
    expected = evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline(None)), progress=False)
    assert result["mIoU"] == pytest.approx(expected.mIoU)
    assert "mIoU" in capsys.readouterr().out


def test_cli_eval_errors_are_explained(tmp_path, capsys):
    ckpt = tmp_path / "model.pth"
    torch.save({"model": build_model("bisenetv1-r18").state_dict()}, ckpt)
    assert main(["eval", "--model", "bisenetv2", "--checkpoint", str(ckpt), "--data", "minicity",
                 "--data-root", str(tmp_path / "none")]) == 2
    assert "does not fit BiSeNetV2" in capsys.readouterr().err
    assert main(["eval", "--model", "bisenetv1-r18", "--checkpoint", str(ckpt), "--data", "minicity",
                 "--data-root", str(tmp_path / "none")]) == 2
    assert "bisenet minicity --out" in capsys.readouterr().err
    (tmp_path / "broken.pth").write_bytes(b"\x00" * 10)
    assert main(["eval", "--model", "bisenetv2", "--checkpoint", str(tmp_path / "broken.pth"),
                 "--data", "minicity", "--data-root", str(tmp_path)]) == 2
    assert "cannot read checkpoint" in capsys.readouterr().err


def test_minicity_val_agrees_with_cityscapesscripts(tmp_path):
    """The promise of the data chapter: on a MiniCity val split, the package's mIoU is the
    official script's, to 1e-6 (predictions of a real model, here a random BiSeNetV2)."""
    from bisenet.data import MiniCity
    from bisenet.data.minicity import generate_minicity

    root = generate_minicity(tmp_path / "mc", train=1, val=4, size=(64, 128), seed=3)
    torch.manual_seed(0)
    model = build_model("bisenetv1-r18")
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_var.fill_(0.2)
    dataset = MiniCity(root, "val", transform=eval_pipeline(None))
    preds = tmp_path / "preds"
    ours = evaluate(model, dataset, prediction_dir=preds, label_ids=TRAIN_ID_TO_LABEL_ID, progress=False)
    official = official_miou([prediction_path(i, preds) for i, _ in dataset.samples], [lab for _, lab in dataset.samples])
    assert ours.mIoU == pytest.approx(official["mIoU"], abs=1e-6)
    assert ours.classes_evaluated >= 5
