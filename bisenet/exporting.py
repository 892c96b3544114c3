"""Exporting a model for deployment, in one call: an ONNX graph (run by ONNX Runtime) or an OpenVINO
IR (:mod:`bisenet.openvino_ir`), in fp32, or int8 calibrated on the training images of a dataset,
with the report ``bisenet export`` prints (what was written, how it was checked, how often int8 and
PyTorch agree).

    from bisenet.exporting import ExportOptions, Int8Options, export_model
    report = export_model(model, "v2-int8", ExportOptions(format="openvino", int8=Int8Options("data/minicity")))
    print("\\n".join(report))
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from bisenet.errors import UsageError

FORMATS = ("onnx", "openvino")


@dataclass(frozen=True)
class Int8Options:
    """Post-training int8 quantisation, calibrated on real images.

    Args:
        calibration: a dataset root whose training images set the activation ranges (MiniCity,
            Cityscapes, a folder dataset).
        images: how many calibrate. Default 32.
        method: ONNX only: "minmax", "entropy" or "percentile" (default, the most accurate
            measured). OpenVINO uses NNCF's own statistics.
    """

    calibration: str | Path
    images: int = 32
    method: str = "percentile"


@dataclass(frozen=True, kw_only=True)
class ExportOptions:
    """What is exported.

    Args:
        format: "onnx" (a ``.onnx`` file) or "openvino" (a folder with ``model.xml`` and ``model.bin``).
        size: (H, W) of the example input. Default 512x1024.
        dynamic: free batch, height and width. Default False.
        opset: the ONNX opset (OpenVINO converts from it). Default 17.
        argmax: end the graph in an ArgMax (class ids; ONNX fp32 only). Default False.
        int8: quantise (:class:`Int8Options`). Default None: fp32.
        classes, palette: the class names and colours to keep in the file (a checkpoint's).
    """

    format: str = "onnx"
    size: tuple[int, int] = (512, 1024)
    dynamic: bool = False
    opset: int = 17
    argmax: bool = False
    int8: Int8Options | None = None
    classes: list[str] | None = field(default=None)
    palette: list[list[int]] | None = field(default=None)


def export_model(model: nn.Module, out: str | Path, options: ExportOptions) -> list[str]:
    """Export ``model`` to ``out`` as ``options`` say; returns the lines of the report.

    Args:
        model: the package's model (eval mode).
        out: the ``.onnx`` file, or the OpenVINO IR's folder.
        options: what to export (:class:`ExportOptions`).
    """
    if options.format not in FORMATS:
        raise UsageError(f"format must be one of {FORMATS}, got {options.format!r}")
    if options.int8 is not None and options.argmax:
        raise UsageError("--int8 quantises the logits graph: drop --argmax")
    if options.format == "openvino" and options.argmax:
        raise UsageError("--argmax is for the ONNX graph; an OpenVINO IR keeps the logits (eval and predict take them)")
    out = Path(out)
    if options.format == "onnx" and out.is_dir():
        raise UsageError(f"{out} is a folder: an ONNX export is one file (give a .onnx path)")
    if options.format == "openvino" and out.exists() and not out.is_dir():
        raise UsageError(f"{out} is a file: an OpenVINO IR is a folder (model.xml and model.bin); give a folder")
    if options.int8 is not None:
        return _export_int8(model, out, options)
    if options.format == "openvino":
        xml = _export_fp32(model, out, options)
        return [f"wrote {xml} and {xml.with_suffix('.bin').name} (OpenVINO IR, fp32)"]
    from bisenet.deploy import verify_onnx

    checks: list[str] = []
    path = _export_fp32(
        model,
        out,
        options,
        check=lambda onnx_file: checks.extend(
            verify_onnx(model, onnx_file, options.size, argmax=options.argmax, dynamic=options.dynamic)
        ),
    )
    return [f"wrote {path}", *checks]


def _export_fp32(model: nn.Module, out: Path, options: ExportOptions, check=None) -> Path:
    """The fp32 export in ``options.format`` (``check``: ONNX only, run on the written file)."""
    if options.format == "openvino":
        from bisenet.openvino_ir import export_openvino

        return export_openvino(
            model,
            out,
            options.size,
            dynamic=options.dynamic,
            opset=options.opset,
            classes=options.classes,
            palette=options.palette,
        )
    from bisenet.deploy import export_onnx

    return export_onnx(
        model,
        out,
        options.size,
        argmax=options.argmax,
        dynamic=options.dynamic,
        opset=options.opset,
        classes=options.classes,
        palette=options.palette,
        check=check,
    )


def _export_int8(model: nn.Module, out: Path, options: ExportOptions) -> list[str]:
    """The fp32 export, then its int8 quantisation calibrated on the training images of
    ``options.int8.calibration``; the report says how often int8 and PyTorch agree."""
    from bisenet.data import build_dataset, eval_pipeline, resolve_dataset_kind
    from bisenet.quantize import CalibrationImages, int8_agreement, quantize_int8

    int8, size = options.int8, options.size
    kind = resolve_dataset_kind(None, int8.calibration, root_option="--calibration")
    images = build_dataset(kind, int8.calibration, "train", eval_pipeline(None))
    calibration = CalibrationImages(images, int8.images, size)
    with tempfile.TemporaryDirectory() as tmp:
        if options.format == "openvino":
            from bisenet.openvino_ir import OpenVinoSegmenter, quantize_openvino

            fp32 = _export_fp32(model, Path(tmp) / "fp32", options)
            path = quantize_openvino(fp32, out, calibration, count=int8.images)
            how, kept, graph = "NNCF calibration", "Interpolate", OpenVinoSegmenter(path)
        else:
            fp32 = _export_fp32(model, Path(tmp) / "fp32.onnx", options)
            path = quantize_int8(fp32, out, calibration, method=int8.method)
            how, kept, graph = f"{int8.method} calibration", "Resize", path
    probe = CalibrationImages(images, 2, size)
    shown = [torch.from_numpy(probe.get_next()["input"]) for _ in range(probe.count)]
    agree = int8_agreement(model, graph, shown)
    return [
        f"wrote {path} (int8, {how} on {calibration.count} {kind} training image(s) at {size[0]}x{size[1]}; "
        f"{kept} kept in float)",
        f"int8 and PyTorch fp32 agree on {100 * agree:.2f} % of the pixels of {len(shown)} calibration image(s)",
    ]
