"""The ``bisenet`` command line: ``bisenet <command> --help`` for each command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import torch


def _parse_size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like HxW (e.g. 512x1024), got {text!r}") from None
    if h < 32 or w < 32:
        raise argparse.ArgumentTypeError(f"size must be at least 32x32, got {text!r}")
    return h, w


def _parse_sizes(text: str) -> list[tuple[int, int]]:
    return [_parse_size(part) for part in text.split(",")]


def _parse_models(text: str) -> list[str]:
    from bisenet.models import available_models

    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in available_models()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown model(s) {unknown or text!r}; available: {', '.join(available_models())}"
        )
    return names


def cmd_models(args: argparse.Namespace) -> int:
    import pandas as pd

    from bisenet.models import available_models, build_model

    rows = []
    for name in available_models():
        with_aux = build_model(name, num_classes=args.num_classes)
        n_aux = sum(p.numel() for p in with_aux.parameters())
        n_inf = n_aux - sum(p.numel() for p in with_aux.auxiliary_head.parameters())
        rows.append(dict(model=name, params_inference=n_inf, params_with_aux=n_aux))
    print(pd.DataFrame(rows).to_string(index=False, formatters={
        "params_inference": "{:,}".format, "params_with_aux": "{:,}".format}))
    return 0


def cmd_flops(args: argparse.Namespace) -> int:
    from bisenet.analysis.flops import component_table
    from bisenet.models import build_model

    model = build_model(args.model, num_classes=args.num_classes, aux_heads=False)
    table = component_table(model, args.size, depth=args.depth)
    h, w = args.size
    print(f"{args.model}, 1x3x{h}x{w}, eval mode (fvcore: one multiply-add = 1 FLOP)")
    print(table.to_string(index=False, formatters={"params": "{:,}".format, "gflops": "{:.3f}".format}))
    if args.csv:
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from bisenet.analysis.provenance import provenance
    from bisenet.analysis.speed import benchmark

    if args.device == "cuda" and not torch.cuda.is_available():
        print("error: --device cuda but torch sees no CUDA device", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    table = benchmark(args.model, args.size, args.batch, args.warmup, args.runs, args.device)
    info = provenance(args.device)
    print("; ".join(f"{k}: {v}" for k, v in info.items()))
    print(f"eval, torch.inference_mode(), {args.warmup} warm-up + {args.runs} runs, models interleaved")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if args.csv:
        for key, value in info.items():
            table[key] = value
        table.to_csv(args.csv, index=False)
        print(f"wrote {args.csv}")
    return 0


def cmd_minicity(args: argparse.Namespace) -> int:
    import time

    from bisenet.data.minicity import generate_minicity

    start = time.perf_counter()
    out = generate_minicity(args.out, train=args.train, val=args.val, size=args.size, seed=args.seed, overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    n = args.train + args.val
    print(f"MiniCity: {args.train} train + {args.val} val images of {args.size[0]}x{args.size[1]} (seed {args.seed}) in {out}")
    print(f"{seconds:.1f} s ({n / max(seconds, 1e-9):.1f} images/s; 0 s if it was already there)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    import json

    from bisenet.checkpoint import extract_state_dict, load_weights, num_classes_of
    from bisenet.data import build_dataset, eval_pipeline
    from bisenet.data.cityscapes import TRAIN_ID_TO_LABEL_ID
    from bisenet.data.factory import EVAL_SCALES
    from bisenet.engine.evaluator import evaluate
    from bisenet.models import build_model

    state = extract_state_dict(args.checkpoint)
    model = build_model(args.model, num_classes=num_classes_of(state), aux_heads=False)
    load_weights(model, state)
    model.to(args.device)
    scale = args.scale if args.scale is not None else EVAL_SCALES[args.data]
    dataset = build_dataset(args.data, args.data_root, args.split, eval_pipeline(scale))
    label_ids = TRAIN_ID_TO_LABEL_ID if args.data in ("cityscapes", "minicity") else None
    metrics = evaluate(
        model, dataset, args.mode, args.crop, args.stride, device=args.device,
        num_workers=args.workers, prediction_dir=args.predictions, label_ids=label_ids,
    )
    print(f"{args.model} on {dataset.name}, mode {args.mode}: {metrics.summary()}")
    print(metrics.to_dataframe().round(2).to_string())
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"model": args.model, "checkpoint": str(args.checkpoint), "data": args.data,
                       "split": args.split, "mode": args.mode, **metrics.__dict__}, f, indent=2)
        print(f"wrote {args.json}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bisenet",
        description="BiSeNet V1 and V2: models, measurements and (in later chapters) training.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("--num-classes", type=int, default=19)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("flops", help="parameters and FLOPs per component (fvcore)")
    p.add_argument("--model", required=True, type=lambda s: _parse_models(s)[0])
    p.add_argument("--size", type=_parse_size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--num-classes", type=int, default=19)
    p.add_argument("--depth", type=int, default=2, help="module nesting depth of the table")
    p.add_argument("--csv", help="also write the table to this CSV file")
    p.set_defaults(func=cmd_flops)

    p = sub.add_parser("bench", help="inference latency, models interleaved in one process")
    p.add_argument("--model", type=_parse_models, default=["bisenetv2", "bisenetv1-r18"],
                   help="comma-separated model names (default bisenetv2,bisenetv1-r18)")
    p.add_argument("--size", type=_parse_sizes, default=[(512, 1024)], help="HxW[,HxW...]")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--csv", help="also write the results, with provenance, to this CSV file")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("minicity", help="generate MiniCity, the synthetic city in Cityscapes' layout")
    p.add_argument("--out", required=True, help="output folder (the dataset root)")
    p.add_argument("--train", type=int, default=40, help="training images (default 40)")
    p.add_argument("--val", type=int, default=10, help="validation images (default 10)")
    p.add_argument("--size", type=_parse_size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing MiniCity in --out")
    p.set_defaults(func=cmd_minicity)

    p = sub.add_parser("eval", help="evaluate a checkpoint: mIoU, per-class IoU (whole, slide or ms+flip)")
    p.add_argument("--model", required=True, type=lambda s: _parse_models(s)[0])
    p.add_argument("--checkpoint", required=True, help="a bisenet or mmsegmentation checkpoint")
    p.add_argument("--data", required=True, choices=["cityscapes", "minicity", "cocostuff"])
    p.add_argument("--data-root", help="dataset root (cityscapes: default $CITYSCAPES_DATASET)")
    p.add_argument("--split", default="val")
    p.add_argument("--mode", choices=["whole", "slide", "msflip"], default="whole")
    p.add_argument("--crop", type=_parse_size, default=(1024, 1024), help="slide window HxW")
    p.add_argument("--stride", type=_parse_size, default=(768, 768), help="slide stride HxW")
    p.add_argument("--scale", type=_parse_size, help="test-time resize, long x short side (default per dataset)")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--predictions", help="also write prediction PNGs (Cityscapes label ids) here")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from bisenet.checkpoint import CheckpointError
    from bisenet.data.base import DatasetError

    try:
        return args.func(args)
    except (DatasetError, CheckpointError, ValueError, FileExistsError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
