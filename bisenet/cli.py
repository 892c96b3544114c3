"""The ``bisenet`` command line: ``bisenet <command> --help`` for each command.

Each command parses its arguments, calls the library and prints what it returns; the work is
done in the package's modules, which a Python caller uses the same way. Errors the library
raises on bad input (:class:`bisenet.errors.BiSeNetError`: a missing file, an unknown model, a
dataset that cannot be read) are printed as ``error: <message>`` with exit status 2; anything
else is a bug and keeps its traceback. Nothing heavy (torch) is imported before a command runs,
so ``bisenet --help`` is quick.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

DEVICE_HELP = "cpu, cuda or cuda:N (default: this process's GPU when CUDA is available, else cpu)"


# --- argument types (no torch: they run while parsing) -------------------------------------------


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


def _parse_model(text: str) -> str:
    return _parse_models(text)[0]


def _parse_seeds(text: str) -> tuple[int, ...]:
    from bisenet.errors import UsageError

    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise UsageError(f"--seeds must be comma-separated integers (e.g. 0,1,2), got {text!r}") from None


def _command_line() -> str:
    return "bisenet " + " ".join(sys.argv[1:])


# --- the commands -------------------------------------------------------------------------------


def cmd_models(args: argparse.Namespace) -> int:
    from bisenet.analysis.flops import parameter_table

    table = parameter_table(args.num_classes)
    thousands = {"params_inference": "{:,}".format, "params_with_aux": "{:,}".format}
    print(table.to_string(index=False, formatters=thousands))
    return 0


def cmd_flops(args: argparse.Namespace) -> int:
    from bisenet.analysis.flops import component_table
    from bisenet.atomic import write_csv
    from bisenet.models import build_model

    table = component_table(build_model(args.model, num_classes=args.num_classes, aux_heads=False), args.size,
                            depth=args.depth)
    h, w = args.size
    print(f"{args.model}, 1x3x{h}x{w}, eval mode (fvcore: one multiply-add = 1 FLOP)")
    print(table.to_string(index=False, formatters={"params": "{:,}".format, "gflops": "{:.3f}".format}))
    if args.csv:
        print(f"wrote {write_csv(args.csv, table)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from bisenet.analysis.provenance import provenance, with_provenance
    from bisenet.analysis.speed import benchmark, save_benchmark_plot
    from bisenet.atomic import write_csv
    from bisenet.devices import resolve_device

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = provenance(str(device))
    table = benchmark(args.model, args.size, args.batch, args.warmup, args.runs, str(device), args.dtype,
                      tuple(args.backend.split(",")), args.fold_bn, args.channels_last)
    print("; ".join(f"{k}: {v}" for k, v in info.items()))
    print(f"eval, torch.inference_mode(), {args.warmup} warm-up + {args.runs} runs, configurations interleaved")
    print(table.drop(columns=["runs"]).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if args.csv:
        print(f"wrote {write_csv(args.csv, with_provenance(table, info, _command_line()))}")
    if args.plot:
        title = f"{info['device']} ({info.get('gpu', info['cpu'])}), {info['threads']} threads, {args.dtype}"
        print(f"wrote {save_benchmark_plot(table, args.plot, title)}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from bisenet.checkpoint import model_from_checkpoint
    from bisenet.deploy import export_onnx, verify_onnx
    from bisenet.models import build_model

    if args.checkpoint:
        model = model_from_checkpoint(args.checkpoint, args.model)
    else:
        print("no --checkpoint: exporting randomly initialised weights (for testing the toolchain)")
        model = build_model(args.model, aux_heads=False).eval()
    path = export_onnx(model, args.onnx, args.size, argmax=args.argmax, dynamic=args.dynamic, opset=args.opset)
    print(f"wrote {path}")
    for line in verify_onnx(model, path, args.size, argmax=args.argmax, dynamic=args.dynamic):
        print(line)
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from bisenet.interop import convert_checkpoint

    checkpoint = convert_checkpoint(args.source, args.input, args.output)
    aux = "with" if any(k.startswith("auxiliary_head.") for k in checkpoint.state_dict) else "without"
    print(f"{args.source} {checkpoint.model_name}, {checkpoint.num_classes} classes, {aux} auxiliary heads "
          f"-> {args.output}")
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from bisenet.checkpoint import model_from_checkpoint
    from bisenet.devices import resolve_device
    from bisenet.predict import predict_inputs

    device = resolve_device(args.device)
    model = model_from_checkpoint(args.checkpoint, args.model).to(device)
    written = predict_inputs(model, args.inputs, args.out, scale=args.scale, alpha=args.alpha, device=device)
    print(f"wrote {len(written)} file(s) to {args.out}")
    return 0


def cmd_minicity(args: argparse.Namespace) -> int:
    import time

    from bisenet.data.minicity import generate_minicity

    start = time.perf_counter()
    out = generate_minicity(args.out, train=args.train, val=args.val, size=args.size, seed=args.seed,
                            overwrite=args.overwrite)
    seconds = time.perf_counter() - start
    n = args.train + args.val
    h, w = args.size
    print(f"MiniCity: {args.train} train + {args.val} val images of {h}x{w} (seed {args.seed}) in {out}")
    print(f"{seconds:.1f} s ({n / max(seconds, 1e-9):.1f} images/s; 0 s if it was already there)")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from bisenet.atomic import write_json
    from bisenet.checkpoint import model_from_checkpoint
    from bisenet.data import EVAL_SCALES, build_dataset, eval_pipeline
    from bisenet.devices import resolve_device
    from bisenet.engine.evaluator import evaluate

    device = resolve_device(args.device)
    model = model_from_checkpoint(args.checkpoint, args.model).to(device)
    scale = args.scale if args.scale is not None else EVAL_SCALES[args.data]
    dataset = build_dataset(args.data, args.data_root, args.split, eval_pipeline(scale))
    metrics = evaluate(model, dataset, args.mode, args.crop, args.stride, device=device, num_workers=args.workers,
                       prediction_dir=args.predictions, label_ids=dataset.prediction_ids)
    print(f"{args.model} on {dataset.name}, mode {args.mode}: {metrics.summary()}")
    print(metrics.to_dataframe().round(2).to_string())
    if args.json:
        path = write_json(args.json, {"model": args.model, "checkpoint": str(args.checkpoint), "data": args.data,
                                      "split": args.split, "mode": args.mode, **metrics.__dict__})
        print(f"wrote {path}")
    return 0


def cmd_recipes(args: argparse.Namespace) -> int:
    from bisenet.atomic import write_csv
    from bisenet.recipes import recipe_table

    table = recipe_table(include_profiles=not args.model_zoo_only)
    print("Recipes (batch = GPUs x images per GPU; 'mmseg' columns: mmsegmentation 1.2.2's config of the same name)")
    print(table.to_string(index=False))
    if args.csv:
        print(f"wrote {write_csv(args.csv, table)}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from bisenet.engine.trainer import train
    from bisenet.recipes import get_recipe

    overrides = dict(iters=args.iters, amp=args.amp, gpus=args.gpus, batch_per_gpu=args.batch_per_gpu, lr=args.lr,
                     workers=args.workers, seed=args.seed)
    recipe = get_recipe(args.recipe).with_(**{k: v for k, v in overrides.items() if v is not None})
    result = train(
        recipe, data_root=args.data_root, work_dir=args.work_dir, resume=args.resume, device=args.device,
        pretrained=args.pretrained, channels_last=args.channels_last, compile=args.compile, sync_bn=args.sync_bn,
        stop_after=args.stop_after, tensorboard=args.tensorboard,
    )
    if int(os.environ.get("RANK", "0")) == 0:
        best = "n/a" if result.best_miou is None else f"{100 * result.best_miou:.2f}"
        print(f"stopped at iteration {result.iteration}; best val mIoU {best}; last checkpoint {result.last_checkpoint}; "
              f"log {result.log}")
    return 0


def cmd_book_cache(args: argparse.Namespace) -> int:
    from bisenet.cache import cache_dir
    from bisenet.profiles import banner
    from bisenet.trained import prepare_all

    banner(cache=args.cache)
    for name, seconds in prepare_all(cache=args.cache).items():
        print(f"{name}: ready in {cache_dir(args.cache)} ({seconds:.0f} s)")
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    from bisenet.ablation import parse_variants, results_name, run_ablation, summarize

    csv = args.csv or results_name(args.scale)
    results = run_ablation(
        args.scale, parse_variants(args.variants), _parse_seeds(args.seeds), csv=csv, work_root=args.work_dir,
        cache=args.cache, data_root=args.data_root, dataset=args.dataset, device=args.device, iters=args.iters,
        keep_runs=args.keep_runs, progress=not args.quiet, command=_ablate_command(args),
    )
    print(f"{len(results)} runs in {csv}")
    print(summarize(results).to_string(float_format=lambda v: f"{v:.2f}"))
    return 0


def _ablate_command(args: argparse.Namespace) -> str:
    """The command line that reproduces a grid, written into every row of its results."""
    words = ["bisenet ablate", f"--scale {args.scale}", f"--variants {args.variants}", f"--seeds {args.seeds}"]
    for flag in ("iters", "dataset", "device"):
        if getattr(args, flag):
            words.append(f"--{flag} {getattr(args, flag)}")
    if args.data_root:
        words.append("--data-root <dataset root>")
    return " ".join(words)


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bisenet",
        description="BiSeNet V1 and V2: the models, their FLOPs and speed, training, evaluation, "
                    "the paper's ablations, checkpoint conversion, export and prediction.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("--num-classes", type=int, default=19)
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("flops", help="parameters and FLOPs per component (fvcore)")
    p.add_argument("--model", required=True, type=_parse_model)
    p.add_argument("--size", type=_parse_size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--num-classes", type=int, default=19)
    p.add_argument("--depth", type=int, default=2, help="module nesting depth of the table")
    p.add_argument("--csv", help="also write the table to this CSV file")
    p.set_defaults(func=cmd_flops)

    p = sub.add_parser("bench", help="inference latency and throughput, configurations interleaved in one process")
    p.add_argument("--model", type=_parse_models, default=["bisenetv2", "bisenetv1-r18"],
                   help="comma-separated model names (default bisenetv2,bisenetv1-r18)")
    p.add_argument("--size", type=_parse_sizes, default=[(512, 1024)], help="HxW[,HxW...]")
    p.add_argument("--batch", type=int, default=1)
    p.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument("--backend", default="eager", help="comma-separated: eager, compile, onnxruntime")
    p.add_argument("--fold-bn", action="store_true", help="fold BatchNorm into the convolutions first")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--csv", help="also write the results, with provenance, to this CSV file")
    p.add_argument("--plot", help="also write a bar chart (PNG) of the medians")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("export", help="export to ONNX and verify it with onnxruntime")
    p.add_argument("--model", required=True, type=_parse_model)
    p.add_argument("--checkpoint", help="weights to export (default: random, to test the toolchain)")
    p.add_argument("--onnx", required=True, help="output .onnx file")
    p.add_argument("--size", type=_parse_size, default=(512, 1024), help="HxW of the example input")
    p.add_argument("--argmax", action="store_true", help="end the graph in an ArgMax (class ids)")
    p.add_argument("--dynamic", action="store_true", help="free batch, height and width")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("convert", help="convert an mmsegmentation or CoinCheung checkpoint to this package's")
    p.add_argument("--from", dest="source", required=True, choices=["mmseg", "coincheung"])
    p.add_argument("input", help="the checkpoint to convert")
    p.add_argument("output", help="where to write the package's checkpoint")
    p.set_defaults(func=cmd_convert)

    p = sub.add_parser("predict", help="segment images, folders or a video; write coloured overlays")
    p.add_argument("--model", type=_parse_model, help="needed when the checkpoint does not say")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("inputs", nargs="+", help="image files, folders of images, or video files")
    p.add_argument("--out", default="predictions", help="output folder (default predictions/)")
    p.add_argument("--scale", type=_parse_size, help="resize to this (long x short side) before inference")
    p.add_argument("--alpha", type=float, default=0.5, help="opacity of the colours over the image")
    p.add_argument("--device", help=DEVICE_HELP)
    p.set_defaults(func=cmd_predict)

    p = sub.add_parser("recipes", help="the training recipes, beside mmsegmentation's configs")
    p.add_argument("--model-zoo-only", action="store_true", help="leave out the profiles' recipes")
    p.add_argument("--csv", help="also write the table to this CSV file")
    p.set_defaults(func=cmd_recipes)

    p = sub.add_parser("train", help="train a recipe (under torchrun for several GPUs or nodes)")
    p.add_argument("--recipe", required=True, help="a recipe name (see `bisenet recipes`)")
    p.add_argument("--data-root", help="dataset root (cityscapes: default $CITYSCAPES_DATASET)")
    p.add_argument("--work-dir", help="checkpoints and logs (default work_dirs/<recipe>)")
    p.add_argument("--iters", type=int, help="total iterations (default: the recipe's)")
    p.add_argument("--amp", choices=["fp16", "bf16"], help="mixed precision")
    p.add_argument("--resume", action="store_true", help="continue from the newest valid checkpoint")
    p.add_argument("--pretrained", help="local ImageNet checkpoint (torchvision format) for V1's trunk")
    p.add_argument("--gpus", type=int, help="the recipe's GPU count (global batch = gpus x batch-per-gpu)")
    p.add_argument("--batch-per-gpu", type=int, help="images per micro-batch")
    p.add_argument("--lr", type=float, help="base learning rate")
    p.add_argument("--workers", type=int, help="data-loading workers per process")
    p.add_argument("--seed", type=int)
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--sync-bn", action="store_true", help="SyncBatchNorm across processes")
    p.add_argument("--stop-after", type=int, help="stop after this iteration (resumable)")
    p.add_argument("--tensorboard", action="store_true", help="also log to TensorBoard, if installed")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("book-cache", help="train (once) and cache the models the profile trains (the book's)")
    p.add_argument("--cache", help="the cache folder (default: $BISENET_CACHE, else ~/.cache/bisenet)")
    p.set_defaults(func=cmd_book_cache)

    p = sub.add_parser(
        "ablate",
        help="re-run the BiSeNet V2 paper's ablations (Table 2, Table 3a), results with provenance in a CSV",
        description="Trains every (seed, variant) of the paper's Table 2 and Table 3a with the profile's "
                    "ablation recipe (bisenetv2-ablation-<scale>) and appends one row per run to the CSV "
                    "(default ablations_<scale>.csv in the current folder; the book reads "
                    "book/data/ablations_<scale>*.csv). Runs already in the CSV are skipped, so an "
                    "interrupted grid resumes; an interrupted run resumes from its last checkpoint.",
    )
    p.add_argument("--scale", choices=["smoke", "cpu", "gpu"], required=True,
                   help="the profile whose ablation recipe and data to use: smoke (seconds), cpu (minutes per "
                        "run), gpu")
    p.add_argument("--variants", default="all", help="all, table2, table3a, or names: detail,semantic,sum,concat,bga,"
                   "bga+booster,bga+booster+ohem,lambda=1/2,lambda=1/8,lambda=1/16")
    p.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    p.add_argument("--csv", help="results file (default: ablations_<scale>.csv)")
    p.add_argument("--data-root", help="dataset root (default: the scale's MiniCity, generated in the cache)")
    p.add_argument("--dataset", choices=["cityscapes", "minicity"], help="with --data-root: its kind")
    p.add_argument("--work-dir", help="where the runs train (default: <cache>/ablations/<scale>)")
    p.add_argument("--cache", help="the cache folder (default: $BISENET_CACHE, else ~/.cache/bisenet)")
    p.add_argument("--iters", type=int, help="override the recipe's iterations")
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--keep-runs", action="store_true", help="keep each run's directory (checkpoints, log)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("minicity", help="generate MiniCity, the synthetic city in Cityscapes' layout")
    p.add_argument("--out", required=True, help="output folder (the dataset root)")
    p.add_argument("--train", type=int, default=40, help="training images (default 40)")
    p.add_argument("--val", type=int, default=10, help="validation images (default 10)")
    p.add_argument("--size", type=_parse_size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing MiniCity in --out")
    p.set_defaults(func=cmd_minicity)

    p = sub.add_parser("eval", help="evaluate a checkpoint: mIoU, per-class IoU (whole, slide or ms+flip)")
    p.add_argument("--model", required=True, type=_parse_model)
    p.add_argument("--checkpoint", required=True, help="a bisenet or mmsegmentation checkpoint")
    p.add_argument("--data", required=True, choices=["cityscapes", "minicity", "cocostuff"])
    p.add_argument("--data-root", help="dataset root (cityscapes: default $CITYSCAPES_DATASET)")
    p.add_argument("--split", default="val")
    p.add_argument("--mode", choices=["whole", "slide", "msflip"], default="whole")
    p.add_argument("--crop", type=_parse_size, default=(1024, 1024), help="slide window HxW")
    p.add_argument("--stride", type=_parse_size, default=(768, 768), help="slide stride HxW")
    p.add_argument("--scale", type=_parse_size, help="test-time resize, long x short side (default per dataset)")
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--workers", type=int, default=0)
    p.add_argument("--predictions", help="also write prediction PNGs (the dataset's own label ids) here")
    p.add_argument("--json", help="also write the metrics to this JSON file")
    p.set_defaults(func=cmd_eval)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from bisenet.errors import BiSeNetError

    try:
        return args.func(args)
    except BiSeNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
