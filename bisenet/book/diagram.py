"""Architecture diagrams drawn from the package's models, so that they cannot drift from the code.

Each function takes a built model (``bisenet.build_model("bisenetv2")``) and an input size,
traces the output shape of every submodule in one forward pass
(:func:`~bisenet.book.diagram_shapes.trace_shapes`, on the meta device: no arithmetic),
and draws one box per component it finds in the model: the box is looked up by its module
name, checked to be of the expected class, labelled with channel counts read from its
convolutions and with the traced shape. Operations done with plain functions (sums, products,
concatenation, resizing) are circles; arrows follow each ``forward``. Each returns a
:class:`~bisenet.book.diagram_layout.Diagram`: ``.figure`` (a matplotlib ``Figure``; a
notebook displays it), and ``.boxes``, ``.arrows``, ``.groups``, the records
``tests/analysis/test_diagram.py`` holds against the model and a real forward pass. Each
``*_alt`` function gives the one-sentence alt text of its diagram, written from the boxes.

BiSeNet V2 (Yu et al., IJCV 2021, Sec. 4, Fig. 3-6), in this module:
:func:`bisenetv2_diagram`, :func:`detail_branch_diagram`, :func:`stem_block_diagram`,
:func:`ge_layer_diagram`, :func:`context_embedding_diagram`, :func:`semantic_branch_diagram`,
:func:`bga_diagram`, and :func:`booster_head_diagram` (V2's booster heads, V1's auxiliary
heads). BiSeNet V1 (Yu et al., ECCV 2018, Sec. 3, Fig. 2), in
:mod:`bisenet.book.diagram_v1` and imported here: :func:`bisenetv1_diagram`,
:func:`spatial_path_diagram`, :func:`context_path_diagram`, :func:`arm_diagram`,
:func:`ffm_diagram`.

>>> import bisenet
>>> from bisenet.book.diagram import stem_block_alt, stem_block_diagram
>>> diagram = stem_block_diagram(bisenet.build_model("bisenetv2"))
>>> diagram  # in a notebook: the picture (diagram.figure is the matplotlib Figure)
>>> stem_block_alt(diagram)  # its alt text
"""

from __future__ import annotations

from torch import nn

from bisenet.book.diagram_layout import Canvas, Diagram
from bisenet.book.diagram_shapes import INPUT_SIZE, Shape, ascii_shape, format_shape, trace_shapes
from bisenet.book.diagram_v1 import (
    CP,
    arm_alt,
    arm_diagram,
    bisenetv1_alt,
    bisenetv1_diagram,
    context_path_alt,
    context_path_diagram,
    ffm_alt,
    ffm_diagram,
    spatial_path_alt,
    spatial_path_diagram,
)
from bisenet.layers import ConvBNAct, DepthwiseSeparableConv
from bisenet.models.bisenetv1 import BiSeNetV1Backbone
from bisenet.models.bisenetv2 import (
    BilateralGuidedAggregation,
    ContextEmbeddingBlock,
    DetailBranch,
    GatherExpansionLayer,
    SemanticBranch,
    StemBlock,
)
from bisenet.models.heads import CoinCheungHead, FCNHead

__all__ = [
    "INPUT_SIZE",
    "arm_alt",
    "arm_diagram",
    "bga_alt",
    "bga_diagram",
    "bisenetv1_alt",
    "bisenetv1_diagram",
    "bisenetv2_alt",
    "bisenetv2_diagram",
    "booster_head_alt",
    "booster_head_diagram",
    "context_embedding_alt",
    "context_embedding_diagram",
    "context_path_alt",
    "context_path_diagram",
    "detail_branch_alt",
    "detail_branch_diagram",
    "ffm_alt",
    "ffm_diagram",
    "ge_layer_alt",
    "ge_layer_diagram",
    "semantic_branch_alt",
    "semantic_branch_diagram",
    "spatial_path_alt",
    "spatial_path_diagram",
    "stem_block_alt",
    "stem_block_diagram",
    "trace_shapes",
]

DETAIL = "backbone.detail"
SEMANTIC = "backbone.semantic"
HEADS = (FCNHead, CoinCheungHead)  # mmseg's heads, CoinCheung's (option head="coincheung")


def _booster_input(model: nn.Module, index: int) -> tuple[str, type]:
    """The module (and its class) whose output auxiliary head ``index`` reads: V2's semantic
    stages 1-4, V1's context outputs at 1/8 and 1/16 (the order of the backbone's outputs)."""
    if isinstance(model.backbone, BiSeNetV1Backbone):
        return (f"{CP}.conv_head16", f"{CP}.conv_head32")[index], ConvBNAct
    return f"{SEMANTIC}.stage{index + 1}", StemBlock if index == 0 else nn.Sequential


def bisenetv2_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """BiSeNet V2 whole (Sec. 4, Fig. 3): the detail branch's three stages, the semantic
    branch (stem, three stages of GE layers, context embedding), BGA, the segmentation head
    and, when the model has them, the four booster heads on the semantic stages (Sec. 4.4).

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with both branches and BGA
            (``build_model("bisenetv2")``) (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    c = Canvas(model, input_size, f"BiSeNet V2, input {format_shape(input_size)}", [1.45] * 6, [1.0, 0.85, 0.85, 1.0])
    c.tensor("input", 0, 1, "input image")
    detail = c.module(f"{DETAIL}.detail_branch", nn.Sequential)
    previous = "input"
    for i in range(len(detail)):
        c.add(
            f"d{i + 1}",
            1 + i,
            0,
            f"{DETAIL}.detail_branch.{i}",
            nn.Sequential,
            f"detail stage {i + 1}",
            within=DETAIL,
            details="",
        )
        c.arrow(previous, f"d{i + 1}")
        previous = f"d{i + 1}"
    c.group(DETAIL, DetailBranch, DETAIL, [f"d{i + 1}" for i in range(len(detail))])
    c.add("s1", 1, 2, f"{SEMANTIC}.stage1", StemBlock, "stem block", within=SEMANTIC, details="")
    c.arrow("input", "s1")
    for i in range(2, 5):
        c.add(f"s{i}", i, 2, f"{SEMANTIC}.stage{i}", nn.Sequential, f"GE stage {i}", within=SEMANTIC, details="")
        c.arrow(f"s{i - 1}", f"s{i}")
    c.add("ce", 5, 2, f"{SEMANTIC}.stage4_CEBlock", ContextEmbeddingBlock, "CE block", within=SEMANTIC, details="")
    c.arrow("s4", "ce")
    c.group(SEMANTIC, SemanticBranch, SEMANTIC, ["s1", "s2", "s3", "s4", "ce"], below=True)
    c.add("bga", 4, 1, "backbone.bga", BilateralGuidedAggregation, "BGA", details="")
    c.add("head", 5, 1, "decode_head", HEADS, "segmentation head", details="")
    c.tensor("output", 5, 0, "logits (↑ to input)", output=True)
    for src, dst in [(previous, "bga"), ("ce", "bga"), ("bga", "head"), ("head", "output")]:
        c.arrow(src, dst)
    for i in range(len(model.auxiliary_head or [])):
        c.add(f"aux{i}", 1 + i, 3, f"auxiliary_head.{i}", HEADS, f"booster {i + 1} (training)", details="")
        c.arrow(f"s{i + 1}", f"aux{i}")
    return c.draw()


def bisenetv2_alt(diagram: Diagram) -> str:
    """The alt text of :func:`bisenetv2_diagram`."""
    boosters = sum(b.name.startswith("aux") for b in diagram.boxes)
    return (
        f"Block diagram of BiSeNet V2 on a {diagram.shape('input')} image: the detail branch's three "
        f"stages go down to {diagram.shape('d3')}, the semantic branch's stem and GE stages down to "
        f"{diagram.shape('s4')} and its context embedding block, bilateral guided aggregation merges the "
        f"two into {diagram.shape('bga')}, the segmentation head's logits are resized to "
        f"{diagram.shape('output')}, and {boosters} booster heads, used in training only, read the "
        f"semantic stages."
    )


def detail_branch_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Detail Branch (Sec. 4.1, Table 1): one column per stage, one box per ConvBNReLU,
    the first of each stage with stride 2.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with a detail branch (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    c = Canvas(model, input_size, f"Detail Branch: model.{DETAIL}", [1.6] * 4, [1.1, 1.05, 1.05], root=DETAIL)
    stages = c.module(f"{DETAIL}.detail_branch", nn.Sequential)
    c.tensor("input", 0, 0, "input image")
    previous = "input"
    for i, stage in enumerate(stages):
        names = [f"s{i + 1}c{j + 1}" for j in range(len(stage))]
        for j, name in enumerate(names):
            c.add(
                name,
                1 + i,
                j,
                f"{DETAIL}.detail_branch.{i}.{j}",
                ConvBNAct,
                f"S{i + 1} conv {j + 1}",
                within=f"{DETAIL}.detail_branch.{i}",
            )
            c.arrow(previous, name)
            previous = name
        c.group(f"{DETAIL}.detail_branch.{i}", nn.Sequential, f"detail_branch.{i}", names)
    return c.draw()


def detail_branch_alt(diagram: Diagram) -> str:
    """The alt text of :func:`detail_branch_diagram`."""
    convs = [b for b in diagram.boxes if b.name != "input"]
    ends = [ascii_shape(b.shape) for b in convs if b.name.endswith("c1")]
    return (
        f"Diagram of BiSeNet V2's detail branch: three columns, one per stage, of 3x3 convolutions "
        f"({len(convs)} in all), each opened by a stride-2 convolution, take the {diagram.shape('input')} "
        f"image to {', '.join(ends[:-1])} and {ends[-1]}."
    )


def stem_block_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Stem Block (Sec. 4.2, Fig. 4a): a 3 x 3 stride-2 conv, then a 1 x 1 / 3 x 3
    stride-2 conv path beside a 3 x 3 max-pool, concatenated and fused by a 3 x 3 conv.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with a semantic branch (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    stem = f"{SEMANTIC}.stage1"
    c = Canvas(model, input_size, f"Stem Block: model.{stem}", [1.5, 1.5, 1.5, 1.5, 0.7, 1.5], [1.15, 1.15], root=stem)
    c.module(stem, StemBlock)
    c.tensor("input", 0, 0.5, "input image")
    c.add("first", 1, 0.5, f"{stem}.conv_first", ConvBNAct, "first conv")
    c.add("left1", 2, 0, f"{stem}.convs.0", ConvBNAct, "left: reduce")
    c.add("left2", 3, 0, f"{stem}.convs.1", ConvBNAct, "left: down")
    c.add("pool", 2.5, 1, f"{stem}.pool", nn.MaxPool2d, "right: pool")
    c.op("cat", 4, 0.5, "C", caption="concat")
    c.add("fuse", 5, 0.5, f"{stem}.fuse_last", ConvBNAct, "fuse")
    for src, dst in [
        ("input", "first"),
        ("first", "left1"),
        ("left1", "left2"),
        ("first", "pool"),
        ("left2", "cat"),
        ("pool", "cat"),
        ("cat", "fuse"),
    ]:
        c.arrow(src, dst)
    return c.draw()


def stem_block_alt(diagram: Diagram) -> str:
    """The alt text of :func:`stem_block_diagram`."""
    return (
        f"Diagram of the stem block: a 3x3 stride-2 convolution takes the {diagram.shape('input')} image "
        f"to {diagram.shape('first')}, a 1x1 then a 3x3 stride-2 convolution ({diagram.shape('left2')}) "
        f"run beside a 3x3 max-pool ({diagram.shape('pool')}), and their concatenation is fused by a 3x3 "
        f"convolution into {diagram.shape('fuse')}."
    )


def _previous_layer(name: str) -> tuple[str, type]:
    """The module (and its class) whose output the GE layer ``backbone.semantic.stageK.i``
    reads: the layer before it, or the previous stage (the stem before stage 2)."""
    stage, index = name.rsplit(".", 2)[-2:]
    if int(index) > 0:
        return f"{SEMANTIC}.{stage}.{int(index) - 1}", GatherExpansionLayer
    previous = int(stage.removeprefix("stage")) - 1
    return f"{SEMANTIC}.stage{previous}", StemBlock if previous == 1 else nn.Sequential


def ge_layer_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE, module: str = f"{SEMANTIC}.stage3.1") -> Diagram:
    """A Gather-and-Expansion layer (Sec. 4.2, Fig. 5b stride 1, Fig. 5c stride 2): 3 x 3
    conv, the (grouped) depthwise expansion (two convs at stride 2), the 1 x 1 projection, the
    shortcut (identity, or a depthwise-separable conv at stride 2), their sum and a ReLU.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with a semantic branch (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
        module: the GE layer, ``"backbone.semantic.stageK.i"``; ``stage3.0`` is a stride-2
            layer, ``stage3.1`` a stride-1 one. Default ``"backbone.semantic.stage3.1"``.
    """
    layer = model.get_submodule(module)
    stride = 1 if getattr(layer, "shortcut", None) is None else 2
    dw = list(layer.dwconv) if isinstance(layer, GatherExpansionLayer) else []
    cols = [1.3] * (3 + len(dw)) + [0.6, 0.9]
    rows = [1.25, 0.8] if stride == 1 else [1.25, 1.2]
    c = Canvas(model, input_size, f"GE layer, stride {stride}: model.{module}", cols, rows, root=module)
    c.module(module, GatherExpansionLayer)
    source, source_cls = _previous_layer(module)
    c.add(
        "input",
        0,
        0,
        source,
        source_cls,
        "input",
        kind="input",
        show_name=False,
        details=source.removeprefix("backbone."),
    )
    c.add("gather", 1, 0, f"{module}.conv1", ConvBNAct, "gather")
    names = ["input", "gather"]
    for i in range(len(dw)):
        c.add(f"dw{i}", 2 + i, 0, f"{module}.dwconv.{i}", ConvBNAct, "expand" if i == 0 else "depthwise")
        names.append(f"dw{i}")
    last = 2 + len(dw)
    c.add("project", last, 0, f"{module}.conv2.0", ConvBNAct, "project")
    c.op("sum", last + 1, 0, "+")
    c.op("relu", last + 2, 0, "R", caption="ReLU", module=f"{module}.act", cls=nn.ReLU)
    for src, dst in zip(names + ["project", "sum"], names[1:] + ["project", "sum", "relu"]):
        c.arrow(src, dst)
    if stride == 1:  # the input itself is added: no layer
        c.op("shortcut", 2, 1, "=", caption="identity")
    else:
        c.add("shortcut", 2, 1, f"{module}.shortcut.0", DepthwiseSeparableConv, "shortcut")
    c.arrow("input", "shortcut", elbow="vh")
    c.arrow("shortcut", "sum", elbow="hv")
    return c.draw()


def ge_layer_alt(diagram: Diagram) -> str:
    """The alt text of :func:`ge_layer_diagram`."""
    if diagram.box("shortcut").module is None:
        return (
            f"Diagram of a stride-1 gather-and-expansion layer: the {diagram.shape('input')} input goes "
            f"through a 3x3 convolution, a grouped 3x3 convolution expanding it to {diagram.shape('dw0')} "
            f"and a 1x1 projection to {diagram.shape('project')}, which is added to the input itself "
            f"(the identity shortcut) before a ReLU."
        )
    return (
        f"Diagram of a stride-2 gather-and-expansion layer: the {diagram.shape('input')} input goes through "
        f"a 3x3 convolution, a stride-2 grouped 3x3 convolution expanding it to {diagram.shape('dw0')}, a "
        f"depthwise 3x3 convolution and a 1x1 projection to {diagram.shape('project')}, which is added to a "
        f"stride-2 depthwise-separable shortcut of the input ({diagram.shape('shortcut')}) before a ReLU."
    )


def context_embedding_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Context Embedding Block (Sec. 4.2, Fig. 4b): global average pooling, BN, a 1 x 1
    ConvBNReLU, broadcast-added to the input, then a 3 x 3 conv.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with a semantic branch (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    ce = f"{SEMANTIC}.stage4_CEBlock"
    c = Canvas(
        model, input_size, f"Context Embedding Block: model.{ce}", [1.5, 1.5, 1.5, 1.5, 0.8, 1.5], [1.15, 1.15], root=ce
    )
    c.module(ce, ContextEmbeddingBlock)
    c.add(
        "input",
        0,
        0,
        f"{SEMANTIC}.stage4",
        nn.Sequential,
        "input",
        kind="input",
        show_name=False,
        details="semantic.stage4",
    )
    c.add("pool", 1, 1, f"{ce}.gap.0", nn.AdaptiveAvgPool2d, "pool")
    c.add("bn", 2, 1, f"{ce}.gap.1", nn.BatchNorm2d, "BN")
    c.add("conv", 3, 1, f"{ce}.conv_gap", ConvBNAct, "context conv")
    c.op("sum", 4, 0, "+", caption="broadcast")
    c.add("last", 5, 0, f"{ce}.conv_last", ConvBNAct, "output conv")
    for src, dst in [
        ("input", "pool"),
        ("pool", "bn"),
        ("bn", "conv"),
        ("conv", "sum"),
        ("input", "sum"),
        ("sum", "last"),
    ]:
        c.arrow(src, dst)
    return c.draw()


def context_embedding_alt(diagram: Diagram) -> str:
    """The alt text of :func:`context_embedding_diagram`."""
    return (
        f"Diagram of the context embedding block: global average pooling, batch normalisation and a 1x1 "
        f"convolution turn the {diagram.shape('input')} input into a {diagram.shape('conv')} context "
        f"vector, which is added to every position of the input before a 3x3 convolution gives the "
        f"{diagram.shape('last')} output."
    )


def semantic_branch_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """The Semantic Branch (Sec. 4.2, Table 1): the stem, one column per stage with a box per
    GE layer (read from the stage, so the depth multiplier's extra layers appear), and the
    context embedding block.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with a semantic branch (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    branch = model.get_submodule(SEMANTIC)
    depth = max(len(getattr(branch, f"stage{i}", [])) for i in range(2, 5))
    c = Canvas(
        model,
        input_size,
        f"Semantic Branch: model.{SEMANTIC}",
        [1.45] * 6,
        [1.05] + [0.95] * (depth - 1),
        root=SEMANTIC,
    )
    c.module(SEMANTIC, SemanticBranch)
    c.tensor("input", 0, 0, "input image")
    c.add("stem", 1, 0, f"{SEMANTIC}.stage1", StemBlock, "stem block")
    c.arrow("input", "stem")
    previous = "stem"
    for i in range(2, 5):
        stage = c.module(f"{SEMANTIC}.stage{i}", nn.Sequential)
        names = [f"s{i}.{j}" for j in range(len(stage))]
        for j, name in enumerate(names):
            c.add(
                name, i, j, f"{SEMANTIC}.stage{i}.{j}", GatherExpansionLayer, "GE layer", within=f"{SEMANTIC}.stage{i}"
            )
            c.arrow(previous, name)
            previous = name
        c.group(f"{SEMANTIC}.stage{i}", nn.Sequential, f"stage{i}", names)
    c.add("ce", 5, len(stage) - 1, f"{SEMANTIC}.stage4_CEBlock", ContextEmbeddingBlock, "CE block")
    c.arrow(previous, "ce")
    return c.draw()


def semantic_branch_alt(diagram: Diagram) -> str:
    """The alt text of :func:`semantic_branch_diagram`."""
    layers = [b for b in diagram.boxes if b.name.startswith("s") and "." in b.name]
    ends = [ascii_shape(b.shape) for b in layers if b.name.endswith(".0")]
    return (
        f"Diagram of BiSeNet V2's semantic branch: the stem block takes the {diagram.shape('input')} "
        f"image to {diagram.shape('stem')}, three columns of GE layers ({len(layers)} in all), each opened "
        f"by a stride-2 layer, take it to {', '.join(ends[:-1])} and {ends[-1]}, and the context embedding "
        f"block gives {diagram.shape('ce')}."
    )


def bga_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE) -> Diagram:
    """Bilateral Guided Aggregation (Sec. 4.3, Fig. 6): the detail feature kept at 1/8 (a) and
    brought to 1/32 (b), the semantic feature brought to 1/8 (c) and kept at 1/32 (d); the
    sigmoid of each semantic side weights the detail side of the same resolution, the 1/32
    product is upsampled, the two are summed and convolved.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` with ``aggregation="bga"`` (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
    """
    c = Canvas(
        model,
        input_size,
        "Bilateral Guided Aggregation: model.backbone.bga",
        [1.45, 1.45, 1.45, 0.65, 0.65, 0.85, 0.65, 1.45],
        [1.1] * 4,
        root="backbone.bga",
    )
    bga = c.module("backbone.bga", BilateralGuidedAggregation)
    up = "4× nearest" if bga.upsample == "nearest4x" else "bilinear"
    c.add("detail", 0, 0.5, DETAIL, DetailBranch, "detail feature", kind="input", show_name=False, details="detail")
    c.add(
        "semantic",
        0,
        2.5,
        f"{SEMANTIC}.stage4_CEBlock",
        ContextEmbeddingBlock,
        "semantic feature",
        kind="input",
        show_name=False,
        details="semantic CE",
    )
    c.add("a", 1, 0, "backbone.bga.detail_dwconv.0", DepthwiseSeparableConv, "(a) detail keep")
    c.add("b", 1, 1, "backbone.bga.detail_down.0", ConvBNAct, "(b) detail down")
    c.add("c", 1, 2, "backbone.bga.semantic_conv.0", ConvBNAct, "(c) semantic up")
    c.add("d", 1, 3, "backbone.bga.semantic_dwconv.0", DepthwiseSeparableConv, "(d) semantic keep")
    c.add("b_pool", 2, 1, "backbone.bga.detail_down.1", nn.AvgPool2d, "(b) pool")
    c.op("c_up", 2, 2, "↑", caption=up)
    c.op("c_sig", 3, 2, "σ")
    c.op("d_sig", 3, 3, "σ")
    c.op("mul_detail", 4, 0.5, "×")
    c.op("mul_semantic", 4, 2, "×")
    c.op("up", 5, 2, "↑", caption=up)
    c.op("sum", 6, 1.25, "+")
    c.add("conv", 7, 1.25, "backbone.bga.conv", ConvBNAct, "output conv")
    for src, dst in [
        ("detail", "a"),
        ("detail", "b"),
        ("semantic", "c"),
        ("semantic", "d"),
        ("a", "mul_detail"),
        ("c", "c_up"),
        ("c_up", "c_sig"),
        ("c_sig", "mul_detail"),
        ("b", "b_pool"),
        ("b_pool", "mul_semantic"),
        ("d", "d_sig"),
        ("d_sig", "mul_semantic"),
        ("mul_semantic", "up"),
        ("mul_detail", "sum"),
        ("up", "sum"),
        ("sum", "conv"),
    ]:
        c.arrow(src, dst)
    return c.draw()


def bga_alt(diagram: Diagram) -> str:
    """The alt text of :func:`bga_diagram`."""
    return (
        f"Diagram of bilateral guided aggregation: the {diagram.shape('detail')} detail feature is kept at "
        f"its resolution by a depthwise-separable convolution and brought down to {diagram.shape('b_pool')} "
        f"by a strided convolution and pooling; the {diagram.shape('semantic')} semantic feature, convolved, "
        f"upsampled and passed through a sigmoid, weights the first, and its depthwise-separable "
        f"convolution, passed through a sigmoid, weights the second; the sum of the first product and the "
        f"upsampled second goes through a 3x3 convolution to {diagram.shape('conv')}."
    )


def booster_head_diagram(model: nn.Module, input_size: Shape = INPUT_SIZE, module: str = "auxiliary_head.3") -> Diagram:
    """A booster (auxiliary) head (V2: Sec. 4.4; V1: Sec. 3.3), its layers read from the head:
    mmseg's FCN head (3 x 3 ConvBNReLUs, dropout, 1 x 1 classifier) or CoinCheung's, then the
    model's bilinear resize of the logits to the input.

    Args:
        model: a :class:`~bisenet.models.BiSeNetV2` or V1 with auxiliary heads (required).
        input_size: the traced input's shape. Default ``(1, 3, 512, 1024)``.
        module: ``"auxiliary_head.K"``. Default ``"auxiliary_head.3"`` (V2's heaviest booster).
    """
    head = model.get_submodule(module) if model.auxiliary_head is not None else None
    if isinstance(head, CoinCheungHead):
        layers = [
            ("conv", ConvBNAct, "3×3 conv"),
            ("drop", nn.Dropout, "dropout"),
            ("conv_out.0", nn.Sequential, "2× ↑, 3×3 conv"),
            ("conv_out.1", nn.Conv2d, "classifier"),
        ]
    else:
        layers = [(f"convs.{i}", ConvBNAct, f"3×3 conv {i + 1}") for i in range(len(getattr(head, "convs", [])))]
        layers += [("dropout", nn.Dropout2d, "dropout"), ("conv_seg", nn.Conv2d, "classifier")]
    c = Canvas(
        model, input_size, f"Booster head: model.{module}", [1.3] * (1 + len(layers)) + [0.7, 1.3], [1.15], root=module
    )
    c.module(module, HEADS)
    source, source_cls = _booster_input(model, int(module.rsplit(".", 1)[1]))
    c.add("input", 0, 0, source, source_cls, "input", kind="input", show_name=False, details=source.rsplit(".", 1)[1])
    previous = "input"
    for i, (name, cls, label) in enumerate(layers):
        c.add(
            f"layer{i}",
            1 + i,
            0,
            f"{module}.{name}",
            cls,
            label,
            details="2× nearest ↑\n3×3 conv" if name == "conv_out.0" else None,
        )
        c.arrow(previous, f"layer{i}")
        previous = f"layer{i}"
    c.op("up", 1 + len(layers), 0, "↑", caption="bilinear")
    c.tensor("output", 2 + len(layers), 0, "logits", output=True)
    c.arrow(previous, "up")
    c.arrow("up", "output")
    return c.draw()


def booster_head_alt(diagram: Diagram) -> str:
    """The alt text of :func:`booster_head_diagram`."""
    layers = [b for b in diagram.boxes if b.name.startswith("layer")]
    steps = [b.label.replace("×", "x") for b in layers]
    return (
        f"Diagram of a booster head: the {diagram.shape('input')} stage feature goes through "
        f"{', '.join(steps[:-1])} and the {steps[-1]}, giving {ascii_shape(layers[-1].shape)} logits that "
        f"are resized bilinearly to {diagram.shape('output')}."
    )
