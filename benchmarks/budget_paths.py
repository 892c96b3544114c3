"""V1 against V2 at one budget, on every inference path: MiniCity val mIoU and CPU latency.

For each model trained with the shared CPU budget (``benchmarks/cpu_budget.sh``: V1 R-18 in
``OUT/B/bisenetv1-r18-seed*``, V2 as the ``cpu-256`` grid's ``OUT/A/bga+booster-seed*``), and for
each inference path the package has on a CPU (eager fp32, eager channels_last, ONNX Runtime fp32,
ONNX Runtime int8 with the package's default calibration on 32 training images), this writes one
row: the path's MiniCity val mIoU for every seed whose run is complete (its final checkpoint,
evaluated through that path at the val images' own 256x512), and the path's latency at
1x3x512x1024 (the architecture's, measured once per model on seed 0's weights, every path of both
models interleaved in one process: medians of ``--runs`` rounds)::

    OMP_NUM_THREADS=2 python benchmarks/budget_paths.py /work/runs --csv book/data/budget_paths_cpu.csv

Pause other jobs on the machine while it times (the CSV records the load average).
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

from bisenet.ablation import grid_data  # noqa: E402
from bisenet.analysis.speed import make_runner, percentile, time_interleaved  # noqa: E402
from bisenet.atomic import write_csv  # noqa: E402
from bisenet.checkpoint import model_from_checkpoint  # noqa: E402
from bisenet.data import build_dataset, eval_pipeline  # noqa: E402
from bisenet.deploy import export_onnx, optimize  # noqa: E402
from bisenet.engine.evaluator import evaluate  # noqa: E402
from bisenet.provenance import provenance, with_provenance  # noqa: E402
from bisenet.quantize import CalibrationImages, OnnxSegmenter, quantize_int8  # noqa: E402
from bisenet.recipes import BUDGET_ITERS  # noqa: E402

RUNS = {"bisenetv2": "A/bga+booster-seed{seed}", "bisenetv1-r18": "B/bisenetv1-r18-seed{seed}"}
PATHS = ("eager fp32", "eager channels_last", "ONNX Runtime fp32", "ONNX Runtime int8")


def path_models(model: torch.nn.Module, train, size: tuple[int, int], tmp: Path) -> dict[str, torch.nn.Module]:
    """The model as each inference path runs it (the ONNX graphs with a dynamic input)."""
    fp32 = export_onnx(model, tmp / "model.onnx", size=size, dynamic=True)
    int8 = quantize_int8(fp32, tmp / "model-int8.onnx", CalibrationImages(train, 32, size))
    return {
        "eager fp32": model,
        "eager channels_last": optimize(model, fold_bn=False, channels_last=True),
        "ONNX Runtime fp32": OnnxSegmenter(fp32),
        "ONNX Runtime int8": OnnxSegmenter(int8),
    }


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("out", type=Path, help="the folder benchmarks/cpu_budget.sh trained in")
    p.add_argument("--csv", type=Path, required=True)
    p.add_argument("--runs", type=int, default=9, help="interleaved timing rounds (default 9)")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    kind, root = grid_data("cpu-256")
    val = build_dataset(kind, root, "val", eval_pipeline(None))
    train = build_dataset(kind, root, "train", eval_pipeline(None))
    size = tuple(val[0][0].shape[-2:])
    info = provenance("cpu")
    command = "python " + " ".join(sys.argv)
    accuracy: dict[tuple[str, str], dict[int, float]] = {}
    runners, x = {}, torch.randn(1, 3, 512, 1024)
    with tempfile.TemporaryDirectory() as tmp:
        for name, pattern in RUNS.items():
            for seed in (0, 1, 2):
                final = args.out / pattern.format(seed=seed) / f"iter_{BUDGET_ITERS}.pth"
                if not final.is_file():
                    continue
                model = model_from_checkpoint(final)
                work = Path(tmp) / f"{name}-{seed}"
                work.mkdir()
                for path, net in path_models(model, train, size, work).items():
                    value = 100 * evaluate(net, val, device="cpu", progress=False).mIoU
                    accuracy.setdefault((name, path), {})[seed] = value
                    print(f"{name} seed {seed} {path}: {value:.2f} % mIoU", flush=True)
                if not any(model_name == name for model_name, _ in runners):  # timed once, first seed
                    runners[(name, "eager fp32")] = make_runner(model, x)
                    runners[(name, "eager channels_last")] = make_runner(model, x, channels_last=True)
                    runners[(name, "ONNX Runtime fp32")] = make_runner(model, x, "onnxruntime", workdir=work / "t32")
                    runners[(name, "ONNX Runtime int8")] = make_runner(
                        model, x, "onnxruntime-int8", workdir=work / "t8"
                    )
        if not runners:
            raise SystemExit(
                f"error: no finished run (iter_{BUDGET_ITERS}.pth) under {args.out}: train them with "
                "benchmarks/cpu_budget.sh first"
            )
        times = time_interleaved(runners, 3, args.runs, torch.device("cpu"))
    rows = []
    for (name, path), t in times.items():
        seeds = accuracy[(name, path)]
        values = list(seeds.values())
        rows.append(
            {
                "model": name,
                "path": path,
                "latency_ms": 1e3 * statistics.median(t),
                "p10_ms": 1e3 * percentile(t, 0.1),
                "p90_ms": 1e3 * percentile(t, 0.9),
                "latency_input": "1x3x512x1024",
                "mIoU_mean": statistics.mean(values),
                "mIoU_min": min(values),
                "mIoU_max": max(values),
                "seeds": len(values),
                "mIoU_by_seed": ", ".join(f"{s}: {v:.2f}" for s, v in sorted(seeds.items())),
                "accuracy_data": f"MiniCity val ({len(val)} images, {size[0]}x{size[1]}, synthetic; not Cityscapes)",
                "budget": f"{BUDGET_ITERS} iterations, 4 crops of 256x256, fp32 (bisenet.recipes.BUDGET_RECIPES)",
                "threads": args.threads,
                "runs": args.runs,
            }
        )
        print(rows[-1], flush=True)
    print("wrote", write_csv(args.csv, with_provenance(pd.DataFrame(rows), info, command), overwrite=args.overwrite))


if __name__ == "__main__":
    main()
