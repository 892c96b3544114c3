"""The optional OpenVINO backend (bisenet.openvino_ir): export --format openvino (fp32 and NNCF int8),
eval and predict --openvino, bench --backend openvino*; the class names and colours travel in the IR."""

from __future__ import annotations

import json

import pytest
import torch

pytest.importorskip("openvino", reason="the OpenVINO backend is an extra: pip install 'bisenet[openvino]'")

from bisenet.analysis import speed  # noqa: E402
from bisenet.checkpoint import load_checkpoint  # noqa: E402
from bisenet.cli import main  # noqa: E402
from bisenet.engine import train  # noqa: E402
from bisenet.errors import UsageError  # noqa: E402
from bisenet.models import build_model  # noqa: E402
from bisenet.openvino_ir import OpenVinoSegmenter, cpu_has_bf16  # noqa: E402
from bisenet.recipes import get_recipe  # noqa: E402


@pytest.fixture(scope="module")
def trained(minicity, tmp_path_factory):
    """A BiSeNetV2 trained 16 iterations on the test MiniCity (its checkpoint holds MiniCity's class
    names and colours)."""
    work = tmp_path_factory.mktemp("trained-ov")
    recipe = get_recipe("bisenetv2-smoke").with_(iters=16, val_interval=16, checkpoint_interval=16, lr=0.05)
    return train(recipe, data_root=minicity, work_dir=work, progress=False).last_checkpoint


def _eval(flag: list[str], minicity, out) -> float:
    args = ["eval", *flag, "--data", "minicity", "--data-root", str(minicity), "--json", str(out)]
    assert main(args) == 0
    return json.loads(out.read_text())["mIoU"]


def test_the_ir_evaluates_like_the_checkpoint_and_int8_close_to_it(trained, minicity, tmp_path, capsys):
    fp32, int8 = tmp_path / "fp32", tmp_path / "int8"
    common = ["export", "--checkpoint", str(trained), "--size", "64x128", "--dynamic", "--format", "openvino"]
    assert main([*common, "--out", str(fp32)]) == 0
    assert (fp32 / "model.xml").is_file() and (fp32 / "model.bin").is_file()
    calibrate = ["--int8", "--calibration", str(minicity), "--calibration-images", "4"]
    assert main([*common, "--out", str(int8), *calibrate]) == 0
    out = capsys.readouterr().out
    assert "NNCF calibration on 4 minicity training image(s)" in out and "Interpolate kept in float" in out
    saved = load_checkpoint(trained)
    for ir in (fp32, int8):  # the class names and colours travel in the IR, through NNCF too
        graph = OpenVinoSegmenter(ir / "model.xml")
        assert graph.classes == list(saved.classes) and graph.palette == [list(c) for c in saved.palette]
    torch_miou = _eval(["--checkpoint", str(trained)], minicity, tmp_path / "t.json")
    assert _eval(["--openvino", str(fp32 / "model.xml")], minicity, tmp_path / "f.json") == pytest.approx(
        torch_miou, abs=1e-6
    )
    assert abs(_eval(["--openvino", str(int8 / "model.xml")], minicity, tmp_path / "i.json") - torch_miou) < 0.05


def test_predict_runs_the_exported_ir(trained, minicity, tmp_path):
    ir = tmp_path / "ir"
    assert main(["export", "--checkpoint", str(trained), "--format", "openvino", "--out", str(ir), "--dynamic"]) == 0
    image = next((minicity / "leftImg8bit" / "val").rglob("*.png"))
    assert main(["predict", "--openvino", str(ir / "model.xml"), str(image), "--out", str(tmp_path / "p")]) == 0
    assert len(list((tmp_path / "p").rglob("*.png"))) == 1


def test_bench_times_the_openvino_backends():
    model = build_model("bisenetv2", aux_heads=False).eval()
    x = torch.randn(1, 3, 64, 128)
    for backend in ("openvino", "openvino-int8"):
        logits = speed.make_runner(model, x, backend)()
        assert logits[0].shape == (1, 19, 64, 128)
    with pytest.raises(UsageError, match="use --dtype fp32"):
        speed.make_runner(model, x, "openvino", dtype="bf16")


def test_bad_requests_are_one_line(trained, tmp_path, capsys):
    not_ir = tmp_path / "model.xml"
    not_ir.write_text("<not an IR/>")
    (tmp_path / "model.bin").write_bytes(b"")
    assert main(["eval", "--openvino", str(not_ir), "--data", "minicity", "--data-root", str(tmp_path)]) == 2
    assert "cannot read" in capsys.readouterr().err
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    assert main(["export", "--checkpoint", str(trained), "--format", "openvino", "--out", str(a_file)]) == 2
    assert "an OpenVINO IR is a folder" in capsys.readouterr().err
    assert main(["export", "--checkpoint", str(trained), "--format", "openvino", "--onnx", str(tmp_path / "x")]) == 2
    assert "for OpenVINO give --format openvino --out DIR" in capsys.readouterr().err
    assert (
        main(["export", "--checkpoint", str(trained), "--format", "openvino", "--out", str(tmp_path / "d"), "--argmax"])
        == 2
    )
    assert "--argmax is for the ONNX graph" in capsys.readouterr().err
    if not cpu_has_bf16():
        with pytest.raises(UsageError, match="no bf16"):
            OpenVinoSegmenter(tmp_path / "model.xml", precision="bf16")


def test_an_ir_without_class_names_still_evaluates(tmp_path):
    """An IR written without a checkpoint (random weights) has no names or colours: None, not an error."""
    from bisenet.openvino_ir import export_openvino

    xml = export_openvino(build_model("bisenetv2", aux_heads=False).eval(), tmp_path / "ir", (64, 128))
    graph = OpenVinoSegmenter(xml)
    assert graph.classes is None and graph.palette is None and graph.num_classes == 19
    with pytest.raises(UsageError, match="export it with --dynamic"):
        graph(torch.randn(1, 3, 64, 64))
