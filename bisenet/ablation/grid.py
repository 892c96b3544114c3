"""Training a grid: every (seed, variant) not yet in its results file, one row each with its
provenance, resumable run by run; and the validation curves of the kept runs."""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from bisenet.ablation.variants import VARIANTS, base_recipe, complexity, grid_data, parse_variants
from bisenet.atomic import check_writable, write_csv
from bisenet.cache import cache_dir
from bisenet.errors import UsageError


def _final_metrics(log: Path, iters: int) -> dict | None:
    """The validation record of the run's last iteration, if the run got there."""
    from bisenet.engine.run_log import read_log

    if not log.exists():
        return None
    records = read_log(log)
    last = records[(records["kind"] == "val") & (records["iter"] == iters)]
    return None if last.empty else last.iloc[-1].to_dict()


GRID_KEYS = ["variant", "seed", "iters", "data_root"]  # the columns that say which run a row is


def _done_runs(csv: Path | None, overwrite: bool) -> pd.DataFrame:
    """The rows of an existing results file (the grid skips their runs); a file that is not a grid's
    table is refused unless ``overwrite`` (then it is replaced by this grid's rows)."""
    empty = pd.DataFrame(columns=GRID_KEYS)
    if csv is None or not csv.exists():
        return empty
    try:
        done = pd.read_csv(csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        done = None
    if done is not None and set(GRID_KEYS) <= set(done.columns):
        return done
    if overwrite:
        csv.unlink()
        return empty
    raise UsageError(
        f"{csv} exists and is not an ablation table (no {', '.join(GRID_KEYS)} columns): pass --overwrite to "
        "replace it, or give another --csv"
    )


CURVE_KEYS = ["variant", "seed", "iter", "mIoU"]  # the columns of a curves table


def check_curves_file(path: Path, overwrite: bool = False) -> None:
    """Refuse, before any run, a ``--curves`` file that exists and is not a curves table
    (:func:`learning_curves`'s columns), unless ``overwrite``."""
    if path.exists() and not overwrite and _curves_table(path) is None:
        raise UsageError(
            f"{path} exists and is not a table of validation curves (no {', '.join(CURVE_KEYS)} columns): pass "
            "--overwrite to replace it, or give another --curves file"
        )


def _curves_table(path: Path) -> pd.DataFrame | None:
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError):
        return None
    return table if set(CURVE_KEYS) <= set(table.columns) else None


def write_curves(path: Path, curves: pd.DataFrame, overwrite: bool = False) -> Path:
    """Write ``curves`` to ``path``: the runs in it replace the same (variant, seed) rows of an
    existing curves table, whose other runs are kept (a file shared by several calls); an
    existing file that is no curves table is replaced only with ``overwrite``."""
    check_curves_file(path, overwrite)
    kept = _curves_table(path) if path.exists() else None
    if kept is not None:
        ours = kept.set_index(["variant", "seed"]).index.isin(list(zip(curves["variant"], curves["seed"])))
        curves = pd.concat([kept[~ours], curves], ignore_index=True)
    return write_csv(path, curves, overwrite=True)


def _append_row(csv: Path, row: dict) -> None:
    """Add a row to ``csv`` atomically (a crash leaves the old file, never half a row); the file is
    this grid's table (checked by :func:`_done_runs` before the first run)."""
    table = pd.read_csv(csv) if csv.exists() else pd.DataFrame()
    write_csv(csv, pd.concat([table, pd.DataFrame([row])], ignore_index=True), overwrite=True)


def default_work_root(scale: str, cache: str | Path | None = None) -> Path:
    """Where :func:`run_ablation` trains a scale's runs when no ``work_root`` is given."""
    return cache_dir(cache) / "ablations" / scale


@dataclass(frozen=True, kw_only=True)
class GridOptions:
    """Where a grid reads and writes, and how it runs.

    Args:
        csv: the results file; rows already in it are skipped (an interrupted grid resumes). None
            keeps the rows in memory only. An existing file that is not an ablation table is
            refused unless ``overwrite`` (then replaced).
        work_root: where the runs train (``<variant>-seed<seed>``). Default
            ``<cache>/ablations/<scale>``.
        cache: where the scale's data is generated and, by default, where the runs train
            (:func:`bisenet.cache.cache_dir`).
        data_root, dataset: the data. Default: the scale's (:func:`grid_data`).
        device: where to train. Default: this process's GPU, else the CPU.
        iters: override the recipe's iterations.
        val_interval: also validate every that many iterations (default: at the end only); with
            ``keep_runs`` each run's ``log.jsonl`` then holds its mIoU curve. The row's mIoU is the
            last iteration's either way.
        keep_runs: keep each run's folder (checkpoints, log) after its row is written.
        curves: with ``keep_runs``: write the validation curves of this call's runs
            (:func:`learning_curves`) to this CSV, replacing theirs in it and keeping the others.
        progress: print progress. Default True.
        command: recorded in every row (the CLI passes its command line).
        flops_size: the input at which GFLOPs are counted. Default 512x1024 (a smaller one makes
            a smoke grid quick).
        overwrite: replace a ``csv`` or ``curves`` file that is not this kind of table.
    """

    csv: str | Path | None = None
    work_root: str | Path | None = None
    cache: str | Path | None = None
    data_root: str | Path | None = None
    dataset: str | None = None
    device: str | None = None
    iters: int | None = None
    val_interval: int | None = None
    keep_runs: bool = False
    curves: str | Path | None = None
    progress: bool = True
    command: str = "bisenet.ablation.run_ablation"
    flops_size: tuple[int, int] = (512, 1024)
    overwrite: bool = False


def run_ablation(
    scale: str,
    variants: list[str] | None = None,
    seeds: tuple[int, ...] = (0,),
    options: GridOptions | None = None,
    **fields,
) -> pd.DataFrame:
    """Train and evaluate every (seed, variant) not yet in the results file; return the whole table.

    Seeds are the outer loop, so a grid stopped early holds complete seeds. Each finished run
    appends one row (:func:`grid_row`): variant, seed, final val mIoU/mAcc/aAcc (the last
    iteration's, never the best one: choosing the best on val would flatter every row), inference
    parameters and GFLOPs, the training time of this call (a resumed run counts only what was
    left) and provenance. A run interrupted after a checkpoint resumes from it; one interrupted
    before starts again. Run folders are deleted after their row is written unless ``keep_runs``
    (only what the run wrote: a user's file in one is kept).

    Args:
        scale: a profile's name, or "cpu-256" (:data:`SCALES`).
        variants: the rows to run (:data:`VARIANTS` names). Default: every row of both tables.
        seeds: the seeds. Default (0,).
        options: where and how (:class:`GridOptions`). Default: its defaults.
        **fields: :class:`GridOptions` fields by name, a shorthand.
    """
    from bisenet.devices import resolve_device
    from bisenet.engine.run_log import remove_run

    options = dataclasses.replace(options or GridOptions(), **fields)
    device = str(resolve_device(options.device))  # refused now, not after the data is made
    base = _grid_recipe(scale, options)
    # the outputs are refused now, before the data is made and hours of training, not after
    csv = check_writable(options.csv) if options.csv else None
    if options.curves is not None:
        if not options.keep_runs:
            raise UsageError("curves are read from the kept runs' logs: add --keep-runs (and --val-every N)")
        check_curves_file(Path(options.curves), options.overwrite)
    done = _done_runs(csv, options.overwrite)
    dataset, data_root = _grid_dataset(scale, options)
    work_root = Path(options.work_root) if options.work_root else default_work_root(scale, options.cache)
    _refuse_another_setup(done, csv, base, data_root)
    names = variants or parse_variants("all")
    rows = []
    for seed in seeds:
        for name in names:
            if ((done["variant"] == name) & (done["seed"] == seed)).any():
                continue
            work_dir = work_root / f"{name}-seed{seed}"
            recipe = VARIANTS[name].recipe(base, seed).with_(dataset=dataset)
            start = time.perf_counter()
            metrics = _train_to_the_end(recipe, data_root, work_dir, device, options.progress)
            train_seconds = time.perf_counter() - start
            row = grid_row(VARIANTS[name], seed, recipe, metrics, work_dir, options, scale=scale, base=base.name)
            row.update(data_root=str(data_root), train_seconds=round(train_seconds, 1))
            rows.append(row)
            if csv:
                _append_row(csv, row)
            if options.progress:
                print(f"{name} seed {seed}: val mIoU {row['mIoU']:.2f} % ({row['train_seconds']:.0f} s)", flush=True)
            if not options.keep_runs:
                kept = remove_run(work_dir)  # only what the run wrote
                if kept and options.progress:
                    print(f"{work_dir}: kept {', '.join(kept)}, which no run wrote", flush=True)
    if options.curves is not None:
        curves = learning_curves(work_root, names, tuple(seeds)).assign(command=options.command)
        write_curves(Path(options.curves), curves, overwrite=options.overwrite)
    new = pd.DataFrame(rows)
    return pd.concat([done, new], ignore_index=True) if len(done) else new


def _grid_recipe(scale: str, options: GridOptions):
    """The scale's base recipe with this call's iterations and validation interval."""
    base = base_recipe(scale)
    if options.iters is not None:
        base = base.with_(iters=options.iters, val_interval=options.iters)
    if options.val_interval is not None:
        if not isinstance(options.val_interval, int) or options.val_interval < 1:
            raise UsageError(f"val_interval must be a positive number of iterations, got {options.val_interval!r}")
        base = base.with_(val_interval=min(options.val_interval, base.iters))
    return base


def _grid_dataset(scale: str, options: GridOptions) -> tuple[str, Path]:
    """(dataset, root) of this call: the given ones, else the scale's (made on first use)."""
    if options.dataset is not None and options.data_root is None:
        raise UsageError(
            f"dataset {options.dataset!r} without its data root: give --data-root (data_root=) with --dataset, or "
            "leave both out for the scale's own MiniCity"
        )
    if options.data_root is None:
        return grid_data(scale, options.cache)
    return options.dataset or base_recipe(scale).dataset, Path(options.data_root)


def _refuse_another_setup(done: pd.DataFrame, csv: Path | None, base, data_root: Path) -> None:
    """A results file holds one set-up: refuse to add runs of other iterations or other data (the
    same data generated in another clone has another absolute path: folder names are compared)."""
    for column, value in (("iters", base.iters), ("data_root", Path(data_root).name)):
        values = done[column].astype(str) if len(done) and column in done else pd.Series(dtype=str)
        if column == "data_root":
            values = values.map(lambda v: Path(v).name)
        other = sorted(set(values) - {str(value)})
        if other:
            raise UsageError(
                f"{csv} holds runs with {column} {other}, this grid has {value}: write to another --csv "
                "(or delete that file) rather than mix two set-ups in one table"
            )


def _train_to_the_end(recipe, data_root: Path, work_dir: Path, device: str, progress: bool) -> dict:
    """The final validation of the run in ``work_dir``: read off its log when it got there, else
    after training it (resumed from its last checkpoint, else started clean)."""
    from bisenet.engine.run_log import LOG_FILE
    from bisenet.engine.trainer import train

    metrics = _final_metrics(work_dir / LOG_FILE, recipe.iters)
    if metrics is None:
        train(recipe, data_root=data_root, work_dir=work_dir, resume="auto", device=device, progress=progress)
        metrics = _final_metrics(work_dir / LOG_FILE, recipe.iters)
    return metrics


def grid_row(
    variant, seed: int, recipe, metrics: dict, work_dir: Path, options: GridOptions, *, scale: str, base: str
) -> dict:
    """One run's row of the results table: the variant and the paper's figures for it, the final
    validation, parameters and GFLOPs, the set-up (``data_root`` and ``train_seconds`` are filled
    in by the caller, in their places) and the run's provenance (its ``run.json``).

    Args:
        variant: the row's :class:`Variant`.
        seed: the run's seed.
        recipe: the run's recipe (iterations, crop, batch, dataset).
        metrics: its final validation (fractions, as the log holds them).
        work_dir: its folder (for ``run.json``).
        options: the grid's options (GFLOPs size, command).
        scale: the grid's scale.
        base: the name of the grid's base recipe.
    """
    from bisenet.engine.run_log import read_run_info

    info = read_run_info(work_dir) or {}
    return {
        "variant": variant.name,
        "table": variant.table,
        "paper_label": variant.label,
        "seed": seed,
        "mIoU": 100 * metrics["mIoU"],
        "mAcc": 100 * metrics["mAcc"],
        "aAcc": 100 * metrics["aAcc"],
        "paper_mIoU": variant.paper_miou,
        "paper_gflops": variant.paper_gflops,
        **complexity(variant.name, options.flops_size),
        "booster": variant.booster,
        "loss": variant.loss,
        "model_options": json.dumps(variant.model_options),
        "scale": scale,
        "recipe": base,
        "iters": recipe.iters,
        "crop": f"{recipe.crop_size[0]}x{recipe.crop_size[1]}",
        "batch": recipe.global_batch,
        "dataset": recipe.dataset,
        "data_root": None,
        "train_seconds": None,
        "command": options.command,
        **{k: info[k] for k in ("date", "commit", "torch", "cpu", "threads", "device")},
        "gpu": info.get("gpu", ""),
    }


def learning_curves(
    work_root: str | Path, variants: list[str] | None = None, seeds: tuple[int, ...] | None = None
) -> pd.DataFrame:
    """The validation curve of every run kept under ``work_root`` (``bisenet ablate --keep-runs
    --val-every N``): one row per (variant, seed, iteration) with val mIoU/mAcc/aAcc in percent and
    the run's provenance (recipe, iterations, commit, torch, CPU, threads, device, date).

    Run directories are ``<variant>-seed<seed>`` as :func:`run_ablation` names them (only
    ``variants`` and ``seeds`` are read, every one kept when None); a run not yet
    at its end contributes what it has (``complete`` says which reached their last iteration). A
    validation repeated after a resume counts once (the later record)."""
    from bisenet.engine.run_log import LOG_FILE, read_log, read_run_info

    work_root = Path(work_root)
    rows = []
    for name in variants or list(VARIANTS):
        for log in sorted(work_root.glob(f"{name}-seed*/{LOG_FILE}")):
            seed = int(log.parent.name.rsplit("-seed", 1)[1])
            if seeds is not None and seed not in seeds:
                continue
            records = read_log(log)
            val = records[records["kind"] == "val"].drop_duplicates("iter", keep="last")
            info = read_run_info(log.parent) or {}
            iters = info["recipe"]["iters"]
            run = {
                "iters": iters,
                "complete": bool((val["iter"] == iters).any()),
                "recipe": info["recipe"]["name"],
                **{k: info.get(k, "") for k in ("date", "commit", "torch", "cpu", "threads", "device")},
            }
            for record in val.itertuples():
                rows.append(
                    {
                        "variant": name,
                        "seed": seed,
                        "iter": int(record.iter),
                        "mIoU": 100 * record.mIoU,
                        "mAcc": 100 * record.mAcc,
                        "aAcc": 100 * record.aAcc,
                        **run,
                    }
                )
    columns = [
        "variant",
        "seed",
        "iter",
        "mIoU",
        "mAcc",
        "aAcc",
        "iters",
        "complete",
        "recipe",
        "date",
        "commit",
        "torch",
        "cpu",
        "threads",
        "device",
    ]
    return pd.DataFrame(rows, columns=columns)
