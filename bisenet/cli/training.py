"""The ``bisenet`` commands for recipes, training runs (a recipe or your own data) and the ablation
grid; the data they need.

Each command is declared (``add_<command>``: its arguments) beside what it does (``cmd_<command>``:
call the library, print). Heavy imports happen inside each command, so that parsing (and
``--help``) stays quick."""

from __future__ import annotations

import argparse
import os

from bisenet.cli import arguments as a
from bisenet.cli.options import CACHE_HELP, DEVICE_HELP, OVERWRITE_HELP, add_folder_options, folder_options


def add_recipes(sub) -> None:
    p = sub.add_parser("recipes", help="the training recipes, beside mmsegmentation's configs")
    p.add_argument("--model-zoo-only", action="store_true", help="leave out the profiles' recipes")
    p.add_argument("--csv", type=a.output_file, help="also write the table to this CSV file")
    p.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    p.set_defaults(func=cmd_recipes)


def cmd_recipes(args: argparse.Namespace) -> int:
    from bisenet.atomic import write_csv
    from bisenet.recipes import recipe_table

    table = recipe_table(include_profiles=not args.model_zoo_only)
    print(
        "Recipes (batch = GPUs x images per GPU; 'config' columns: the values of the config of the same name, "
        "mmsegmentation 1.2.2's or sssegmentation 1.7.0's as the 'config' column says)"
    )
    print(table.to_string(index=False))
    if args.csv:
        print(f"wrote {write_csv(args.csv, table, overwrite=args.overwrite)}")
    return 0


def add_train(sub) -> None:
    p = sub.add_parser(
        "train",
        help="train a recipe, or a model on your own data (under torchrun for several GPUs)",
        description="Either --recipe NAME (a model-zoo or profile recipe, `bisenet recipes`), or "
        "--model NAME --data-root ROOT for a folder dataset (classes.csv, images/, masks/) "
        "or CamVid: a recipe derived from the model zoo's for the model, after the data "
        "checker has passed the data (bisenet check-data).",
    )
    p.add_argument("--recipe", type=a.recipe_name, help="a recipe name (see `bisenet recipes`)")
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
    add_folder_options(p)
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
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from bisenet.engine.runs import RecipeOverrides, recipe_to_run
    from bisenet.engine.trainer import TrainOptions, train

    overrides = RecipeOverrides(
        iters=args.iters,
        amp=args.amp,
        gpus=args.gpus,
        batch_per_gpu=args.batch_per_gpu,
        lr=args.lr,
        workers=args.workers,
        seed=args.seed,
        loss=args.loss,
        bn_momentum_per_iteration=args.bn_momentum_per_iteration,
        channels_last=args.channels_last,
    )
    recipe = _own_data_recipe(args) if args.model else _named_recipe(args)
    recipe = recipe_to_run(recipe, overrides, resume=args.resume, work_dir=args.work_dir)
    options = TrainOptions(
        data_root=args.data_root,
        work_dir=args.work_dir,
        resume=args.resume,
        device=args.device,
        pretrained=args.pretrained,
        compile=args.compile,
        sync_bn=args.sync_bn,
        stop_after=args.stop_after,
        tensorboard=args.tensorboard,
    )
    result = train(recipe, options)
    if int(os.environ.get("RANK", "0")) == 0:
        best = "n/a" if result.best_miou is None else f"{100 * result.best_miou:.2f}"
        print(
            f"stopped at iteration {result.iteration}; best val mIoU {best}; last checkpoint {result.last_checkpoint}; "
            f"log {result.log}"
        )
    return 0


def _named_recipe(args: argparse.Namespace):
    """``train --recipe NAME``: the recipe, with ``--init``; the options of your own data refused."""
    from bisenet.errors import UsageError
    from bisenet.recipes import get_recipe

    if not args.recipe:
        raise UsageError("give --recipe NAME (`bisenet recipes`), or --model NAME with --data-root for your own data")
    if args.class_weights != "none":
        raise UsageError("--class-weights is for your own data (--model with --data-root)")
    for flag in ("epochs", "crop", "batch"):
        if getattr(args, flag) is not None:
            raise UsageError(
                f"--{flag} is for your own data (--model with --data-root); with --recipe use "
                "--iters, --batch-per-gpu and the recipe's crop"
            )
    recipe = get_recipe(args.recipe)
    return recipe.with_(init=str(args.init)) if args.init else recipe


def add_check_data(sub) -> None:
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
    add_folder_options(p)
    p.set_defaults(func=cmd_check_data)


def cmd_check_data(args: argparse.Namespace) -> int:
    from bisenet.atomic import write_csv
    from bisenet.data import resolve_dataset_kind
    from bisenet.engine.own_data import OWN_DATA_KINDS, check_data
    from bisenet.errors import UsageError

    kind = resolve_dataset_kind(args.data, args.data_root)
    if kind not in OWN_DATA_KINDS:
        raise UsageError(f"{args.data_root} holds {kind}; check-data reads folder datasets (classes.csv) and CamVid")
    splits = tuple(s.strip() for s in args.split.split(","))  # an empty name is refused by check()
    report = check_data(args.data_root, kind, folder_options(args), splits=splits)
    print(report.summary())
    first = next(iter(report.pixels), None)
    if args.plot and first:
        print(f"wrote {report.plot(args.plot, first, overwrite=args.overwrite)}")
    if args.csv and first:
        print(f"wrote {write_csv(args.csv, report.frequencies(first).reset_index(), overwrite=args.overwrite)}")
    return 0 if report.ok else 1


def add_book_cache(sub) -> None:
    p = sub.add_parser("book-cache", help="train (once) and cache the models the profile trains (the book's)")
    p.add_argument("--cache", type=a.output_dir, help=CACHE_HELP)
    p.set_defaults(func=cmd_book_cache)


def cmd_book_cache(args: argparse.Namespace) -> int:
    from bisenet.book.chapter import banner
    from bisenet.book.trained import prepare_all
    from bisenet.cache import cache_dir

    banner(cache=args.cache)
    for name, seconds in prepare_all(cache=args.cache).items():
        print(f"{name}: ready in {cache_dir(args.cache)} ({seconds:.0f} s)")
    return 0


def add_ablate(sub) -> None:
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
        type=a.variants,
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
    p.set_defaults(func=cmd_ablate)


def cmd_ablate(args: argparse.Namespace) -> int:
    from bisenet.ablation import GridOptions, parse_variants, results_name, run_ablation, summarize

    csv = args.csv or results_name(args.scale)
    options = GridOptions(
        csv=csv,
        work_root=args.work_dir,
        cache=args.cache,
        data_root=args.data_root,
        dataset=args.dataset,
        device=args.device,
        iters=args.iters,
        val_interval=args.val_every,
        keep_runs=args.keep_runs,
        curves=args.curves,
        progress=not args.quiet,
        command=_ablate_command(args),
        overwrite=args.overwrite,
    )
    results = run_ablation(args.scale, parse_variants(args.variants), args.seeds, options)
    print(f"{len(results)} runs in {csv}" + (f"; their validation curves in {args.curves}" if args.curves else ""))
    print(summarize(results).to_string(float_format=lambda v: f"{v:.2f}"))
    return 0


def add_minicity(sub) -> None:
    p = sub.add_parser("minicity", help="generate MiniCity, the synthetic city in Cityscapes' layout")
    p.add_argument("--out", required=True, type=a.output_dir, help="output folder (the dataset root)")
    p.add_argument("--train", type=a.non_negative_int, default=40, help="training images (default 40)")
    p.add_argument("--val", type=a.non_negative_int, default=10, help="validation images (default 10)")
    p.add_argument("--size", type=a.size, default=(512, 1024), help="HxW (default 512x1024)")
    p.add_argument("--seed", type=a.non_negative_int, default=0)
    p.add_argument("--overwrite", action="store_true", help="replace an existing MiniCity in --out")
    p.set_defaults(func=cmd_minicity)


def cmd_minicity(args: argparse.Namespace) -> int:
    import time

    from bisenet.data.minicity import generate_minicity

    start = time.perf_counter()
    out = generate_minicity(
        args.out, train=args.train, val=args.val, size=args.size, seed=args.seed, overwrite=args.overwrite
    )
    seconds = time.perf_counter() - start
    n = args.train + args.val
    h, w = args.size
    print(f"MiniCity: {args.train} train + {args.val} val images of {h}x{w} (seed {args.seed}) in {out}")
    print(f"{seconds:.1f} s ({n / max(seconds, 1e-9):.1f} images/s; 0 s if it was already there)")
    return 0


def _own_data_recipe(args: argparse.Namespace):
    """``train --model M --data-root ROOT``: the derived recipe (bisenet.engine.own_data)."""
    from bisenet.engine.own_data import data_recipe
    from bisenet.errors import UsageError

    if args.recipe:
        raise UsageError("give --recipe NAME or --model NAME with --data-root, not both")
    if args.data_root is None:
        raise UsageError("--model NAME trains on your own data: give --data-root (a folder with classes.csv)")
    recipe, report = data_recipe(
        args.model,
        args.data_root,
        data=args.data or "auto",
        options=folder_options(args),
        crop=args.crop,
        iters=args.iters,
        epochs=args.epochs,
        batch=args.batch,
        loss=args.loss or "ce",
        class_weights=args.class_weights,
        init=args.init,
    )
    for problem in report.problems:  # warnings only: errors were refused
        print(problem.describe())
    weights = "" if recipe.class_weights is None else f"; class weights (ENet) {list(recipe.class_weights)}"
    print(f"{recipe.name}: {recipe.summary}; {recipe.notes}{weights}", flush=True)
    return recipe


def _ablate_command(args: argparse.Namespace) -> str:
    """The command line that reproduces a grid, written into every row of its results."""
    seeds = ",".join(map(str, args.seeds))
    words = ["bisenet ablate", f"--scale {args.scale}", f"--variants {args.variants}", f"--seeds {seeds}"]
    for flag in ("iters", "val_every", "dataset", "device"):
        if getattr(args, flag):
            words.append(f"--{flag.replace('_', '-')} {getattr(args, flag)}")
    if args.data_root:
        words.append("--data-root <dataset root>")
    return " ".join(words)


# the commands of this module, in the order ``bisenet --help`` lists them
COMMANDS = (add_recipes, add_train, add_check_data, add_book_cache, add_ablate, add_minicity)
