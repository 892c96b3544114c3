"""BiSeNet V1's architecture diagrams (Yu et al., ECCV 2018, Sec. 3, Fig. 2), drawn from a built
model: the whole network, the Spatial Path, the Context Path, an Attention Refinement Module and
the Feature Fusion Module. :mod:`bisenet.book.diagram` explains how a diagram is made from the
model and gives every diagram (these, V2's and the auxiliary heads') under one name.
"""

from __future__ import annotations

from torch import nn

from bisenet.book.diagram_layout import Canvas, Diagram
from bisenet.book.diagram_shapes import INPUT_SIZE, Shape, describe, format_shape
from bisenet.layers import ConvBNAct
from bisenet.models.bisenetv1 import (
    AttentionRefinementModule,
    BiSeNetV1Backbone,
    ContextPath,
    FeatureFusionModule,
    SpatialPath,
)
from bisenet.models.heads import FCNHead
from bisenet.models.resnet import ResNet

SP = "backbone.spatial_path"
CP = "backbone.context_path"


def _conv_label(module: ConvBNAct) -> str:
    k, s = module.conv.kernel_size[0], module.conv.stride[0]
    return f"{k}×{k} conv" + (f" s{s}" if s > 1 else "")


def _stem_label(trunk: ResNet) -> str:
    if trunk.deep_stem:  # ResNet-C: three 3 x 3 convs
        return "3× 3×3 conv, max-pool"
    k = trunk.conv1.kernel_size[0]
    return f"{k}×{k} conv s2, max-pool"


def _context_path(c: Canvas, col: int, row: int, *, within: str | None, details: bool) -> None:
    """The context path's boxes (Sec. 3.2, Fig. 2a) with the trunk in column ``col`` from row
    ``row`` down, the ARMs beside it, the upsampling sums going back up (mmseg's form)."""
    cp = c.module(CP, ContextPath)
    trunk = c.module(f"{CP}.backbone", ResNet)
    d = None if details else ""
    c.add(
        "stem",
        col,
        row,
        f"{CP}.backbone.maxpool",
        nn.MaxPool2d,
        "stem",
        within=within,
        kind="resnet",
        details=_stem_label(trunk) if details else "",
    )
    c.arrow("input", "stem")
    previous = "stem"
    for i in range(1, 5):
        stage = c.module(f"{CP}.backbone.layer{i}", nn.Sequential)
        c.add(
            f"layer{i}",
            col,
            row + i,
            f"{CP}.backbone.layer{i}",
            nn.Sequential,
            f"ResNet layer{i}",
            within=within,
            details=describe(stage).replace("\n", ", ") if details else "",
        )
        c.arrow(previous, f"layer{i}")
        previous = f"layer{i}"
    c.add("arm16", col + 1, row + 3, f"{CP}.arm16", AttentionRefinementModule, "ARM", within=within, details=d)
    c.add("arm32", col + 1, row + 4, f"{CP}.arm32", AttentionRefinementModule, "ARM", within=within, details=d)
    gap_in = cp.gap_conv[1].conv.in_channels
    c.add(
        "gap",
        col + 1,
        row + 5,
        f"{CP}.gap_conv",
        nn.Sequential,
        "global pool + 1×1",
        within=within,
        details=f"{gap_in}→{cp.gap_conv[1].conv.out_channels}" if details else "",
    )
    c.op("sum32", col + 2, row + 4, "+")
    up = "nearest ↑, 3×3 conv" if details else ""
    c.add("head32", col + 3, row + 4, f"{CP}.conv_head32", ConvBNAct, "↑ + 3×3 conv", within=within, details=up)
    c.op("sum16", col + 3, row + 3, "+")
    c.add("head16", col + 3, row + 2, f"{CP}.conv_head16", ConvBNAct, "↑ + 3×3 conv", within=within, details=up)
    c.arrow("layer3", "arm16")
    c.arrow("layer4", "arm32")
    c.arrow("layer4", "gap")
    c.arrow("arm32", "sum32")
    c.arrow("gap", "sum32")
    c.arrow("sum32", "head32")
    c.arrow("head32", "sum16")
    c.arrow("arm16", "sum16")
    c.arrow("sum16", "head16")


def bisenetv1_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """BiSeNet V1 whole (Sec. 3, Fig. 2a): the spatial path's four convolutions, the context
    path (ResNet trunk, two ARMs, global pooling, the upsampling sums), the FFM, the
    segmentation head and, when the model has them, the two auxiliary heads.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV1` (``build_model("bisenetv1-r18")``) (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    c = Canvas(
        model,
        input_size,
        f"BiSeNet V1 ({type(model.backbone.context_path.backbone).__name__}-"
        f"{model.backbone.context_path.backbone.depth}), input {format_shape(input_size)}",
        [1.45] * 6,
        [1.0] + [0.82] * 6,
    )
    c.module("backbone", BiSeNetV1Backbone)
    c.tensor("input", 0, 0, "input image")
    sp = c.module(SP, SpatialPath)
    previous = "input"
    for i, layer in enumerate(sp.children(), start=1):
        c.add(f"sp{i}", i, 0, f"{SP}.layer{i}", ConvBNAct, _conv_label(layer), within=SP, details="")
        c.arrow(previous, f"sp{i}")
        previous = f"sp{i}"
    c.group(SP, SpatialPath, SP, [f"sp{i}" for i in range(1, 5)])
    _context_path(c, 0, 1, within=CP, details=False)
    members = [
        "stem",
        "layer1",
        "layer2",
        "layer3",
        "layer4",
        "arm16",
        "arm32",
        "gap",
        "sum32",
        "head32",
        "sum16",
        "head16",
    ]
    c.group(CP, ContextPath, CP, members)
    c.add("ffm", 4, 2, "backbone.ffm", FeatureFusionModule, "FFM", details="")
    c.add("head", 5, 2, "decode_head", FCNHead, "segmentation head", details="")
    c.tensor("output", 5, 1, "logits (↑ to input)", output=True)
    c.arrow("sp4", "ffm")
    c.arrow("head16", "ffm")
    c.arrow("ffm", "head")
    c.arrow("head", "output")
    if model.auxiliary_head is not None:
        c.add("aux0", 4, 3, "auxiliary_head.0", FCNHead, "aux head (training)", details="")
        c.add("aux1", 4, 5, "auxiliary_head.1", FCNHead, "aux head (training)", details="")
        c.arrow("head16", "aux0")
        c.arrow("head32", "aux1")
    return c.draw()


def bisenetv1_alt(diagram: Diagram) -> str:
    """The alt text of :func:`bisenetv1_diagram`."""
    return (
        f"Block diagram of BiSeNet V1 on a {diagram.shape('input')} image: a spatial path of four "
        f"convolutions down to {diagram.shape('sp4')} and a context path, whose ResNet trunk goes down to "
        f"{diagram.shape('layer4')} and whose attention refinement modules, global pooling and upsampling "
        f"come back to {diagram.shape('head16')}, meet in the feature fusion module "
        f"({diagram.shape('ffm')}); the segmentation head's logits are resized to "
        f"{diagram.shape('output')}."
    )


def spatial_path_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Spatial Path (Sec. 3.1, Fig. 2a): three stride-2 ConvBNReLUs and mmseg's 1 x 1 to the
    output width, each with its output shape.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV1` (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    c = Canvas(model, input_size, f"Spatial Path: model.{SP}", [1.6] * 5, [1.05], root=SP)
    c.tensor("input", 0, 0, "input image")
    previous = "input"
    for i, _ in enumerate(c.module(SP, SpatialPath).children(), start=1):
        c.add(f"layer{i}", i, 0, f"{SP}.layer{i}", ConvBNAct, f"conv {i}")
        c.arrow(previous, f"layer{i}")
        previous = f"layer{i}"
    return c.draw()


def spatial_path_alt(diagram: Diagram) -> str:
    """The alt text of :func:`spatial_path_diagram`."""
    shapes = [diagram.shape(f"layer{i}") for i in range(1, 5)]
    return (
        f"Diagram of BiSeNet V1's spatial path: four convolution boxes in a row take the "
        f"{diagram.shape('input')} image to {', '.join(shapes[:-1])} and {shapes[-1]}."
    )


def context_path_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Context Path (Sec. 3.2, Fig. 2a): the ResNet trunk's stem and four stages, the ARMs
    on its 1/16 and 1/32 features, the global-pool branch, and mmseg's upsampling sums with a
    3 x 3 ConvBNReLU after each (``conv_head32``, ``conv_head16``).

    Args:
        model: a :class:`~bisenet.models.BiSeNetV1` (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    c = Canvas(model, input_size, f"Context Path: model.{CP}", [1.8] * 4, [0.95] * 7, root=CP)
    c.tensor("input", 0, 0, "input image")
    _context_path(c, 0, 1, within=None, details=True)
    return c.draw()


def context_path_alt(diagram: Diagram) -> str:
    """The alt text of :func:`context_path_diagram`."""
    stages = ", ".join(diagram.shape(f"layer{i}") for i in range(1, 5))
    return (
        f"Diagram of BiSeNet V1's context path: the ResNet trunk's stem and four stages ({stages}) run "
        f"down the left; attention refinement modules on the last two stages and a global-pool branch are "
        f"summed, upsampled and convolved back up to {diagram.shape('head32')} and "
        f"{diagram.shape('head16')}."
    )


ARM_INPUTS = {f"{CP}.arm16": f"{CP}.backbone.layer3", f"{CP}.arm32": f"{CP}.backbone.layer4"}


def arm_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE, module: str = f"{CP}.arm16") -> Diagram:
    """An Attention Refinement Module (Sec. 3.2, Fig. 2b): mmseg's 3 x 3 ConvBNReLU, then a
    channel attention (global pool, 1 x 1 conv + BN, sigmoid) that multiplies the feature.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV1` (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
        module: ``"backbone.context_path.arm16"`` or ``"...arm32"``. Default the first.
    """
    c = Canvas(
        model,
        input_size,
        f"Attention Refinement Module: model.{module}",
        [1.7, 1.7, 1.7, 0.8, 1.7],
        [1.15, 1.15],
        root=module,
    )
    c.module(module, AttentionRefinementModule)
    c.add(
        "input",
        0,
        0,
        ARM_INPUTS[module],
        nn.Sequential,
        "input",
        kind="input",
        show_name=False,
        details="ResNet " + ARM_INPUTS[module].rsplit(".", 1)[1],
    )
    c.add("conv", 1, 0, f"{module}.conv_layer", ConvBNAct, "conv (not in paper)")
    c.add("pool", 1, 1, f"{module}.atten_conv_layer.0", nn.AdaptiveAvgPool2d, "pool")
    c.add("att", 2, 1, f"{module}.atten_conv_layer.1", ConvBNAct, "attention conv")
    c.op("sigmoid", 3, 1, "σ", module=f"{module}.atten_conv_layer.2", cls=nn.Sigmoid)
    c.op("mul", 3, 0, "×")
    c.add("output", 4, 0, module, AttentionRefinementModule, "output", kind="input", show_name=False, details="")
    for src, dst in [
        ("input", "conv"),
        ("conv", "pool"),
        ("pool", "att"),
        ("att", "sigmoid"),
        ("sigmoid", "mul"),
        ("conv", "mul"),
        ("mul", "output"),
    ]:
        c.arrow(src, dst)
    return c.draw()


def arm_alt(diagram: Diagram) -> str:
    """The alt text of :func:`arm_diagram`."""
    return (
        f"Diagram of an attention refinement module: the {diagram.shape('input')} input goes through a "
        f"3x3 convolution to {diagram.shape('conv')}, global average pooling, a 1x1 convolution and a "
        f"sigmoid give a {diagram.shape('att')} channel attention, and their product is the "
        f"{diagram.shape('output')} output."
    )


def ffm_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Feature Fusion Module (Sec. 3.3, Fig. 2c): concatenation, a 1 x 1 ConvBNReLU, a
    channel attention from global pooling (its layers are read from ``conv_atten``: mmseg's,
    CoinCheung's or the paper's form) and ``f * att + f``.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV1` (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    ffm = model.get_submodule("backbone.ffm")
    attention = list(ffm.conv_atten.named_children()) if isinstance(ffm, FeatureFusionModule) else []
    weightless = (nn.ReLU, nn.Sigmoid)
    cols = [1.6, 0.7, 1.6] + [0.8 if isinstance(m, weightless) else 1.6 for _, m in attention] + [0.7, 1.6]
    c = Canvas(
        model, input_size, "Feature Fusion Module: model.backbone.ffm", cols, [1.15, 1.15, 1.15], root="backbone.ffm"
    )
    c.module("backbone.ffm", FeatureFusionModule)
    c.add("spatial", 0, 0, SP, SpatialPath, "spatial feature", kind="input", show_name=False, details="spatial_path")
    c.add(
        "context",
        0,
        1,
        f"{CP}.conv_head16",
        ConvBNAct,
        "context feature",
        kind="input",
        show_name=False,
        details="conv_head16",
    )
    c.op("cat", 1, 0.5, "C", caption="concat")
    c.add("conv", 2, 0.5, "backbone.ffm.conv1", ConvBNAct, "fuse")
    c.add("pool", 2, 1.8, "backbone.ffm.gap", nn.AdaptiveAvgPool2d, "pool")
    previous = "pool"
    for i, (name, layer) in enumerate(attention):
        if isinstance(layer, weightless):
            c.op(
                f"att{i}",
                3 + i,
                1.8,
                "σ" if isinstance(layer, nn.Sigmoid) else "R",
                module=f"backbone.ffm.conv_atten.{name}",
                cls=type(layer),
            )
        else:
            c.add(f"att{i}", 3 + i, 1.8, f"backbone.ffm.conv_atten.{name}", type(layer), "attention conv")
        c.arrow(previous, f"att{i}")
        previous = f"att{i}"
    last = 3 + len(attention) - 1
    c.op("mul", last, 0.5, "×")
    c.op("add", last + 1, 0.5, "+")
    c.add(
        "output",
        last + 2,
        0.5,
        "backbone.ffm",
        FeatureFusionModule,
        "output",
        kind="input",
        show_name=False,
        details="",
    )
    for src, dst in [
        ("spatial", "cat"),
        ("context", "cat"),
        ("cat", "conv"),
        ("conv", "pool"),
        (previous, "mul"),
        ("conv", "mul"),
        ("mul", "add"),
        ("add", "output"),
    ]:
        c.arrow(src, dst)
    c.arrow("conv", "add", bend=-0.35)
    return c.draw()


def ffm_alt(diagram: Diagram) -> str:
    """The alt text of :func:`ffm_diagram`."""
    return (
        f"Diagram of the feature fusion module: the spatial ({diagram.shape('spatial')}) and context "
        f"({diagram.shape('context')}) features are concatenated and fused by a 1x1 convolution into "
        f"{diagram.shape('conv')}, global pooling and the attention layers, ending in a sigmoid, weight its "
        f"channels, and the weighted feature plus the fused one is the {diagram.shape('output')} output."
    )
