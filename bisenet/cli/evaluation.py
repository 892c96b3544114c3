"""The ``bisenet`` commands for evaluating a checkpoint or graph, and the published checkpoints.

Each command is declared (``add_<command>``: its arguments) beside what it does (``cmd_<command>``:
call the library, print). Heavy imports happen inside each command, so that parsing (and
``--help``) stays quick."""

from __future__ import annotations

import argparse

from bisenet.cli import arguments as a
from bisenet.cli.options import DEVICE_HELP, OVERWRITE_HELP, add_folder_options, folder_options

ZOO_COLUMNS = [
    "source",
    "model",
    "dataset",
    "backbone",
    "crop",
    "miou",
    "miou_ms_flip",
    "memory_gb",
    "fps",
    "fps_device",
    "sha256_prefix",
]


def add_eval(sub) -> None:
    p = sub.add_parser("eval", help="evaluate a checkpoint: mIoU, per-class IoU (whole, slide or ms+flip)")
    p.add_argument(
        "--model",
        type=a.model_name,
        help="the checkpoint's model: read off the file when omitted, checked against it when given",
    )
    source = p.add_mutually_exclusive_group(required=True)  # one of the two
    source.add_argument(
        "--checkpoint", type=a.existing_file, help="the checkpoint to evaluate (any layout the package reads)"
    )
    source.add_argument(
        "--onnx", type=a.existing_file, help="or an exported graph (fp32 or int8; logits, not --argmax)"
    )
    source.add_argument("--openvino", type=a.existing_file, help="or an exported OpenVINO IR's model.xml (fp32, int8)")
    p.add_argument(
        "--data",
        choices=["cityscapes", "minicity", "cocostuff", "folder", "camvid"],
        help="the dataset (default: recognised from --data-root)",
    )
    p.add_argument("--data-root", type=a.input_dir, help="dataset root (cityscapes: default $CITYSCAPES_DATASET)")
    add_folder_options(p)
    p.add_argument("--split", default="val")
    p.add_argument("--mode", choices=["whole", "slide", "msflip"], default="whole")
    p.add_argument("--crop", type=a.size, help="slide window HxW (--mode slide; default 1024x1024)")
    p.add_argument("--stride", type=a.size, help="slide stride HxW (--mode slide; default 768x768)")
    p.add_argument("--scale", type=a.size, help="test-time resize, long x short side (default per dataset)")
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--workers", type=a.non_negative_int, default=0)
    p.add_argument(
        "--predictions", type=a.output_dir, help="also write prediction PNGs (the dataset's own label ids) here"
    )
    p.add_argument("--json", type=a.output_file, help="also write the metrics to this JSON file")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=cmd_eval)


def cmd_eval(args: argparse.Namespace) -> int:
    from bisenet.atomic import refuse_foreign_json, write_json
    from bisenet.engine.evaluate_file import EvalOptions, evaluate_file

    options = EvalOptions(
        split=args.split,
        mode=args.mode,
        crop=args.crop,
        stride=args.stride,
        scale=args.scale,
        device=args.device,
        workers=args.workers,
        predictions=args.predictions,
        folder=folder_options(args),
    )
    kind = next(k for k in ("checkpoint", "onnx", "openvino") if getattr(args, k) is not None)
    path = getattr(args, kind)
    result = evaluate_file(path, args.data_root, data=args.data, model=args.model, kind=kind, options=options)
    print(f"{result.model} on {result.dataset}, mode {args.mode}: {result.metrics.summary()}")
    print(result.metrics.to_dataframe().round(2).to_string())
    if args.json:
        record = result.to_dict(args.split, args.mode)
        if not args.overwrite:
            refuse_foreign_json(args.json, list(record))
        print(f"wrote {write_json(args.json, record)}")
    return 0


def add_zoo(sub) -> None:
    p = sub.add_parser(
        "zoo",
        help="the published checkpoints (mmseg, sssegmentation, CoinCheung); verify a downloaded one",
        description="Without an action (or with `list`), print the model zoo: every published checkpoint with its "
        "published mIoU, memory, FPS (and the device it was measured on) and the URL to fetch; nothing "
        "is downloaded. `bisenet zoo verify FILE` checks a downloaded file: its sha256 against the hash "
        "in its name, that it loads, its architecture and class count; with --data-root, its val mIoU.",
    )
    p.add_argument("action", nargs="?", choices=["list", "verify"], default="list", help="list (default) or verify")
    p.add_argument("file", nargs="?", type=a.existing_file, metavar="FILE", help="verify: the downloaded checkpoint")
    p.add_argument("--source", choices=["mmseg", "sssegmentation", "coincheung"], help="list: only this source's rows")
    p.add_argument("--csv", type=a.output_file, help="list: also write the whole table to this CSV file")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.add_argument("--row", type=a.zoo_row, help="verify: the row's name (default: the file's name)")
    p.add_argument("--data-root", type=a.input_dir, help="verify: also evaluate on this dataset root (val, whole mode)")
    p.add_argument("--device", help=DEVICE_HELP)
    p.set_defaults(func=cmd_zoo)


def cmd_zoo(args: argparse.Namespace) -> int:
    if args.action == "verify":
        return _zoo_verify(args)
    from bisenet.atomic import write_csv
    from bisenet.errors import UsageError
    from bisenet.zoo import zoo_table

    if args.file or args.row or args.data_root:
        raise UsageError("FILE, --row and --data-root belong to `bisenet zoo verify FILE`")
    table = zoo_table(args.source)
    print("The published checkpoints (mIoU: val, as published; nothing is downloaded: fetch the url column)")
    print(table[ZOO_COLUMNS].astype(object).replace("", None).fillna("-").to_string())
    print("\nthe files (row: name, then its URL, or why there is none):")
    for row in table.itertuples():
        print(f"{row.Index:>3}: {row.name}\n     {row.url or row.note}")
    if args.csv:
        print(f"wrote {write_csv(args.csv, table, overwrite=args.overwrite)}")
    return 0


def _zoo_verify(args: argparse.Namespace) -> int:
    from bisenet.devices import resolve_device
    from bisenet.errors import UsageError
    from bisenet.zoo import find_entry, verify

    device = resolve_device(args.device)  # refuse a wrong --device before reading the file
    if args.file is None:
        raise UsageError("`bisenet zoo verify` needs the downloaded FILE")
    if args.source or args.csv:
        raise UsageError("--source and --csv belong to `bisenet zoo` (the list), not to verify")
    entry = find_entry(args.row or args.file.name)
    result = verify(args.file, entry, data_root=args.data_root, device=device)
    print(f"{args.file}: row {result['row']} ({result['source']}, {result['model']}, {result['dataset']})")
    print(f"sha256 {result['sha256']} (the name's prefix: {entry.sha256_prefix or 'none published'})")
    print(f"parameters {result['params']:,} ({result['params_inference']:,} without auxiliary heads)")
    measured = result.get("measured_miou")
    line = f"published mIoU {result['published_miou']}"
    if "measured_miou" in result:
        line += f", measured {'n/a' if measured is None else f'{measured:.2f}'} (val, whole mode)"
    print(line)
    return 0


# the commands of this module, in the order ``bisenet --help`` lists them
COMMANDS = (add_eval, add_zoo)
