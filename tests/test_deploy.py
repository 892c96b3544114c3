"""Optimised inference (BN folding, no booster heads, channels_last, compile), ONNX export, and
``bisenet export`` (bisenet.deploy)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bisenet import available_models, build_model
from bisenet.cli import main
from bisenet.deploy import export_onnx, fold_batchnorm, optimize


def rel(a, b):
    return ((a - b).abs().max() / b.abs().max()).item()


@pytest.mark.parametrize("name", available_models())
def test_optimized_logits_equal_the_originals(name, trained_like):
    model = trained_like(name)
    fast = optimize(model)
    assert fast.auxiliary_head is None and model.auxiliary_head is not None  # original untouched
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    x = torch.randn(1, 3, 96, 160)
    with torch.no_grad():
        assert rel(fast(x), model(x)) < 1e-4


def test_channels_last_and_coincheung_variant(trained_like):
    model = trained_like("bisenetv2", bga_upsample="nearest4x", bga_pointwise_bias=False, head="coincheung")
    fast = optimize(model, channels_last=True)
    x = torch.randn(1, 3, 64, 128)
    with torch.no_grad():
        assert rel(fast(x.contiguous(memory_format=torch.channels_last)), model(x)) < 1e-4


def test_fold_reports_what_it_cannot_fold():
    model = build_model("bisenetv2", aux_heads=False)
    model.extra = torch.nn.Sequential(torch.nn.ReLU(), torch.nn.BatchNorm2d(3))
    with pytest.raises(RuntimeError, match="left unfolded.*extra.1"):
        fold_batchnorm(model)


@pytest.mark.slow
def test_compiled_model_matches(trained_like):
    model = trained_like("bisenetv2")
    fast = optimize(model, compile=True)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert rel(fast(x), model(x)) < 1e-4


@pytest.mark.parametrize("name", ["bisenetv2", "bisenetv1-r18"])
def test_onnx_export_matches_pytorch(name, tmp_path, trained_like):
    ort = pytest.importorskip("onnxruntime")
    model = trained_like(name)
    logits_file = export_onnx(model, tmp_path / "m.onnx", size=(64, 128), dynamic=True)
    ids_file = export_onnx(model, tmp_path / "m_argmax.onnx", size=(64, 128), argmax=True, dynamic=True)
    logits_session = ort.InferenceSession(str(logits_file), providers=["CPUExecutionProvider"])
    ids_session = ort.InferenceSession(str(ids_file), providers=["CPUExecutionProvider"])
    for size in [(64, 128), (96, 160), (70, 100)]:  # dynamic height and width, not only /32
        x = torch.randn(2, 3, *size)
        with torch.no_grad():
            ref = model(x)
        out = logits_session.run(None, {"input": x.numpy()})[0]
        assert out.shape == tuple(ref.shape)
        assert np.abs(out - ref.numpy()).max() / ref.abs().max().item() < 1e-4
        ids = ids_session.run(None, {"input": x.numpy()})[0]
        assert ids.shape == (2, *size) and ids.dtype == np.int64
        assert (ids == ref.argmax(1).numpy()).mean() > 0.999


def test_static_onnx_export(tmp_path, trained_like):
    ort = pytest.importorskip("onnxruntime")
    model = trained_like("bisenetv2")
    session = ort.InferenceSession(
        str(export_onnx(model, tmp_path / "s.onnx", size=(64, 64))), providers=["CPUExecutionProvider"]
    )
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert np.abs(session.run(None, {"input": x.numpy()})[0] - model(x).numpy()).max() < 1e-3


def test_export_cli_verifies_with_onnxruntime(v2_checkpoint, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    assert (
        main(
            [
                "export",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(v2_checkpoint),
                "--onnx",
                str(tmp_path / "m.onnx"),
                "--size",
                "64x128",
                "--dynamic",
                "--argmax",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("verified at") == 3 and "agree on" in out


def test_export_checks_only_sizes_it_can_run_and_leaves_nothing_when_the_check_fails(
    v2_checkpoint, tmp_path, capsys, monkeypatch
):
    pytest.importorskip("onnxruntime")
    onnx = tmp_path / "new" / "folder" / "m.onnx"  # a missing folder is made
    assert (
        main(
            [
                "export",
                "--model",
                "bisenetv2",
                "--checkpoint",
                str(v2_checkpoint),
                "--onnx",
                str(onnx),
                "--size",
                "32x32",
                "--dynamic",
            ]
        )
        == 0
    )  # the smallest input: checked at larger sizes only
    out = capsys.readouterr().out
    assert onnx.exists() and "verified at 32x32" in out and "verified at 64x96" in out
    import bisenet.deploy as deploy

    def wrong(*a, **k):
        raise deploy.OutputError("the exported graph does not compute the model's output")

    monkeypatch.setattr(deploy, "verify_onnx", wrong)
    failed = tmp_path / "failed.onnx"
    assert main(["export", "--model", "bisenetv2", "--onnx", str(failed), "--size", "64x64"]) == 2
    assert "does not compute" in capsys.readouterr().err
    assert not failed.exists() and not list(tmp_path.glob(".failed.onnx*"))
