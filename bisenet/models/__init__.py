"""The models of the package and the registry that builds them by name.

>>> model = build_model("bisenetv2", num_classes=19)
>>> available_models()
['bisenetv1-r101', 'bisenetv1-r18', 'bisenetv1-r50', 'bisenetv2', 'bisenetv2-large']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path

from torch import nn

from bisenet.models.base import SegmentationModel, check_input
from bisenet.models.bisenetv1 import (
    AttentionRefinementModule,
    BiSeNetV1,
    BiSeNetV1Backbone,
    ContextPath,
    FeatureFusionModule,
    SpatialPath,
)
from bisenet.models.bisenetv2 import (
    BilateralGuidedAggregation,
    BiSeNetV2,
    BiSeNetV2Backbone,
    ConcatAggregation,
    ContextEmbeddingBlock,
    DetailBranch,
    GatherExpansionLayer,
    SemanticBranch,
    StemBlock,
    SumAggregation,
)
from bisenet.models.heads import FCNHead
from bisenet.models.resnet import ResNet


def bisenetv2(num_classes: int = 19, aux_heads: bool = True, **options) -> BiSeNetV2:
    """BiSeNet V2 as in mmsegmentation's Cityscapes config (3,358,883 parameters, 19 classes)."""
    return BiSeNetV2(num_classes, aux_heads, **options)


def bisenetv2_large(num_classes: int = 19, aux_heads: bool = True, **options) -> BiSeNetV2:
    """BiSeNetV2-Large (Sec. 5.3: "width multiplier alpha = 2.0, depth multiplier d = 3.0").

    The paper does not say which layers alpha and d scale. This package reads them as:
    alpha multiplies every channel count of both branches (detail 128/128/256, semantic
    32/64/128/256, so the channel ratio lambda stays 1/4 and BGA still aggregates two features
    of equal width); d multiplies the number of stride-1 GE layers after the stride-2 one in
    each semantic stage (1, 1, 3 -> 3, 3, 9). Heads keep their widths. No public
    implementation or checkpoint of V2-L exists to check this reading against.
    """
    options = {"width": 2, "depth": 3, **options}
    return BiSeNetV2(num_classes, aux_heads, **options)


def _bisenetv1(depth: int) -> Callable[..., BiSeNetV1]:
    def build(
        num_classes: int = 19,
        aux_heads: bool = True,
        pretrained_backbone: str | Path | None = None,
        **options,
    ) -> BiSeNetV1:
        model = BiSeNetV1(num_classes, aux_heads, depth=depth, **options)
        if pretrained_backbone is not None:
            model.backbone.context_path.backbone.load_torchvision_checkpoint(pretrained_backbone)
        return model

    build.__doc__ = (
        f"BiSeNet V1 over ResNet-{depth}. ``pretrained_backbone`` is the local path of a "
        "torchvision-format ImageNet checkpoint for the trunk (nothing is downloaded)."
    )
    return build


_REGISTRY: dict[str, Callable[..., nn.Module]] = {
    "bisenetv1-r18": _bisenetv1(18),
    "bisenetv1-r50": _bisenetv1(50),
    "bisenetv1-r101": _bisenetv1(101),
    "bisenetv2": bisenetv2,
    "bisenetv2-large": bisenetv2_large,
}


def available_models() -> list[str]:
    """The names :func:`build_model` accepts."""
    return sorted(_REGISTRY)


def model_options(name: str) -> list[str]:
    """The keyword options :func:`build_model` accepts for the model ``name``."""
    if name.startswith("bisenetv1"):
        # the depth is fixed by the name; the pretrained trunk is loaded by the builder
        params = set(inspect.signature(BiSeNetV1).parameters) - {"depth"} | {"pretrained_backbone"}
    else:
        params = set(inspect.signature(BiSeNetV2).parameters)
    return sorted(params - {"num_classes", "aux_heads"})


def build_model(name: str, num_classes: int = 19, aux_heads: bool = True, **options) -> SegmentationModel:
    """Build a registered model by name.

    ``aux_heads=False`` builds no auxiliary (booster) heads at all. ``options`` are passed to the
    model class (e.g. ``ge_dw_relu=False`` for V2, ``ffm_attention="paper"`` or
    ``pretrained_backbone=PATH`` for V1); an unknown name or option raises an error listing the
    valid ones.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"num_classes must be a positive integer, got {num_classes!r}")
    unknown = sorted(set(options) - set(model_options(name)))
    if unknown:
        raise TypeError(f"{name} has no option {unknown}; its options are {model_options(name)}")
    model = _REGISTRY[name](num_classes=num_classes, aux_heads=aux_heads, **options)
    # what to save beside the weights to rebuild the model (a local path is not part of it)
    model.build_args = {"name": name, "options": {k: v for k, v in options.items() if k != "pretrained_backbone"}}
    return model


__all__ = [
    "AttentionRefinementModule",
    "BiSeNetV1",
    "BiSeNetV1Backbone",
    "BiSeNetV2",
    "BiSeNetV2Backbone",
    "BilateralGuidedAggregation",
    "ConcatAggregation",
    "ContextEmbeddingBlock",
    "ContextPath",
    "DetailBranch",
    "FCNHead",
    "FeatureFusionModule",
    "GatherExpansionLayer",
    "ResNet",
    "SegmentationModel",
    "SemanticBranch",
    "SpatialPath",
    "StemBlock",
    "SumAggregation",
    "available_models",
    "bisenetv2",
    "bisenetv2_large",
    "build_model",
    "check_input",
    "model_options",
]
