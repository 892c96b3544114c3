"""From what a reader times to what the papers timed, one step at a time, on this machine.

Run from the repository root, alone on the machine (onnx and onnxruntime installed):

    python benchmarks/fps_steps.py --out book/data

A reader who times ``model(x)`` on a full Cityscapes frame in eager PyTorch gets a figure far
below the papers' frame rates. The papers measured something else: BiSeNet V2 at a 512x1024
input (its logits then resized to 1024x2048), with TensorRT on a GTX 1080 Ti; BiSeNet V1 at
768x1536 on a Titan XP. Each step between the two is one row here, every step of one model timed
interleaved in one process (rounds A, B, C, ...), so each row's ratio to the row before it is
what that step is worth on this machine:

    1. eager fp32 at the full 1024x2048 frame        what a reader usually times
    2. the paper's input size, logits resized         the papers' protocol (bench --protocol paper)
    3. + BatchNorm folded, channels_last              deployment steps of bisenet.deploy
    4. ONNX Runtime, fp32                             a graph runtime that fuses (TensorRT's role)
    5. ONNX Runtime, int8                             narrower arithmetic (int8 as CoinCheung ships)

What it cannot measure is the last step, the GPU itself: ``benchmarks/gpu/run.sh`` measures
that on a GPU machine. Writes ``fps_steps_cpu.csv`` with provenance.
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

from bisenet.analysis.speed import PAPER_OUTPUT, make_runner, paper_sizes, percentile, time_interleaved  # noqa: E402
from bisenet.atomic import write_csv  # noqa: E402
from bisenet.models import build_model  # noqa: E402
from bisenet.provenance import provenance, with_provenance  # noqa: E402

FULL = (1024, 2048)
# step name -> make_runner arguments, and whether the input is the paper's size
STEPS = [
    ("1. eager fp32, full frame", dict(backend="eager"), False),
    ("2. paper's input size, logits resized", dict(backend="eager"), True),
    ("3. + BN folded, channels_last", dict(backend="eager", fold_bn=True, channels_last=True), True),
    ("4. ONNX Runtime fp32", dict(backend="onnxruntime", fold_bn=True), True),
    ("5. ONNX Runtime int8", dict(backend="onnxruntime-int8", fold_bn=True), True),
]


def measure(model_name: str, warmup: int, runs: int) -> pd.DataFrame:
    torch.manual_seed(0)
    model = build_model(model_name, aux_heads=False).eval()
    paper = paper_sizes(model_name)[0]
    runners = {}
    with tempfile.TemporaryDirectory() as tmp:
        for step, kwargs, at_paper_size in STEPS:
            size = paper if at_paper_size else FULL
            x = torch.randn(1, 3, *size)
            workdir = Path(tmp) / step.split(".")[0]
            workdir.mkdir()
            output = PAPER_OUTPUT if at_paper_size else None
            runners[(step, size)] = make_runner(model, x, workdir=workdir, output_size=output, **kwargs)
        times = time_interleaved(runners, warmup, runs, torch.device("cpu"))
    rows, first = [], None
    for (step, size), t in times.items():
        median = statistics.median(t)
        first = first or median
        rows.append(
            {
                "model": model_name,
                "step": step,
                "input": f"{size[0]}x{size[1]}",
                "output": f"{PAPER_OUTPUT[0]}x{PAPER_OUTPUT[1]}",
                "median_ms": round(1e3 * median, 1),
                "p10_ms": round(1e3 * percentile(t, 0.1), 1),
                "p90_ms": round(1e3 * percentile(t, 0.9), 1),
                "fps": round(1 / median, 2),
                "speed_up_vs_step_1": round(first / median, 2),
                "runs": runs,
            }
        )
        print(f"{model_name:14s} {step:40s} {1e3 * median:8.1f} ms  {first / median:5.2f}x", flush=True)
    return pd.DataFrame(rows)


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("--models", default="bisenetv2,bisenetv1-r18")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, help="folder for fps_steps_cpu.csv (default: print only)")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    table = pd.concat([measure(m, args.warmup, args.runs) for m in args.models.split(",")], ignore_index=True)
    if args.out:
        command = "python benchmarks/fps_steps.py " + " ".join(sys.argv[1:])
        out = write_csv(
            args.out / "fps_steps_cpu.csv", with_provenance(table, provenance(), command), overwrite=args.overwrite
        )
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
