"""The ``bisenet`` commands for the networks themselves: list, count, time, export, convert and run them.

Each command is declared (``add_<command>``: its arguments) beside what it does (``cmd_<command>``:
call the library, print). Heavy imports happen inside each command, so that parsing (and
``--help``) stays quick."""

from __future__ import annotations

import argparse
import sys

from bisenet.cli import arguments as a
from bisenet.cli.options import DEVICE_HELP, OVERWRITE_HELP


def add_models(sub) -> None:
    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("--num-classes", type=a.class_count, default=19)
    p.set_defaults(func=cmd_models)


def cmd_models(args: argparse.Namespace) -> int:
    from bisenet.analysis.flops import parameter_table

    table = parameter_table(args.num_classes)
    thousands = {"params_inference": "{:,}".format, "params_with_aux": "{:,}".format}
    print(table.to_string(index=False, formatters=thousands))
    return 0


def add_flops(sub) -> None:
    p = sub.add_parser("flops", help="parameters and FLOPs per component (fvcore)")
    p.add_argument("--model", required=True, type=a.model_names, help="one or more comma-separated model names")
    p.add_argument("--size", type=a.size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--num-classes", type=a.class_count, default=19)
    p.add_argument("--depth", type=a.positive_int, default=2, help="module nesting depth of the table")
    p.add_argument("--csv", type=a.output_file, help="also write the table(s) to this CSV file")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=cmd_flops)


def cmd_flops(args: argparse.Namespace) -> int:
    import pandas as pd

    from bisenet.analysis.flops import component_table
    from bisenet.atomic import write_csv
    from bisenet.models import build_model

    h, w = args.size
    tables = []
    for name in args.model:
        table = component_table(
            build_model(name, num_classes=args.num_classes, aux_heads=False), args.size, depth=args.depth
        )
        print(f"{name}, 1x3x{h}x{w}, eval mode (fvcore: one multiply-add = 1 FLOP)")
        print(table.to_string(index=False, formatters={"params": "{:,}".format, "gflops": "{:.3f}".format}))
        tables.append(table.assign(model=name))
    if args.csv:
        print(f"wrote {write_csv(args.csv, pd.concat(tables, ignore_index=True), overwrite=args.overwrite)}")
    return 0


def add_bench(sub) -> None:
    p = sub.add_parser("bench", help="inference latency and throughput, configurations interleaved in one process")
    p.add_argument(
        "--model",
        type=a.model_names,
        default=["bisenetv2", "bisenetv1-r18"],
        help="comma-separated model names (default bisenetv2,bisenetv1-r18)",
    )
    p.add_argument("--size", type=a.sizes, default=[(512, 1024)], help="HxW[,HxW...]")
    p.add_argument("--batch", type=a.positive_int, default=1)
    p.add_argument("--dtype", choices=["fp32", "fp16", "bf16"], default="fp32")
    p.add_argument(
        "--backend",
        type=a.backends,
        default=("eager",),
        help="comma-separated: eager, compile, onnxruntime, onnxruntime-int8 (and with onnxruntime-gpu: "
        "onnxruntime-cuda, onnxruntime-tensorrt)",
    )
    p.add_argument(
        "--protocol",
        choices=["full", "paper"],
        default="full",
        help="full: the --size inputs (default); paper: the papers' sizes, logits resized to 2048x1024, "
        "batch 1 and 8 (--size and --batch then unused)",
    )
    p.add_argument("--fold-bn", action="store_true", help="fold BatchNorm into the convolutions first")
    p.add_argument("--channels-last", action="store_true")
    p.add_argument("--warmup", type=a.non_negative_int, default=3)
    p.add_argument("--runs", type=a.positive_int, default=10)
    p.add_argument("--threads", type=a.threads, default=0, help="torch CPU threads (default 0: torch's)")
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--csv", type=a.output_file, help="also write the results, with provenance, to this CSV file")
    p.add_argument("--plot", type=a.output_file, help="also write a bar chart (PNG) of the medians")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=cmd_bench)


def cmd_bench(args: argparse.Namespace) -> int:
    import torch

    from bisenet.analysis.speed import benchmark, save_benchmark_plot
    from bisenet.atomic import write_csv
    from bisenet.devices import resolve_device
    from bisenet.provenance import provenance, with_provenance

    device = resolve_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    info = provenance(str(device))
    table = benchmark(
        args.model,
        args.size,
        args.batch,
        args.warmup,
        args.runs,
        str(device),
        args.dtype,
        args.backend,
        args.fold_bn,
        args.channels_last,
        protocol=args.protocol,
    )
    print("; ".join(f"{k}: {v}" for k, v in info.items()))
    print(f"eval, torch.inference_mode(), {args.warmup} warm-up + {args.runs} runs, configurations interleaved")
    print(table.drop(columns=["runs"]).to_string(index=False, float_format=lambda v: f"{v:.1f}"))
    if args.csv:
        print(f"wrote {write_csv(args.csv, with_provenance(table, info, _command_line()), overwrite=args.overwrite)}")
    if args.plot:
        title = f"{info['device']} ({info.get('gpu', info['cpu'])}), {info['threads']} threads, {args.dtype}"
        print(f"wrote {save_benchmark_plot(table, args.plot, title, overwrite=args.overwrite)}")
    return 0


def add_export(sub) -> None:
    p = sub.add_parser("export", help="export to ONNX and verify it with onnxruntime")
    p.add_argument(
        "--model",
        type=a.model_name,
        help="needed without --checkpoint; with one, read off the file when omitted and checked when given",
    )
    p.add_argument(
        "--checkpoint", type=a.existing_file, help="weights to export (default: random, to test the toolchain)"
    )
    p.add_argument("--onnx", required=True, type=a.output_file, help="output .onnx file")
    p.add_argument("--size", type=a.size, default=(512, 1024), help="HxW of the example input")
    p.add_argument("--argmax", action="store_true", help="end the graph in an ArgMax (class ids)")
    p.add_argument("--dynamic", action="store_true", help="free batch, height and width")
    p.add_argument("--opset", type=a.opset, default=17, help="ONNX opset, 11 to 20 (default 17)")
    p.add_argument(
        "--int8",
        action="store_true",
        help="static int8 quantisation (QDQ, per-channel weights) calibrated on --calibration's images",
    )
    p.add_argument("--calibration", type=a.input_dir, help="--int8: a dataset root whose training images calibrate")
    p.add_argument("--calibration-images", type=a.positive_int, default=32, help="--int8: how many (default 32)")
    p.add_argument(
        "--calibration-method",
        choices=["minmax", "entropy", "percentile"],
        default="percentile",
        help="--int8: how activation ranges are set (default percentile, the most accurate measured)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from bisenet.deploy import export_onnx, verify_onnx
    from bisenet.errors import UsageError
    from bisenet.models import build_model

    classes = palette = None
    if args.checkpoint:
        from bisenet.checkpoint import load_checkpoint
        from bisenet.interop import load_model

        saved = load_checkpoint(args.checkpoint)  # read once: the weights and the class names and colours
        model = load_model(saved, args.model)
        classes, palette = saved.classes, saved.palette
    elif args.model is None:
        raise UsageError(
            "export needs --checkpoint FILE (the weights to export) or, to test the toolchain with "
            "random weights, --model NAME"
        )
    else:
        print("no --checkpoint: exporting randomly initialised weights (for testing the toolchain)")
        model = build_model(args.model, aux_heads=False).eval()
    if args.int8:
        return _export_int8(args, model, classes, palette)
    if args.calibration:
        raise UsageError("--calibration is for --int8")
    checks = []
    path = export_onnx(
        model,
        args.onnx,
        args.size,
        argmax=args.argmax,
        dynamic=args.dynamic,
        opset=args.opset,
        classes=classes,
        palette=palette,
        check=lambda onnx_file: checks.extend(
            verify_onnx(model, onnx_file, args.size, argmax=args.argmax, dynamic=args.dynamic)
        ),
    )
    print(f"wrote {path}")
    for line in checks:
        print(line)
    return 0


def add_convert(sub) -> None:
    p = sub.add_parser(
        "convert", help="convert an mmsegmentation, CoinCheung or sssegmentation checkpoint to this package's"
    )
    p.add_argument("--from", dest="source", required=True, choices=["mmseg", "coincheung", "sssegmentation"])
    p.add_argument("input", type=a.existing_file, help="the checkpoint to convert")
    p.add_argument("output", type=a.output_file, help="where to write the package's checkpoint (not the input)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file at the output")
    p.set_defaults(func=cmd_convert)


def cmd_convert(args: argparse.Namespace) -> int:
    from bisenet.errors import UsageError
    from bisenet.interop import convert_checkpoint

    if args.output.exists() and not args.overwrite:
        raise UsageError(f"{args.output} exists: pass --overwrite to replace it, or give another output file")
    checkpoint = convert_checkpoint(args.source, args.input, args.output)
    aux = "with" if any(k.startswith("auxiliary_head.") for k in checkpoint.state_dict) else "without"
    print(
        f"{args.source} {checkpoint.model_name}, {checkpoint.num_classes} classes, {aux} auxiliary heads "
        f"-> {args.output}"
    )
    return 0


def add_predict(sub) -> None:
    p = sub.add_parser("predict", help="segment images, folders or a video; write coloured overlays")
    p.add_argument(
        "--model",
        type=a.model_name,
        help="the checkpoint's model: read off the file when omitted, checked against it when given",
    )
    p.add_argument("--checkpoint", required=True, type=a.existing_file)
    p.add_argument("inputs", nargs="+", help="image files, folders of images, or video files")
    p.add_argument(
        "--out",
        type=a.output_dir,
        default="predictions",
        help="output folder (default predictions/); the inputs' folder structure is kept",
    )
    p.add_argument("--scale", type=a.size, help="resize to this (long x short side) before inference")
    p.add_argument("--alpha", type=a.fraction, default=0.5, help="opacity of the colours over the image, 0 to 1")
    p.add_argument("--device", help=DEVICE_HELP)
    p.set_defaults(func=cmd_predict)


def cmd_predict(args: argparse.Namespace) -> int:
    from bisenet.checkpoint import load_checkpoint
    from bisenet.devices import resolve_device
    from bisenet.interop import load_model
    from bisenet.predict import predict_inputs

    device = resolve_device(args.device)
    saved = load_checkpoint(args.checkpoint)  # read once: the weights and a folder dataset's colours
    model = load_model(saved, args.model).to(device)
    palette = saved.palette
    written = predict_inputs(
        model, args.inputs, args.out, scale=args.scale, alpha=args.alpha, device=device, palette=palette
    )
    print(f"wrote {len(written)} file(s) to {args.out}")
    return 0


def _command_line() -> str:
    return "bisenet " + " ".join(sys.argv[1:])


def _export_int8(args: argparse.Namespace, model, classes, palette) -> int:
    """``export --int8``: the fp32 graph, then its static int8 quantisation calibrated on the
    training images of ``--calibration``; prints how often int8 and PyTorch agree."""
    import tempfile
    from pathlib import Path

    import torch

    from bisenet.data import build_dataset, eval_pipeline, resolve_dataset_kind
    from bisenet.deploy import export_onnx
    from bisenet.errors import UsageError
    from bisenet.quantize import CalibrationImages, int8_agreement, quantize_int8

    if args.calibration is None:
        raise UsageError(
            "--int8 needs --calibration DATA_ROOT (images to set the activation ranges from: the "
            "training split of MiniCity, Cityscapes or a folder dataset)"
        )
    if args.argmax:
        raise UsageError("--int8 quantises the logits graph: drop --argmax")
    kind = resolve_dataset_kind(None, args.calibration, root_option="--calibration")
    images = build_dataset(kind, args.calibration, "train", eval_pipeline(None))
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = export_onnx(
            model,
            Path(tmp) / "fp32.onnx",
            args.size,
            dynamic=args.dynamic,
            opset=args.opset,
            classes=classes,
            palette=palette,
        )
        path = quantize_int8(
            fp32,
            args.onnx,
            CalibrationImages(images, args.calibration_images, args.size),
            method=args.calibration_method,
        )
    probe = CalibrationImages(images, 2, args.size)
    shown = [torch.from_numpy(probe.get_next()["input"]) for _ in range(probe.count)]
    print(
        f"wrote {path} (int8, {args.calibration_method} calibration on {min(args.calibration_images, len(images))} "
        f"{kind} training image(s) at {args.size[0]}x{args.size[1]}; Resize kept in float)"
    )
    print(
        f"int8 and PyTorch fp32 agree on {100 * int8_agreement(model, path, shown):.2f} % of the pixels of "
        f"{len(shown)} calibration image(s)"
    )
    return 0


# the commands of this module, in the order ``bisenet --help`` lists them
COMMANDS = (add_models, add_flops, add_bench, add_export, add_convert, add_predict)
