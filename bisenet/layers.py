"""The small blocks every BiSeNet model is built from.

Attribute names follow mmsegmentation's ``ConvModule`` and ``DepthwiseSeparableConvModule``
(``conv``, ``bn``; ``depthwise_conv``, ``pointwise_conv``), so that the state dict of a model
built from these blocks has the same names as mmsegmentation's (see ``bisenet.interop``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBNAct(nn.Module):
    """Convolution, then (optionally) BatchNorm, then (optionally) ReLU.

    A convolution followed by BatchNorm carries no bias (the BN shift replaces it), as in
    mmsegmentation's ``ConvModule(bias="auto")``; without BN the convolution has a bias, unless
    ``bias=False`` says otherwise.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W') with
    H' = floor((H + 2 * padding - kernel_size) / stride) + 1.

    Args:
        in_channels: input channels (required).
        out_channels: output channels (required).
        kernel_size: side of the square kernel (required).
        stride: stride of the convolution. Default 1.
        padding: zero padding on each side. Default None: ``kernel_size // 2`` ("same" at
            stride 1).
        groups: groups of the convolution (``in_channels`` for a depthwise one). Default 1.
        norm: BatchNorm after the convolution. Default True.
        act: ReLU at the end. Default True.
        bias: whether the convolution has a bias. Default None: a bias exactly when there is
            no BatchNorm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        *,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        norm: bool = True,
        act: bool = True,
        bias: bool | None = None,
    ) -> None:
        super().__init__()
        if padding is None:
            padding = kernel_size // 2
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            groups=groups,
            bias=not norm if bias is None else bias,
        )
        self.bn = nn.BatchNorm2d(out_channels) if norm else nn.Identity()
        self.act = nn.ReLU(inplace=True) if act else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.bn(self.conv(x)))


class DepthwiseSeparableConv(nn.Module):
    """A depthwise k x k convolution with BN, then a pointwise 1 x 1 convolution.

    ``pointwise_norm``/``pointwise_act`` choose what follows the pointwise convolution: with no
    BN it has a bias (mmsegmentation's BGA uses that form; its GE shortcut uses BN and no act)
    unless ``pointwise_bias=False`` (CoinCheung's BGA).

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H / stride, W / stride).

    Args:
        in_channels: input channels (required); also the depthwise convolution's groups.
        out_channels: output channels of the pointwise convolution (required).
        kernel_size: side of the depthwise kernel. Default 3.
        stride: stride of the depthwise convolution. Default 1.
        pointwise_norm: BatchNorm after the pointwise convolution. Default True.
        pointwise_act: ReLU after the pointwise convolution. Default False.
        pointwise_bias: whether the pointwise convolution has a bias. Default None: a bias
            exactly when it has no BatchNorm.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        *,
        stride: int = 1,
        pointwise_norm: bool = True,
        pointwise_act: bool = False,
        pointwise_bias: bool | None = None,
    ) -> None:
        super().__init__()
        self.depthwise_conv = ConvBNAct(
            in_channels, in_channels, kernel_size, stride=stride, groups=in_channels, act=False
        )
        self.pointwise_conv = ConvBNAct(
            in_channels, out_channels, 1, norm=pointwise_norm, act=pointwise_act, bias=pointwise_bias
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise_conv(self.depthwise_conv(x))


def resize(x: torch.Tensor, size: tuple[int, int] | torch.Size, mode: str = "bilinear") -> torch.Tensor:
    """Resize a feature map to ``size`` (H, W); bilinear uses align_corners=False, as mmseg does.

    Args:
        x: the feature map (N, C, h, w) (required).
        size: the target (H, W) (required); ``x`` is returned as it is when it already has it.
        mode: ``"bilinear"`` or ``"nearest"`` (any mode of ``F.interpolate``). Default
            ``"bilinear"``.
    """
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if mode == "nearest":
        return F.interpolate(x, size=size, mode="nearest")
    return F.interpolate(x, size=size, mode=mode, align_corners=False)


def init_weights(module: nn.Module) -> None:
    """mmsegmentation's initialisation: Kaiming normal (fan_out, ReLU) for every convolution,
    biases zero, BatchNorm weight 1 and bias 0. The classifiers (``conv_seg``) are re-initialised
    by their heads afterwards (normal, std 0.01), as mmseg's ``BaseDecodeHead`` does.

    Args:
        module: the module whose every submodule is initialised, in place (required).
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.SyncBatchNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
