"""Segmentation heads shared by BiSeNet V1 and V2.

Both papers end in a small "Seg Head": a 3 x 3 convolution and a 1 x 1 classifier. Both
reference implementations use mmsegmentation's FCN head for it (BiSeNetV2, Sec. 3.5 "booster
training strategy"; BiSeNetV1, Sec. 3.3 "auxiliary loss functions"); so does this package.
"""

from __future__ import annotations

import torch
from torch import nn

from bisenet.layers import ConvBNAct


class FCNHead(nn.Module):
    """``num_convs`` ConvBNReLU 3 x 3 layers, Dropout2d, and a 1 x 1 classifier with bias.

    The same structure as mmsegmentation's ``FCNHead(concat_input=False)``: the main head of
    BiSeNetV2 is ``FCNHead(128, 1024, num_convs=1)``, its booster heads use two convolutions;
    BiSeNetV1's main head is ``FCNHead(256, 256, num_convs=1)`` and its auxiliary heads
    ``FCNHead(128, 64, num_convs=1)``.

    Shapes: (N, in_channels, h, w) -> logits (N, num_classes, h, w) at the feature's resolution.

    Args:
        in_channels: channels of the input feature (required).
        channels: channels of the 3 x 3 convolutions (required).
        num_classes: output channels of the classifier (required).
        num_convs: number of ConvBNReLU 3 x 3 layers, at least 1. Default 1.
        dropout: ``Dropout2d`` probability before the classifier. Default 0.1.
    """

    def __init__(
        self, in_channels: int, channels: int, num_classes: int, *, num_convs: int = 1, dropout: float = 0.1
    ) -> None:
        super().__init__()
        if num_convs < 1:
            raise ValueError(f"FCNHead needs num_convs >= 1, got {num_convs}")
        # Defined first, as in mmseg, so that state dicts list the keys in the same order.
        self.conv_seg = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.convs = nn.Sequential(
            *[ConvBNAct(in_channels if i == 0 else channels, channels, 3) for i in range(num_convs)]
        )
        self.dropout = nn.Dropout2d(dropout)

    def init_classifier(self) -> None:
        """mmseg's ``Normal(std=0.01)`` on the classifier, bias 0."""
        nn.init.normal_(self.conv_seg.weight, std=0.01)
        nn.init.zeros_(self.conv_seg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.convs(x)  # (N, channels, h, w)
        return self.conv_seg(self.dropout(x))  # (N, num_classes, h, w)


class CoinCheungHead(nn.Module):
    """The segmentation and booster head of CoinCheung's BiSeNetV2 ("SegmentHead").

    Main head (``expand=None``): ConvBNReLU 3 x 3 to ``channels``, Dropout, 1 x 1 classifier with
    bias. Booster head (``expand=s``, the feature's stride): ConvBNReLU 3 x 3 to ``channels``
    (128), Dropout, nearest 2x upsampling, ConvBNReLU 3 x 3 to s * s channels, 1 x 1 classifier.
    CoinCheung then upsamples bilinearly by 8 (main) or s / 2 (booster); the model's final
    resize to the input size does the same for inputs divisible by 32.
    Attribute names are CoinCheung's (``conv``, ``conv_out``) so the mapping is a prefix rename.

    Shapes: (N, in, h, w) -> (N, classes, h, w) (main) or (N, classes, 2h, 2w) (booster).

    Args:
        in_channels: channels of the input feature (required).
        channels: channels of the first 3 x 3 convolution (required).
        num_classes: output channels of the classifier (required).
        expand: None for the main head; for a booster head the stride s of its feature, which
            gives the s * s channels after the upsampling. Default None.
        dropout: ``Dropout`` probability after the first convolution. Default 0.1.
    """

    def __init__(
        self, in_channels: int, channels: int, num_classes: int, *, expand: int | None = None, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.conv = ConvBNAct(in_channels, channels, 3)
        self.drop = nn.Dropout(dropout)
        if expand is None:
            upsample: nn.Module = nn.Identity()
            out_channels = channels
        else:
            out_channels = expand * expand
            upsample = nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"), ConvBNAct(channels, out_channels, 3))
        self.conv_out = nn.Sequential(upsample, nn.Conv2d(out_channels, num_classes, 1))

    @property
    def conv_seg(self) -> nn.Conv2d:
        """The 1 x 1 classifier (mmseg's name for it)."""
        return self.conv_out[1]

    def init_classifier(self) -> None:
        """mmseg's ``Normal(std=0.01)`` on the classifier, bias 0."""
        nn.init.normal_(self.conv_seg.weight, std=0.01)
        nn.init.zeros_(self.conv_seg.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_out(self.drop(self.conv(x)))
