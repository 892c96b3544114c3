"""int8 inference (bisenet.quantize, bisenet export --int8, bisenet eval --onnx) and the
papers' speed protocol and the int8 backend of bisenet bench (bisenet.analysis.speed)."""

from __future__ import annotations

import json

import pytest
import torch

from bisenet.analysis import speed
from bisenet.checkpoint import load_checkpoint, model_from_checkpoint
from bisenet.cli import main
from bisenet.data import build_dataset, eval_pipeline
from bisenet.engine import train
from bisenet.errors import UsageError
from bisenet.quantize import OnnxSegmenter, int8_agreement
from bisenet.recipes import get_recipe


@pytest.fixture(scope="module")
def trained(minicity, tmp_path_factory):
    """A BiSeNetV2 trained 16 iterations on the test MiniCity (so its logits are not noise)."""
    work = tmp_path_factory.mktemp("trained")
    recipe = get_recipe("bisenetv2-smoke").with_(iters=16, val_interval=16, checkpoint_interval=16, lr=0.05)
    return train(recipe, data_root=minicity, work_dir=work, progress=False).last_checkpoint


def test_export_int8_agrees_with_fp32_and_evaluates_like_it(trained, minicity, tmp_path, capsys):
    int8 = tmp_path / "v2_int8.onnx"
    assert (
        main(
            [
                "export",
                "--checkpoint",
                str(trained),
                "--onnx",
                str(int8),
                "--size",
                "64x128",
                "--dynamic",
                "--int8",
                "--calibration",
                str(minicity),
                "--calibration-images",
                "4",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "percentile calibration on 4 minicity training image(s)" in out
    model = model_from_checkpoint(trained)
    val = build_dataset("minicity", minicity, "val", eval_pipeline(None))
    images = [val[i][0][None] for i in range(len(val))]
    assert int8_agreement(model, int8, images) > 0.9  # the int8 graph computes the trained model's classes
    # eval --onnx: the fp32 graph gives the checkpoint's numbers; the int8 one close to them
    fp32 = tmp_path / "v2.onnx"
    assert main(["export", "--checkpoint", str(trained), "--onnx", str(fp32), "--size", "64x128", "--dynamic"]) == 0
    results = {}
    for name, flag in (
        ("torch", ["--checkpoint", str(trained)]),
        ("fp32", ["--onnx", str(fp32)]),
        ("int8", ["--onnx", str(int8)]),
    ):
        assert (
            main(
                [
                    "eval",
                    *flag,
                    "--data",
                    "minicity",
                    "--data-root",
                    str(minicity),
                    "--json",
                    str(tmp_path / f"{name}.json"),
                ]
            )
            == 0
        )
        results[name] = json.loads((tmp_path / f"{name}.json").read_text())["mIoU"]
    assert results["fp32"] == pytest.approx(results["torch"], abs=1e-6)
    assert abs(results["int8"] - results["torch"]) < 0.05  # mIoU is in 0..1


def test_bad_int8_and_onnx_requests_are_explained(trained, tmp_path, capsys):
    assert main(["export", "--checkpoint", str(trained), "--onnx", str(tmp_path / "q.onnx"), "--int8"]) == 2
    assert "--int8 needs --calibration" in capsys.readouterr().err
    assert main(["eval", "--data", "minicity"]) == 2
    assert "one of the arguments --checkpoint --onnx --openvino is required" in capsys.readouterr().err
    assert main(["eval", "--onnx", str(trained), "--device", "cuda", "--data", "minicity"]) == 2
    assert "runs the graph with ONNX Runtime on the CPU" in capsys.readouterr().err
    argmax = tmp_path / "ids.onnx"
    assert main(["export", "--checkpoint", str(trained), "--onnx", str(argmax), "--size", "64x128", "--argmax"]) == 0
    with pytest.raises(UsageError, match="not logits"):
        OnnxSegmenter(argmax)
    fixed = tmp_path / "fixed.onnx"
    assert main(["export", "--checkpoint", str(trained), "--onnx", str(fixed), "--size", "64x128"]) == 0
    with pytest.raises(UsageError, match="export it with --dynamic"):
        OnnxSegmenter(fixed)(torch.randn(1, 3, 64, 96))


def test_bench_int8_backend_and_paper_protocol(monkeypatch):
    monkeypatch.setattr(speed, "PAPER_PROTOCOL", {"bisenetv2": [(64, 128)], "bisenetv1": [(64, 96), (64, 128)]})
    monkeypatch.setattr(speed, "PAPER_BATCHES", (1, 2))
    monkeypatch.setattr(speed, "PAPER_OUTPUT", (128, 256))
    assert speed.paper_sizes("bisenetv1-r50") == [(64, 96), (64, 128)]  # V1's tables: both sizes
    table = speed.benchmark(
        ["bisenetv2"], [(32, 32)], warmup=0, runs=1, backends=("eager", "onnxruntime-int8"), protocol="paper"
    )
    assert set(zip(table.backend, table["size"], table.batch)) == {
        (backend, "64x128", batch) for backend in ("eager", "onnxruntime-int8") for batch in (1, 2)
    }
    assert (table.protocol == "paper: logits resized to 128x256").all()
    assert set(table[table.backend == "onnxruntime-int8"].dtype) == {"int8"}
    x = torch.randn(1, 3, 64, 128)
    run = speed.make_runner(speed.build_model("bisenetv2", aux_heads=False).eval(), x, output_size=(128, 256))
    assert tuple(run().shape) == (1, 19, 128, 256)  # the logits resized, as the papers time it


def test_gpu_backends_say_what_is_missing():
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(UsageError, match="onnxruntime-cuda needs onnxruntime's CUDAExecutionProvider.*onnxruntime-gpu"):
        speed.make_runner(
            speed.build_model("bisenetv2", aux_heads=False), torch.randn(1, 3, 64, 64), "onnxruntime-cuda"
        )
    assert load_checkpoint  # (imported for the fixtures' files)
