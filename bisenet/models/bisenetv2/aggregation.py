"""How BiSeNet V2 merges its branches (Yu et al., IJCV 2021): Bilateral Guided Aggregation
(Sec. 4.3, Fig. 6), and the summation and concatenation baselines of the paper's ablation
(Sec. 5.1, Table 2)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from bisenet.layers import ConvBNAct, DepthwiseSeparableConv, resize

BGA_UPSAMPLES = ("bilinear", "nearest4x")


def _check_bga_upsample(upsample: str) -> None:
    if upsample not in BGA_UPSAMPLES:
        raise ValueError(f"BGA upsample must be 'bilinear' (mmseg) or 'nearest4x' (CoinCheung), got {upsample!r}")


class BilateralGuidedAggregation(nn.Module):
    """Bilateral Guided Aggregation (Sec. 4.3, Fig. 6): the semantic features gate the detail
    features, at 1/8 and at 1/32 (only the semantic side passes through a sigmoid).

    Detail side (1/8): a) depthwise 3 x 3 + BN, 1 x 1 conv (with bias, no BN);
    b) ConvBN 3 x 3 stride 2, 3 x 3 stride-2 average pool (to 1/32).
    Semantic side (1/32): c) ConvBN 3 x 3, resized to a's size; d) depthwise 3 x 3 + BN, 1 x 1.
    out = ConvBNReLU 3 x 3 ( a * sigmoid(c)  +  resize(b * sigmoid(d)) ).

    Departures: mmseg resizes bilinearly to the other feature's size (the paper: 4x upsampling;
    CoinCheung: 4x nearest, ``upsample="nearest4x"``, which needs each input side, rounded up to
    a multiple of 8, to be a multiple of 32: ``bisenet.models.base.side_aligns``);
    mmseg's pointwise convs have biases (CoinCheung's not: ``pointwise_bias=False``); mmseg's
    output conv has BN + ReLU (the paper: plain 3 x 3 conv, ``out_bn_relu=False``).

    Shapes: detail (N, C, H/8, W/8), semantic (N, Cs, H/32, W/32) -> (N, C, H/8, W/8), with
    Cs = C except in the channel-ratio ablation (``semantic_channels``), where the semantic side's
    3 x 3 and 1 x 1 convs map Cs to C (the paper does not say how it matches the widths there).

    Args:
        channels: C, the width of the detail feature and of the output. Default 128.
        semantic_channels: Cs, the width of the semantic feature. Default None: equal to
            ``channels``.
        out_bn_relu: BN + ReLU on the output 3 x 3 conv (mmseg, CoinCheung); False gives the
            paper's plain conv. Default True.
        upsample: ``"bilinear"`` (mmseg: resize to the other feature's size) or
            ``"nearest4x"`` (CoinCheung); anything else raises ``ValueError``. Default
            ``"bilinear"``.
        pointwise_bias: biases on the two pointwise convs (mmseg); False is CoinCheung's form.
            Default True.
    """

    def __init__(
        self,
        channels: int = 128,
        semantic_channels: int | None = None,
        *,
        out_bn_relu: bool = True,
        upsample: str = "bilinear",
        pointwise_bias: bool = True,
    ) -> None:
        super().__init__()
        _check_bga_upsample(upsample)
        self.upsample = upsample
        # the semantic side's two convs map its width to the detail width (equal by default;
        # they differ only in the channel-ratio ablation, see BiSeNetV2's ``semantic_ratio``)
        cs = channels if semantic_channels is None else semantic_channels
        self.detail_dwconv = nn.Sequential(
            DepthwiseSeparableConv(channels, channels, 3, pointwise_norm=False, pointwise_bias=pointwise_bias)
        )
        self.detail_down = nn.Sequential(
            ConvBNAct(channels, channels, 3, stride=2, act=False), nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
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

    Args:
        channels: C, the width of both features and of the output. Default 128.
        semantic_channels: the semantic feature's width; must be None or equal to ``channels``
            (``ValueError`` otherwise). Default None.
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

    Args:
        channels: C, the width of the detail feature and of the output. Default 128.
        semantic_channels: Cs, the width of the semantic feature. Default None: equal to
            ``channels``.
    """

    def __init__(self, channels: int = 128, semantic_channels: int | None = None) -> None:
        super().__init__()
        cs = channels if semantic_channels is None else semantic_channels
        self.conv = ConvBNAct(channels + cs, channels, 3)

    def forward(self, x_detail: torch.Tensor, x_semantic: torch.Tensor) -> torch.Tensor:
        semantic_up = resize(x_semantic, x_detail.shape[-2:])  # (N, Cs, H/8, W/8)
        return self.conv(torch.cat([x_detail, semantic_up], dim=1))  # (N, C, H/8, W/8)
