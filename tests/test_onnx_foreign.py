"""ONNX graphs exported by others: the input named otherwise (CoinCheung's export calls it
``input_image``) or taking float16 is read from the graph, not assumed."""

from __future__ import annotations

import onnx
import pytest
import torch
from onnx import TensorProto, helper

from bisenet.deploy import export_onnx
from bisenet.errors import UsageError
from bisenet.models import build_model
from bisenet.quantize import OnnxSegmenter


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    torch.manual_seed(0)
    model = build_model("bisenetv2", num_classes=3, aux_heads=False).eval()
    path = export_onnx(model, tmp_path_factory.mktemp("onnx") / "m.onnx", size=(64, 64))
    return model, path


def renamed(path, out, name: str, half: bool = False):
    """The same graph whose input is ``name`` (and float16, cast to float inside, if ``half``)."""
    graph_model = onnx.load(str(path))
    graph = graph_model.graph
    old = graph.input[0].name
    dims = [d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    graph.input.remove(graph.input[0])
    if half:
        graph.input.insert(0, helper.make_tensor_value_info(name, TensorProto.FLOAT16, dims))
        graph.node.insert(0, helper.make_node("Cast", [name], [old], to=TensorProto.FLOAT))
    else:
        graph.input.insert(0, helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
        for node in graph.node:
            node.input[:] = [name if i == old else i for i in node.input]
    onnx.save(graph_model, str(out))
    return out


@pytest.mark.parametrize("half", [False, True])
def test_a_graph_with_its_own_input_name_and_type_runs(exported, tmp_path, half):
    model, path = exported
    graph = OnnxSegmenter(renamed(path, tmp_path / "foreign.onnx", "input_image", half=half))
    assert graph.input_name == "input_image" and graph.num_classes == 3
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        ours = model(x)
    theirs = graph(x)
    assert theirs.dtype == torch.float32
    agree = (theirs.argmax(1) == ours.argmax(1)).float().mean().item()
    assert agree > (0.95 if half else 0.999)


def test_a_graph_that_takes_no_image_batch_is_refused(tmp_path):
    node = helper.make_node("Identity", ["tokens"], ["out"])
    graph = helper.make_graph(
        [node],
        "g",
        [helper.make_tensor_value_info("tokens", TensorProto.INT64, [1, 8])],
        [helper.make_tensor_value_info("out", TensorProto.INT64, [1, 8])],
    )
    path = tmp_path / "text.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    with pytest.raises(UsageError, match=r"takes tokens tensor\(int64\).*one image batch"):
        OnnxSegmenter(path)


def test_export_int8_says_what_calibration_needs(v2_checkpoint, tmp_path, capsys):
    from bisenet.cli import main

    args = ["export", "--checkpoint", str(v2_checkpoint), "--onnx", str(tmp_path / "m.onnx"), "--size", "64x64"]
    assert main([*args, "--int8", "--calibration", str(tmp_path / "nowhere")]) == 2
    assert "--calibration" in capsys.readouterr().err and not (tmp_path / "m.onnx").exists()
    (tmp_path / "empty").mkdir()
    assert main([*args, "--int8", "--calibration", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert "--calibration takes the root of one" in err and "give --data" not in err
