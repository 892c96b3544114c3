"""The commands of ``bisenet``: each takes the parsed arguments, calls the library and prints
what it returns (the parser is in :mod:`bisenet.cli`). Heavy imports happen inside each
command, so that parsing (and ``--help``) stays quick."""

from __future__ import annotations

import argparse
import os
import sys


def _command_line() -> str:
    return "bisenet " + " ".join(sys.argv[1:])


def cmd_models(args: argparse.Namespace) -> int:
    from bisenet.analysis.flops import parameter_table

    table = parameter_table(args.num_classes)
    thousands = {"params_inference": "{:,}".format, "params_with_aux": "{:,}".format}
    print(table.to_string(index=False, formatters=thousands))
    return 0


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


def cmd_eval(args: argparse.Namespace) -> int:
    from bisenet.atomic import refuse_foreign_json, write_json
    from bisenet.data import EVAL_SCALES, build_dataset, eval_pipeline, resolve_dataset_kind
    from bisenet.devices import resolve_device
    from bisenet.engine.evaluator import check_class_names, evaluate
    from bisenet.errors import UsageError

    if (args.checkpoint is None) == (args.onnx is None):
        raise UsageError(
            "give --checkpoint FILE (a PyTorch checkpoint) or --onnx FILE (an exported graph), one of them"
        )
    if args.onnx is not None:  # an exported graph (fp32 or int8), run by onnxruntime on the CPU
        from bisenet.quantize import OnnxSegmenter

        if (args.device or "cpu") != "cpu" or args.model:
            raise UsageError(
                "--onnx runs the graph with ONNX Runtime on the CPU, and the graph says what it is: "
                "drop --device and --model"
            )
        device = resolve_device("cpu")
        model = OnnxSegmenter(args.onnx)
        model_name, model_classes = f"onnx: {args.onnx.name}", model.classes
    else:
        from bisenet.checkpoint import load_checkpoint
        from bisenet.interop import load_model
        from bisenet.models import model_spec

        device = resolve_device(args.device)
        model = load_model(args.checkpoint, args.model).to(device)  # by path: its errors name the file
        model_name, model_classes = model_spec(model)[0], load_checkpoint(args.checkpoint).classes
    args.data = resolve_dataset_kind(args.data, args.data_root)
    scale = args.scale if args.scale is not None else EVAL_SCALES[args.data]
    dataset = build_dataset(
        args.data,
        args.data_root,
        args.split,
        eval_pipeline(scale),
        options=folder_options(args) if args.data == "folder" else None,
    )
    if len(dataset.classes) != model.num_classes:
        raise UsageError(
            f"{args.checkpoint or args.onnx} predicts {model.num_classes} classes, {dataset.name} has "
            f"{len(dataset.classes)}: another dataset's model?"
        )
    check_class_names(model_classes, dataset.classes, str(args.checkpoint or args.onnx))
    if args.mode != "slide" and (args.crop or args.stride):
        raise UsageError(f"--crop and --stride are the windows of --mode slide; --mode {args.mode} would ignore them")
    crop, stride = args.crop or (1024, 1024), args.stride or (768, 768)
    metrics = evaluate(
        model,
        dataset,
        args.mode,
        crop,
        stride,
        device=device,
        num_workers=args.workers,
        prediction_dir=args.predictions,
        label_ids=dataset.prediction_ids,
    )
    print(f"{model_name} on {dataset.name}, mode {args.mode}: {metrics.summary()}")
    print(metrics.to_dataframe().round(2).to_string())
    if args.json:
        result = {
            "model": model_name,
            "checkpoint": str(args.checkpoint or args.onnx),
            "data": args.data,
            "split": args.split,
            "mode": args.mode,
            **metrics.__dict__,
        }
        if not args.overwrite:
            refuse_foreign_json(args.json, list(result))
        print(f"wrote {write_json(args.json, result)}")
    return 0


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


def folder_options(args: argparse.Namespace):
    """The folder-dataset options of a command's arguments (``_folder_options`` of the parser)."""
    from bisenet.data import FolderOptions

    return FolderOptions(
        img_suffix=args.img_suffix,
        seg_suffix=args.seg_suffix,
        reduce_zero_label=args.reduce_zero_label,
        unknown_colour=args.unknown_colour,
        ignore_colour=tuple(args.ignore_colour),
    )


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


def cmd_train(args: argparse.Namespace) -> int:
    from bisenet.engine.trainer import default_work_dir, recipe_of_run, train
    from bisenet.errors import UsageError
    from bisenet.recipes import get_recipe

    amp = None if args.amp == "none" else args.amp  # "none" is applied below (None means "not given")
    overrides = dict(
        iters=args.iters,
        amp=amp,
        gpus=args.gpus,
        batch_per_gpu=args.batch_per_gpu,
        lr=args.lr,
        workers=args.workers,
        seed=args.seed,
        bn_momentum_per_iteration=args.bn_momentum_per_iteration,
    )
    overrides.update(loss=args.loss)  # (with --model already in the derived recipe; on --resume they still count)
    if args.model:
        recipe = _own_data_recipe(args)
    elif args.recipe:
        recipe = get_recipe(args.recipe)
        overrides.update(init=str(args.init) if args.init else None)
        if args.class_weights != "none":
            raise UsageError("--class-weights is for your own data (--model with --data-root)")
        for flag in ("epochs", "crop", "batch"):
            if getattr(args, flag) is not None:
                raise UsageError(
                    f"--{flag} is for your own data (--model with --data-root); with --recipe use "
                    "--iters, --batch-per-gpu and the recipe's crop"
                )
    else:
        raise UsageError("give --recipe NAME (`bisenet recipes`), or --model NAME with --data-root for your own data")
    if args.resume:  # continue the run as it was started (its --iters, --lr, ...); options given still count
        work_dir = args.work_dir or default_work_dir(recipe)
        saved = recipe_of_run(work_dir)
        if saved is not None and saved.name != recipe.name:
            raise UsageError(
                f"--resume: {work_dir} holds a run of recipe {saved.name!r}, not {recipe.name!r}: "
                f"pass --recipe {saved.name} to continue it, or another --work-dir to start a new run"
            )
        recipe = saved or recipe
    recipe = recipe.with_(**{k: v for k, v in overrides.items() if v is not None})
    if args.amp == "none":
        recipe = recipe.with_(amp=None)
    if args.channels_last is not None:
        recipe = recipe.with_(channels_last=args.channels_last)
    result = train(
        recipe,
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
    if int(os.environ.get("RANK", "0")) == 0:
        best = "n/a" if result.best_miou is None else f"{100 * result.best_miou:.2f}"
        print(
            f"stopped at iteration {result.iteration}; best val mIoU {best}; "
            f"last checkpoint {result.last_checkpoint}; "
            f"log {result.log}"
        )
    return 0


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


def cmd_book_cache(args: argparse.Namespace) -> int:
    from bisenet.cache import cache_dir
    from bisenet.profiles import banner
    from bisenet.trained import prepare_all

    banner(cache=args.cache)
    for name, seconds in prepare_all(cache=args.cache).items():
        print(f"{name}: ready in {cache_dir(args.cache)} ({seconds:.0f} s)")
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:

    from bisenet.ablation import (
        check_curves_file,
        default_work_root,
        learning_curves,
        parse_variants,
        results_name,
        run_ablation,
        summarize,
        write_curves,
    )
    from bisenet.errors import UsageError

    csv = args.csv or results_name(args.scale)
    if args.curves and not args.keep_runs:
        raise UsageError("--curves reads the kept runs' logs: add --keep-runs (and --val-every N for a curve)")
    if args.curves:
        check_curves_file(args.curves, args.overwrite)  # before hours of training, not after
    variants = parse_variants(args.variants)
    results = run_ablation(
        args.scale,
        variants,
        args.seeds,
        csv=csv,
        work_root=args.work_dir,
        cache=args.cache,
        data_root=args.data_root,
        dataset=args.dataset,
        device=args.device,
        iters=args.iters,
        val_interval=args.val_every,
        keep_runs=args.keep_runs,
        progress=not args.quiet,
        command=_ablate_command(args),
        overwrite=args.overwrite,
    )
    print(f"{len(results)} runs in {csv}")
    if args.curves:
        work_root = args.work_dir or default_work_root(args.scale, args.cache)
        curves = learning_curves(work_root, variants, args.seeds).assign(command=_ablate_command(args))
        path = write_curves(args.curves, curves, overwrite=args.overwrite)
        print(f"wrote {path} ({len(curves)} validations of this call's runs)")
    print(summarize(results).to_string(float_format=lambda v: f"{v:.2f}"))
    return 0


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
