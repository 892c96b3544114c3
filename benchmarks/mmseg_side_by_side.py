"""Side by side with mmsegmentation 1.2.2: same weights -> same logits, and latency ratios.

Run in the throwaway mmseg venv (see mmseg_env.py), from the repository root:

    /tmp/mmseg-venv/bin/python benchmarks/mmseg_side_by_side.py --runs 10

For each model it builds mmseg's model from its model-zoo config and the package's model, copies
the package's (randomly initialised, BN statistics perturbed) state dict into mmseg's with
``strict=True`` -- the names are identical -- and compares, in eval mode, the logits at input
size (mmseg's whole-image inference) and every auxiliary head's output. Then it times both
interleaved in one process (eval, ``torch.inference_mode()``) and prints medians and the ratio;
with ``--steps`` also each optimisation of ``bisenet.deploy`` (what each step buys).
"""

from __future__ import annotations

import platform
import statistics
import sys

import preamble  # noqa: E402 - beside this script
import torch

preamble.use_repository()

import pandas as pd  # noqa: E402
from mmseg_env import build_mmseg_model  # noqa: E402

import bisenet  # noqa: E402
from bisenet.analysis.speed import make_runner, percentile, time_interleaved  # noqa: E402
from bisenet.atomic import write_csv  # noqa: E402
from bisenet.deploy import randomize_bn_statistics  # noqa: E402
from bisenet.provenance import provenance  # noqa: E402

CONFIGS = {
    "bisenetv2": "bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
    "bisenetv1-r18": "bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
    "bisenetv1-r50": "bisenetv1/bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024.py",
}


def mmseg_logits(model, x: torch.Tensor) -> torch.Tensor:
    return model.encode_decode(x, [dict(img_shape=tuple(x.shape[-2:]))])


def compare(name: str, size: tuple[int, int]) -> tuple[object, object]:
    ours = bisenet.build_model(name).eval()
    randomize_bn_statistics(ours)
    ref = build_mmseg_model(CONFIGS[name]).eval()
    ref.load_state_dict(ours.state_dict(), strict=True)
    x = torch.randn(1, 3, *size)
    with torch.inference_mode():
        a, b = ours(x), mmseg_logits(ref, x)
        rel = ((a - b).abs().max() / b.abs().max()).item()
        feats_ours, feats_ref = ours.backbone(x), ref.backbone(x)
        aux_rel = max(
            ((h1(f1) - h2([*feats_ref])).abs().max() / h1(f1).abs().max()).item()
            for h1, f1, h2 in zip(ours.auxiliary_head, feats_ours[1:], ref.auxiliary_head)
        )
    print(f"{name} {size}: logits max rel diff {rel:.2e}, aux heads {aux_rel:.2e}")
    return ours, ref


def main() -> None:
    p = preamble.script_parser(__doc__)
    p.add_argument("--models", default=",".join(CONFIGS))
    p.add_argument("--size", default="512x1024")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--steps",
        action="store_true",
        help="also time the package's optimisation steps (fold BN, channels_last, compile, onnxruntime)",
    )
    p.add_argument("--csv", help="write the timings, with provenance, to this CSV file")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    h, w = (int(v) for v in args.size.split("x"))
    print(f"torch {torch.__version__}, {args.threads} threads, {platform.processor() or platform.machine()}")
    rows = []
    for name in args.models.split(","):
        compare(name, (h - 3, w + 5))  # a size not divisible by 32
        ours, ref = compare(name, (h, w))
        x = torch.randn(1, 3, h, w)
        runners = {"mmseg eager": lambda: mmseg_logits(ref, x), "bisenet eager": make_runner(ours, x)}
        if args.steps:
            runners["bisenet fold_bn"] = make_runner(ours, x, fold_bn=True)
            runners["bisenet fold_bn + channels_last"] = make_runner(ours, x, fold_bn=True, channels_last=True)
            runners["bisenet fold_bn + compile"] = make_runner(ours, x, "compile", fold_bn=True)
            runners["bisenet fold_bn + onnxruntime"] = make_runner(ours, x, "onnxruntime", fold_bn=True)
        with torch.inference_mode():
            times = time_interleaved(runners, warmup=3, runs=args.runs, device=torch.device("cpu"))
        base = statistics.median(times["mmseg eager"])
        for key, t in times.items():
            med = statistics.median(t)
            rows.append(
                dict(
                    model=name,
                    size=f"{h}x{w}",
                    config=key,
                    median_ms=med * 1e3,
                    p10_ms=percentile(t, 0.1) * 1e3,
                    p90_ms=percentile(t, 0.9) * 1e3,
                    ratio_to_mmseg=med / base,
                    runs=args.runs,
                )
            )
            print(f"{name} 1x3x{h}x{w} {key:34s} {med * 1e3:7.0f} ms  ratio to mmseg eager {med / base:.3f}")
    if args.csv:
        table = pd.DataFrame(rows)
        for k, v in provenance().items():
            table[k] = v
        table["command"] = "python benchmarks/mmseg_side_by_side.py " + " ".join(sys.argv[1:])
        write_csv(args.csv, table, overwrite=args.overwrite)
        print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
