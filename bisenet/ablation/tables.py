"""Reading a grid's results: per-variant summaries, the committed grids of the book, and whether
the paper's claims transfer (paired by seed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bisenet.ablation.variants import AGGREGATION_X_BOOSTER, TABLE2, TABLE3A, VARIANTS, _paper, results_name
from bisenet.errors import UsageError


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
