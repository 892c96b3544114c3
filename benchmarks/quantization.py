"""fp32, bf16 and int8 inference of the book's cpu-profile models: accuracy on MiniCity val and
latency at 1x3x512x1024, beside mmsegmentation 1.2.2's eager latency of the same network; with
the OpenVINO extra installed (``bisenet[openvino]``) also OpenVINO fp32, bf16 (where the CPU has
bf16) and NNCF int8.

Run from the repository root in the throwaway mmseg venv (see mmseg_env.py; plus onnx and
onnxruntime), so that mmseg's model is timed in the same process, interleaved with the package's:

    BISENET_PROFILE=cpu /tmp/mmseg-venv/bin/python benchmarks/quantization.py --out book/data

Every row records the CPU's vector extensions (``cpu_isa``: VNNI and bf16 decide int8 and bf16
speed; the model name "AMD EPYC" does not say which a host has).

Without mmseg installed the mmseg rows are left out (the ratio column then empty). It writes
``quantization_cpu.csv`` (one row per model and precision: MiniCity val mIoU, latency, ratio to
mmseg's eager fp32) and ``int8_sensitivity_cpu.csv`` (BiSeNetV2's int8 mIoU for each calibration
method and for each operator type kept in float: the per-layer-type sensitivity that chose the
defaults of ``bisenet.quantize``), each row with its provenance. The models are the profile's
cached book models (``bisenet book-cache`` trains them once).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
from pathlib import Path

import pandas as pd
import preamble  # noqa: E402 - beside this script
import torch

preamble.use_repository()

from bisenet.analysis.speed import make_runner, percentile, time_interleaved  # noqa: E402
from bisenet.atomic import write_csv  # noqa: E402
from bisenet.book.trained import trained_model  # noqa: E402
from bisenet.data import build_dataset, eval_pipeline  # noqa: E402
from bisenet.deploy import export_onnx  # noqa: E402
from bisenet.engine.evaluator import evaluate  # noqa: E402
from bisenet.profiles import current_profile, profile_data  # noqa: E402
from bisenet.provenance import cpu_isa, provenance, with_provenance  # noqa: E402
from bisenet.quantize import CalibrationImages, OnnxSegmenter, quantize_int8  # noqa: E402

MMSEG_CONFIGS = {
    "bisenetv2": "bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
    "bisenetv1-r18": "bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
}
SENSITIVITY = [
    ("minmax", ()),
    ("entropy", ()),
    ("percentile", ()),
    ("percentile", ("Sigmoid",)),
    ("percentile", ("Mul",)),
    ("percentile", ("Add",)),
    ("percentile", ("Resize",)),
    ("minmax", ("Resize",)),
]


class BF16(torch.nn.Module):
    """The model run under CPU bf16 autocast (the input and the logits stay fp32)."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model, self.num_classes = model, model.num_classes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return self.model(x).float()


def miou(model, dataset) -> float:
    return 100 * evaluate(model, dataset, device="cpu", progress=False).mIoU


def mmseg_model(name: str, state: dict):
    try:
        from mmseg_env import build_mmseg_model
        from mmseg_side_by_side import mmseg_logits
    except ImportError:
        return None
    try:
        ref = build_mmseg_model(MMSEG_CONFIGS[name]).eval()
    except ImportError:
        return None
    ref.load_state_dict(state, strict=False)  # the package's names are mmseg's
    return lambda x: mmseg_logits(ref, x)


OPENVINO_ROWS = {"OpenVINO fp32": "openvino", "OpenVINO bf16": "openvino-bf16", "OpenVINO int8 (NNCF)": "openvino-int8"}


def openvino_accuracy(model, work: Path, train, val, size, images: int) -> dict[str, float]:
    """MiniCity val mIoU of the model as OpenVINO runs it: the fp32 IR, bf16 where the CPU has it,
    and NNCF's int8 calibrated on ``images`` training images; {} without the OpenVINO extra."""
    try:
        from bisenet.openvino_ir import OpenVinoSegmenter, cpu_has_bf16, export_openvino, quantize_openvino
    except ImportError:
        return {}
    try:
        xml = export_openvino(model, work / "ov-fp32", size, dynamic=True)
    except Exception as e:  # noqa: BLE001 - the extra may be missing: its rows are left out, said once
        print(f"OpenVINO rows left out: {e}", flush=True)
        return {}
    int8 = quantize_openvino(xml, work / "ov-int8", CalibrationImages(train, images, size), count=images)
    found = {
        "OpenVINO fp32": miou(OpenVinoSegmenter(xml), val),
        "OpenVINO int8 (NNCF)": miou(OpenVinoSegmenter(int8), val),
    }
    if cpu_has_bf16():
        found["OpenVINO bf16"] = miou(OpenVinoSegmenter(xml, precision="bf16"), val)
    return found


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("--out", default="book/data")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--calibration-images", type=int, default=32)
    p.add_argument("--skip-sensitivity", action="store_true")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    profile = current_profile()
    kind, root = profile_data(profile)
    val = build_dataset(kind, root, "val", eval_pipeline(None))
    train = build_dataset(kind, root, "train", eval_pipeline(None))
    size = tuple(val[0][0].shape[-2:])
    info = provenance("cpu")
    command = "BISENET_PROFILE=" + profile.name + " python " + " ".join(sys.argv)
    rows, sensitivity = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("bisenetv2", "bisenetv1-r18"):
            model = trained_model(name).cpu().eval()
            fp32 = export_onnx(model, Path(tmp) / f"{name}.onnx", size=size, dynamic=True)
            int8 = quantize_int8(
                fp32, Path(tmp) / f"{name}-int8.onnx", CalibrationImages(train, args.calibration_images, size)
            )
            accuracy = {
                "PyTorch fp32": miou(model, val),
                "PyTorch bf16 autocast": miou(BF16(model), val),
                "ONNX Runtime fp32": miou(OnnxSegmenter(fp32), val),
                "ONNX Runtime int8": miou(OnnxSegmenter(int8), val),
                **openvino_accuracy(model, Path(tmp) / name, train, val, size, args.calibration_images),
            }
            print(name, {k: round(v, 2) for k, v in accuracy.items()}, flush=True)
            if name == "bisenetv2" and not args.skip_sensitivity:
                for method, keep in SENSITIVITY:
                    path = quantize_int8(
                        fp32,
                        Path(tmp) / f"s-{method}-{'-'.join(keep)}.onnx",
                        CalibrationImages(train, args.calibration_images, size),
                        method,
                        keep,
                    )
                    value = miou(OnnxSegmenter(path), val)
                    sensitivity.append(
                        {
                            "model": name,
                            "calibration": method,
                            "kept in float": ", ".join(keep) or "-",
                            "int8 mIoU (%)": value,
                            "fp32 mIoU (%)": accuracy["ONNX Runtime fp32"],
                            "cost (points)": accuracy["ONNX Runtime fp32"] - value,
                        }
                    )
                    print(sensitivity[-1], flush=True)
            # latency at 1x3x512x1024, interleaved in one process
            x = torch.randn(1, 3, 512, 1024)
            runners = {
                "PyTorch fp32": make_runner(model, x),
                "PyTorch bf16 autocast": make_runner(BF16(model), x),
                "ONNX Runtime fp32": make_runner(model, x, "onnxruntime", workdir=Path(tmp) / f"{name}-t32"),
                "ONNX Runtime int8": make_runner(model, x, "onnxruntime-int8", workdir=Path(tmp) / f"{name}-t8"),
                **{
                    label: make_runner(model, x, backend, workdir=Path(tmp) / f"{name}-{backend}")
                    for label, backend in OPENVINO_ROWS.items()
                    if label in accuracy  # the backends this host has
                },
            }
            reference = mmseg_model(name, model.state_dict())
            if reference is not None:
                runners["mmseg 1.2.2 eager fp32"] = lambda ref=reference: ref(x)
            with torch.inference_mode():
                times = time_interleaved(runners, 3, args.runs, torch.device("cpu"))
            base = statistics.median(times["mmseg 1.2.2 eager fp32"]) if reference is not None else None
            for precision, t in times.items():
                med = statistics.median(t)
                rows.append(
                    {
                        "model": name,
                        "precision": precision,
                        "latency_ms": 1e3 * med,
                        "p10_ms": 1e3 * percentile(t, 0.1),
                        "p90_ms": 1e3 * percentile(t, 0.9),
                        "ratio_to_mmseg_eager": med / base if base else None,
                        "miniCity_val_mIoU": accuracy.get(precision),
                        "input": "1x3x512x1024",
                        "accuracy_data": f"MiniCity val ({len(val)} images, {size[0]}x{size[1]}, synthetic; "
                        f"not Cityscapes), book {profile.name}-profile model",
                        "threads": args.threads,
                        "runs": args.runs,
                        "cpu_isa": cpu_isa(),
                    }
                )
                print(rows[-1], flush=True)
    out = Path(args.out)
    print(
        "wrote",
        write_csv(
            out / "quantization_cpu.csv", with_provenance(pd.DataFrame(rows), info, command), overwrite=args.overwrite
        ),
    )
    if sensitivity:
        print(
            "wrote",
            write_csv(
                out / "int8_sensitivity_cpu.csv",
                with_provenance(pd.DataFrame(sensitivity), info, command),
                overwrite=args.overwrite,
            ),
        )


if __name__ == "__main__":
    main()
