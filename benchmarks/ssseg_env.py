"""Build sssegmentation 1.7.0's FCN + BiSeNetV1 on a machine without torchvision.

sssegmentation imports ``torchvision.transforms`` for its SAM segmentors at import time;
BiSeNetV1, ResNet and FCN use nothing of it, so placeholder modules are enough. Used only by
the side-by-side check ``tests/benchmarks/test_ssseg_equivalence.py``, run in a throwaway venv
(never a project dependency):

    python -m venv /tmp/ssseg-venv
    /tmp/ssseg-venv/bin/pip install torch==2.13.0 "numpy<2.4"
    /tmp/ssseg-venv/bin/pip install sssegmentation==1.7.0 pandas opencv-python-headless \
        scipy pillow dill tqdm pytest   # not torchvision: it would pull a CUDA torch
    /tmp/ssseg-venv/bin/pip install --no-deps -e .

The segmentor configs below are the model parts of sssegmentation's
``ssseg/configs/_base_/segmentors/bisenetv1.py`` with the overrides of
``ssseg/configs/bisenetv1/fcn_bisenetv1_resnet18os32_cityscapes.py`` and
``..._resnet50os32_cityscapes.py`` (those files are not part of the PyPI package; the values
are copied field by field, the training parts left out). ``pretrained`` is off: nothing is
downloaded, the weights come from the test.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from stub_modules import stub_if_missing


def import_ssseg():
    stub_if_missing("torchvision")
    import ssseg

    return ssseg


def _segmentor(depth: int, spatial: tuple, context: tuple, fused: int, aux: int) -> dict:
    """The model part of an FCN + BiSeNetV1 config (values of the files named above)."""
    return dict(
        type="FCN",
        num_classes=19,
        align_corners=False,
        norm_cfg={"type": "SyncBatchNorm"},
        act_cfg={"type": "ReLU", "inplace": True},
        backbone={
            "type": "BiSeNetV1",
            "structure_type": "bisenetv1",
            "pretrained": False,
            "selected_indices": (0, 1, 2),
            "spatial_channels_list": spatial,
            "context_channels_list": context,
            "out_channels": fused,
            "backbone_cfg": {
                "type": "ResNet",
                "structure_type": f"resnet{depth}conv3x3stem",
                "depth": depth,
                "pretrained": False,
                "outstride": 32,
                "use_conv3x3_stem": True,
            },
        },
        head={"in_channels": fused, "feats_channels": fused, "dropout": 0.1, "num_convs": 1},
        auxiliary=[{"in_channels": context[0], "out_channels": aux, "dropout": 0.1, "num_convs": 1}] * 2,
        losses={},
        inference={
            "forward": {"mode": "whole", "cropsize": None, "stride": None},
            "tta": {"multiscale": [1], "flip": False, "use_probs_before_resize": False},
        },
    )


CONFIGS: dict[str, dict] = {
    "fcn_bisenetv1_resnet18os32_cityscapes": _segmentor(18, (64, 64, 64, 128), (128, 256, 512), 256, 64),
    "fcn_bisenetv1_resnet50os32_cityscapes": _segmentor(50, (256, 256, 256, 512), (512, 1024, 2048), 1024, 256),
}


def build_ssseg_segmentor(config_name: str, num_classes: int = 19):
    """sssegmentation's segmentor of a config, in TEST mode, with BatchNorm in place of
    SyncBatchNorm (the same arithmetic in eval mode, and usable without a process group)."""
    import_ssseg()
    from ssseg.modules.models.segmentors import BuildSegmentor

    cfg = copy.deepcopy(CONFIGS[config_name])
    cfg["num_classes"] = num_classes
    cfg["norm_cfg"] = {"type": "BatchNorm2d"}
    cfg["backbone"]["norm_cfg"] = {"type": "BatchNorm2d"}
    return BuildSegmentor(segmentor_cfg=cfg, mode="TEST")


def ssseg_logits(segmentor, images: torch.Tensor) -> torch.Tensor:
    """sssegmentation's whole-image inference as its ``test.py`` runs it: the segmentor's
    logits, resized bilinearly (align_corners as the config) to the input size."""
    segmentor.eval()
    with torch.no_grad():
        logits = segmentor.inference(images)
    return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=segmentor.align_corners)
