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
1,200 iterations, the budget V1 and V2 share (``bisenet.recipes.BUDGET_RECIPES``). The paper's
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

from bisenet.ablation.grid import (
    CURVE_KEYS,
    GRID_KEYS,
    GridOptions,
    check_curves_file,
    default_work_root,
    grid_row,
    learning_curves,
    run_ablation,
    write_curves,
)
from bisenet.ablation.tables import CLAIMS, claims, load_results, summarize, verdicts
from bisenet.ablation.variants import (
    AGGREGATION_X_BOOSTER,
    BUDGET_SCALE,
    LAMBDA,
    SCALES,
    TABLE2,
    TABLE3A,
    VARIANTS,
    Variant,
    base_recipe,
    complexity,
    grid_data,
    parse_variants,
    results_name,
)

__all__ = [
    "AGGREGATION_X_BOOSTER",
    "BUDGET_SCALE",
    "CLAIMS",
    "CURVE_KEYS",
    "GRID_KEYS",
    "LAMBDA",
    "SCALES",
    "TABLE2",
    "TABLE3A",
    "VARIANTS",
    "GridOptions",
    "Variant",
    "base_recipe",
    "check_curves_file",
    "claims",
    "complexity",
    "default_work_root",
    "grid_data",
    "grid_row",
    "learning_curves",
    "load_results",
    "parse_variants",
    "results_name",
    "run_ablation",
    "summarize",
    "verdicts",
    "write_curves",
]
