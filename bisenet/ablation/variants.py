"""The rows of the paper's two ablation tables as variants of one recipe, and the scales a grid runs at."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

from bisenet.cache import cached_minicity
from bisenet.errors import UsageError
from bisenet.profiles import BUDGET_MINICITY, PROFILES, ablation_data, get_profile
from bisenet.recipes import BUDGET_RECIPES, V2_AUX, Recipe

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


def _paper(variant: str) -> float:
    """The paper's mIoU of a variant; NaN for a row the paper does not have."""
    value = VARIANTS[variant].paper_miou
    return float("nan") if value is None else value
