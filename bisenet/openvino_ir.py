"""OpenVINO, the optional CPU backend (``pip install bisenet[openvino]``: ``openvino``, ``nncf``):
the exported model as OpenVINO's IR, its int8 quantisation with NNCF, and the IR behind the
package's model interface.

:func:`export_openvino` converts the package's verified ONNX export (:func:`bisenet.deploy.export_onnx`)
with ``openvino.convert_model`` and writes ``DIR/model.xml`` and ``DIR/model.bin`` in fp32, the
class names and colours in the IR's runtime information (``bisenet/classes``, ``bisenet/palette``:
the same JSON the ONNX metadata holds). :func:`quantize_openvino` is NNCF's post-training
quantisation, calibrated on real images (:class:`~bisenet.quantize.CalibrationImages`), with the
resizing operators (OpenVINO's ``Interpolate``: BGA's upsampling, the logits' resize to the input)
kept in float as the ONNX Runtime path keeps ``Resize``. :class:`OpenVinoSegmenter` compiles an IR
for the CPU (latency hint; ``precision="bf16"`` asks for bf16 inference where the CPU has it) and
runs it as ``forward(images) -> logits``, so ``bisenet eval --openvino`` and ``bisenet predict
--openvino`` evaluate and run what is deployed with the commands used for a checkpoint.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bisenet.errors import OutputError, UsageError

XML, BIN = "model.xml", "model.bin"
RT_CLASSES, RT_PALETTE = ["bisenet", "classes"], ["bisenet", "palette"]
# OpenVINO's resize operator: kept in float in int8 (the Resize the ONNX path measured as accuracy-critical)
KEEP_FLOAT = ("Interpolate",)
PRECISIONS = ("fp32", "bf16")
INSTALL = "pip install 'bisenet[openvino]' (openvino and nncf)"


def _openvino():
    """The ``openvino`` module, or a one-line error saying how to install it."""
    try:
        import openvino
    except ImportError:
        raise UsageError(f"the OpenVINO backend needs the openvino package: {INSTALL}") from None
    return openvino


def cpu_has_bf16() -> bool:
    """Whether OpenVINO can run bf16 on this CPU (AVX-512 BF16 or AMX: its ``BF16`` capability)."""
    ov = _openvino()
    return "BF16" in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")


def save_ir(model, out_dir: str | Path, classes=None, palette=None) -> Path:
    """Write the OpenVINO ``model`` as ``out_dir/model.xml`` and ``model.bin`` (weights as they are:
    no fp16 compression), with ``classes`` and ``palette`` in its runtime information. The two
    files are written into a temporary folder beside ``out_dir`` and renamed in, the weights
    first: an interrupted write leaves no half-written file (an interruption between the two
    renames leaves the new weights beside the previous graph; export again). Returns the
    ``.xml`` path."""
    ov = _openvino()
    out_dir = Path(out_dir)
    if classes is not None:
        model.set_rt_info(json.dumps(list(classes)), RT_CLASSES)
    if palette is not None:
        model.set_rt_info(json.dumps([list(map(int, c)) for c in palette]), RT_PALETTE)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=f".{out_dir.name}.") as tmp:
            ov.save_model(model, str(Path(tmp) / XML), compress_to_fp16=False)
            for name in (BIN, XML):  # the weights first: an .xml never points at a missing .bin
                shutil.move(str(Path(tmp) / name), str(out_dir / name))
    except OSError as e:
        raise OutputError(f"cannot write {out_dir / XML}: {e.strerror or e}") from e
    return out_dir / XML


def export_openvino(
    model: nn.Module,
    out_dir: str | Path,
    size: tuple[int, int],
    *,
    dynamic: bool = False,
    opset: int = 17,
    classes=None,
    palette=None,
) -> Path:
    """Export ``model`` (eval mode, logits) as an fp32 OpenVINO IR in ``out_dir``; returns ``model.xml``.

    Args:
        model: the package's model.
        out_dir: the folder of ``model.xml`` and ``model.bin``.
        size: (H, W) of the example input (the IR's input size unless ``dynamic``).
        dynamic: free batch, height and width. Default False.
        opset: the ONNX opset of the intermediate export. Default 17.
        classes, palette: the class names and colours to keep in the IR (a checkpoint's).
    """
    from bisenet.deploy import export_onnx

    ov = _openvino()
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(model, Path(tmp) / "model.onnx", size, dynamic=dynamic, opset=opset)
        converted = ov.convert_model(str(onnx_path))
    return save_ir(converted, out_dir, classes, palette)


def quantize_openvino(
    xml: str | Path,
    out_dir: str | Path,
    calibration,
    *,
    count: int,
    keep_float: tuple[str, ...] = KEEP_FLOAT,
    fast_bias_correction: bool = True,
) -> Path:
    """NNCF's int8 post-training quantisation of the IR at ``xml``, written to ``out_dir``.

    Args:
        xml: the fp32 IR (:func:`export_openvino`).
        out_dir: the int8 IR's folder.
        calibration: the images, as :class:`~bisenet.quantize.CalibrationImages` or
            :class:`~bisenet.quantize.RandomImages` (``get_next()`` until None).
        count: how many images calibrate (NNCF's ``subset_size``).
        keep_float: operator types left in float. Default: OpenVINO's resize (``Interpolate``).
        fast_bias_correction: NNCF's fast bias correction (its default). Default True.
    """
    import nncf

    ov = _openvino()
    model = ov.Core().read_model(str(xml))
    images = []
    while (item := calibration.get_next()) is not None:
        images.append(item["input"])
    scope = nncf.IgnoredScope(types=list(keep_float), validate=False) if keep_float else None
    with _quiet_nncf():
        quantized = nncf.quantize(
            model,
            nncf.Dataset(images),
            subset_size=min(count, len(images)),
            fast_bias_correction=fast_bias_correction,
            ignored_scope=scope,
        )
    return save_ir(quantized, out_dir)  # the runtime information is carried over by NNCF


@contextlib.contextmanager
def _quiet_nncf():
    """NNCF without its INFO lines (one per node left in float) and its progress bar's advice to
    install ipywidgets in a notebook; its warnings and errors still show."""
    from nncf.common.logging import nncf_logger

    level = nncf_logger.level
    nncf_logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message='.*install "ipywidgets"')
            yield
    finally:
        nncf_logger.setLevel(level)


class OpenVinoSegmenter(nn.Module):
    """An OpenVINO IR (logits output) behind the interface of the package's models:
    ``forward(images) -> logits`` on the CPU, ``num_classes``, and the ``classes`` and ``palette``
    the export kept (None when absent).

    Args:
        xml: the IR's ``model.xml``.
        precision: "fp32" (default) or "bf16" (OpenVINO's inference precision hint; refused where
            the CPU has no bf16).
        threads: CPU threads (0: OpenVINO's default).
    """

    def __init__(self, xml: str | Path, precision: str = "fp32", threads: int = 0) -> None:
        super().__init__()
        ov = _openvino()
        xml = Path(xml)
        if not xml.is_file() or not xml.with_suffix(".bin").is_file():
            raise UsageError(f"--openvino {xml}: give the model.xml of an exported IR (its model.bin beside it)")
        if precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        core = ov.Core()
        if precision == "bf16" and "BF16" not in core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
            raise UsageError("this CPU has no bf16 for OpenVINO (no AVX-512 BF16 or AMX): use fp32 or int8")
        try:
            model = core.read_model(str(xml))
        except Exception as e:  # noqa: BLE001 - OpenVINO raises its own types for a bad file
            raise UsageError(f"cannot read {xml} with OpenVINO: {str(e).splitlines()[0][:200]}") from None
        output = model.outputs[0].get_partial_shape() if len(model.outputs) == 1 else None
        if len(model.inputs) != 1 or output is None or output.rank.is_dynamic or output.rank.get_length() != 4:
            raise UsageError(f"{xml} is not a segmentation IR (one image batch in, logits (N, C, H, W) out)")
        channels = output[1]
        if channels.is_dynamic:
            raise UsageError(f"{xml} does not say its number of classes")
        self.num_classes = channels.get_length()
        self.classes = self._rt_json(model, RT_CLASSES)
        self.palette = self._rt_json(model, RT_PALETTE)
        self.input_shape = model.inputs[0].get_partial_shape()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self.compiled = core.compile_model(model, "CPU", config)
        self.path = xml
        self.register_buffer("_device", torch.zeros(1), persistent=False)  # a tensor for .device lookups

    @staticmethod
    def _rt_json(model, key: list[str]):
        return json.loads(model.get_rt_info(key).astype(str)) if model.has_rt_info(key) else None

    def parameters(self, recurse: bool = True):  # the evaluator asks for a device
        yield self._device

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.input_shape.compatible(_openvino().PartialShape(list(images.shape))):
            raise UsageError(
                f"{self.path} was exported for inputs {self.input_shape}, got {list(images.shape)}: export it "
                "with --dynamic to run it at any size"
            )
        logits = self.compiled(images.detach().cpu().numpy().astype(np.float32))[0]
        return torch.from_numpy(np.asarray(logits, dtype=np.float32)).to(images.device)  # (N, C, H, W)
