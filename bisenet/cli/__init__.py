"""The ``bisenet`` command line: ``bisenet <command> --help`` for each command.

Each command parses its arguments, calls the library and prints what it returns
(:mod:`bisenet.cli.commands`); the work is done in the package's modules, which a Python caller
uses the same way. Every option's value is checked while parsing (:mod:`bisenet.cli.arguments`:
counts, sizes, files to read, files and folders to write), so a wrong value is refused before any
work starts. One place turns errors into messages: a refused argument or an error the library
raises on bad input (:class:`bisenet.errors.BiSeNetError`: a missing file, an unknown model, a
dataset that cannot be read) is printed as one line, ``error: <message>``, with exit status 2;
anything else is a bug and keeps its traceback (exit status 1), so that it gets reported.
Nothing heavy (torch) is imported before a command runs, so ``bisenet --help`` is quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from bisenet.cli import arguments as a
from bisenet.cli import commands

DEVICE_HELP = "cpu, cuda or cuda:N (default: this process's GPU when CUDA is available, else cpu)"
CACHE_HELP = "the cache folder (default: $BISENET_CACHE, else ~/.cache/bisenet)"


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose refusals are one line: ``<prog>: error: <message> (see
    <prog> --help)``, exit status 2 (argparse's own prints the usage block first)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _folder_options(p: argparse.ArgumentParser) -> None:
    """The options of a folder dataset (bisenet.data.FolderOptions), shared by check-data, train and eval."""
    p.add_argument(
        "--reduce-zero-label",
        action="store_true",
        help="mask value 0 means 'other' (ignored) and the classes count from 1 (mmseg's convention)",
    )
    p.add_argument(
        "--unknown-colour",
        choices=["error", "ignore"],
        default="error",
        help="colour masks: a colour in no class is an error (default) or read as ignore",
    )
    p.add_argument(
        "--ignore-colour",
        type=a.rgb,
        default=(0, 0, 0),
        help="colour masks: the colour read as ignore, R,G,B (default 0,0,0, unless a class has it)",
    )
    p.add_argument(
        "--img-suffix",
        type=a.suffix,
        help="mmseg's img_dir naming: the images' ending (default any of .png/.jpg/.jpeg)",
    )
    p.add_argument("--seg-suffix", type=a.suffix, default=".png", help="the masks' ending (default .png)")


def _recipe(text: str) -> str:
    from bisenet.recipes import all_recipes

    if text not in all_recipes():
        raise argparse.ArgumentTypeError(f"unknown recipe {text!r}; `bisenet recipes` lists them")
    return text


def _variants(text: str) -> str:
    from bisenet.ablation import parse_variants

    if not text.strip():
        raise argparse.ArgumentTypeError("must name variants (all, table2, table3a or names), got ''")
    try:
        a.unique(parse_variants(text), "the variant", text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _backends(text: str) -> tuple[str, ...]:
    known = ("eager", "compile", "onnxruntime", "onnxruntime-int8", "onnxruntime-cuda", "onnxruntime-tensorrt")
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names or any(n not in known for n in names):
        raise argparse.ArgumentTypeError(f"backends must be some of {', '.join(known)}, got {text!r}")
    return tuple(a.unique(names, "the backend", text))


def _zoo_row(text: str) -> str:
    from bisenet.zoo import find_entry

    try:
        return find_entry(text).name
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


OVERWRITE_HELP = "replace an existing output file that is not this command's earlier output"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="bisenet",
        description="BiSeNet V1 and V2: the models, their FLOPs and speed, training, evaluation, "
        "the paper's ablations, checkpoint conversion, export and prediction.",
    )
    sub = parser.add_subparsers(dest="command", metavar="<command>")

    p = sub.add_parser("models", help="list the registered models with their parameter counts")
    p.add_argument("--num-classes", type=a.class_count, default=19)
    p.set_defaults(func=commands.cmd_models)

    p = sub.add_parser("flops", help="parameters and FLOPs per component (fvcore)")
    p.add_argument("--model", required=True, type=a.model_names, help="one or more comma-separated model names")
    p.add_argument("--size", type=a.size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--num-classes", type=a.class_count, default=19)
    p.add_argument("--depth", type=a.positive_int, default=2, help="module nesting depth of the table")
    p.add_argument("--csv", type=a.output_file, help="also write the table(s) to this CSV file")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=commands.cmd_flops)

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
        type=_backends,
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
    p.set_defaults(func=commands.cmd_bench)

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
    p.set_defaults(func=commands.cmd_export)

    p = sub.add_parser(
        "convert", help="convert an mmsegmentation, CoinCheung or sssegmentation checkpoint to this package's"
    )
    p.add_argument("--from", dest="source", required=True, choices=["mmseg", "coincheung", "sssegmentation"])
    p.add_argument("input", type=a.existing_file, help="the checkpoint to convert")
    p.add_argument("output", type=a.output_file, help="where to write the package's checkpoint (not the input)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing file at the output")
    p.set_defaults(func=commands.cmd_convert)

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
    p.set_defaults(func=commands.cmd_predict)

    p = sub.add_parser("recipes", help="the training recipes, beside mmsegmentation's configs")
    p.add_argument("--model-zoo-only", action="store_true", help="leave out the profiles' recipes")
    p.add_argument("--csv", type=a.output_file, help="also write the table to this CSV file")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=commands.cmd_recipes)

    p = sub.add_parser(
        "train",
        help="train a recipe, or a model on your own data (under torchrun for several GPUs)",
        description="Either --recipe NAME (a model-zoo or profile recipe, `bisenet recipes`), or "
        "--model NAME --data-root ROOT for a folder dataset (classes.csv, images/, masks/) "
        "or CamVid: a recipe derived from the model zoo's for the model, after the data "
        "checker has passed the data (bisenet check-data).",
    )
    p.add_argument("--recipe", type=_recipe, help="a recipe name (see `bisenet recipes`)")
    p.add_argument("--model", type=a.model_name, help="your own data: the model to train (with --data-root)")
    p.add_argument("--data", choices=["folder", "camvid"], help="your own data: its kind (default: recognised)")
    p.add_argument("--data-root", type=a.input_dir, help="dataset root (cityscapes: default $CITYSCAPES_DATASET)")
    p.add_argument("--work-dir", type=a.output_dir, help="checkpoints and logs (default work_dirs/<recipe>)")
    p.add_argument("--iters", type=a.positive_int, help="total iterations (default: the recipe's)")
    p.add_argument("--epochs", type=a.positive_float, help="your own data: passes over the training images")
    p.add_argument("--crop", type=a.size, help="your own data: training crop HxW (default: the short side, <= 1024)")
    p.add_argument("--batch", type=a.positive_int, help="your own data: images per iteration, one process")
    p.add_argument("--init", type=a.input_file, help="fine-tune from this checkpoint (any layout; weights that fit)")
    p.add_argument(
        "--class-weights",
        choices=["auto", "none"],
        default="none",
        help="your own data: weight the loss by class frequency (auto: ENet's rule), or not (default)",
    )
    p.add_argument(
        "--loss", choices=["ce", "ohem", "dice", "lovasz", "ce+dice"], help="the loss (default: the recipe's, CE)"
    )
    _folder_options(p)
    p.add_argument(
        "--amp",
        choices=["fp16", "bf16", "none"],
        help="mixed precision (none: fp32, e.g. for a cpu-profile recipe, which trains in bf16)",
    )
    p.add_argument("--resume", action="store_true", help="continue from the newest valid checkpoint")
    p.add_argument(
        "--pretrained",
        type=a.input_file,
        help="local ImageNet checkpoint (torchvision format) for V1's trunk (the in1k-pre recipes)",
    )
    p.add_argument("--gpus", type=a.positive_int, help="the recipe's GPU count (global batch = gpus x batch-per-gpu)")
    p.add_argument("--batch-per-gpu", type=a.positive_int, help="images per micro-batch (at least 2)")
    p.add_argument("--lr", type=a.positive_float, help="base learning rate")
    p.add_argument("--workers", type=a.non_negative_int, help="data-loading workers per process")
    p.add_argument("--seed", type=a.non_negative_int)
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="channels_last memory format (default: the recipe's; the cpu profile's recipes use it)",
    )
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument(
        "--sync-bn",
        action="store_true",
        help="under torchrun: SyncBatchNorm across processes in the modules the recipe's config "
        "synchronises (V1: all; V2: the decode and auxiliary heads; `bisenet recipes` "
        "lists them), every BatchNorm for a recipe that names none",
    )
    p.add_argument(
        "--bn-momentum-per-iteration",
        action="store_true",
        default=None,
        help="with gradient accumulation (fewer processes than the recipe's gpus), decay the BatchNorm "
        "running statistics once per iteration as on the model zoo's GPUs (off by default: on "
        "MiniCity it changed val mIoU by under 0.25 points; chapter 14b)",
    )
    p.add_argument("--stop-after", type=a.positive_int, help="stop after this iteration (resumable)")
    p.add_argument("--tensorboard", action="store_true", help="also log to TensorBoard, if installed")
    p.set_defaults(func=commands.cmd_train)

    p = sub.add_parser(
        "check-data",
        help="check a folder dataset before training: pairs, sizes, mask values, "
        "the classic label mistakes, class frequencies",
        description="Read every image/mask pair once and report; exit 0 when the data can be trained "
        "on, 1 with every problem listed (file names included).",
    )
    p.add_argument("--data-root", required=True, type=a.input_dir, help="the dataset folder (with classes.csv)")
    p.add_argument("--data", choices=["folder", "camvid"], help="its kind (default: recognised)")
    p.add_argument("--split", default="train,val", help="comma-separated splits to read (default train,val)")
    p.add_argument("--plot", type=a.output_file, help="also write a bar chart of the class frequencies (PNG)")
    p.add_argument("--csv", type=a.output_file, help="also write the class frequencies (first split) as CSV")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    _folder_options(p)
    p.set_defaults(func=commands.cmd_check_data)

    p = sub.add_parser("book-cache", help="train (once) and cache the models the profile trains (the book's)")
    p.add_argument("--cache", type=a.output_dir, help=CACHE_HELP)
    p.set_defaults(func=commands.cmd_book_cache)

    p = sub.add_parser(
        "ablate",
        help="re-run the BiSeNet V2 paper's ablations (Table 2, Table 3a), results with provenance in a CSV",
        description="Trains every (seed, variant) of the paper's Table 2 and Table 3a with the profile's "
        "ablation recipe (bisenetv2-ablation-<scale>) and appends one row per run to the CSV "
        "(default ablations_<scale>.csv in the current folder; the book reads "
        "book/data/ablations_<scale>*.csv). Runs already in the CSV are skipped, so an "
        "interrupted grid resumes; an interrupted run resumes from its last checkpoint.",
    )
    p.add_argument(
        "--scale",
        choices=["smoke", "cpu", "cpu-256", "gpu", "gpu-dryrun"],
        required=True,
        help="the profile whose ablation recipe and data to use: smoke (seconds), cpu (minutes per "
        "run), gpu, gpu-dryrun (the gpu grid at smoke sizes on the CPU); or cpu-256, the "
        "aggregation x booster grid at 256x256 crops and 1,200 iterations (about 40 min "
        "a run single-threaded), the budget V1 and V2 share",
    )
    p.add_argument(
        "--variants",
        type=_variants,
        default="all",
        help="all, table2, table3a, or names: detail,semantic,sum,concat,bga,"
        "bga+booster,bga+booster+ohem,sum+booster,concat+booster,lambda=1/2,lambda=1/8,"
        "lambda=1/16",
    )
    p.add_argument("--seeds", type=a.seeds, default=(0,), help="comma-separated seeds (default 0)")
    p.add_argument("--csv", type=a.output_file, help="results file (default: ablations_<scale>.csv)")
    p.add_argument(
        "--data-root", type=a.input_dir, help="dataset root (default: the scale's MiniCity, generated in the cache)"
    )
    p.add_argument("--dataset", choices=["cityscapes", "minicity"], help="with --data-root: its kind")
    p.add_argument("--work-dir", type=a.output_dir, help="where the runs train (default: <cache>/ablations/<scale>)")
    p.add_argument("--cache", type=a.output_dir, help=CACHE_HELP)
    p.add_argument("--iters", type=a.positive_int, help="override the recipe's iterations")
    p.add_argument(
        "--val-every",
        type=a.positive_int,
        help="also validate every N iterations (default: at the end only); with --keep-runs "
        "each run's log.jsonl keeps its mIoU curve",
    )
    p.add_argument("--device", help=DEVICE_HELP)
    p.add_argument("--keep-runs", action="store_true", help="keep each run's directory (checkpoints, log)")
    p.add_argument(
        "--curves",
        type=a.output_file,
        help="with --keep-runs: write the validation curves of this call's runs (variant, seed, "
        "iter, mIoU, provenance) to this CSV, replacing theirs in it and keeping the others",
    )
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=commands.cmd_ablate)

    p = sub.add_parser("minicity", help="generate MiniCity, the synthetic city in Cityscapes' layout")
    p.add_argument("--out", required=True, type=a.output_dir, help="output folder (the dataset root)")
    p.add_argument("--train", type=a.non_negative_int, default=40, help="training images (default 40)")
    p.add_argument("--val", type=a.non_negative_int, default=10, help="validation images (default 10)")
    p.add_argument("--size", type=a.size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--seed", type=a.non_negative_int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing MiniCity in --out")
    p.set_defaults(func=commands.cmd_minicity)

    p = sub.add_parser("eval", help="evaluate a checkpoint: mIoU, per-class IoU (whole, slide or ms+flip)")
    p.add_argument(
        "--model",
        type=a.model_name,
        help="the checkpoint's model: read off the file when omitted, checked against it when given",
    )
    p.add_argument(
        "--checkpoint", type=a.existing_file, help="the checkpoint to evaluate (any layout the package reads)"
    )
    p.add_argument("--onnx", type=a.existing_file, help="or an exported graph (fp32 or int8; logits, not --argmax)")
    p.add_argument(
        "--data",
        choices=["cityscapes", "minicity", "cocostuff", "folder", "camvid"],
        help="the dataset (default: recognised from --data-root)",
    )
    p.add_argument("--data-root", type=a.input_dir, help="dataset root (cityscapes: default $CITYSCAPES_DATASET)")
    _folder_options(p)
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
    p.set_defaults(func=commands.cmd_eval)

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
    p.add_argument("--row", type=_zoo_row, help="verify: the row's name (default: the file's name)")
    p.add_argument("--data-root", type=a.input_dir, help="verify: also evaluate on this dataset root (val, whole mode)")
    p.add_argument("--device", help=DEVICE_HELP)
    p.set_defaults(func=commands.cmd_zoo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit status (2: refused input, with a one-line message)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help (0) or a refused argument (2), already printed
        return int(e.code or 0)
    if not getattr(args, "func", None):
        print("bisenet: error: no command given (see bisenet --help)", file=sys.stderr)
        return 2
    import warnings

    from bisenet.errors import BiSeNetError

    try:
        with warnings.catch_warnings():
            warnings.formatwarning = _one_line_warning
            warnings.filterwarnings("once", category=UserWarning)  # a warning met twice is said once
            _refuse_clashing_paths(parser, args)
            return args.func(args)
    except BiSeNetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:  # Ctrl-C: no traceback; what was written is whole (bisenet.atomic)
        print(f"interrupted{': ' + str(e) if str(e) else ''}", file=sys.stderr)
        return 130


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """A warning as the command line shows it: ``warning: ...``, without Python's file and line."""
    return f"warning: {message}\n"


def _refuse_clashing_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Refuse an output that is also an input of the command, or two outputs at one path (one
    would overwrite the other): e.g. ``export --checkpoint X --onnx X`` or ``bench --csv F --plot F``."""
    from bisenet.errors import UsageError

    sub = next(x for x in parser._actions if isinstance(x, argparse._SubParsersAction)).choices[args.command]
    reads = (a.existing_file, a.input_file)
    writes = (a.output_file,)
    seen: dict = {}
    for action in sub._actions:
        value = getattr(args, action.dest, None)
        if value is None or action.type not in reads + writes:
            continue
        name = (action.option_strings or [action.dest])[0]
        key, this_reads = Path(value).expanduser().resolve(), action.type in reads
        if key in seen and not (seen[key][1] and this_reads):  # reading one file twice is fine
            first, first_reads = seen[key]
            what = (
                "the output would overwrite the input"
                if first_reads or this_reads
                else "one output would overwrite the other"
            )
            raise UsageError(f"{name} {value} is also {first}: {what}; give another file")
        seen.setdefault(key, (name, this_reads))


if __name__ == "__main__":
    sys.exit(main())
