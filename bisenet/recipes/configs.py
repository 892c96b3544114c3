"""The model-zoo configs' own values, field by field, in the units of :class:`bisenet.recipes.recipe.Recipe`.

Read from the configs themselves, their ``_base_`` files resolved: mmsegmentation 1.2.2 as its
PyPI wheel ships them (``mmseg/.mim/configs``: ``bisenetv2/*``, ``bisenetv1/*``,
``_base_/models/bisenetv2.py``, ``_base_/models/bisenetv1_r18-d32.py``,
``_base_/datasets/cityscapes_1024x1024.py``, ``_base_/datasets/coco-stuff164k.py``,
``_base_/schedules/schedule_160k.py``), mmsegmentation 0.x's
``configs/bisenetv2/bisenetv2_fcn_ohem_4x4_1024x1024_160k_cityscapes.py`` (the config behind the
published OHEM result; its 1.x successor assigns everything to a misspelt ``models`` key, so
neither its samplers nor its data preprocessor's size take effect), and sssegmentation's
``ssseg/configs/bisenetv1/fcn_bisenetv1_resnet{18,50}os32_cityscapes.py`` with
``_base_/segmentors/bisenetv1.py`` (repository SegmentationBLWX/sssegmentation at eb1878c1).

They are written out here on their own, not derived from the recipes, so that
``tests/test_recipes.py`` can hold every recipe to its config: a recipe that drifts from its
config fails there. Units: ``gpus x batch_per_gpu`` is the config's GPUs and images per GPU;
``scale`` is mmseg's ``RandomResize`` scale (long, short); ``ohem_min_kept`` counts over a GPU's
batch (mmseg's ``min_kept`` is per image and multiplied by the batch size); ``sync_bn_modules``
names the package's modules whose BatchNorm the config makes ``SyncBN`` (what the config's
classes really build, not what ``norm_cfg`` asks for: mmseg's BiSeNetV1 and BiSeNetV2 backbones
do not pass ``norm_cfg`` on to their own layers).
"""

from __future__ import annotations

# mmseg 1.2.2: SGD momentum 0.9, weight decay 5e-4, no paramwise settings; LinearLR from 0.1 over
# iterations 0-1000, then PolyLR power 0.9 to eta_min 1e-4 until 160,000 (schedule_160k.py and each
# config's param_scheduler); RandomResize ratio (0.5, 2.0), RandomCrop cat_max_ratio 0.75, flip 0.5,
# PhotoMetricDistortion; CrossEntropyLoss weight 1.0 on every head
_MMSEG = dict(
    momentum=0.9,
    weight_decay=5e-4,
    warmup_iters=1000,
    warmup_ratio=0.1,
    poly_power=0.9,
    eta_min=1e-4,
    iters=160_000,
    ratio_range=(0.5, 2.0),
    cat_max_ratio=0.75,
    loss="ce",
    amp=None,
)
_CITYSCAPES = dict(num_classes=19, crop_size=(1024, 1024), scale=(2048, 1024))  # cityscapes_1024x1024.py
_COCO_STUFF = dict(num_classes=171, crop_size=(512, 512), scale=(2048, 512))  # coco-stuff164k.py
# configs/_base_/models/bisenetv2.py: four FCN auxiliary heads, SyncBN in the five heads only
_V2 = dict(
    model="bisenetv2",
    gpus=4,
    lr=0.05,
    aux_weights=(1.0, 1.0, 1.0, 1.0),
    sync_bn_modules=("decode_head", "auxiliary_head"),
    pretrained_backbone=False,
)
# configs/_base_/models/bisenetv1_r18-d32.py: two FCN auxiliary heads, SyncBN in the ResNet trunk
# (backbone_cfg) and the heads
_V1 = dict(
    gpus=4,
    batch_per_gpu=4,
    aux_weights=(1.0, 1.0),
    sync_bn_modules=("backbone.context_path.backbone", "decode_head", "auxiliary_head"),
)

CONFIG_VALUES: dict[str, dict] = {
    "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024": dict(**_MMSEG, **_CITYSCAPES, **_V2, batch_per_gpu=4),
    # the values of mmseg 0.x's OHEM config: OHEMPixelSampler(thresh=0.7, min_kept=10000) on the
    # decode head and on each of the four auxiliary heads, 4 images per GPU
    "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024": dict(
        **{**_MMSEG, "loss": "ohem"},
        **_CITYSCAPES,
        **_V2,
        batch_per_gpu=4,
        ohem_thresh=0.7,
        ohem_min_kept=10_000 * 4,
        ohem_on_aux=True,
    ),
    # AmpOptimWrapper, loss_scale=512.
    "bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024": dict(
        **{**_MMSEG, "amp": "fp16"}, **_CITYSCAPES, **_V2, batch_per_gpu=4, loss_scale=512.0
    ),
    # batch_size=8, the lr of the 4xb4 config kept
    "bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024": dict(**_MMSEG, **_CITYSCAPES, **_V2, batch_per_gpu=8),
    "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024": dict(
        **_MMSEG, **_CITYSCAPES, **_V1, model="bisenetv1-r18", lr=0.025, pretrained_backbone=False
    ),
    "bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024": dict(
        **_MMSEG, **_CITYSCAPES, **_V1, model="bisenetv1-r18", lr=0.025, pretrained_backbone=True
    ),
    "bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024": dict(
        **_MMSEG,
        **_CITYSCAPES,
        **{**_V1, "batch_per_gpu": 8},
        model="bisenetv1-r18",
        lr=0.025,
        pretrained_backbone=True,
    ),
    "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024": dict(
        **_MMSEG, **_CITYSCAPES, **_V1, model="bisenetv1-r50", lr=0.05, pretrained_backbone=False
    ),
    "bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024": dict(
        **_MMSEG, **_CITYSCAPES, **_V1, model="bisenetv1-r50", lr=0.05, pretrained_backbone=True
    ),
    **{
        f"bisenetv1_r{depth}-d32{pre}_4xb4-160k_coco-stuff164k-512x512": dict(
            **_MMSEG, **_COCO_STUFF, **_V1, model=f"bisenetv1-r{depth}", lr=0.005, pretrained_backbone=bool(pre)
        )
        for depth in (18, 50, 101)
        for pre in ("", "-in1k-pre")
    },
    # sssegmentation: SGD lr 0.05, momentum 0.9, wd 5e-4; PolyScheduler power 0.9, min_lr 1e-4, linear
    # warm-up ratio 0.1 over 1000 iterations; 860 epochs of Cityscapes' 2975 training images at a total
    # batch of 16 (a 2-image template per GPU, drop_last: 185 iterations an epoch); Resize (2048, 1024)
    # x (0.5, 2.0), RandomCrop 1024x1024 with one_category_max_ratio 0.75; CE weight 1.0 on the three
    # heads; SyncBatchNorm in every module; a deep-stem (v1c) ImageNet trunk
    **{
        f"fcn_bisenetv1_resnet{depth}os32_cityscapes": dict(
            **{**_MMSEG, "iters": 860 * (2975 // 16)},
            **_CITYSCAPES,
            model=f"bisenetv1-r{depth}",
            gpus=8,
            batch_per_gpu=2,
            lr=0.05,
            aux_weights=(1.0, 1.0),
            pretrained_backbone=True,
            model_options={"deep_stem": True},
            sync_bn_modules=("backbone", "decode_head", "auxiliary_head"),
        )
        for depth in (18, 50)
    },
}

# what a reader of the config file sees where it differs from what the config does (display only)
CONFIG_LOSS_TEXT = {
    "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024": (
        "OHEM, all five heads (0.x; the 1.x file's key is misspelt: CE)"
    )
}
