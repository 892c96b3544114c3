"""Evaluate what a user has on disk: a checkpoint (any layout the package reads), an exported ONNX
graph or an OpenVINO IR, on a dataset root, in one of the inference modes. ``bisenet eval`` and ``bisenet zoo verify``
call it; a Python user gets the same checks (class count and names against the dataset, the slide
window only with ``mode="slide"``) and the same defaults (the dataset's evaluation scale, a
1024x1024 window every 768 pixels).

    from bisenet.engine.evaluate_file import EvalOptions, evaluate_file
    result = evaluate_file("work_dirs/run/best.pth", "data/cityscapes", options=EvalOptions(mode="slide"))
    print(result.metrics.summary())
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from bisenet.data import EVAL_SCALES, FolderOptions, build_dataset, eval_pipeline, resolve_dataset_kind
from bisenet.devices import resolve_device
from bisenet.engine.evaluator import check_class_names, evaluate
from bisenet.errors import UsageError
from bisenet.metrics import Metrics

SLIDE_CROP = (1024, 1024)  # mmseg's slide window for its 1024x1024-trained configs
SLIDE_STRIDE = (768, 768)


@dataclass(frozen=True, kw_only=True)
class EvalOptions:
    """How a file is evaluated.

    Args:
        split: the dataset split. Default "val".
        mode: "whole", "slide" or "msflip". Default "whole".
        crop, stride: the sliding window (``mode="slide"`` only). Default 1024x1024 every 768x768.
        scale: the test-time resize, long x short side. Default: the dataset's
            (:data:`bisenet.data.EVAL_SCALES`).
        device: where a checkpoint runs. Default: this process's GPU, else the CPU. An ONNX graph
            runs on the CPU with ONNX Runtime.
        workers: data-loading workers. Default 0.
        predictions: also write prediction PNGs (the dataset's own label ids) to this folder.
        folder: a folder dataset's options (:class:`bisenet.data.FolderOptions`).
        progress: show a progress bar. Default True.
    """

    split: str = "val"
    mode: str = "whole"
    crop: tuple[int, int] | None = None
    stride: tuple[int, int] | None = None
    scale: tuple[int, int] | None = None
    device: str | torch.device | None = None
    workers: int = 0
    predictions: str | Path | None = None
    folder: FolderOptions | None = None
    progress: bool = True


@dataclass
class FileEvaluation:
    """What :func:`evaluate_file` measured: the model's name (``onnx: <file>`` for a graph), the
    file, the dataset kind and its name, and the metrics."""

    model: str
    path: Path
    data: str
    dataset: str
    metrics: Metrics = field(repr=False)

    def to_dict(self, split: str, mode: str) -> dict:
        """The record ``bisenet eval --json`` writes."""
        return {
            "model": self.model,
            "checkpoint": str(self.path),
            "data": self.data,
            "split": split,
            "mode": mode,
            **self.metrics.__dict__,
        }


def evaluate_file(
    path: str | Path,
    data_root: str | Path | None,
    *,
    data: str | None = None,
    model: str | None = None,
    kind: str = "checkpoint",
    options: EvalOptions | None = None,
) -> FileEvaluation:
    """Evaluate the checkpoint, ONNX graph or OpenVINO IR at ``path`` on the dataset at ``data_root``.

    Args:
        path: a checkpoint (the package's, mmseg's, CoinCheung's, sssegmentation's), an exported
            ONNX graph (fp32 or int8, logits: not one exported with ``--argmax``) or an OpenVINO
            IR's ``model.xml`` (fp32 or int8), as ``kind`` says.
        data_root: the dataset's root (Cityscapes: None reads ``CITYSCAPES_DATASET``).
        data: the dataset kind. Default: recognised from the root.
        model: a checkpoint's model name, checked against the file (default: read off it); an
            exported graph says what it is, so none may be given.
        kind: "checkpoint" (default), "onnx" or "openvino".
        options: how (:class:`EvalOptions`). Default: its defaults.
    """
    options = options or EvalOptions()
    path = Path(path)
    if options.mode != "slide" and (options.crop or options.stride):
        raise UsageError(
            f"--crop and --stride are the windows of --mode slide; --mode {options.mode} would ignore them"
        )
    loaded = load_for_inference(path, kind, model=model, device=options.device)
    net, device = loaded.model, loaded.device
    data = resolve_dataset_kind(data, data_root)
    scale = options.scale if options.scale is not None else EVAL_SCALES[data]
    folder = options.folder if data == "folder" else None
    dataset = build_dataset(data, data_root, options.split, eval_pipeline(scale), options=folder)
    if len(dataset.classes) != net.num_classes:
        raise UsageError(
            f"{path} predicts {net.num_classes} classes, {dataset.name} has {len(dataset.classes)}: another "
            "dataset's model?"
        )
    check_class_names(loaded.classes, dataset.classes, str(path))
    metrics = evaluate(
        net,
        dataset,
        options.mode,
        options.crop or SLIDE_CROP,
        options.stride or SLIDE_STRIDE,
        device=device,
        num_workers=options.workers,
        prediction_dir=options.predictions,
        label_ids=dataset.prediction_ids,
        progress=options.progress,
    )
    return FileEvaluation(loaded.name, path, data, dataset.name, metrics)


KINDS = ("checkpoint", "onnx", "openvino")


@dataclass
class Loaded:
    """A model ready for inference and what was saved with it: its name (``onnx: <file>`` for a
    graph), the class names and colours (None when the file has none), the device it runs on."""

    model: torch.nn.Module
    name: str
    classes: list[str] | None
    palette: list[list[int]] | None
    device: torch.device


def load_for_inference(path: str | Path, kind: str, *, model: str | None = None, device=None) -> Loaded:
    """A checkpoint, or an exported graph run on the CPU (ONNX Runtime, OpenVINO), loaded for
    inference: what ``eval`` and ``predict`` run.

    Args:
        path: the file (an IR's ``model.xml``).
        kind: "checkpoint", "onnx" or "openvino".
        model: a checkpoint's model name, checked against it; refused for a graph.
        device: where a checkpoint runs; a graph runs on the CPU (another device is refused).
    """
    path = Path(path)
    if kind not in KINDS:
        raise UsageError(f"kind must be one of {KINDS}, got {kind!r}")
    if kind != "checkpoint":  # an exported graph (fp32 or int8), run on the CPU
        runtime = "ONNX Runtime" if kind == "onnx" else "OpenVINO"
        if (str(device) if device is not None else "cpu") != "cpu" or model:
            raise UsageError(
                f"--{kind} runs the graph with {runtime} on the CPU, and the graph says what it is: "
                "drop --device and --model"
            )
        if kind == "onnx":
            from bisenet.quantize import OnnxSegmenter as Graph
        else:
            from bisenet.openvino_ir import OpenVinoSegmenter as Graph
        graph = Graph(path)
        return Loaded(graph, f"{kind}: {path.name}", graph.classes, graph.palette, resolve_device("cpu"))
    from bisenet.checkpoint import load_checkpoint
    from bisenet.interop import load_model
    from bisenet.models import model_spec

    device = resolve_device(device)
    net = load_model(path, model).to(device)  # by path: its errors name the file
    saved = load_checkpoint(path)  # read a second time for the class names and colours (the first names the file)
    return Loaded(net, model_spec(net)[0], saved.classes, saved.palette, device)
