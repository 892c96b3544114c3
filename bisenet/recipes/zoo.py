"""The model zoo's recipes, named after the rows they reproduce.

The Cityscapes and COCO-Stuff recipes carry mmsegmentation 1.2.2's hyper-parameters (configs
``configs/bisenetv2/*`` and ``configs/bisenetv1/*``), and two carry sssegmentation 1.7.0's
(``ssseg/configs/bisenetv1/fcn_bisenetv1_resnet{18,50}os32_cityscapes.py`` over
``ssseg/configs/_base_/segmentors/bisenetv1.py``); ``bisenet recipes`` prints each beside the
values read from its tool's config (:mod:`bisenet.recipes.configs`).
"""

from __future__ import annotations

from bisenet.recipes.recipe import V1_AUX, V2_AUX, Recipe

# mmseg's norm_cfg=SyncBN (configs/_base_/models/bisenetv1_r18-d32.py, bisenetv2.py): V1's configs
# give it to the ResNet trunk (backbone_cfg), the decode head and both auxiliary heads, and to the
# BiSeNetV1 backbone too, which does not pass it on (mmseg/models/backbones/bisenetv1.py builds
# ContextPath, SpatialPath and FeatureFusionModule without it): the ARMs, the context path's own
# convs, the spatial path and the FFM keep plain BN. V2's configs give it to the decode head and the
# four auxiliary heads only; the V2 backbone gets none and builds plain BN.
V1_SYNC_BN = ("backbone.context_path.backbone", "decode_head", "auxiliary_head")
V2_SYNC_BN = ("decode_head", "auxiliary_head")
_V2 = dict(model="bisenetv2", dataset="cityscapes", aux_weights=V2_AUX, lr=0.05, sync_bn_modules=V2_SYNC_BN)
_V1 = dict(dataset="cityscapes", aux_weights=V1_AUX, lr=0.025, sync_bn_modules=V1_SYNC_BN)
_PRE_NOTE = (
    "ImageNet trunk from a local torchvision checkpoint (--pretrained). mmseg's config loads "
    "open-mmlab's ResNet-V1c weights (deep stem) into a 7x7-stem ResNet, so its stem stays random."
)
_COCO = dict(
    dataset="cocostuff",
    num_classes=171,
    aux_weights=V1_AUX,
    lr=0.005,
    crop_size=(512, 512),
    sync_bn_modules=V1_SYNC_BN,
    scale=(2048, 512),
    eval_scale=(2048, 512),
)

# sssegmentation 1.7.0's BiSeNetV1 (base config ssseg/configs/_base_/segmentors/bisenetv1.py with the
# Cityscapes 1024x1024 dataset and the batch-16 dataloader): SGD lr 0.05, momentum 0.9, weight decay
# 5e-4; poly 0.9 to 1e-4 with a linear warm-up from 0.1 over 1000 iterations; 860 epochs of the 2975
# training images at 16 per iteration (drop_last: 185 iterations an epoch, 159,100 in all); 2 images
# on each of 8 GPUs; CE on the main and both auxiliary heads, weight 1 each.
_SSSEG = dict(
    dataset="cityscapes",
    aux_weights=V1_AUX,
    lr=0.05,
    gpus=8,
    batch_per_gpu=2,
    iters=860 * (2975 // 16),
    pretrained_backbone=True,
    model_options={"deep_stem": True},
    sync_bn_modules=("backbone", "decode_head", "auxiliary_head"),
)  # SyncBN in every layer
_SSSEG_NOTE = (
    "sssegmentation's network is mmseg's with the v1c stem (three 3x3 convs, model option deep_stem). "
    "Its training departs from mmseg's in: SyncBN in every layer over all 16 images (the package "
    "too with --sync-bn under torchrun on 8 processes; one process normalises each 2-image "
    "micro-batch on its own); a v1c ImageNet trunk (resnet{d}_v1c, a local file via --pretrained); "
    "PyTorch's default initialisation of the other layers (mmseg: Kaiming for convs, N(0, 0.01) "
    "for the classifiers); Cityscapes' ignored ids mapped to -100 (PyTorch's default ignore_index) "
    "instead of 255; warm-up as a factor on the poly value (mmengine, and the package: LinearLR "
    "then PolyLR); crops resampled until no class covers 75% of the pixels that count, as mmseg's "
    "cat_max_ratio."
)

RECIPES: dict[str, Recipe] = {
    r.name: r
    for r in [
        Recipe(
            "bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024",
            **_V2,
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024",
            **_V2,
            loss="ohem",
            ohem_min_kept=40_000,
            ohem_on_aux=True,
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-ohem-160k_cityscapes-1024x1024.py",
            notes="OHEM on the decode head and on each of the four auxiliary heads, each with thresh 0.7 "
            "and min_kept 10000 per image (= 40000 per 4-image batch: mmseg's sampler multiplies "
            "min_kept by the batch size, the package counts per batch), as mmseg 0.x's "
            "bisenetv2_fcn_ohem_4x4_1024x1024_160k_cityscapes.py, the config behind the published "
            "73.57, and CoinCheung's training. mmseg 1.2.2's config assigns its samplers to a misspelt "
            "key and silently trains plain CE; this recipe really uses OHEM.",
        ),
        Recipe(
            "bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024",
            **_V2,
            amp="fp16",
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb4-amp-160k_cityscapes-1024x1024.py",
            notes="fp16 autocast, gradient scaler starting at 512 (mmseg: static scale 512).",
        ),
        Recipe(
            "bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024",
            **_V2,
            batch_per_gpu=8,
            mmseg_config="bisenetv2/bisenetv2_fcn_4xb8-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r18",
            **_V1,
            mmseg_config="bisenetv1/bisenetv1_r18-d32_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r18",
            **_V1,
            pretrained_backbone=True,
            notes=_PRE_NOTE,
            mmseg_config="bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024",
            model="bisenetv1-r18",
            **_V1,
            pretrained_backbone=True,
            batch_per_gpu=8,
            notes=_PRE_NOTE,
            mmseg_config="bisenetv1/bisenetv1_r18-d32-in1k-pre_4xb8-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r50",
            **{**_V1, "lr": 0.05},
            mmseg_config="bisenetv1/bisenetv1_r50-d32_4xb4-160k_cityscapes-1024x1024.py",
        ),
        Recipe(
            "bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024",
            model="bisenetv1-r50",
            **{**_V1, "lr": 0.05},
            pretrained_backbone=True,
            notes=_PRE_NOTE,
            mmseg_config="bisenetv1/bisenetv1_r50-d32-in1k-pre_4xb4-160k_cityscapes-1024x1024.py",
        ),
        *[
            Recipe(
                f"fcn_bisenetv1_resnet{d}os32_cityscapes",
                model=f"bisenetv1-r{d}",
                **_SSSEG,
                notes=_SSSEG_NOTE.format(d=d),
                ssseg_config=f"ssseg/configs/bisenetv1/fcn_bisenetv1_resnet{d}os32_cityscapes.py",
            )
            for d in (18, 50)
        ],
        *[
            Recipe(
                f"bisenetv1_r{d}-d32{pre}_4xb4-160k_coco-stuff164k-512x512",
                model=f"bisenetv1-r{d}",
                **_COCO,
                pretrained_backbone=bool(pre),
                notes=_PRE_NOTE if pre else "",
                mmseg_config=f"bisenetv1/bisenetv1_r{d}-d32{pre}_4xb4-160k_coco-stuff164k-512x512.py",
            )
            for d in (18, 50, 101)
            for pre in ("", "-in1k-pre")
        ],
    ]
}
