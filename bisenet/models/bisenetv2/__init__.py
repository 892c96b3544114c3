"""BiSeNet V2 (Yu et al., "BiSeNet V2: Bilateral Network with Guided Aggregation for Real-time
Semantic Segmentation", IJCV 2021), component by component.

The structure is mmsegmentation 1.2.2's (config ``bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024``)
with the same parameter names, so its checkpoints map one to one. Where mmseg departs from the
paper the docstring of the component says so, and an option offers the paper's form:

* GE layer: mmseg expands channels in the (grouped) depthwise convolution, the paper in the first
  3 x 3 convolution; mmseg puts a ReLU after the depthwise convolution (``ge_dw_relu``).
* Context embedding block: mmseg's last 3 x 3 conv has BN + ReLU; the paper's is a plain conv
  (``ce_last_bn_relu``).
* BGA: mmseg's output 3 x 3 conv has BN + ReLU; the paper's is a plain conv
  (``bga_out_bn_relu``). mmseg resizes bilinearly to the detail feature's size (any input size
  works); the paper upsamples 4x.
* Booster heads: the paper gives no structure; mmseg uses FCN heads with two 3 x 3 convs.

The paper's ablations (Sec. 5.1, Tables 2 and 3a) are options too, named in ``BiSeNetV2``:
``aggregation`` (BGA, or the sum / concatenation baselines), ``branches`` (one branch alone) and
``semantic_ratio`` (the channel ratio lambda); ``bisenet.ablation`` trains them.

All options are the fields of one frozen :class:`BiSeNetV2Config`, handed to the model and its
backbone. Three presets are dicts of its fields, for ``build_model("bisenetv2", **preset)`` or
``BiSeNetV2Config(**preset)``: ``MMSEG_OPTIONS`` (the defaults), ``PAPER_OPTIONS`` (the three
departures above switched off) and ``COINCHEUNG_OPTIONS`` (CoinCheung's BGA and heads). The
registered models ``bisenetv2`` and ``bisenetv2-large`` are defined in ``model.py``.

The package's modules follow the paper: ``branches`` (Sec. 4.1-4.2: the detail branch, the stem
block, the gather-and-expansion layer, the context embedding block, the semantic branch),
``aggregation`` (Sec. 4.3: bilateral guided aggregation, and Sec. 5.1's sum and concatenation
baselines), ``model`` (Fig. 3: the config, its presets, the backbone, the model and its
registered names). Everything is importable from ``bisenet.models.bisenetv2``.

Input sizes: with mmseg's bilinear BGA (the default) every resize inside the model goes *to the
size of another feature map*, never by a fixed factor, so any H, W >= 32 works;
``bga_upsample="nearest4x"`` (CoinCheung's) accepts the sides with side % 32 = 0 or 25-31
(``model.fixed_upsampling``, checked by ``bisenet.models.base.check_input``).
"""

from bisenet.models.bisenetv2.aggregation import (
    BGA_UPSAMPLES,
    BilateralGuidedAggregation,
    ConcatAggregation,
    SumAggregation,
)
from bisenet.models.bisenetv2.branches import (
    ContextEmbeddingBlock,
    DetailBranch,
    GatherExpansionLayer,
    SemanticBranch,
    StemBlock,
)
from bisenet.models.bisenetv2.model import (
    AGGREGATIONS,
    BRANCHES,
    COINCHEUNG_OPTIONS,
    HEADS,
    MMSEG_OPTIONS,
    PAPER_OPTIONS,
    BiSeNetV2,
    BiSeNetV2Backbone,
    BiSeNetV2Config,
    bisenetv2,
    bisenetv2_large,
    semantic_widths,
)

__all__ = [
    "AGGREGATIONS",
    "BGA_UPSAMPLES",
    "BRANCHES",
    "COINCHEUNG_OPTIONS",
    "HEADS",
    "MMSEG_OPTIONS",
    "PAPER_OPTIONS",
    "BiSeNetV2",
    "BiSeNetV2Backbone",
    "BiSeNetV2Config",
    "BilateralGuidedAggregation",
    "ConcatAggregation",
    "ContextEmbeddingBlock",
    "DetailBranch",
    "GatherExpansionLayer",
    "SemanticBranch",
    "StemBlock",
    "SumAggregation",
    "bisenetv2",
    "bisenetv2_large",
    "semantic_widths",
]
