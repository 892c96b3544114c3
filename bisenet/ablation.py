"""The paper's ablations of BiSeNet V2 (Yu et al. 2021, Sec. 5.1), re-run with the package's engine.

* Table 2, the components: the detail branch alone, the semantic branch alone, the two branches
  aggregated by summation, by concatenation or by BGA, then + the booster heads, then + OHEM.
* Table 3a, the semantic branch's channel ratio lambda = 1/2, 1/4, 1/8, 1/16 (BGA, no booster;
  the 1/4 row is Table 2's BGA row).

Every variant is the same recipe (``bisenetv2-ablation-<scale>``) with only the model options, the
booster and the loss changed; every (variant, seed) is trained and evaluated by
:func:`bisenet.engine.trainer.train`. The results are rows of a CSV with their provenance (command,
commit, hardware, scale, data, date), written after each run, so an interrupted grid resumes where
it stopped (and an interrupted run from its last checkpoint)::

    bisenet ablate --scale cpu --seeds 0,1,2 --csv book/data/ablations_cpu.csv

A scale is a profile (``bisenet.profiles``): its ``ablation`` recipe and ``ablation_minicity``
data; or ``cpu-256``, the grid that can answer Table 2's questions on a CPU: the aggregation rows
with and without the booster, at 256x256 crops (the semantic branch's output 8x8, not 4x4),
1,200 iterations, the budget V1 and V2 share (``bisenet.profiles.BUDGET_RECIPES``). The paper's
numbers are the Cityscapes val mIoU of the V2 paper's Table 2 and Table 3a, and
Table 3a's GFLOPs (Yu et al., "BiSeNet V2", IJCV 2021, arXiv:2004.02147, Sec. 5.1), checked digit
by digit against images of the published Table 2 ("Ablations on Cityscapes": mIoU and GFLOPs at
2048x1024 per row) and Table 3 (a) ("Channel capacity ratio"), which a public paper review holds
(repository Sangh0/Segmentation, ``BiSeNetV2/figure/table2.JPG`` and ``table3.JPG``): every value
agrees; Table 3a also gives 19.61 GFLOPs at lambda = 1/16. The text of the paper (how many runs a
row is, "val" in Table 2's caption) was not reachable. The runs here are on whatever data the
scale uses (MiniCity, synthetic, unless Cityscapes is
given): only the *differences* between rows can be compared with the paper's.
"""

from __future__ import annotations

import functools
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bisenet.atomic import check_writable, write_csv
from bisenet.cache import cache_dir, cached_minicity
from bisenet.errors import UsageError
from bisenet.profiles import BUDGET_MINICITY, BUDGET_RECIPES, PROFILES, ablation_data, get_profile
from bisenet.recipes import V2_AUX, Recipe

# the grid of the shared CPU budget (chapter 16's answer to Table 2): not a profile of its own
BUDGET_SCALE = "cpu-256"
SCALES = (*PROFILES, BUDGET_SCALE)


@dataclass(frozen=True)
class Variant:
    """One row of the paper's ablation tables."""

    name: str
    table: str  # "Table 2", "Table 3a" or "Table 2 / 3a"
    label: str  # the row's name in the paper
    paper_miou: float | None  # Cityscapes val mIoU (%) in the V2 paper's Table 2 or 3a; None: not a paper row
    model_options: dict = field(default_factory=dict)
    booster: bool = False
    loss: str = "ce"
    paper_gflops: float | None = None  # Table 3a's GFLOPs (lambda = 1/2, 1/4, 1/8, 1/16); None elsewhere

    def recipe(self, base: Recipe, seed: int) -> Recipe:
        """``base`` with this variant's options, booster, loss and ``seed``."""
        return base.with_(
            name=f"{base.name}-{self.name}-seed{seed}",
            model_options=dict(self.model_options),
            aux_weights=V2_AUX if self.booster else (),
            loss=self.loss,
            seed=seed,
        )


VARIANTS: dict[str, Variant] = {
    v.name: v
    for v in [
        Variant("detail", "Table 2", "Detail only", 62.35, {"branches": "detail"}),
        Variant("semantic", "Table 2", "Semantic only", 64.68, {"branches": "semantic"}),
        Variant("sum", "Table 2", "Sum", 68.60, {"aggregation": "sum"}),
        Variant("concat", "Table 2", "Concat", 68.93, {"aggregation": "concat"}),
        Variant("bga", "Table 2 / 3a", "BGA (lambda = 1/4)", 69.67, {}, paper_gflops=21.15),
        Variant("bga+booster", "Table 2", "+ Booster", 73.19, {}, booster=True),
        # not rows of the paper: the booster on the other aggregations, so that "the booster helps"
        # is measured for each aggregation alike rather than only on BGA
        Variant("sum+booster", "beyond Table 2", "Sum + Booster", None, {"aggregation": "sum"}, booster=True),
        Variant("concat+booster", "beyond Table 2", "Concat + Booster", None, {"aggregation": "concat"}, booster=True),
        # OHEM on the main head only (the paper does not say which heads; the committed grids ran so)
        Variant("bga+booster+ohem", "Table 2", "+ OHEM", 73.36, {}, booster=True, loss="ohem"),
        Variant("lambda=1/2", "Table 3a", "lambda = 1/2", 69.66, {"semantic_ratio": 1 / 2}, paper_gflops=25.84),
        Variant("lambda=1/8", "Table 3a", "lambda = 1/8", 69.26, {"semantic_ratio": 1 / 8}, paper_gflops=19.93),
        Variant("lambda=1/16", "Table 3a", "lambda = 1/16", 68.27, {"semantic_ratio": 1 / 16}, paper_gflops=19.61),
    ]
}
TABLE2 = ("detail", "semantic", "sum", "concat", "bga", "bga+booster", "bga+booster+ohem")
# the aggregations with and without the booster: the six rows of the cpu-256 grid
AGGREGATION_X_BOOSTER = ("sum", "concat", "bga", "sum+booster", "concat+booster", "bga+booster")
TABLE3A = ("lambda=1/2", "bga", "lambda=1/8", "lambda=1/16")  # lambda = 1/2, 1/4, 1/8, 1/16
LAMBDA = {"lambda=1/2": 1 / 2, "bga": 1 / 4, "lambda=1/8": 1 / 8, "lambda=1/16": 1 / 16}


def base_recipe(scale: str) -> Recipe:
    """The recipe every variant of the grid at ``scale`` starts from (the profile's ``ablation``;
    for ``cpu-256`` the shared budget's V2 recipe)."""
    if scale not in SCALES:
        raise UsageError(f"ablation scale must be one of {SCALES}, got {scale!r}")
    if scale == BUDGET_SCALE:
        return BUDGET_RECIPES["bisenetv2"].with_(name="bisenetv2-ablation-cpu-256")
    return get_profile(scale).ablation


def grid_data(scale: str, cache: str | Path | None = None) -> tuple[str, Path]:
    """(dataset name, root) the grid at ``scale`` trains on: the profile's ablation data, or for
    ``cpu-256`` the cpu profile's MiniCity (256x512), made in ``cache`` on first use."""
    if scale == BUDGET_SCALE:
        return "minicity", cached_minicity(BUDGET_MINICITY, cache, cost=get_profile("cpu").cost("minicity"))
    return ablation_data(get_profile(scale), cache)


def results_name(scale: str) -> str:
    """The default file of a grid of ``scale``: ``ablations_<scale>.csv`` (the book keeps a Cityscapes
    grid in ``ablations_<scale>_cityscapes.csv``; :func:`load_results` tells them apart by their rows)."""
    return f"ablations_{scale}.csv"


def parse_variants(text: str) -> list[str]:
    """ "all", "table2", "table3a" or comma-separated variant names."""
    if text in ("all", ""):
        return list(dict.fromkeys(TABLE2 + TABLE3A))
    if text == "table2":
        return list(TABLE2)
    if text == "table3a":
        return list(TABLE3A)
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        raise UsageError(f"unknown ablation variant(s) {unknown}; use all, table2, table3a or some of {list(VARIANTS)}")
    return names


@functools.lru_cache(maxsize=None)
def _complexity(variant: str, size: tuple[int, int], num_classes: int) -> tuple[int, float]:
    from bisenet.analysis.flops import count_flops
    from bisenet.models import build_model

    model = build_model("bisenetv2", num_classes, aux_heads=False, **VARIANTS[variant].model_options)
    return sum(p.numel() for p in model.parameters()), count_flops(model, size).total() / 1e9


def complexity(variant: str, size: tuple[int, int] = (512, 1024), num_classes: int = 19) -> dict:
    """Inference parameters and fvcore GFLOPs of a variant at ``size`` (what Table 3a reports),
    as ``{"params": ..., "gflops_<H>x<W>": ...}``; computed once per process."""
    params, gflops = _complexity(variant, tuple(size), num_classes)
    return {"params": params, f"gflops_{size[0]}x{size[1]}": gflops}


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


def run_ablation(
    scale: str,
    variants: list[str] | None = None,
    seeds: tuple[int, ...] = (0,),
    csv: str | Path | None = None,
    work_root: str | Path | None = None,
    cache: str | Path | None = None,
    data_root: str | Path | None = None,
    dataset: str | None = None,
    device: str | None = None,
    iters: int | None = None,
    val_interval: int | None = None,
    keep_runs: bool = False,
    progress: bool = True,
    command: str = "bisenet.ablation.run_ablation",
    flops_size: tuple[int, int] = (512, 1024),
    overwrite: bool = False,
) -> pd.DataFrame:
    """Train and evaluate every (seed, variant) not yet in ``csv``; return the whole table.

    Seeds are the outer loop, so a grid stopped early holds complete seeds. Each finished run
    appends one row: variant, seed, final val mIoU/mAcc/aAcc (the last iteration's, never the
    best one: choosing the best on val would flatter every row), inference parameters and
    GFLOPs at ``flops_size``, the training time of this call (a resumed run counts only what was
    left) and provenance. ``data_root``/``dataset`` default to the
    scale's data (:func:`grid_data`). Run directories go under
    ``work_root`` (default: ``<cache>/ablations/<scale>``) and are deleted after their row is written unless
    ``keep_runs``. ``command`` is recorded in every row (the CLI passes its command line);
    ``flops_size`` is the input at which GFLOPs are counted (a smaller one makes a smoke grid quick).
    ``val_interval`` validates every that many iterations as well as at the end (default: at the end
    only); with ``keep_runs`` each run's ``log.jsonl`` then holds its mIoU curve
    (:func:`learning_curves`). The row's mIoU is the last iteration's either way. An existing
    ``csv`` that is not an ablation table is refused unless ``overwrite`` (then replaced).
    ``csv`` None keeps the rows in memory only. ``cache`` is where the scale's data is generated
    and, by default, where the runs train (:func:`bisenet.cache.cache_dir`).
    """
    from bisenet.checkpoint import latest_valid
    from bisenet.devices import resolve_device
    from bisenet.engine.run_log import LOG_FILE, read_run_info, remove_run
    from bisenet.engine.trainer import train

    device = str(resolve_device(device))  # refused now, not after the data is made
    base = base_recipe(scale)
    if dataset is not None and data_root is None:
        raise UsageError(
            f"dataset {dataset!r} without its data root: give --data-root (data_root=) with --dataset, or leave "
            "both out for the scale's own MiniCity"
        )
    if iters is not None:
        base = base.with_(iters=iters, val_interval=iters)
    if val_interval is not None:
        if not isinstance(val_interval, int) or val_interval < 1:
            raise UsageError(f"val_interval must be a positive number of iterations, got {val_interval!r}")
        base = base.with_(val_interval=min(val_interval, base.iters))
    names = variants or parse_variants("all")
    if data_root is None:
        dataset, data_root = grid_data(scale, cache)
    dataset = dataset or base.dataset
    work_root = Path(work_root) if work_root else default_work_root(scale, cache)
    csv = check_writable(csv) if csv else None  # refused now, not after the first run
    done = _done_runs(csv, overwrite)
    # the same data generated in another clone has another absolute path: compare folder names
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
    costs: dict[str, dict] = {}
    rows = []
    for seed in seeds:
        for name in names:
            if ((done["variant"] == name) & (done["seed"] == seed)).any():
                continue
            recipe = VARIANTS[name].recipe(base, seed)
            work_dir = work_root / f"{name}-seed{seed}"
            metrics = _final_metrics(work_dir / LOG_FILE, recipe.iters)
            start = time.perf_counter()
            if metrics is None:
                resume = work_dir.exists() and latest_valid(work_dir) is not None
                if work_dir.exists() and not resume:  # interrupted before its first checkpoint
                    remove_run(work_dir)  # what a run wrote; anything else in the folder is kept
                train(
                    recipe.with_(dataset=dataset),
                    data_root=data_root,
                    work_dir=work_dir,
                    resume=resume,
                    device=device,
                    progress=progress,
                )
                metrics = _final_metrics(work_dir / LOG_FILE, recipe.iters)
            train_s = time.perf_counter() - start
            if name not in costs:
                costs[name] = complexity(name, flops_size)
            info = read_run_info(work_dir) or {}
            row = {
                "variant": name,
                "table": VARIANTS[name].table,
                "paper_label": VARIANTS[name].label,
                "seed": seed,
                "mIoU": 100 * metrics["mIoU"],
                "mAcc": 100 * metrics["mAcc"],
                "aAcc": 100 * metrics["aAcc"],
                "paper_mIoU": VARIANTS[name].paper_miou,
                "paper_gflops": VARIANTS[name].paper_gflops,
                **costs[name],
                "booster": VARIANTS[name].booster,
                "loss": VARIANTS[name].loss,
                "model_options": json.dumps(VARIANTS[name].model_options),
                "scale": scale,
                "recipe": base.name,
                "iters": recipe.iters,
                "crop": f"{recipe.crop_size[0]}x{recipe.crop_size[1]}",
                "batch": recipe.global_batch,
                "dataset": dataset,
                "data_root": str(data_root),
                "train_seconds": round(train_s, 1),
                "command": command,
                **{k: info[k] for k in ("date", "commit", "torch", "cpu", "threads", "device")},
                "gpu": info.get("gpu", ""),
            }
            rows.append(row)
            if csv:
                _append_row(csv, row)
            if progress:
                print(f"{name} seed {seed}: val mIoU {row['mIoU']:.2f} % ({train_s:.0f} s)", flush=True)
            if not keep_runs:
                kept = remove_run(work_dir)  # only what the run wrote
                if kept and progress:
                    print(f"{work_dir}: kept {', '.join(kept)}, which no run wrote", flush=True)
    new = pd.DataFrame(rows)
    return pd.concat([done, new], ignore_index=True) if len(done) else new


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


def _paper(variant: str) -> float:
    """The paper's mIoU of a variant; NaN for a row the paper does not have."""
    value = VARIANTS[variant].paper_miou
    return float("nan") if value is None else value


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """One row per variant: mean, standard deviation, min and max of mIoU over seeds, the number
    of seeds, the change from the BGA row (ours and the paper's), GFLOPs and parameters."""
    order = [v for v in dict.fromkeys(TABLE2 + AGGREGATION_X_BOOSTER + TABLE3A) if v in set(results["variant"])]
    g = results.groupby("variant")["mIoU"]
    table = pd.DataFrame(
        {
            "paper row": [VARIANTS[v].label for v in order],
            "table": [VARIANTS[v].table for v in order],
            "seeds": g.count().reindex(order).values,
            "mIoU mean": g.mean().reindex(order).values,
            "mIoU std": g.std(ddof=1).reindex(order).values,
            "mIoU min": g.min().reindex(order).values,
            "mIoU max": g.max().reindex(order).values,
            "paper mIoU": [_paper(v) for v in order],
        },
        index=pd.Index(order, name="variant"),
    )
    if "bga" in table.index:
        table["change vs BGA"] = table["mIoU mean"] - table.loc["bga", "mIoU mean"]
        table["paper change vs BGA"] = table["paper mIoU"] - VARIANTS["bga"].paper_miou
    first = results.drop_duplicates("variant").set_index("variant")
    for column in [c for c in first.columns if c.startswith("gflops_")] + ["params"]:
        if column in first:
            table[column] = first[column].reindex(order).values
    table["paper GFLOPs"] = [VARIANTS[v].paper_gflops for v in order]
    return table


def load_results(scale: str, data_dir: str | Path, dataset: str | None = None) -> pd.DataFrame | None:
    """One grid of ``bisenet ablate --scale <scale>`` kept in ``data_dir`` (the book's
    ``book/data``), or None when it holds none.

    The files read are ``ablations_<scale>.csv`` and any ``ablations_<scale>_*.csv`` (e.g. one per
    seed, from grids run side by side), concatenated; ``ablations_gpu*.csv`` is not
    ``ablations_gpu-dryrun.csv``. Runs on different data are different grids, however their files
    are named: a row belongs to the dataset of its ``dataset`` column (without one: Cityscapes when
    its file's name has ``_cityscapes``, else MiniCity), and only the rows of ``dataset``
    are returned. ``dataset`` None: Cityscapes' grid when there is one, else the only dataset's.
    Within the grid, files of different set-ups (iterations, recipe, data folder) and a
    (variant, seed) twice are refused."""
    data_dir = Path(data_dir)
    paths = sorted(data_dir.glob(results_name(scale))) + sorted(data_dir.glob(f"ablations_{scale}_*.csv"))
    if not paths:
        return None
    tables = []
    for path in paths:
        table = pd.read_csv(path)
        by_name = "cityscapes" if "_cityscapes" in path.name else "minicity"
        table["dataset"] = table["dataset"].fillna(by_name) if "dataset" in table else by_name
        tables.append(table.assign(file=path.name))
    every = pd.concat(tables, ignore_index=True)
    datasets = sorted(every["dataset"].unique())
    if dataset is None:
        if "cityscapes" not in datasets and len(datasets) > 1:
            raise UsageError(f"{sorted(set(every['file']))} hold grids on {datasets}: choose one with dataset=")
        dataset = "cityscapes" if "cityscapes" in datasets else datasets[0]
    results = every[every["dataset"] == dataset].reset_index(drop=True)
    if results.empty:
        return None
    files = sorted(set(results["file"]))
    results = results.drop(columns="file")
    setup = results[["iters", "recipe"]].assign(data=results["data_root"].map(lambda v: Path(str(v)).name))
    for column in setup:
        if setup[column].nunique() > 1:
            raise UsageError(f"{files} mix set-ups on {dataset}: {column} takes {sorted(setup[column].unique())}")
    twice = results.duplicated(["variant", "seed"])
    if twice.any():
        twice_rows = results[twice][["variant", "seed"]].values.tolist()
        raise UsageError(f"{files} hold some (variant, seed) of the {dataset} grid twice: {twice_rows}")
    return results


# The paper's conclusions as comparisons of two rows: (claim, better row, worse row).
CLAIMS: tuple[tuple[str, str, str], ...] = (
    ("both branches beat the detail branch alone", "bga", "detail"),
    ("both branches beat the semantic branch alone", "bga", "semantic"),
    ("BGA beats summation", "bga", "sum"),
    ("BGA beats concatenation", "bga", "concat"),
    ("concatenation beats summation", "concat", "sum"),
    ("the booster heads help", "bga+booster", "bga"),
    ("OHEM helps on top of the booster", "bga+booster+ohem", "bga+booster"),
    ("lambda = 1/4 is as good as 1/2", "bga", "lambda=1/2"),
    ("lambda = 1/8 loses a little", "bga", "lambda=1/8"),
    ("lambda = 1/16 loses more", "bga", "lambda=1/16"),
)


def claims(results: pd.DataFrame, noise: float = 2.0) -> pd.DataFrame:
    """Does each of the paper's comparisons transfer? One row per claim of :data:`CLAIMS` whose two
    rows were run: the paper's difference (better minus worse), ours (mean over the seeds both
    have, paired by seed: the same seed gives both runs the same data order), its standard error
    over seeds, and a verdict: the sign agrees or not, and the difference is beyond ``noise``
    standard errors or within them ("one seed" when there is no spread to judge by)."""
    rows = []
    by_seed = results.pivot_table(index="seed", columns="variant", values="mIoU")
    for claim, better, worse in CLAIMS:
        if better not in by_seed or worse not in by_seed:
            continue
        diff = (by_seed[better] - by_seed[worse]).dropna()
        if diff.empty:
            continue
        paper = _paper(better) - _paper(worse)
        ours = float(diff.mean())
        se = float(diff.std(ddof=1) / len(diff) ** 0.5) if len(diff) > 1 else float("nan")
        sign = "same sign" if (ours >= 0) == (paper >= 0) else "opposite sign"
        if len(diff) < 2:
            strength = "one seed"
        else:
            strength = "beyond noise" if abs(ours) > noise * se else "within noise"
        rows.append(
            {
                "paper's claim": claim,
                "rows": f"{better} - {worse}",
                "paper change": paper,
                "our change": ours,
                "our std error": se,
                "seeds": len(diff),
                "verdict": f"{sign}, {strength}",
            }
        )
    return pd.DataFrame(rows)


def _table2_contrasts() -> tuple:
    from bisenet.analysis.paired import Contrast

    def change(better: str, worse: str) -> float | None:
        paper = _paper(better) - _paper(worse)
        return None if paper != paper else round(paper, 2)  # NaN: a row the paper does not have

    two = [
        ("BGA beats summation", "bga", "sum"),
        ("BGA beats concatenation", "bga", "concat"),
        ("the booster helps BGA", "bga+booster", "bga"),
        ("the booster helps summation", "sum+booster", "sum"),
        ("the booster helps concatenation", "concat+booster", "concat"),
        ("with the booster, BGA beats summation", "bga+booster", "sum+booster"),
        ("with the booster, BGA beats concatenation", "bga+booster", "concat+booster"),
    ]
    alike = [
        ("the booster helps BGA and summation alike", "bga", "sum"),
        ("the booster helps BGA and concatenation alike", "bga", "concat"),
    ]
    return (
        *(
            Contrast(claim, {better: 1, worse: -1}, f"{better} - {worse}", paper=change(better, worse))
            for claim, better, worse in two
        ),
        *(
            Contrast(
                claim,
                {f"{a}+booster": 1, a: -1, f"{b}+booster": -1, b: 1},
                f"({a}+booster - {a}) - ({b}+booster - {b})",
                expect="zero",
            )
            for claim, a, b in alike
        ),
    )


def verdicts(results: pd.DataFrame) -> pd.DataFrame:
    """The V2 paper's Table 2 claims about aggregation and the booster, tested on a grid's runs
    (the ``cpu-256`` grid's six rows): per claim the change per seed (paired by seed), its mean,
    standard error and 95 % t-interval, the paper's change where Table 2 has one, and a verdict
    (:func:`bisenet.analysis.paired.verdict`: reproduced, not reproduced or inconclusive at this
    scale; for "alike", differ or no difference shown). Claims whose rows were not run are left out."""
    from bisenet.analysis.paired import compare

    return compare(results, _table2_contrasts())
