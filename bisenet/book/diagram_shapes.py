"""The tracing half of the diagrams (:mod:`bisenet.book.diagram`): the shape of every submodule's
output, recorded from one forward pass on the meta device (no arithmetic), how a shape and a
module are written in a box, and which kind (colour) of component a module is."""

from __future__ import annotations

import copy

import torch
from torch import nn

from bisenet.layers import ConvBNAct, DepthwiseSeparableConv
from bisenet.models.base import SegmentationModel
from bisenet.models.bisenetv1 import AttentionRefinementModule, FeatureFusionModule
from bisenet.models.bisenetv2 import (
    BilateralGuidedAggregation,
    ConcatAggregation,
    ContextEmbeddingBlock,
    GatherExpansionLayer,
    StemBlock,
    SumAggregation,
)
from bisenet.models.heads import CoinCheungHead, FCNHead
from bisenet.models.resnet import BasicBlock, Bottleneck, ResNet

Shape = tuple[int, ...]

INPUT_SIZE: Shape = (1, 3, 512, 1024)  # the diagrams' default: half a Cityscapes frame


def trace_shapes(model: nn.Module, input_size: Shape, *, device: str = "meta") -> dict[str, object]:
    """The output shape of every named submodule of ``model`` in one forward pass.

    Forward hooks on every module (the model itself is ``""``) record ``tuple(output.shape)``;
    a module returning a tuple or list (a backbone, a branch) gets the tuple of its outputs'
    shapes. The pass runs on a copy of the model in eval mode (BatchNorm statistics, no
    dropout); for a :class:`~bisenet.models.base.SegmentationModel` the copy's top-level
    ``training`` flag is set, so that its forward also runs the auxiliary (booster) heads as
    in training, while every layer stays in eval mode.

    On the ``"meta"`` device (the default) PyTorch works out every shape without computing a
    single number, so tracing costs nothing at any input size; ``device="cpu"`` runs a real
    pass (``tests/analysis/test_diagram.py`` checks that both give the same shapes).

    Args:
        model: the network (required); it is not modified.
        input_size: the input's shape (N, C, H, W), e.g. ``(1, 3, 512, 1024)`` (required).
        device: where the copy runs. Default ``"meta"``.
    """
    traced = copy.deepcopy(model).to(device).eval()
    if isinstance(traced, SegmentationModel):
        traced.training = True  # this flag only: the forward returns the auxiliary logits too
    shapes: dict[str, object] = {}
    handles = []
    for name, module in traced.named_modules():

        def record(_module: nn.Module, _inputs: tuple, output: object, name: str = name) -> None:
            shapes[name] = _shape_of(output)

        handles.append(module.register_forward_hook(record))
    with torch.no_grad():
        traced(torch.zeros(input_size, device=device))
    for handle in handles:
        handle.remove()
    return shapes


def _shape_of(value: object) -> object:
    if isinstance(value, torch.Tensor):
        return tuple(value.shape)
    return tuple(_shape_of(v) for v in value)


def format_shape(shape: Shape) -> str:
    """``(1, 128, 64, 128)`` -> ``"1×128×64×128"`` (N×C×H×W), as every box writes it."""
    return "×".join(str(s) for s in shape)


def ascii_shape(shape: Shape) -> str:
    """``(1, 128, 64, 128)`` -> ``"1x128x64x128"``, as the book's prose and the alt texts write it."""
    return "x".join(str(s) for s in shape)


def kind_of(module: nn.Module) -> str:
    """The kind of component a module is (a key of ``KINDS``), which gives its colour."""
    if isinstance(module, (FCNHead, CoinCheungHead)):
        return "head"
    if isinstance(module, (FeatureFusionModule, BilateralGuidedAggregation, SumAggregation, ConcatAggregation)):
        return "aggregation"
    if isinstance(module, (AttentionRefinementModule, nn.Sigmoid)):
        return "attention"
    if isinstance(module, (ContextEmbeddingBlock, nn.AdaptiveAvgPool2d)):
        return "context"
    if isinstance(module, (StemBlock, GatherExpansionLayer)):
        return "semantic"
    if isinstance(module, (ResNet, BasicBlock, Bottleneck)):
        return "resnet"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.Dropout, nn.Dropout2d)):
        return "pool"
    if isinstance(module, nn.Sequential) and len(module) > 0:
        if isinstance(module[-1], nn.Sigmoid):  # pooling, 1 x 1 conv(s), sigmoid
            return "attention"
        return kind_of(module[0])
    return "conv"


def describe(module: nn.Module) -> str:
    """What a module computes, read from its layers, in at most two short lines: the operation,
    then the channels and the form (``"3×3 conv s2\\n3→64"``, ``"GE s2\\n32→64, e=6"``). A
    convolution is followed by BN and ReLU unless the second line says otherwise."""
    if isinstance(module, ConvBNAct):
        conv = module.conv
        k, s, g = conv.kernel_size[0], conv.stride[0], conv.groups
        cin, cout = conv.in_channels, conv.out_channels
        name = "conv" if g == 1 else ("dw conv" if g == cin == cout else f"dw conv ×{cout // cin}")
        has_bn, has_relu = isinstance(module.bn, nn.BatchNorm2d), isinstance(module.act, nn.ReLU)
        form = "" if has_bn and has_relu else ", no ReLU" if has_bn else ", no BN" if has_relu else ", plain"
        return f"{k}×{k} {name}" + (f" s{s}" if s > 1 else "") + f"\n{cin}→{cout}{form}"
    if isinstance(module, DepthwiseSeparableConv):
        dw, pw = module.depthwise_conv.conv, module.pointwise_conv.conv
        stride = f" s{dw.stride[0]}" if dw.stride[0] > 1 else ""
        form = "" if isinstance(module.pointwise_conv.bn, nn.BatchNorm2d) else ", 1×1 plain"
        return f"{dw.kernel_size[0]}×{dw.kernel_size[0]} dw{stride} + 1×1\n{pw.in_channels}→{pw.out_channels}{form}"
    if isinstance(module, nn.Conv2d):
        k = module.kernel_size[0]
        return f"{k}×{k} conv\n{module.in_channels}→{module.out_channels}"
    # a block: its channels (its name is the box's label)
    if isinstance(module, GatherExpansionLayer):
        stride = 1 if module.shortcut is None else 2
        cin, mid = module.conv1.conv.in_channels, module.dwconv[0].conv.out_channels
        return f"s{stride}, {cin}→{module.conv2[0].conv.out_channels}, e={mid // cin}"
    if isinstance(module, StemBlock):
        return f"{module.conv_first.conv.in_channels}→{module.fuse_last.conv.out_channels}"
    if isinstance(module, ContextEmbeddingBlock):
        return f"{module.conv_gap.conv.in_channels}→{module.conv_last.conv.out_channels}"
    if isinstance(module, AttentionRefinementModule):
        return f"{module.conv_layer.conv.in_channels}→{module.conv_layer.conv.out_channels}"
    if isinstance(module, FeatureFusionModule):
        return f"{module.conv1.conv.in_channels}→{module.conv1.conv.out_channels}"
    if isinstance(module, BilateralGuidedAggregation):
        return f"{module.conv.conv.out_channels} channels"
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        word = "max-pool" if isinstance(module, nn.MaxPool2d) else "avg-pool"
        return f"{module.kernel_size}×{module.kernel_size} {word} s{module.stride}"
    if isinstance(module, nn.AdaptiveAvgPool2d):
        return "global average pool"
    if isinstance(module, (nn.Dropout, nn.Dropout2d)):
        return f"dropout p={module.p}"
    if isinstance(module, nn.BatchNorm2d):
        return f"{module.num_features} channels"
    if isinstance(module, FCNHead):
        c = module.convs[0].conv.out_channels
        return f"{len(module.convs)}× 3×3 conv →{c}\n1×1 →{module.conv_seg.out_channels}"
    if isinstance(module, nn.Sequential) and all(isinstance(m, (BasicBlock, Bottleneck)) for m in module):
        first = module[0]
        stride = max(first.conv1.stride[0], first.conv2.stride[0])
        cin = first.conv1.in_channels
        cout = module[-1].bn3.num_features if isinstance(first, Bottleneck) else module[-1].bn2.num_features
        return f"{len(module)} {type(first).__name__}s" + (f" s{stride}" if stride > 1 else "") + f"\n{cin}→{cout}"
    if isinstance(module, nn.Sequential) and len(module) == 1:
        return describe(module[0])
    return ""
