"""The models of the package, built by name or from a config.

>>> from bisenet.models import BiSeNetV2, BiSeNetV2Config, build_model, model_spec
>>> from bisenet.models.bisenetv2 import COINCHEUNG_OPTIONS, PAPER_OPTIONS
>>> available_models()
['bisenetv1-r101', 'bisenetv1-r18', 'bisenetv1-r50', 'bisenetv2', 'bisenetv2-large']
>>> model = build_model("bisenetv2", num_classes=19, **PAPER_OPTIONS)
>>> same = BiSeNetV2(num_classes=19, config=BiSeNetV2Config(**PAPER_OPTIONS))  # the same network
>>> model_spec(build_model("bisenetv2", **COINCHEUNG_OPTIONS))  # what rebuilds it
('bisenetv2', {'bga_upsample': 'nearest4x', 'bga_pointwise_bias': False, 'head': 'coincheung'})

Each model is defined, configured (its ``...Config`` dataclass and presets) and registered in its
own module: :mod:`bisenet.models.bisenetv2`, :mod:`bisenet.models.bisenetv1`; the registry is
:mod:`bisenet.models.registry`.
"""

from bisenet.models import bisenetv1, bisenetv2
from bisenet.models.base import SegmentationModel, check_input
from bisenet.models.bisenetv1 import (
    AttentionRefinementModule,
    BiSeNetV1,
    BiSeNetV1Backbone,
    BiSeNetV1Config,
    ContextPath,
    FeatureFusionModule,
    SpatialPath,
)
from bisenet.models.bisenetv2 import (
    BilateralGuidedAggregation,
    BiSeNetV2,
    BiSeNetV2Backbone,
    BiSeNetV2Config,
    ConcatAggregation,
    ContextEmbeddingBlock,
    DetailBranch,
    GatherExpansionLayer,
    SemanticBranch,
    StemBlock,
    SumAggregation,
    bisenetv2_large,
)
from bisenet.models.heads import CoinCheungHead, FCNHead
from bisenet.models.registry import available_models, build_model, model_options, model_spec, register_model
from bisenet.models.resnet import ResNet

__all__ = [
    "AttentionRefinementModule",
    "BiSeNetV1",
    "BiSeNetV1Backbone",
    "BiSeNetV1Config",
    "BiSeNetV2",
    "BiSeNetV2Backbone",
    "BiSeNetV2Config",
    "BilateralGuidedAggregation",
    "CoinCheungHead",
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
    "bisenetv1",
    "bisenetv2",
    "bisenetv2_large",
    "build_model",
    "check_input",
    "model_options",
    "model_spec",
    "register_model",
]
