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
        help="comma-separated: eager, compile, onnxruntime, onnxruntime-int8 (with onnxruntime-gpu: "
        "onnxruntime-cuda, onnxruntime-tensorrt; with bisenet[openvino]: openvino, openvino-int8, and "
        "openvino-bf16 where the CPU has bf16)",
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
    p = sub.add_parser(
        "export",
        help="export to ONNX (verified with onnxruntime) or OpenVINO, in fp32 or int8",
        description="--onnx FILE (or --format onnx --out FILE) writes an ONNX graph; --format openvino --out DIR "
        "writes an OpenVINO IR (DIR/model.xml and model.bin; needs bisenet[openvino]). --int8 --calibration "
        "DATA_ROOT quantises either, calibrated on that dataset's training images.",
    )
    p.add_argument(
        "--model",
        type=a.model_name,
        help="needed without --checkpoint; with one, read off the file when omitted and checked when given",
    )
    p.add_argument(
        "--checkpoint", type=a.existing_file, help="weights to export (default: random, to test the toolchain)"
    )
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--onnx", type=a.output_file, help="output .onnx file (the same as --format onnx --out FILE)")
    target.add_argument("--out", type=a.output_path, help="output: the .onnx file, or the OpenVINO IR's folder")
    p.add_argument("--format", choices=["onnx", "openvino"], default="onnx", help="with --out (default onnx)")
    p.add_argument("--size", type=a.size, default=(512, 1024), help="HxW of the example input")
    p.add_argument("--argmax", action="store_true", help="end the graph in an ArgMax (class ids; ONNX fp32)")
    p.add_argument("--dynamic", action="store_true", help="free batch, height and width")
    p.add_argument("--opset", type=a.opset, default=17, help="ONNX opset, 11 to 20 (default 17)")
    p.add_argument(
        "--int8",
        action="store_true",
        help="static int8 quantisation calibrated on --calibration's images (ONNX: QDQ, per-channel weights; "
        "OpenVINO: NNCF)",
    )
    p.add_argument("--calibration", type=a.input_dir, help="--int8: a dataset root whose training images calibrate")
    p.add_argument("--calibration-images", type=a.positive_int, default=32, help="--int8: how many (default 32)")
    p.add_argument(
        "--calibration-method",
        choices=["minmax", "entropy", "percentile"],
        default="percentile",
        help="--int8, ONNX: how activation ranges are set (default percentile, the most accurate measured)",
    )
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from bisenet.errors import UsageError
    from bisenet.exporting import ExportOptions, Int8Options, export_model

    if args.onnx is not None and args.format != "onnx":
        raise UsageError("--onnx FILE writes ONNX: for OpenVINO give --format openvino --out DIR")
    if args.int8 != (args.calibration is not None):
        raise UsageError(
            "--int8 needs --calibration DATA_ROOT (images to set the activation ranges from: the training split of "
            "MiniCity, Cityscapes or a folder dataset), and --calibration is for --int8"
        )
    model, classes, palette = _model_to_export(args)
    int8 = Int8Options(args.calibration, args.calibration_images, args.calibration_method) if args.int8 else None
    options = ExportOptions(
        format=args.format,
        size=args.size,
        dynamic=args.dynamic,
        opset=args.opset,
        argmax=args.argmax,
        int8=int8,
        classes=classes,
        palette=palette,
    )
    for line in export_model(model, args.onnx or args.out, options):
        print(line)
    return 0


def _model_to_export(args: argparse.Namespace):
    """(model, class names, colours): the checkpoint's, or a random model of ``--model``."""
    from bisenet.errors import UsageError

    if args.checkpoint:
        from bisenet.checkpoint import load_checkpoint
        from bisenet.interop import load_model

        saved = load_checkpoint(args.checkpoint)  # read once: the weights and the class names and colours
        return load_model(saved, args.model), saved.classes, saved.palette
    if args.model is None:
        raise UsageError(
            "export needs --checkpoint FILE (the weights to export) or, to test the toolchain with random weights, "
            "--model NAME"
        )
    from bisenet.models import build_model

    print("no --checkpoint: exporting randomly initialised weights (for testing the toolchain)")
    return build_model(args.model, aux_heads=False).eval(), None, None


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
    source = p.add_mutually_exclusive_group(required=True)  # one of the three
    source.add_argument("--checkpoint", type=a.existing_file, help="the checkpoint (any layout the package reads)")
    source.add_argument("--onnx", type=a.existing_file, help="or an exported ONNX graph (logits; run on the CPU)")
    source.add_argument("--openvino", type=a.existing_file, help="or an exported OpenVINO IR's model.xml (the CPU)")
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
    from bisenet.engine.evaluate_file import load_for_inference
    from bisenet.predict import predict_inputs

    kind = next(k for k in ("checkpoint", "onnx", "openvino") if getattr(args, k) is not None)
    loaded = load_for_inference(getattr(args, kind), kind, model=args.model, device=args.device)
    written = predict_inputs(
        loaded.model,
        args.inputs,
        args.out,
        scale=args.scale,
        alpha=args.alpha,
        device=loaded.device,
        palette=loaded.palette,
    )
    print(f"wrote {len(written)} file(s) to {args.out}")
    return 0


def _command_line() -> str:
    return "bisenet " + " ".join(sys.argv[1:])


# the commands of this module, in the order ``bisenet --help`` lists them
COMMANDS = (add_models, add_flops, add_bench, add_export, add_convert, add_predict)
