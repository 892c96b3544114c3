"""ResNet-18/50/101 trunks (He et al., CVPR 2016) for BiSeNetV1's context path.

torchvision's layout and parameter names (``conv1``, ``bn1``, ``layer1`` .. ``layer4``, blocks with
``conv1``/``bn1``..., ``downsample.0``/``downsample.1``), the 7 x 7 stem and the stride on the 3 x 3
conv of a bottleneck ("ResNet v1.5"), which is also mmsegmentation's ``ResNet(depth=..)`` with
``style="pytorch"``. So a torchvision ImageNet checkpoint saved on disk loads with
:meth:`ResNet.load_torchvision_checkpoint` (nothing is ever downloaded). No classifier: the trunk
returns the four stage outputs.

``deep_stem=True`` replaces the 7 x 7 stem by three 3 x 3 ConvBNReLUs (32, 32, 64 channels, the
first with stride 2): the "ResNet-C" tweak of He et al. ("Bag of Tricks for Image
Classification", CVPR 2019, Sec. 4.2), called "v1c" by mmcv's and sssegmentation's ImageNet
checkpoints (``resnet18_v1c``) and ``deep_stem`` by mmsegmentation's ``ResNetV1c``. The
parameter names are theirs: ``stem.0`` (conv), ``stem.1`` (BN), ``stem.3``, ``stem.4``,
``stem.6``, ``stem.7``. sssegmentation's BiSeNetV1 uses it.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from bisenet.errors import CheckpointError


class BasicBlock(nn.Module):
    """Two 3 x 3 convs with a residual connection (ResNet-18/34).

    Args:
        in_channels: channels of the input (required).
        channels: channels of both convolutions and of the output (required).
        stride: stride of the first convolution (and of the 1 x 1 shortcut). Default 1.
    """

    expansion = 1

    def __init__(self, in_channels: int, channels: int, *, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_channels, channels * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1 x 1 reduce, 3 x 3 (carrying the stride), 1 x 1 expand by 4, residual (ResNet-50/101).

    Args:
        in_channels: channels of the input (required).
        channels: channels of the 1 x 1 reduction and the 3 x 3 conv; the output has 4 times
            as many (required).
        stride: stride of the 3 x 3 convolution (and of the 1 x 1 shortcut). Default 1.
    """

    expansion = 4

    def __init__(self, in_channels: int, channels: int, *, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.conv3 = nn.Conv2d(channels, channels * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(channels * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _downsample(in_channels, channels * self.expansion, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


def _downsample(in_channels: int, out_channels: int, stride: int) -> nn.Sequential | None:
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))


RESNET_DEPTHS: dict[int, tuple[type[nn.Module], tuple[int, int, int, int]]] = {
    18: (BasicBlock, (2, 2, 2, 2)),
    50: (Bottleneck, (3, 4, 6, 3)),
    101: (Bottleneck, (3, 4, 23, 3)),
}


class ResNet(nn.Module):
    """A ResNet trunk returning the outputs of its four stages.

    Shapes: (N, 3, H, W) -> (N, 64e, H/4, W/4), (N, 128e, H/8, W/8), (N, 256e, H/16, W/16),
    (N, 512e, H/32, W/32), with e = 1 for ResNet-18 and 4 for ResNet-50/101.

    The arguments are keyword-only: ``ResNet(depth=50)`` (``ResNet(50)`` raises ``TypeError``
    rather than being read as a channel count).

    Args:
        depth: 18, 50 or 101; anything else raises ``ValueError``. Default 18.
        in_channels: channels of the input image. Default 3.
        deep_stem: three 3 x 3 convs instead of the 7 x 7 one (ResNet-C, "v1c"; see the module
            docstring). Default False (torchvision's and mmseg's ``ResNet``).
    """

    def __init__(self, *, depth: int = 18, in_channels: int = 3, deep_stem: bool = False) -> None:
        super().__init__()
        if depth not in RESNET_DEPTHS:
            raise ValueError(f"ResNet depth must be one of {sorted(RESNET_DEPTHS)}, got {depth}")
        block, blocks = RESNET_DEPTHS[depth]
        self.depth = depth
        self.deep_stem = deep_stem
        if deep_stem:  # (N, 3, H, W) -> (N, 32, H/2, W/2) -> (N, 32, H/2, W/2) -> (N, 64, H/2, W/2)
            self.stem = nn.Sequential(
                nn.Conv2d(in_channels, 32, 3, 2, 1, bias=False),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                nn.Conv2d(32, 32, 3, 1, 1, bias=False),
                nn.BatchNorm2d(32),
                nn.ReLU(inplace=True),
                nn.Conv2d(32, 64, 3, 1, 1, bias=False),
                nn.BatchNorm2d(64),
                nn.ReLU(inplace=True),
            )
        else:  # (N, 3, H, W) -> (N, 64, H/2, W/2)
            self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        channels_in = 64
        for i, (channels, n) in enumerate(zip((64, 128, 256, 512), blocks, strict=True)):
            stride = 1 if i == 0 else 2
            layers = []
            for j in range(n):
                layers.append(block(channels_in, channels, stride=stride if j == 0 else 1))
                channels_in = channels * block.expansion
            self.add_module(f"layer{i + 1}", nn.Sequential(*layers))
        self.out_channels = tuple(c * block.expansion for c in (64, 128, 256, 512))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.stem(x) if self.deep_stem else self.relu(self.bn1(self.conv1(x)))  # (N, 64, H/2, W/2)
        x = self.maxpool(x)  # (N, 64, H/4, W/4)
        c2 = self.layer1(x)  # (N, 64e, H/4, W/4)
        c3 = self.layer2(c2)  # (N, 128e, H/8, W/8)
        c4 = self.layer3(c3)  # (N, 256e, H/16, W/16)
        c5 = self.layer4(c4)  # (N, 512e, H/32, W/32)
        return c2, c3, c4, c5

    def load_torchvision_checkpoint(self, path: str | Path) -> list[str]:
        """Load a torchvision-format ImageNet checkpoint from a local file (with ``deep_stem``,
        a "v1c" one such as mmcv's ``resnet18_v1c``, whose names are the same but for the stem).

        Accepts a bare state dict or one wrapped in ``{"state_dict": ...}``; the classifier
        (``fc.*``) is dropped. Every trunk parameter must be present with the right shape,
        otherwise :class:`bisenet.errors.CheckpointError` names the file and the offending keys. Returns
        the ignored keys.

        Args:
            path: the local checkpoint file (required); a missing or unreadable one raises
                :class:`bisenet.errors.CheckpointError`.
        """
        path = Path(path)
        if not path.is_file():
            raise CheckpointError(
                f"pretrained backbone checkpoint not found: {path} (give the local path of a "
                f"torchvision ResNet-{self.depth} state dict, e.g. resnet{self.depth}-*.pth)"
            )
        try:  # tensors only: a file that asks for anything else is refused, never run
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # noqa: BLE001 - any unreadable file gets the same clear message
            # torch's own text would suggest weights_only=False, which would run the file's code
            raise CheckpointError(
                f"cannot read pretrained backbone checkpoint {path} ({type(e).__name__}): give a torchvision "
                f"ResNet-{self.depth} state dict saved with torch.save"
            ) from None
        if isinstance(state, dict) and "state_dict" in state:
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise CheckpointError(f"{path} does not hold a state dict (found {type(state).__name__})")
        ignored = sorted(k for k in state if k.startswith("fc."))
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        wrong = [k for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
        if missing or unexpected or wrong:
            raise CheckpointError(
                f"{path} is not a {'v1c (deep-stem) ' if self.deep_stem else 'torchvision '}"
                f"ResNet-{self.depth} checkpoint: "
                f"missing {missing[:5]}, unexpected {unexpected[:5]}, wrong shape {wrong[:5]}"
                f" ({len(missing)}, {len(unexpected)}, {len(wrong)} in all)"
            )
        self.load_state_dict(state)
        return ignored
