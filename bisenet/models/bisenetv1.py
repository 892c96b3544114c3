"""BiSeNet V1 (Yu et al., "BiSeNet: Bilateral Segmentation Network for Real-time Semantic
Segmentation", ECCV 2018), component by component.

The structure is mmsegmentation 1.2.2's (configs ``bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024``
and ``bisenetv1_r50-d32_...``) with the same parameter names. Departures from the paper, shared by
mmseg and CoinCheung's implementation:

* a 3 x 3 ConvBNReLU before each Attention Refinement Module's attention (the paper's ARM
  attends directly over the ResNet feature), which also brings every context feature to the
  same width (128 for ResNet-18);
* a 1 x 1 ConvBNReLU to 128 channels at the end of the Spatial Path (the paper's path ends in
  its third 3 x 3 conv);
* after each ARM sum a nearest upsampling and a 3 x 3 ConvBNReLU ("conv_head"), which the
  paper does not draw;
* the Feature Fusion Module's attention: mmseg 1 x 1 conv-BN-ReLU-sigmoid, CoinCheung 1 x 1
  conv-BN-sigmoid, the paper 1 x 1 conv-ReLU-1 x 1 conv-sigmoid (option ``ffm_attention``).

sssegmentation's BiSeNetV1 (``fcn_bisenetv1_resnet18os32_cityscapes`` and ``..._resnet50os32_...``)
is mmseg's network but for one thing: its ResNet starts with the three-3 x 3-conv "v1c" stem
(option ``deep_stem``, preset ``SSSEG_OPTIONS``; the paper's ResNet-18 has the 7 x 7 stem).

Input sizes: every resize goes to another feature's size (nearest, as mmseg), so any
H, W >= 32 works.

The options are the fields of one frozen :class:`BiSeNetV1Config` (``depth``, ``dropout``,
``ffm_attention``, ``deep_stem``). Four presets are dicts of its fields, for
``build_model("bisenetv1-r18", **preset)`` or ``BiSeNetV1Config(**preset)``: ``MMSEG_OPTIONS``
(the defaults), ``PAPER_OPTIONS`` (the paper's FFM attention), ``COINCHEUNG_OPTIONS`` and
``SSSEG_OPTIONS``. The
registered models ``bisenetv1-r18``, ``-r50`` and ``-r101`` are defined at the end of this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from bisenet.errors import UsageError
from bisenet.layers import ConvBNAct, resize
from bisenet.models.base import SegmentationModel, check_config
from bisenet.models.heads import FCNHead
from bisenet.models.registry import register_model
from bisenet.models.resnet import ResNet

FFMAttention = Literal["mmseg", "coincheung", "paper"]
FFM_ATTENTIONS = ("mmseg", "coincheung", "paper")


def _check_ffm_attention(attention: str) -> None:
    """The one check of the FFM's attention option (the config's and the module's)."""
    if attention not in FFM_ATTENTIONS:
        raise UsageError(f"ffm_attention must be 'mmseg', 'coincheung' or 'paper', got {attention!r}")


class SpatialPath(nn.Module):
    """The Spatial Path (Sec. 3.1, Fig. 2a): three stride-2 convs keep a 1/8 feature map rich
    in spatial detail. ConvBNReLU 7 x 7 s2, 3 x 3 s2, 3 x 3 s2, then a 1 x 1 to the output width.

    Shapes (ResNet-18 widths): (N, 3, H, W) -> (N, 64, H/2, W/2) -> (N, 64, H/4, W/4)
    -> (N, 64, H/8, W/8) -> (N, 128, H/8, W/8).

    Args:
        in_channels: channels of the input image. Default 3.
        channels: output channels of the four convs. Default (64, 64, 64, 128).
    """

    def __init__(self, in_channels: int = 3, channels: tuple[int, int, int, int] = (64, 64, 64, 128)) -> None:
        super().__init__()
        self.layer1 = ConvBNAct(in_channels, channels[0], 7, stride=2)
        self.layer2 = ConvBNAct(channels[0], channels[1], 3, stride=2)
        self.layer3 = ConvBNAct(channels[1], channels[2], 3, stride=2)
        self.layer4 = ConvBNAct(channels[2], channels[3], 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))  # (N, 128, H/8, W/8)


class AttentionRefinementModule(nn.Module):
    """The Attention Refinement Module (Sec. 3.2, Fig. 2b): a channel attention vector from
    global average pooling re-weights the feature.

    mmseg: ConvBNReLU 3 x 3 to ``out_channels`` (not in the paper); attention = global pool,
    1 x 1 conv + BN, sigmoid; output = feature * attention.

    Shapes: (N, in, h, w) -> (N, out, h, w); the attention is (N, out, 1, 1).

    Args:
        in_channels: channels of the ResNet feature (required).
        out_channels: channels of the output and of the attention (required).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv_layer = ConvBNAct(in_channels, out_channels, 3)
        self.atten_conv_layer = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), ConvBNAct(out_channels, out_channels, 1, act=False), nn.Sigmoid()
        )

    def attention(self, x: torch.Tensor) -> torch.Tensor:
        """The channel attention (N, out, 1, 1) the module would apply to ``conv_layer(x)``.

        Args:
            x: the module's input (N, in, h, w) (required).
        """
        return self.atten_conv_layer(self.conv_layer(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv_layer(x)  # (N, out, h, w)
        return x * self.atten_conv_layer(x)  # (N, out, h, w) * (N, out, 1, 1)


class ContextPath(nn.Module):
    """The Context Path (Sec. 3.2, Fig. 2a): a ResNet trunk with a global-pool tail for a
    large receptive field, refined by two ARMs at 1/16 and 1/32.

    x32 = ARM32(c5) + gap(c5) -> nearest-resize to 1/16 -> ConvBNReLU 3 x 3 (``conv_head32``)
    x16 = ARM16(c4) + that   -> nearest-resize to 1/8  -> ConvBNReLU 3 x 3 (``conv_head16``)

    Returns (context at 1/8, context at 1/16), both ``out_channels`` wide; the first goes to the
    FFM and the first auxiliary head, the second to the second auxiliary head.

    All arguments are keyword-only, as :class:`ResNet`'s (``ContextPath(depth=50)``).

    Args:
        depth: the ResNet trunk's depth, 18, 50 or 101. Default 18.
        in_channels: channels of the input image. Default 3.
        out_channels: width of both ARMs and of the outputs. Default 128.
        deep_stem: the trunk's "v1c" stem of three 3 x 3 convs (:class:`ResNet`). Default False.
    """

    def __init__(
        self, *, depth: int = 18, in_channels: int = 3, out_channels: int = 128, deep_stem: bool = False
    ) -> None:
        super().__init__()
        self.backbone = ResNet(depth=depth, in_channels=in_channels, deep_stem=deep_stem)
        c4, c5 = self.backbone.out_channels[2:]
        self.arm16 = AttentionRefinementModule(c4, out_channels)
        self.arm32 = AttentionRefinementModule(c5, out_channels)
        self.conv_head32 = ConvBNAct(out_channels, out_channels, 3)
        self.conv_head16 = ConvBNAct(out_channels, out_channels, 3)
        self.gap_conv = nn.Sequential(nn.AdaptiveAvgPool2d(1), ConvBNAct(c5, out_channels, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        _, x8, x16, x32 = self.backbone(x)  # 1/8, 1/16, 1/32
        x_gap = self.gap_conv(x32)  # (N, C, 1, 1)
        x32_sum = self.arm32(x32) + x_gap  # (N, C, H/32, W/32)
        x32_up = self.conv_head32(resize(x32_sum, x16.shape[-2:], "nearest"))  # (N, C, H/16, W/16)
        x16_sum = self.arm16(x16) + x32_up  # (N, C, H/16, W/16)
        x16_up = self.conv_head16(resize(x16_sum, x8.shape[-2:], "nearest"))  # (N, C, H/8, W/8)
        return x16_up, x32_up


class FeatureFusionModule(nn.Module):
    """The Feature Fusion Module (Sec. 3.3, Fig. 2c): concatenate the spatial and context
    features, fuse with a 1 x 1 ConvBNReLU, re-weight channels with an attention vector, and add
    the re-weighted feature to itself: out = f * att + f.

    ``attention``: "mmseg" (1 x 1 conv-BN-ReLU, sigmoid; the default), "coincheung" (1 x 1
    conv-BN, sigmoid: the same parameters, no ReLU) or "paper" (1 x 1 conv-ReLU-1 x 1 conv,
    sigmoid; convs with bias, no BN).

    Shapes: (N, c_s, H/8, W/8) + (N, c_c, H/8, W/8) -> (N, out, H/8, W/8).

    Args:
        in_channels: c_s + c_c, the channels of the concatenated features (required).
        out_channels: channels of the fused feature and of the attention (required).
        attention: ``"mmseg"``, ``"coincheung"`` or ``"paper"``; anything else raises
            :class:`bisenet.errors.UsageError`. Default ``"mmseg"``.
    """

    def __init__(self, in_channels: int, out_channels: int, *, attention: FFMAttention = "mmseg") -> None:
        super().__init__()
        _check_ffm_attention(attention)
        self.conv1 = ConvBNAct(in_channels, out_channels, 1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        if attention == "paper":
            self.conv_atten = nn.Sequential(
                nn.Conv2d(out_channels, out_channels, 1),
                nn.ReLU(inplace=True),
                nn.Conv2d(out_channels, out_channels, 1),
                nn.Sigmoid(),
            )
        else:  # "mmseg" or "coincheung"
            self.conv_atten = nn.Sequential(
                ConvBNAct(out_channels, out_channels, 1, act=attention == "mmseg"), nn.Sigmoid()
            )

    def attention(self, x_spatial: torch.Tensor, x_context: torch.Tensor) -> torch.Tensor:
        """The channel attention (N, out, 1, 1) computed for this pair of inputs.

        Args:
            x_spatial: the spatial path's feature (N, c_s, H/8, W/8) (required).
            x_context: the context path's feature (N, c_c, H/8, W/8) (required).
        """
        return self.conv_atten(self.gap(self.conv1(torch.cat([x_spatial, x_context], dim=1))))

    def forward(self, x_spatial: torch.Tensor, x_context: torch.Tensor) -> torch.Tensor:
        x = self.conv1(torch.cat([x_spatial, x_context], dim=1))  # (N, out, H/8, W/8)
        att = self.conv_atten(self.gap(x))  # (N, out, 1, 1)
        return x * att + x


# Widths of mmseg's configs: ResNet-18 uses 64/128/256 (spatial, context, fused) and heads of
# 256 (main) and 64 (auxiliary); ResNet-50 and -101 use four times that.
V1_WIDTHS: dict[int, dict[str, object]] = {
    18: dict(spatial=(64, 64, 64, 128), context=128, fused=256, decode=256, aux=64),
    50: dict(spatial=(256, 256, 256, 512), context=512, fused=1024, decode=1024, aux=256),
    101: dict(spatial=(256, 256, 256, 512), context=512, fused=1024, decode=1024, aux=256),
}


@dataclass(frozen=True)
class BiSeNetV1Config:
    """The options of :class:`BiSeNetV1`, one frozen dataclass handed to the model and its
    backbone. The defaults are mmsegmentation's Cityscapes ResNet-18 model; the presets below
    (``PAPER_OPTIONS``, ``COINCHEUNG_OPTIONS``) are dicts of fields:
    ``BiSeNetV1Config(**PAPER_OPTIONS)``. A bad ``depth`` or ``ffm_attention`` raises
    ``ValueError`` when the config is made.

    Args:
        depth: the ResNet trunk, 18, 50 or 101; it also sets every width (``V1_WIDTHS``, as
            mmseg's configs). The registered names fix it (``bisenetv1-r50``). Default 18.
        dropout: the heads' ``Dropout2d`` probability. Default 0.1.
        ffm_attention: the Feature Fusion Module's attention, ``"mmseg"``, ``"coincheung"`` or
            ``"paper"`` (see :class:`FeatureFusionModule`). Default ``"mmseg"``.
        deep_stem: the context path's ResNet starts with three 3 x 3 convs ("v1c", as
            sssegmentation's) instead of the 7 x 7 conv (mmseg's, CoinCheung's and the paper's).
            Default False.
    """

    depth: int = 18
    dropout: float = 0.1
    ffm_attention: FFMAttention = "mmseg"
    deep_stem: bool = False

    def __post_init__(self) -> None:
        if self.depth not in V1_WIDTHS:
            raise UsageError(f"BiSeNetV1 depth must be one of {sorted(V1_WIDTHS)}, got {self.depth}")
        _check_ffm_attention(self.ffm_attention)


MMSEG_OPTIONS: dict[str, Any] = {}
"""mmsegmentation 1.2.2's BiSeNetV1 (``bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024`` and
its R-50 / R-101 siblings): the defaults, so no option. Its checkpoints load one to one
(:func:`bisenet.interop.from_mmseg`)."""

PAPER_OPTIONS: dict[str, Any] = dict(ffm_attention="paper")
"""The paper's Feature Fusion Module attention (Sec. 3.3, Fig. 2c): 1 x 1 conv, ReLU, 1 x 1
conv, sigmoid, convs with bias and no BN (65,536 parameters more with ResNet-18). The
departures that add layers (the 3 x 3 conv before each ARM, the Spatial Path's last 1 x 1, the
convs after each upsampling; see the module docstring) are shared by both implementations and
are not options: dropping them would change the parameter layout."""

COINCHEUNG_OPTIONS: dict[str, Any] = dict(ffm_attention="coincheung", dropout=0.0)
"""CoinCheung/BiSeNet's BiSeNetV1: the FFM attention without the ReLU (1 x 1 conv, BN,
sigmoid: mmseg's parameters, another function) and no dropout in the heads.
:func:`bisenet.interop.from_coincheung` loads his ResNet-18 checkpoints into it."""


SSSEG_OPTIONS: dict[str, Any] = dict(deep_stem=True)
"""sssegmentation 1.7.0's BiSeNetV1 (``fcn_bisenetv1_resnet18os32_cityscapes``,
``..._resnet50os32_...``): mmseg's network over a ResNet with the "v1c" stem (three 3 x 3 convs,
19,232 parameters more than the 7 x 7 stem). Its other departures are in training, not in
the network: SyncBN in every layer, PyTorch's default initialisation of the new layers, a v1c
ImageNet trunk (see ``bisenet recipes``). :func:`bisenet.interop.from_sssegmentation` loads
its checkpoints into it."""


class BiSeNetV1Backbone(nn.Module):
    """Context path, spatial path and their fusion (Fig. 2a up to the prediction).

    Returns (fused feature at 1/8, context at 1/8, context at 1/16).

    Args:
        in_channels: channels of the input image. Default 3.
        config: the model's options; the backbone reads ``depth`` (trunk and widths,
            ``V1_WIDTHS``) and ``ffm_attention``. Default ``BiSeNetV1Config()`` (mmseg's R-18).
    """

    def __init__(self, *, in_channels: int = 3, config: BiSeNetV1Config = BiSeNetV1Config()) -> None:
        super().__init__()
        check_config(config, BiSeNetV1Config)
        w = V1_WIDTHS[config.depth]
        self.context_path = ContextPath(
            depth=config.depth, in_channels=in_channels, out_channels=w["context"], deep_stem=config.deep_stem
        )
        self.spatial_path = SpatialPath(in_channels, w["spatial"])
        self.ffm = FeatureFusionModule(w["spatial"][-1] + w["context"], w["fused"], attention=config.ffm_attention)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x_context8, x_context16 = self.context_path(x)  # (N, 128, H/8, W/8), (N, 128, H/16, W/16)
        x_spatial = self.spatial_path(x)  # (N, 128, H/8, W/8)
        x_fuse = self.ffm(x_spatial, x_context8)  # (N, 256, H/8, W/8)
        return x_fuse, x_context8, x_context16


class BiSeNetV1(SegmentationModel):
    """BiSeNet V1 (Fig. 2): spatial path, context path over a ResNet trunk, FFM, FCN head, and
    two auxiliary heads on the context path's outputs at 1/8 and 1/16 (Sec. 3.3: "auxiliary
    loss functions to supervise the output of the context path").

    Defaults give mmsegmentation's Cityscapes ResNet-18 model: 13,275,539 parameters for
    inference and 13,425,721 with the auxiliary heads (19 classes).

    The model keeps its config as ``self.config``.

    >>> model = BiSeNetV1(num_classes=19, config=BiSeNetV1Config(depth=50, **PAPER_OPTIONS))

    Args:
        num_classes: the number of classes. Default 19.
        aux_heads: build the two auxiliary heads (False: none). Default True.
        in_channels: channels of the input image. Default 3.
        config: every other option. Default ``BiSeNetV1Config()`` (mmseg's R-18 model).
    """

    def __init__(
        self,
        *,
        num_classes: int = 19,
        aux_heads: bool = True,
        in_channels: int = 3,
        config: BiSeNetV1Config = BiSeNetV1Config(),
    ) -> None:
        check_config(config, BiSeNetV1Config)
        w = V1_WIDTHS[config.depth]
        backbone = BiSeNetV1Backbone(in_channels=in_channels, config=config)
        decode_head = FCNHead(w["fused"], w["decode"], num_classes, num_convs=1, dropout=config.dropout)
        auxiliary_head = None
        if aux_heads:
            auxiliary_head = nn.ModuleList(
                FCNHead(w["context"], w["aux"], num_classes, num_convs=1, dropout=config.dropout) for _ in range(2)
            )
        super().__init__(backbone, decode_head, auxiliary_head, num_classes=num_classes, in_channels=in_channels)
        self.config = config


# --- the registered models -----------------------------------------------------------------------


@register_model("bisenetv1-r101", BiSeNetV1Config, depth=101)
@register_model("bisenetv1-r50", BiSeNetV1Config, depth=50)
@register_model("bisenetv1-r18", BiSeNetV1Config, depth=18)
def bisenetv1(
    config: BiSeNetV1Config,
    *,
    num_classes: int = 19,
    aux_heads: bool = True,
    in_channels: int = 3,
    pretrained_backbone: str | Path | None = None,
) -> BiSeNetV1:
    """BiSeNet V1 over ResNet-18, -50 or -101 (``bisenetv1-r18``, ``-r50``, ``-r101``: the name
    fixes ``config.depth``). ``pretrained_backbone`` is the local path of a torchvision-format
    ImageNet checkpoint for the trunk (nothing is downloaded).

    Args:
        config: the model's options, made by :func:`bisenet.models.build_model` with the
            name's depth (required).
        num_classes: the number of classes. Default 19.
        aux_heads: build the auxiliary heads. Default True.
        in_channels: channels of the input image. Default 3.
        pretrained_backbone: a torchvision ResNet checkpoint of the config's depth, loaded into
            the trunk with :meth:`ResNet.load_torchvision_checkpoint`; not part of the config
            (the weights are). Default None: the trunk keeps mmseg's initialisation.
    """
    model = BiSeNetV1(num_classes=num_classes, aux_heads=aux_heads, in_channels=in_channels, config=config)
    if pretrained_backbone is not None:
        model.backbone.context_path.backbone.load_torchvision_checkpoint(pretrained_backbone)
    return model
