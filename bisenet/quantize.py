"""int8 inference: static post-training quantisation of an exported graph with ONNX Runtime's
tools, and an ONNX graph wrapped as a model the package's evaluation runs.

:func:`quantize_int8` takes the fp32 ONNX file :func:`bisenet.deploy.export_onnx` writes and
returns a QDQ graph (QuantizeLinear / DequantizeLinear pairs around each quantised operator):
weights int8 per output channel, activations int8 per tensor with scales calibrated on real
images of a dataset (:class:`CalibrationImages`), by one of ONNX Runtime's methods ("minmax",
"entropy", "percentile"). Activations are *unsigned* (uint8 with a zero point, weights int8:
"U8S8"): ONNX Runtime's x86 kernels fuse that pair into QLinearConv, while signed activations
(S8S8) left most convolutions running in float between Dequantize and Quantize nodes on this
CPU (a profile of the V1 R-18 graph: 59 % of the time in float Conv; with U8S8, 86 % in
QLinearConv and 2.6x faster). ``keep_float`` names operator types left in float: the sigmoid gates
of BGA, ARM and FFM and the global-pool branches are the usual suspects; chapter 17b measures
which matter.

:class:`OnnxSegmenter` runs an ONNX graph (fp32 or int8) behind the ``nn.Module`` interface the
evaluator and the inference modes use, so ``bisenet eval --onnx FILE`` measures accuracy before
and after quantisation with the same pipeline and metrics as a PyTorch checkpoint.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from bisenet.data.base import SegmentationDataset
from bisenet.errors import UsageError

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")
# measured on the book's cpu-profile BiSeNetV2 (MiniCity val, benchmarks/quantization.py): percentile
# calibration was the most accurate, and the Resize operators (BGA's upsampling, the logits' resize
# to the input size) cost most of the int8 error when quantised, so they stay in float
DEFAULT_METHOD = "percentile"
DEFAULT_KEEP_FLOAT = ("Resize",)


class CalibrationImages:
    """ONNX Runtime's ``CalibrationDataReader`` over the first ``count`` images of ``dataset``
    (its transform must be ``eval_pipeline``: normalised tensors), each resized bilinearly to
    ``size`` (the graph's input size), batch 1."""

    def __init__(self, dataset: SegmentationDataset, count: int, size: tuple[int, int]) -> None:
        if count < 1:
            raise UsageError(f"--calibration-images must be at least 1, got {count}")
        self.dataset, self.count, self.size = dataset, min(count, len(dataset)), size
        self.index = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.index >= self.count:
            return None
        image, _ = self.dataset[self.index]
        self.index += 1
        x = F.interpolate(image[None].float(), size=self.size, mode="bilinear", align_corners=False)
        return {"input": x.numpy()}

    def rewind(self) -> None:
        self.index = 0


def quantize_int8(
    fp32_path: str | Path,
    out_path: str | Path,
    calibration,
    method: str = DEFAULT_METHOD,
    keep_float: tuple[str, ...] = DEFAULT_KEEP_FLOAT,
) -> Path:
    """Static int8 quantisation (QDQ, per-channel int8 weights, int8 activations) of the fp32
    graph at ``fp32_path``, calibrated on ``calibration`` (a :class:`CalibrationImages`, or any
    ONNX Runtime ``CalibrationDataReader``); operators of the types ``keep_float`` stay in float
    (default: Resize). Writes ``out_path`` (atomically) and returns it."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from bisenet.atomic import atomic_path

    if method not in CALIBRATION_METHODS:
        raise UsageError(f"calibration method must be one of {', '.join(CALIBRATION_METHODS)}, got {method!r}")
    calibrate = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[method]
    out_path = Path(out_path)
    with tempfile.TemporaryDirectory() as scratch:
        prepared = Path(scratch) / "prepared.onnx"  # shapes inferred, graph optimised: what quantisation expects
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        graph = onnx.load(str(prepared))
        exclude = [node.name for node in graph.graph.node if node.op_type in keep_float]
        with atomic_path(out_path, keep_suffix=True) as tmp:
            quantize_static(
                str(prepared),
                str(tmp),
                calibration,
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=calibrate,
                nodes_to_exclude=exclude,
                extra_options={"CalibTensorRangeSymmetric": False},
            )
            _copy_metadata(onnx.load(str(fp32_path)), tmp)
    return out_path


def _copy_metadata(source, path: Path) -> None:
    """Keep the fp32 graph's metadata (class names, colours) in the quantised one."""
    import onnx

    if not source.metadata_props:
        return
    graph = onnx.load(str(path))
    for entry in source.metadata_props:
        graph.metadata_props.add(key=entry.key, value=entry.value)
    onnx.save(graph, str(path))


class RandomImages:
    """A calibration reader of ``count`` random normal inputs of ``size``: for timing an int8
    graph (the same operators run whatever the scales), never for its accuracy."""

    def __init__(self, count: int, size: tuple[int, int], seed: int = 0, batch: int = 1) -> None:
        self.inputs = [
            np.random.default_rng([seed, i]).standard_normal((batch, 3, *size)).astype(np.float32) for i in range(count)
        ]
        self.index = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self.index >= len(self.inputs):
            return None
        self.index += 1
        return {"input": self.inputs[self.index - 1]}

    def rewind(self) -> None:
        self.index = 0


def int8_agreement(model: nn.Module, int8: str | Path | nn.Module, images: list[torch.Tensor]) -> float:
    """The share of pixels (0 to 1) where the int8 graph's class equals the PyTorch model's, over
    ``images`` (normalised (1, 3, H, W) tensors at the graph's size); ``int8``: an ONNX file, or a
    graph already loaded (an :class:`OnnxSegmenter`, an OpenVINO IR's
    :class:`~bisenet.openvino_ir.OpenVinoSegmenter`)."""
    graph = int8 if isinstance(int8, nn.Module) else OnnxSegmenter(int8)
    model = model.eval()
    same = total = 0
    with torch.inference_mode():
        for x in images:
            ours = model(x.to(next(model.parameters()).device)).argmax(1).cpu()
            same += int((graph(x.cpu()).argmax(1) == ours).sum())
            total += ours.numel()
    return same / total


ONNX_INPUT_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}  # what the graphs take


class OnnxSegmenter(nn.Module):
    """An ONNX segmentation graph (logits output, as ``export_onnx`` without ``argmax``) behind
    the interface of the package's models: ``forward(images) -> logits`` on the CPU, and
    ``num_classes``. The graph's input must accept the images' size (export it with
    ``dynamic=True`` to evaluate at any size)."""

    def __init__(self, path: str | Path, threads: int = 0) -> None:
        super().__init__()
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise UsageError(f"--onnx {path} does not exist")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # noqa: BLE001 - onnxruntime raises its own types for a bad file
            raise UsageError(f"cannot load {path} with onnxruntime: {e}") from None
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4 or inputs[0].type not in ONNX_INPUT_TYPES:
            found = ", ".join(f"{i.name} {i.type} {i.shape}" for i in inputs)
            raise UsageError(
                f"{path} takes {found}: a segmentation graph takes one image batch (N, 3, H, W) of float or float16"
            )
        # the graph's own input name and type: CoinCheung's export names it input_image, a half-precision
        # export takes float16
        self.input_name, self.input_dtype = inputs[0].name, ONNX_INPUT_TYPES[inputs[0].type]
        output = self.session.get_outputs()[0]
        if len(output.shape) != 4:
            raise UsageError(
                f"{path} outputs {output.shape}, not logits (N, C, H, W): was it exported with "
                "--argmax? evaluation needs the logits graph"
            )
        channels = output.shape[1]
        if not isinstance(channels, int):  # a dynamic export names it: run the graph once to see it
            shape = [d if isinstance(d, int) else 64 for d in inputs[0].shape]
            probe = np.zeros([1, *shape[1:]], dtype=self.input_dtype)
            channels = self.session.run(None, {self.input_name: probe})[0].shape[1]
        self.num_classes = int(channels)
        self.path = path
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.classes = json.loads(meta["classes"]) if "classes" in meta else None
            self.palette = json.loads(meta["palette"]) if "palette" in meta else None
        except ValueError:
            raise UsageError(
                f"{path}: its 'classes' or 'palette' metadata is not the JSON list export writes"
            ) from None
        self.register_buffer("_device", torch.zeros(1), persistent=False)  # a tensor for .device lookups

    def parameters(self, recurse: bool = True):  # the evaluator asks for a device
        yield self._device

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        expected = self.session.get_inputs()[0].shape
        for axis, (want, got) in enumerate(zip(expected, images.shape)):
            if isinstance(want, int) and want != got:
                raise UsageError(
                    f"{self.path} was exported for inputs {list(expected)}, got {list(images.shape)} "
                    f"(axis {axis}): export it with --dynamic to run it at any size"
                )
        feed = images.detach().cpu().numpy().astype(self.input_dtype)
        logits = self.session.run(None, {self.input_name: feed})[0]
        return torch.from_numpy(logits.astype(np.float32)).to(images.device)  # (N, C, H, W)
