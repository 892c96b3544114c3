"""BiSeNet V2 assembled (Yu et al., IJCV 2021, Fig. 3): its options (:class:`BiSeNetV2Config`)
and their presets (mmseg, the paper, CoinCheung), the backbone (both branches and their
aggregation), the model with its segmentation and booster heads, and the registered names
``bisenetv2`` and ``bisenetv2-large``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from bisenet.errors import UsageError
from bisenet.models.base import SegmentationModel, check_config
from bisenet.models.bisenetv2.aggregation import (
    BGA_UPSAMPLES,
    BilateralGuidedAggregation,
    ConcatAggregation,
    SumAggregation,
)
from bisenet.models.bisenetv2.branches import DetailBranch, SemanticBranch
from bisenet.models.heads import CoinCheungHead, FCNHead
from bisenet.models.registry import register_model

# the values of the model's string options (BiSeNetV2Config)
HEADS = ("mmseg", "coincheung")
AGGREGATIONS = ("bga", "sum", "concat")
BRANCHES = ("both", "detail", "semantic")


def semantic_widths(ratio: float, width: int = 1) -> tuple[int, int, int, int]:
    """The semantic branch's four stage widths for channel ratio lambda (Sec. 4.2 / Table 3a):
    ``width x lambda x (64, 128, 256, 512)``; (16, 32, 64, 128) at lambda = 1/4.

    Raises :class:`~bisenet.errors.UsageError` (a ``ValueError``) unless every width is a whole
    number of at least 2 (the stem halves its width once).

    Args:
        ratio: the channel ratio lambda, in (0, 1] (required).
        width: the width multiplier alpha (BiSeNetV2-Large: 2). Default 1.
    """
    exact = [width * ratio * c for c in (64, 128, 256, 512)]
    if not (0 < ratio <= 1) or any(abs(c - round(c)) > 1e-9 or round(c) < 2 for c in exact):
        raise UsageError(
            f"semantic_ratio {ratio!r} must be in (0, 1] and give whole stage widths >= 2 from "
            f"{width} x ratio x (64, 128, 256, 512); e.g. 1/2, 1/4, 1/8, 1/16 (the paper's Table 3a)"
        )
    return tuple(int(round(c)) for c in exact)


# the largest value of each size option: far beyond any published model (the paper's large V2 has
# width 2 and depth 3), small enough that a model is built in seconds and fits in memory
SIZE_LIMITS = {"width": 8, "depth": 16, "expand_ratio": 32, "decode_channels": 8192, "aux_channels": 8192}


@dataclass(frozen=True)
class BiSeNetV2Config:
    """The options of :class:`BiSeNetV2`, one frozen dataclass handed to the model and its
    backbone. The defaults are mmsegmentation's Cityscapes model; the presets below
    (``PAPER_OPTIONS``, ``COINCHEUNG_OPTIONS``) are dicts of fields:
    ``BiSeNetV2Config(**PAPER_OPTIONS)``.

    A bad value raises :class:`~bisenet.errors.UsageError` (a ``ValueError``) when the config is
    made: an unknown ``head``, ``aggregation``, ``branches`` or ``bga_upsample``; a
    ``semantic_ratio`` that gives no whole stage widths (see :func:`semantic_widths`);
    ``aggregation="sum"`` with unequal widths.

    Args:
        width: the width multiplier alpha (Sec. 5.3): multiplies every channel count of both
            branches. Default 1.
        depth: the depth multiplier d (Sec. 5.3): multiplies the number of stride-1 GE layers
            of each semantic stage. Default 1.
        expand_ratio: the GE layers' expansion factor e (Sec. 4.2). Default 6.
        decode_channels: the segmentation head's width. Default 1024.
        aux_channels: the widths of the four booster heads. Default (16, 64, 256, 1024).
        dropout: the heads' dropout probability. Default 0.1.
        ge_dw_relu: ReLU after the GE layers' depthwise conv (mmseg); False: the paper's
            form. Default True.
        ce_last_bn_relu: BN + ReLU on the Context Embedding Block's last conv (mmseg); False:
            the paper's plain conv. Default True.
        bga_out_bn_relu: BN + ReLU on BGA's output conv (mmseg); False: the paper's plain conv.
            Default True.
        bga_upsample: ``"bilinear"`` (mmseg) or ``"nearest4x"`` (CoinCheung; each input side
            rounded up to a multiple of 8 must then be a multiple of 32, see
            :func:`bisenet.models.base.side_aligns`). Default ``"bilinear"``.
        bga_pointwise_bias: biases on BGA's pointwise convs (mmseg; CoinCheung: False).
            Default True.
        head: ``"mmseg"`` (FCN heads) or ``"coincheung"`` (CoinCheung's SegmentHead). Default
            ``"mmseg"``.
        aggregation: ``"bga"``, ``"sum"`` or ``"concat"`` (Sec. 5.1, Table 2). Default ``"bga"``.
        branches: ``"both"``, ``"detail"`` or ``"semantic"`` (Sec. 5.1, Table 2). Default
            ``"both"``.
        semantic_ratio: the channel ratio lambda of the semantic branch (Sec. 5.1, Table 3a).
            Default 0.25.
    """

    width: int = 1
    depth: int = 1
    expand_ratio: int = 6
    decode_channels: int = 1024
    aux_channels: tuple[int, int, int, int] = (16, 64, 256, 1024)
    dropout: float = 0.1
    ge_dw_relu: bool = True
    ce_last_bn_relu: bool = True
    bga_out_bn_relu: bool = True
    bga_upsample: str = "bilinear"
    bga_pointwise_bias: bool = True
    head: str = "mmseg"
    aggregation: str = "bga"
    branches: str = "both"
    semantic_ratio: float = 0.25

    def __post_init__(self) -> None:
        object.__setattr__(self, "aux_channels", tuple(self.aux_channels))  # a list (from JSON) too
        for name, limit in SIZE_LIMITS.items():  # before any layer is made: a size is memory
            values = getattr(self, name)
            for value in values if isinstance(values, tuple) else (values,):
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= limit:
                    raise UsageError(
                        f"BiSeNetV2 {name} must be an integer from 1 to {limit} (mmseg: "
                        f"{getattr(BiSeNetV2Config, name)}), got {values!r}"
                    )
        if len(self.aux_channels) != 4:
            raise UsageError(f"aux_channels must be four widths, one per booster head, got {self.aux_channels!r}")
        if not isinstance(self.dropout, (int, float)) or not 0 <= self.dropout < 1:
            raise UsageError(f"dropout must be a probability from 0 to below 1, got {self.dropout!r}")
        if self.head not in HEADS:
            raise UsageError(f"head must be 'mmseg' (FCN heads) or 'coincheung' (SegmentHead), got {self.head!r}")
        semantic = self.semantic_channels  # raises for a bad semantic_ratio
        if self.aggregation not in AGGREGATIONS:
            raise UsageError(f"aggregation must be one of {AGGREGATIONS} (paper, Table 2), got {self.aggregation!r}")
        if self.branches not in BRANCHES:
            raise UsageError(f"branches must be one of {BRANCHES} (paper, Table 2), got {self.branches!r}")
        detail = self.detail_channels
        if self.branches == "both" and self.aggregation == "sum" and detail[-1] != semantic[-1]:
            raise UsageError(
                "aggregation='sum' adds two features of the same width: the last detail channel count "
                f"({detail[-1]}) must equal the last semantic one ({semantic[-1]})"
            )
        if self.bga_upsample not in BGA_UPSAMPLES:
            raise UsageError(
                f"BGA upsample must be 'bilinear' (mmseg) or 'nearest4x' (CoinCheung), got {self.bga_upsample!r}"
            )

    @property
    def detail_channels(self) -> tuple[int, int, int]:
        """The detail branch's stage widths: ``width x (64, 64, 128)``."""
        return tuple(self.width * c for c in (64, 64, 128))

    @property
    def semantic_channels(self) -> tuple[int, int, int, int]:
        """The semantic branch's stage widths: :func:`semantic_widths` (16, 32, 64, 128 by default)."""
        return semantic_widths(self.semantic_ratio, self.width)

    @property
    def semantic_depth(self) -> tuple[int, int, int]:
        """The number of stride-1 GE layers of semantic stages 2-4: ``depth x (1, 1, 3)``."""
        return tuple(self.depth * d for d in (1, 1, 3))


MMSEG_OPTIONS: dict[str, Any] = {}
"""mmsegmentation 1.2.2's BiSeNetV2 (``bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024``): the
defaults, so no option. Its checkpoints load one to one (:func:`bisenet.interop.from_mmseg`)."""

PAPER_OPTIONS: dict[str, Any] = dict(ge_dw_relu=False, ce_last_bn_relu=False, bga_out_bn_relu=False)
"""The paper's form where mmseg departs from it with the same parameter layout: no ReLU after
the GE layer's depthwise conv (Sec. 4.2, Fig. 5), a plain 3 x 3 conv at the end of the Context
Embedding Block (Sec. 4.2, Fig. 4b) and at BGA's output (Sec. 4.3, Fig. 6). The last two trade a
BN for a bias: 256 parameters fewer. What the paper leaves open keeps mmseg's choice (the booster
heads, Sec. 4.4; BGA's resize to the detail feature's size); the paper's placement of the GE
expansion (in the first 3 x 3 conv) is not an option (see :class:`GatherExpansionLayer`)."""

COINCHEUNG_OPTIONS: dict[str, Any] = dict(bga_upsample="nearest4x", bga_pointwise_bias=False, head="coincheung")
"""CoinCheung/BiSeNet's BiSeNetV2: BGA upsamples by exactly 4 with nearest-neighbour
interpolation (so each input side, rounded up to a multiple of 8, must be a multiple of 32:
``side % 32`` is 0 or 25-31) and its pointwise convs have no bias (256
parameters fewer: 3,358,627 for inference), and the segmentation and booster heads (Sec. 4.4)
are his ``SegmentHead``. :func:`bisenet.interop.from_coincheung` loads his checkpoints into it."""


class BiSeNetV2Backbone(nn.Module):
    """Detail branch, semantic branch and their aggregation (Fig. 3 up to the Seg Head).

    Returns (aggregated feature at 1/8, stage1, stage2, stage3, stage4): the first feeds the
    segmentation head, the other four the booster heads.

    The paper's ablations (Sec. 5.1, Table 2) as options: ``aggregation`` "bga" (the paper's
    layer), "sum" or "concat" (:class:`SumAggregation`, :class:`ConcatAggregation`);
    ``branches`` "detail" builds the detail branch alone (returns just its 1/8 feature: no
    semantic stages, so no booster features), "semantic" the semantic branch alone (returns the
    context-embedding output at 1/32 and the four stage outputs).

    Args:
        in_channels: channels of the input image. Default 3.
        config: the model's options; the backbone reads the branch widths and depths
            (``width``, ``depth``, ``semantic_ratio``, ``expand_ratio``), the forms of its layers
            (``ge_dw_relu``, ``ce_last_bn_relu``, ``bga_*``) and the ablations
            (``aggregation``, ``branches``). Default ``BiSeNetV2Config()`` (mmseg's).
    """

    def __init__(self, *, in_channels: int = 3, config: BiSeNetV2Config = BiSeNetV2Config()) -> None:
        super().__init__()
        check_config(config, BiSeNetV2Config)
        detail_channels, semantic_channels = config.detail_channels, config.semantic_channels
        self.branches = config.branches
        if self.branches != "semantic":
            self.detail = DetailBranch(in_channels, detail_channels)
        if self.branches != "detail":
            self.semantic = SemanticBranch(
                in_channels,
                semantic_channels,
                expand_ratio=config.expand_ratio,
                depth=config.semantic_depth,
                ge_dw_relu=config.ge_dw_relu,
                ce_last_bn_relu=config.ce_last_bn_relu,
            )
        if self.branches == "both":
            cd, cs = detail_channels[-1], semantic_channels[-1]
            if config.aggregation == "bga":
                self.bga = BilateralGuidedAggregation(
                    cd,
                    cs,
                    out_bn_relu=config.bga_out_bn_relu,
                    upsample=config.bga_upsample,
                    pointwise_bias=config.bga_pointwise_bias,
                )
            elif config.aggregation == "sum":
                self.aggregate = SumAggregation(cd, cs)
            else:
                self.aggregate = ConcatAggregation(cd, cs)
        self.aggregation = config.aggregation
        # the width of the feature the segmentation head sees
        self.out_channels = semantic_channels[-1] if self.branches == "semantic" else detail_channels[-1]

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.branches == "semantic":
            *stages, x_context = self.semantic(x)  # 4 stage outputs, (N, Cs, H/32, W/32)
            return (x_context, *stages)
        x_detail = self.detail(x)  # (N, 128, H/8, W/8)
        if self.branches == "detail":
            return (x_detail,)
        *stages, x_context = self.semantic(x)  # 4 stage outputs, (N, Cs, H/32, W/32)
        merge = self.bga if self.aggregation == "bga" else self.aggregate
        x_head = merge(x_detail, x_context)  # (N, 128, H/8, W/8)
        return (x_head, *stages)


class BiSeNetV2(SegmentationModel):
    """BiSeNet V2 (Fig. 3): backbone, FCN segmentation head and four booster heads.

    Defaults give mmsegmentation's Cityscapes model: 3,358,883 parameters for inference and
    14,804,255 with the booster heads (19 classes). The booster heads (Sec. 4.4) sit on the
    semantic stages 1-4 (16/32/64/128 channels at 1/4 .. 1/32) with 16/64/256/1024 channels
    and two convs each, as in mmseg; they are used in training only, and ``aux_heads=False``
    does not build them.

    CoinCheung's variant: ``bga_upsample="nearest4x", bga_pointwise_bias=False,
    head="coincheung"`` (see :func:`bisenet.interop.from_coincheung`), the preset
    ``COINCHEUNG_OPTIONS``; the paper's forms: ``PAPER_OPTIONS``.

    ``width`` and ``depth`` (the paper's alpha and d for BiSeNetV2-Large, Sec. 5.3) scale the
    channel counts of both branches and the number of stride-1 GE layers of each semantic
    stage; see :func:`bisenet.models.bisenetv2_large` for how this package reads them.

    The ablation options of Sec. 5.1 (defaults give the full model):

    * ``aggregation``: "bga", "sum" or "concat" (Table 2);
    * ``branches``: "both", "detail" or "semantic" (Table 2, one branch alone with the
      segmentation head on its output). The booster heads sit on the semantic stages, so
      ``branches="detail"`` needs ``aux_heads=False``;
    * ``semantic_ratio``: the channel ratio lambda of the semantic branch to the detail branch
      (Table 3a). The semantic stage widths are lambda x (64, 128, 256, 512), i.e.
      (16, 32, 64, 128) at the paper's lambda = 1/4, the default. The paper does not say how the
      semantic output meets the 128-wide detail feature when lambda != 1/4; here BGA's semantic-side
      3 x 3 and 1 x 1 convs map its width to 128 (no extra layer). The booster heads keep their
      widths.

    These options are the fields of :class:`BiSeNetV2Config`; the model keeps its config as
    ``self.config``.

    >>> model = BiSeNetV2(num_classes=19, config=BiSeNetV2Config(**PAPER_OPTIONS))

    Args:
        num_classes: the number of classes. Default 19.
        aux_heads: build the four booster heads (False: none; required for
            ``branches="detail"``). Default True.
        in_channels: channels of the input image. Default 3.
        config: every other option. Default ``BiSeNetV2Config()`` (mmseg's model).
    """

    def __init__(
        self,
        *,
        num_classes: int = 19,
        aux_heads: bool = True,
        in_channels: int = 3,
        config: BiSeNetV2Config = BiSeNetV2Config(),
    ) -> None:
        check_config(config, BiSeNetV2Config)
        if config.branches == "detail" and aux_heads:
            raise UsageError(
                "branches='detail' has no semantic branch, and the booster heads sit on its stages: "
                "build it with aux_heads=False (and train it without auxiliary losses)"
            )
        backbone = BiSeNetV2Backbone(in_channels=in_channels, config=config)
        semantic_channels = config.semantic_channels
        auxiliary_head = None
        head_in = backbone.out_channels
        if config.head == "mmseg":
            decode_head = FCNHead(head_in, config.decode_channels, num_classes, num_convs=1, dropout=config.dropout)
            if aux_heads:
                auxiliary_head = nn.ModuleList(
                    FCNHead(c_in, c, num_classes, num_convs=2, dropout=config.dropout)
                    for c_in, c in zip(semantic_channels, config.aux_channels, strict=True)
                )
        else:
            decode_head = CoinCheungHead(head_in, config.decode_channels, num_classes, dropout=config.dropout)
            if aux_heads:
                auxiliary_head = nn.ModuleList(
                    CoinCheungHead(c_in, 128, num_classes, expand=stride, dropout=config.dropout)
                    for c_in, stride in zip(semantic_channels, (4, 8, 16, 32), strict=True)
                )
        super().__init__(backbone, decode_head, auxiliary_head, num_classes=num_classes, in_channels=in_channels)
        self.config = config
        # CoinCheung's BGA upsamples its 1/32 features by exactly 4 to meet the 1/8 ones: the
        # shapes line up only for the sides that base.side_aligns(side, (8, 4)) accepts
        uses_bga = config.aggregation == "bga" and config.branches == "both"
        if uses_bga and config.bga_upsample == "nearest4x":
            self.fixed_upsampling = (8, 4)


# --- the registered models -----------------------------------------------------------------------


@register_model("bisenetv2", BiSeNetV2Config)
def bisenetv2(
    config: BiSeNetV2Config, *, num_classes: int = 19, aux_heads: bool = True, in_channels: int = 3
) -> BiSeNetV2:
    """BiSeNet V2 as in mmsegmentation's Cityscapes config (3,358,883 parameters, 19 classes).

    Registered as ``"bisenetv2"``; every field of :class:`BiSeNetV2Config` is an option of
    ``build_model("bisenetv2", ...)``.

    Args:
        config: the model's options, made by :func:`bisenet.models.build_model` (required).
        num_classes: the number of classes. Default 19.
        aux_heads: build the booster heads. Default True.
        in_channels: channels of the input image. Default 3.
    """
    return BiSeNetV2(num_classes=num_classes, aux_heads=aux_heads, in_channels=in_channels, config=config)


@register_model("bisenetv2-large", BiSeNetV2Config, width=2, depth=3)
def bisenetv2_large(
    config: BiSeNetV2Config, *, num_classes: int = 19, aux_heads: bool = True, in_channels: int = 3
) -> BiSeNetV2:
    """BiSeNetV2-Large (Sec. 5.3: "width multiplier alpha = 2.0, depth multiplier d = 3.0").

    The paper does not say which layers alpha and d scale. This package reads them as:
    alpha multiplies every channel count of both branches (detail 128/128/256, semantic
    32/64/128/256, so the channel ratio lambda stays 1/4 and BGA still aggregates two features
    of equal width); d multiplies the number of stride-1 GE layers after the stride-2 one in
    each semantic stage (1, 1, 3 -> 3, 3, 9). Heads keep their widths. No public
    implementation or checkpoint of V2-L exists to check this reading against.

    Registered as ``"bisenetv2-large"``, which fixes ``width=2, depth=3``; the other fields of
    :class:`BiSeNetV2Config` are options.

    Args:
        config: the model's options, made by :func:`bisenet.models.build_model` with
            ``width=2, depth=3`` (required).
        num_classes: the number of classes. Default 19.
        aux_heads: build the booster heads. Default True.
        in_channels: channels of the input image. Default 3.
    """
    return bisenetv2(config, num_classes=num_classes, aux_heads=aux_heads, in_channels=in_channels)
