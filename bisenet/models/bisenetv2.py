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

Input sizes: every resize inside the model goes *to the size of another feature map* (as in
mmseg's BGA), never by a fixed factor, so any H, W >= 32 works, divisible by 32 or not.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bisenet.layers import ConvBNAct, DepthwiseSeparableConv, resize
from bisenet.models.base import SegmentationModel
from bisenet.models.heads import CoinCheungHead, FCNHead


class DetailBranch(nn.Module):
    """The Detail Branch (Sec. 4.1, Table 1): wide, shallow, VGG-like; output at 1/8.

    Three stages of ConvBNReLU 3 x 3; the first conv of each stage has stride 2.
    mmseg: stage channels (64, 64, 128) with 2, 3, 3 convolutions.

    Shapes: (N, 3, H, W) -> (N, 64, H/2, W/2) -> (N, 64, H/4, W/4) -> (N, 128, H/8, W/8).
    """

    def __init__(self, in_channels: int = 3, channels: tuple[int, ...] = (64, 64, 128)) -> None:
        super().__init__()
        stages = []
        for i, out in enumerate(channels):
            cin = in_channels if i == 0 else channels[i - 1]
            convs = [ConvBNAct(cin, out, 3, stride=2)]
            convs += [ConvBNAct(out, out, 3) for _ in range(1 if i == 0 else 2)]
            stages.append(nn.Sequential(*convs))
        self.detail_branch = nn.Sequential(*stages)
        self.out_channels = channels[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.detail_branch(x)  # (N, 128, H/8, W/8)


class StemBlock(nn.Module):
    """The Stem Block (Sec. 4.2, Fig. 4a): a fast 4x downsampling with two paths.

    A 3 x 3 stride-2 conv to ``out_channels``; then a left path (1 x 1 conv to half the
    channels, 3 x 3 stride-2 conv back) and a right path (3 x 3 stride-2 max-pool),
    concatenated (left first) and fused by a 3 x 3 conv. All convs are ConvBNReLU.

    Shapes: (N, 3, H, W) -> (N, 16, H/2, W/2) -> 2 x (N, 16, H/4, W/4) -> (N, 16, H/4, W/4).
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 16) -> None:
        super().__init__()
        self.conv_first = ConvBNAct(in_channels, out_channels, 3, stride=2)
        self.convs = nn.Sequential(
            ConvBNAct(out_channels, out_channels // 2, 1),
            ConvBNAct(out_channels // 2, out_channels, 3, stride=2),
        )
        self.pool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.fuse_last = ConvBNAct(out_channels * 2, out_channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_first(x)  # (N, C, H/2, W/2)
        left = self.convs(x)  # (N, C, H/4, W/4)
        right = self.pool(x)  # (N, C, H/4, W/4)
        return self.fuse_last(torch.cat([left, right], dim=1))  # (N, C, H/4, W/4)


class GatherExpansionLayer(nn.Module):
    """The Gather-and-Expansion Layer (Sec. 4.2, Fig. 5b stride 1, Fig. 5c stride 2).

    1. ``conv1``: ConvBNReLU 3 x 3, in -> in ("gather" local features).
    2. ``dwconv`` ("expansion"): stride 1: a grouped 3 x 3 conv in -> e * in (groups = in, i.e.
       depthwise with channel multiplier e) + BN + ReLU. Stride 2: the same grouped conv with
       stride 2 and BN only, then a depthwise 3 x 3 on e * in + BN + ReLU.
    3. ``conv2``: 1 x 1 projection e * in -> out + BN (no ReLU).
    4. shortcut: identity (stride 1) or depthwise 3 x 3 stride 2 + BN, 1 x 1 + BN (stride 2);
       the sum goes through a ReLU.

    Departures from the paper (both mmseg and CoinCheung): the paper expands in the first 3 x 3
    conv and keeps the depthwise convs at e * in channels; here (as there) the expansion happens
    in the grouped conv, which costs e times fewer parameters in step 1. The paper has no ReLU
    after the depthwise conv (``dw_relu=False`` gives the paper's form).

    Shapes: (N, in, H, W) -> (N, out, H / stride, W / stride).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        expand_ratio: int = 6,
        stride: int = 1,
        dw_relu: bool = True,
    ) -> None:
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"GatherExpansionLayer stride must be 1 or 2, got {stride}")
        if stride == 1 and in_channels != out_channels:
            raise ValueError(
                "a stride-1 GatherExpansionLayer has an identity shortcut, so in_channels must "
                f"equal out_channels; got {in_channels} -> {out_channels}"
            )
        mid = in_channels * expand_ratio
        self.conv1 = ConvBNAct(in_channels, in_channels, 3)
        if stride == 1:
            self.dwconv = nn.Sequential(
                ConvBNAct(in_channels, mid, 3, groups=in_channels, act=dw_relu),
            )
            self.shortcut = None
        else:
            self.dwconv = nn.Sequential(
                ConvBNAct(in_channels, mid, 3, stride=2, groups=in_channels, act=False),
                ConvBNAct(mid, mid, 3, groups=mid, act=dw_relu),
            )
            self.shortcut = nn.Sequential(
                DepthwiseSeparableConv(in_channels, out_channels, 3, stride=2),
            )
        self.conv2 = nn.Sequential(ConvBNAct(mid, out_channels, 1, act=False))
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.shortcut is None else self.shortcut(x)  # (N, out, H/s, W/s)
        x = self.conv1(x)  # (N, in, H, W)
        x = self.dwconv(x)  # (N, e * in, H/s, W/s)
        x = self.conv2(x)  # (N, out, H/s, W/s)
        return self.act(x + identity)


class ContextEmbeddingBlock(nn.Module):
    """The Context Embedding Block (Sec. 4.2, Fig. 4b): global context added to every pixel.

    Global average pooling, BN, ConvBNReLU 1 x 1, broadcast-added to the input, then a 3 x 3
    conv. Departure: mmseg and CoinCheung give that last conv BN + ReLU; the paper's is a plain
    3 x 3 conv (``last_bn_relu=False``, which gives it a bias instead).

    A curiosity worth knowing (mmseg's block has it too): in training the shift (bias) of the BN
    after the pooling receives exactly zero gradient, since the 1 x 1 conv and the BN in
    training mode that follow subtract every per-channel constant again. It stays at its
    initial 0.

    Shapes: (N, C, h, w) -> (N, C, 1, 1) -> broadcast sum (N, C, h, w) -> (N, C, h, w).
    """

    def __init__(self, in_channels: int = 128, out_channels: int = 128, last_bn_relu: bool = True) -> None:
        super().__init__()
        if in_channels != out_channels:
            raise ValueError(
                "ContextEmbeddingBlock adds its input back, so in_channels must equal "
                f"out_channels; got {in_channels} -> {out_channels}"
            )
        self.gap = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.BatchNorm2d(in_channels))
        self.conv_gap = ConvBNAct(in_channels, out_channels, 1)
        self.conv_last = ConvBNAct(out_channels, out_channels, 3, norm=last_bn_relu, act=last_bn_relu)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        context = self.conv_gap(self.gap(x))  # (N, C, 1, 1)
        return self.conv_last(x + context)  # (N, C, h, w)


class SemanticBranch(nn.Module):
    """The Semantic Branch (Sec. 4.2, Table 1): narrow (channel ratio lambda = 1/4 of the
    detail branch), deep, fast-downsampling; output at 1/32.

    stage1: StemBlock to 16 channels (1/4); stage2: GE s2 + GE to 32 (1/8); stage3: GE s2 + GE
    to 64 (1/16); stage4: GE s2 + 3 GE to 128 (1/32); then the Context Embedding Block.
    ``depth`` gives the number of stride-1 GE layers after the stride-2 one in stages 2-4.

    Returns the five outputs (stage1, stage2, stage3, stage4, context embedding): the last
    feeds the BGA layer, the first four feed the booster heads.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: tuple[int, int, int, int] = (16, 32, 64, 128),
        expand_ratio: int = 6,
        depth: tuple[int, int, int] = (1, 1, 3),
        ge_dw_relu: bool = True,
        ce_last_bn_relu: bool = True,
    ) -> None:
        super().__init__()
        if len(channels) != 4 or len(depth) != 3:
            raise ValueError(
                f"SemanticBranch needs 4 stage widths and 3 stage depths; got channels={channels}, depth={depth}"
            )
        self.stage1 = StemBlock(in_channels, channels[0])
        for i in range(1, 4):
            layers = [GatherExpansionLayer(channels[i - 1], channels[i], expand_ratio, 2, ge_dw_relu)]
            layers += [
                GatherExpansionLayer(channels[i], channels[i], expand_ratio, 1, ge_dw_relu)
                for _ in range(depth[i - 1])
            ]
            self.add_module(f"stage{i + 1}", nn.Sequential(*layers))
        self.stage4_CEBlock = ContextEmbeddingBlock(channels[3], channels[3], ce_last_bn_relu)
        self.channels = tuple(channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s1 = self.stage1(x)  # (N, 16, H/4, W/4)
        s2 = self.stage2(s1)  # (N, 32, H/8, W/8)
        s3 = self.stage3(s2)  # (N, 64, H/16, W/16)
        s4 = self.stage4(s3)  # (N, 128, H/32, W/32)
        ce = self.stage4_CEBlock(s4)  # (N, 128, H/32, W/32)
        return s1, s2, s3, s4, ce


class BilateralGuidedAggregation(nn.Module):
    """Bilateral Guided Aggregation (Sec. 4.3, Fig. 6): each branch gates the other.

    Detail side (1/8): a) depthwise 3 x 3 + BN, 1 x 1 conv (with bias, no BN);
    b) ConvBN 3 x 3 stride 2, 3 x 3 stride-2 average pool (to 1/32).
    Semantic side (1/32): c) ConvBN 3 x 3, resized to a's size; d) depthwise 3 x 3 + BN, 1 x 1.
    out = ConvBNReLU 3 x 3 ( a * sigmoid(c)  +  resize(b * sigmoid(d)) ).

    Departures: mmseg resizes bilinearly to the other feature's size (the paper: 4x upsampling;
    CoinCheung: 4x nearest, ``upsample="nearest4x"``, which needs inputs divisible by 32);
    mmseg's pointwise convs have biases (CoinCheung's not: ``pointwise_bias=False``); mmseg's
    output conv has BN + ReLU (the paper: plain 3 x 3 conv, ``out_bn_relu=False``).

    Shapes: detail (N, C, H/8, W/8), semantic (N, Cs, H/32, W/32) -> (N, C, H/8, W/8), with
    Cs = C except in the channel-ratio ablation (``semantic_channels``), where the semantic side's
    3 x 3 and 1 x 1 convs map Cs to C (the paper does not say how it matches the widths there).
    """

    def __init__(
        self,
        channels: int = 128,
        out_bn_relu: bool = True,
        upsample: str = "bilinear",
        pointwise_bias: bool = True,
        semantic_channels: int | None = None,
    ) -> None:
        super().__init__()
        if upsample not in ("bilinear", "nearest4x"):
            raise ValueError(f"BGA upsample must be 'bilinear' (mmseg) or 'nearest4x' (CoinCheung), got {upsample!r}")
        self.upsample = upsample
        # the semantic side's two convs map its width to the detail width (equal by default;
        # they differ only in the channel-ratio ablation, see BiSeNetV2's ``semantic_ratio``)
        cs = channels if semantic_channels is None else semantic_channels
        self.detail_dwconv = nn.Sequential(
            DepthwiseSeparableConv(channels, channels, 3, pointwise_norm=False, pointwise_bias=pointwise_bias)
        )
        self.detail_down = nn.Sequential(
            ConvBNAct(channels, channels, 3, stride=2, act=False),
            nn.AvgPool2d(kernel_size=3, stride=2, padding=1),
        )
        self.semantic_conv = nn.Sequential(ConvBNAct(cs, channels, 3, act=False))
        self.semantic_dwconv = nn.Sequential(
            DepthwiseSeparableConv(cs, channels, 3, pointwise_norm=False, pointwise_bias=pointwise_bias)
        )
        self.conv = ConvBNAct(channels, channels, 3, norm=out_bn_relu, act=out_bn_relu)

    def _up(self, x: torch.Tensor, size: torch.Size) -> torch.Tensor:
        if self.upsample == "nearest4x":
            return F.interpolate(x, scale_factor=4, mode="nearest")
        return resize(x, size)

    def forward(self, x_detail: torch.Tensor, x_semantic: torch.Tensor) -> torch.Tensor:
        detail_keep = self.detail_dwconv(x_detail)  # a: (N, C, H/8, W/8)
        detail_down = self.detail_down(x_detail)  # b: (N, C, H/32, W/32)
        semantic_up = self.semantic_conv(x_semantic)  # c: (N, C, H/32, W/32)
        semantic_keep = self.semantic_dwconv(x_semantic)  # d: (N, C, H/32, W/32)
        semantic_up = self._up(semantic_up, detail_keep.shape[-2:])  # (N, C, H/8, W/8)
        fuse_detail = detail_keep * torch.sigmoid(semantic_up)  # (N, C, H/8, W/8)
        fuse_semantic = detail_down * torch.sigmoid(semantic_keep)  # (N, C, H/32, W/32)
        fuse_semantic = self._up(fuse_semantic, fuse_detail.shape[-2:])  # (N, C, H/8, W/8)
        return self.conv(fuse_detail + fuse_semantic)  # (N, C, H/8, W/8)


class SumAggregation(nn.Module):
    """Element-wise summation, the first baseline of the paper's aggregation ablation (Sec. 5.1,
    Table 2, "Sum"): the semantic feature is upsampled to the detail feature's size and added.

    The paper gives no structure for this baseline. This package's reading: the sum is followed
    by the same ConvBNReLU 3 x 3 as BGA's output, so that the three aggregations differ only in how
    the two features meet. Needs equal widths (channel ratio 1/4).

    Shapes: detail (N, C, H/8, W/8), semantic (N, C, H/32, W/32) -> (N, C, H/8, W/8).
    """

    def __init__(self, channels: int = 128, semantic_channels: int | None = None) -> None:
        super().__init__()
        if semantic_channels not in (None, channels):
            raise ValueError(
                f"aggregation='sum' adds the two features, so their widths must be equal; got detail {channels}, "
                f"semantic {semantic_channels} (use aggregation='concat' or 'bga' with semantic_ratio != 1/4)"
            )
        self.conv = ConvBNAct(channels, channels, 3)

    def forward(self, x_detail: torch.Tensor, x_semantic: torch.Tensor) -> torch.Tensor:
        semantic_up = resize(x_semantic, x_detail.shape[-2:])  # (N, C, H/8, W/8)
        return self.conv(x_detail + semantic_up)  # (N, C, H/8, W/8)


class ConcatAggregation(nn.Module):
    """Concatenation, the second baseline of the aggregation ablation (Sec. 5.1, Table 2,
    "Concate"): the upsampled semantic feature is concatenated to the detail feature.

    The paper gives no structure. This package's reading: a ConvBNReLU 3 x 3 maps the
    (C + Cs) channels back to C, in the place of BGA's output conv.

    Shapes: detail (N, C, H/8, W/8), semantic (N, Cs, H/32, W/32) -> (N, C + Cs, H/8, W/8)
    -> (N, C, H/8, W/8).
    """

    def __init__(self, channels: int = 128, semantic_channels: int | None = None) -> None:
        super().__init__()
        cs = channels if semantic_channels is None else semantic_channels
        self.conv = ConvBNAct(channels + cs, channels, 3)

    def forward(self, x_detail: torch.Tensor, x_semantic: torch.Tensor) -> torch.Tensor:
        semantic_up = resize(x_semantic, x_detail.shape[-2:])  # (N, Cs, H/8, W/8)
        return self.conv(torch.cat([x_detail, semantic_up], dim=1))  # (N, C, H/8, W/8)


AGGREGATIONS = ("bga", "sum", "concat")
BRANCHES = ("both", "detail", "semantic")


class BiSeNetV2Backbone(nn.Module):
    """Detail branch, semantic branch and their aggregation (Fig. 3 up to the Seg Head).

    Returns (aggregated feature at 1/8, stage1, stage2, stage3, stage4): the first feeds the
    segmentation head, the other four the booster heads.

    The paper's ablations (Sec. 5.1, Table 2) as options: ``aggregation`` "bga" (the paper's
    layer), "sum" or "concat" (:class:`SumAggregation`, :class:`ConcatAggregation`);
    ``branches`` "detail" builds the detail branch alone (returns just its 1/8 feature: no
    semantic stages, so no booster features), "semantic" the semantic branch alone (returns the
    context-embedding output at 1/32 and the four stage outputs).
    """

    def __init__(
        self,
        in_channels: int = 3,
        detail_channels: tuple[int, ...] = (64, 64, 128),
        semantic_channels: tuple[int, int, int, int] = (16, 32, 64, 128),
        semantic_depth: tuple[int, int, int] = (1, 1, 3),
        expand_ratio: int = 6,
        ge_dw_relu: bool = True,
        ce_last_bn_relu: bool = True,
        bga_out_bn_relu: bool = True,
        bga_upsample: str = "bilinear",
        bga_pointwise_bias: bool = True,
        aggregation: str = "bga",
        branches: str = "both",
    ) -> None:
        super().__init__()
        if aggregation not in AGGREGATIONS:
            raise ValueError(f"aggregation must be one of {AGGREGATIONS} (paper, Table 2), got {aggregation!r}")
        if branches not in BRANCHES:
            raise ValueError(f"branches must be one of {BRANCHES} (paper, Table 2), got {branches!r}")
        if branches == "both" and aggregation == "sum" and detail_channels[-1] != semantic_channels[-1]:
            raise ValueError(
                "aggregation='sum' adds two features of the same width: the last detail channel count "
                f"({detail_channels[-1]}) must equal the last semantic one ({semantic_channels[-1]})"
            )
        self.branches = branches
        if branches != "semantic":
            self.detail = DetailBranch(in_channels, detail_channels)
        if branches != "detail":
            self.semantic = SemanticBranch(
                in_channels, semantic_channels, expand_ratio, semantic_depth, ge_dw_relu, ce_last_bn_relu
            )
        if branches == "both":
            cd, cs = detail_channels[-1], semantic_channels[-1]
            if aggregation == "bga":
                self.bga = BilateralGuidedAggregation(cd, bga_out_bn_relu, bga_upsample, bga_pointwise_bias, cs)
            elif aggregation == "sum":
                self.aggregate = SumAggregation(cd, cs)
            else:
                self.aggregate = ConcatAggregation(cd, cs)
        self.aggregation = aggregation
        # the width of the feature the segmentation head sees
        self.out_channels = semantic_channels[-1] if branches == "semantic" else detail_channels[-1]

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


def semantic_widths(ratio: float, width: int = 1) -> tuple[int, int, int, int]:
    """The semantic branch's four stage widths for channel ratio lambda (Sec. 4.2 / Table 3a):
    ``width x lambda x (64, 128, 256, 512)``; (16, 32, 64, 128) at lambda = 1/4.

    Raises ``ValueError`` unless every width is a whole number of at least 2 (the stem halves
    its width once)."""
    exact = [width * ratio * c for c in (64, 128, 256, 512)]
    if not (0 < ratio <= 1) or any(abs(c - round(c)) > 1e-9 or round(c) < 2 for c in exact):
        raise ValueError(
            f"semantic_ratio {ratio!r} must be in (0, 1] and give whole stage widths >= 2 from "
            f"{width} x ratio x (64, 128, 256, 512); e.g. 1/2, 1/4, 1/8, 1/16 (the paper's Table 3a)"
        )
    return tuple(int(round(c)) for c in exact)


class BiSeNetV2(SegmentationModel):
    """BiSeNet V2 (Fig. 3): backbone, FCN segmentation head and four booster heads.

    Defaults give mmsegmentation's Cityscapes model: 3,358,883 parameters for inference and
    14,804,255 with the booster heads (19 classes). The booster heads (Sec. 4.4) sit on the
    semantic stages 1-4 (16/32/64/128 channels at 1/4 .. 1/32) with 16/64/256/1024 channels
    and two convs each, as in mmseg; they are used in training only, and ``aux_heads=False``
    does not build them.

    CoinCheung's variant: ``bga_upsample="nearest4x", bga_pointwise_bias=False,
    head="coincheung"`` (see :func:`bisenet.interop.from_coincheung`).

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
    """

    def __init__(
        self,
        num_classes: int = 19,
        aux_heads: bool = True,
        in_channels: int = 3,
        width: int = 1,
        depth: int = 1,
        expand_ratio: int = 6,
        decode_channels: int = 1024,
        aux_channels: tuple[int, int, int, int] = (16, 64, 256, 1024),
        dropout: float = 0.1,
        ge_dw_relu: bool = True,
        ce_last_bn_relu: bool = True,
        bga_out_bn_relu: bool = True,
        bga_upsample: str = "bilinear",
        bga_pointwise_bias: bool = True,
        head: str = "mmseg",
        aggregation: str = "bga",
        branches: str = "both",
        semantic_ratio: float = 0.25,
    ) -> None:
        if head not in ("mmseg", "coincheung"):
            raise ValueError(f"head must be 'mmseg' (FCN heads) or 'coincheung' (SegmentHead), got {head!r}")
        if branches == "detail" and aux_heads:
            raise ValueError(
                "branches='detail' has no semantic branch, and the booster heads sit on its stages: "
                "build it with aux_heads=False (and train it without auxiliary losses)"
            )
        detail_channels = tuple(width * c for c in (64, 64, 128))
        semantic_channels = semantic_widths(semantic_ratio, width)
        semantic_depth = tuple(depth * d for d in (1, 1, 3))
        backbone = BiSeNetV2Backbone(
            in_channels,
            detail_channels,
            semantic_channels,
            semantic_depth,
            expand_ratio,
            ge_dw_relu,
            ce_last_bn_relu,
            bga_out_bn_relu,
            bga_upsample,
            bga_pointwise_bias,
            aggregation,
            branches,
        )
        auxiliary_head = None
        head_in = backbone.out_channels
        if head == "mmseg":
            decode_head = FCNHead(head_in, decode_channels, num_classes, 1, dropout)
            if aux_heads:
                auxiliary_head = nn.ModuleList(
                    FCNHead(c_in, c, num_classes, 2, dropout)
                    for c_in, c in zip(semantic_channels, aux_channels, strict=True)
                )
        else:
            decode_head = CoinCheungHead(head_in, decode_channels, num_classes, None, dropout)
            if aux_heads:
                auxiliary_head = nn.ModuleList(
                    CoinCheungHead(c_in, 128, num_classes, stride, dropout)
                    for c_in, stride in zip(semantic_channels, (4, 8, 16, 32), strict=True)
                )
        super().__init__(backbone, decode_head, auxiliary_head, num_classes, in_channels)
        # CoinCheung's fixed 4x upsampling in BGA only lines up for inputs divisible by 32
        self.size_divisor = 32 if bga_upsample == "nearest4x" else 1
