"""The evaluator and the ``bisenet eval`` command (bisenet.engine.evaluator)."""

from __future__ import annotations

import json

import pytest
import torch

from bisenet import build_model
from bisenet.cli import main
from bisenet.data import Cityscapes, eval_pipeline
from bisenet.engine import evaluate


def test_evaluate_keeps_the_models_mode(val_tree):
    model = build_model("bisenetv2").train()
    evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline(None)), progress=False)
    assert model.training


def test_evaluate_resizes_predictions_to_the_label(val_tree, pixel_model):
    """Inference at a smaller scale, metrics at the label's original resolution."""
    model = pixel_model()
    small = evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline((64, 32))), progress=False)
    assert sum(small.pixels.values()) > 0


def test_cli_eval_on_a_checkpoint(val_tree, tmp_path, capsys):
    torch.manual_seed(1)
    model = build_model("bisenetv2", num_classes=19)
    ckpt = tmp_path / "model.pth"
    torch.save({"model": model.state_dict()}, ckpt)
    out = tmp_path / "metrics.json"
    code = main(
        [
            "eval",
            "--model",
            "bisenetv2",
            "--checkpoint",
            str(ckpt),
            "--data",
            "minicity",
            "--data-root",
            str(val_tree),
            "--json",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads(out.read_text())
    expected = evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline(None)), progress=False)
    assert result["mIoU"] == pytest.approx(expected.mIoU)
    assert "mIoU" in capsys.readouterr().out


def test_cli_eval_errors_are_explained(tmp_path, capsys):
    ckpt = tmp_path / "model.pth"
    torch.save({"model": build_model("bisenetv1-r18").state_dict()}, ckpt)
    assert (
        main(
            [
                "eval",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(ckpt),
                "--data",
                "minicity",
                "--data-root",
                str(tmp_path / "none"),
            ]
        )
        == 2
    )
    assert "does not fit BiSeNetV2" in capsys.readouterr().err
    assert (
        main(
            [
                "eval",
                "--model",
                "bisenetv1-r18",
                "--checkpoint",
                str(ckpt),
                "--data",
                "minicity",
                "--data-root",
                str(tmp_path / "none"),
            ]
        )
        == 2
    )
    assert "bisenet minicity --out" in capsys.readouterr().err
    (tmp_path / "broken.pth").write_bytes(b"\x00" * 10)
    assert (
        main(
            [
                "eval",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(tmp_path / "broken.pth"),
                "--data",
                "minicity",
                "--data-root",
                str(tmp_path),
            ]
        )
        == 2
    )
    assert "cannot read checkpoint" in capsys.readouterr().err


def test_evaluate_file_is_what_eval_runs_from_python(val_tree, tmp_path):
    """The library function behind ``bisenet eval`` and ``zoo verify``: a checkpoint on a dataset
    root gives the evaluator's metrics; the slide window is refused outside slide mode."""
    from bisenet.engine.evaluate_file import EvalOptions, evaluate_file
    from bisenet.errors import UsageError

    torch.manual_seed(1)
    model = build_model("bisenetv2", num_classes=19)
    ckpt = tmp_path / "model.pth"
    torch.save({"model": model.state_dict()}, ckpt)
    result = evaluate_file(ckpt, val_tree, data="minicity", options=EvalOptions(progress=False))
    expected = evaluate(model, Cityscapes(val_tree, "val", transform=eval_pipeline(None)), progress=False)
    assert result.model == "bisenetv2" and result.data == "minicity"
    assert result.metrics.mIoU == pytest.approx(expected.mIoU)
    assert result.to_dict("val", "whole")["checkpoint"] == str(ckpt)
    with pytest.raises(UsageError, match="windows of --mode slide"):
        evaluate_file(ckpt, val_tree, data="minicity", options=EvalOptions(crop=(64, 64)))
