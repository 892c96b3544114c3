"""BiSeNet V2's two branches (Yu et al., IJCV 2021, Sec. 4.1 and 4.2): the Detail Branch, and
the Semantic Branch with its Stem Block, Gather-and-Expansion layers and Context Embedding Block.
The departures from the paper are named in each class's docstring."""

from __future__ import annotations

import torch
from torch import nn

from bisenet.layers import ConvBNAct, DepthwiseSeparableConv


class DetailBranch(nn.Module):
    """The Detail Branch (Sec. 4.1, Table 1): wide, shallow, VGG-like; output at 1/8.

    Three stages of ConvBNReLU 3 x 3; the first conv of each stage has stride 2.
    mmseg: stage channels (64, 64, 128) with 2, 3, 3 convolutions.

    Shapes: (N, 3, H, W) -> (N, 64, H/2, W/2) -> (N, 64, H/4, W/4) -> (N, 128, H/8, W/8).

    Args:
        in_channels: channels of the input image. Default 3.
        channels: output channels of the stages (one stage each). Default (64, 64, 128).
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

    Args:
        in_channels: channels of the input image. Default 3.
        out_channels: channels of every conv but the left path's 1 x 1 (half as many). Default 16.
    """

    def __init__(self, in_channels: int = 3, out_channels: int = 16) -> None:
        super().__init__()
        self.conv_first = ConvBNAct(in_channels, out_channels, 3, stride=2)
        self.convs = nn.Sequential(
            ConvBNAct(out_channels, out_channels // 2, 1), ConvBNAct(out_channels // 2, out_channels, 3, stride=2)
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

    Args:
        in_channels: channels of the input (required).
        out_channels: channels of the output; equal to ``in_channels`` at stride 1 (required).
        expand_ratio: the expansion factor e. Default 6.
        stride: 1 or 2; anything else raises ``ValueError``. Default 1.
        dw_relu: ReLU after the depthwise conv (mmseg, CoinCheung); False gives the paper's
            form. Default True.
    """

    def __init__(
        self, in_channels: int, out_channels: int, *, expand_ratio: int = 6, stride: int = 1, dw_relu: bool = True
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
            self.dwconv = nn.Sequential(ConvBNAct(in_channels, mid, 3, groups=in_channels, act=dw_relu))
            self.shortcut = None
        else:
            self.dwconv = nn.Sequential(
                ConvBNAct(in_channels, mid, 3, stride=2, groups=in_channels, act=False),
                ConvBNAct(mid, mid, 3, groups=mid, act=dw_relu),
            )
            self.shortcut = nn.Sequential(DepthwiseSeparableConv(in_channels, out_channels, 3, stride=2))
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

    Args:
        in_channels: channels of the input. Default 128.
        out_channels: channels of the output; must equal ``in_channels`` (the input is added
            back). Default 128.
        last_bn_relu: BN + ReLU on the last 3 x 3 conv (mmseg, CoinCheung); False gives the
            paper's plain conv with a bias. Default True.
    """

    def __init__(self, in_channels: int = 128, out_channels: int = 128, *, last_bn_relu: bool = True) -> None:
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

    Args:
        in_channels: channels of the input image. Default 3.
        channels: the widths of stages 1-4. Default (16, 32, 64, 128).
        expand_ratio: the GE layers' expansion factor. Default 6.
        depth: the number of stride-1 GE layers of stages 2, 3 and 4. Default (1, 1, 3).
        ge_dw_relu: the GE layers' ``dw_relu``. Default True.
        ce_last_bn_relu: the Context Embedding Block's ``last_bn_relu``. Default True.
    """

    def __init__(
        self,
        in_channels: int = 3,
        channels: tuple[int, int, int, int] = (16, 32, 64, 128),
        *,
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
            layers = [
                GatherExpansionLayer(
                    channels[i - 1], channels[i], expand_ratio=expand_ratio, stride=2, dw_relu=ge_dw_relu
                )
            ]
            layers += [
                GatherExpansionLayer(channels[i], channels[i], expand_ratio=expand_ratio, stride=1, dw_relu=ge_dw_relu)
                for _ in range(depth[i - 1])
            ]
            self.add_module(f"stage{i + 1}", nn.Sequential(*layers))
        self.stage4_CEBlock = ContextEmbeddingBlock(channels[3], channels[3], last_bn_relu=ce_last_bn_relu)
        self.channels = tuple(channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        s1 = self.stage1(x)  # (N, 16, H/4, W/4)
        s2 = self.stage2(s1)  # (N, 32, H/8, W/8)
        s3 = self.stage3(s2)  # (N, 64, H/16, W/16)
        s4 = self.stage4(s3)  # (N, 128, H/32, W/32)
        ce = self.stage4_CEBlock(s4)  # (N, 128, H/32, W/32)
        return s1, s2, s3, s4, ce
