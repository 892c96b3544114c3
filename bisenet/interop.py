"""Loading the model zoo's checkpoints: mmsegmentation's and CoinCheung/BiSeNet's.

mmsegmentation: the package's parameter names *are* mmseg's (``bisenet.models`` was built to
that layout), so its checkpoints load as they are; only the architecture and the class count are
read off the keys.

CoinCheung: its network differs in a few places (the presets
``bisenet.models.bisenetv2.COINCHEUNG_OPTIONS``: ``bga_upsample="nearest4x",
bga_pointwise_bias=False, head="coincheung"``; ``bisenet.models.bisenetv1.COINCHEUNG_OPTIONS``:
``ffm_attention="coincheung", dropout=0``) and names its modules differently;
:func:`coincheung_to_bisenet` renames every key by the rules below, one to one.

Either function returns the package's model in eval mode, with the auxiliary heads loaded when
the checkpoint has them. A checkpoint that matches no known layout fails with the first keys that
did not map.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from bisenet.checkpoint import (
    Checkpoint,
    CheckpointError,
    extract_state_dict,
    load_checkpoint,
    load_weights,
    num_classes_of,
    save_checkpoint,
)
from bisenet.errors import UsageError
from bisenet.models import SegmentationModel, bisenetv1, bisenetv2, build_model, model_spec

# a renaming rule: (pattern, replacement), the replacement a string or a function of the match
Rule = tuple[str, str | Callable[[re.Match], str]]

# --- architecture from the keys ------------------------------------------------------------------

_RESNET_BLOCKS = {(2, 2, 2, 2): 18, (3, 4, 6, 3): 50, (3, 4, 23, 3): 101}


def _resnet_depth(state: dict[str, torch.Tensor], prefix: str) -> int:
    blocks = []
    for layer in range(1, 5):
        ids = {int(m.group(1)) for k in state if (m := re.match(rf"{re.escape(prefix)}layer{layer}\.(\d+)\.", k))}
        blocks.append(len(ids))
    depth = _RESNET_BLOCKS.get(tuple(blocks))
    if depth is None:
        raise CheckpointError(f"ResNet trunk with {blocks} blocks per stage: not ResNet-18/50/101")
    return depth


def _has_aux(state: dict) -> bool:
    return any(k.startswith("auxiliary_head.") for k in state)


def _finish(name: str, state: dict, options: dict) -> SegmentationModel:
    model = build_model(name, num_classes=num_classes_of(state), aux_heads=_has_aux(state), **options)
    load_weights(model, state)  # names the first missing, unexpected or misshapen keys
    return model.eval()


# --- mmsegmentation ------------------------------------------------------------------------------


def mmseg_model_name(state: dict[str, torch.Tensor]) -> str:
    """The registered model an mmseg BiSeNet state dict belongs to."""
    if any(k.startswith("backbone.detail.") for k in state):
        return "bisenetv2"
    if any(k.startswith("backbone.context_path.backbone.") for k in state):
        return f"bisenetv1-r{_resnet_depth(state, 'backbone.context_path.backbone.')}"
    raise CheckpointError(
        "not an mmsegmentation BiSeNet checkpoint: no 'backbone.detail.*' (V2) or "
        f"'backbone.context_path.backbone.*' (V1) keys; first keys: {list(state)[:5]}"
    )


def from_mmseg(checkpoint: str | Path | dict[str, Any]) -> SegmentationModel:
    """The package's model holding an mmsegmentation BiSeNet checkpoint (a path, an mmseg
    ``{"meta", "state_dict"}`` dict or a bare state dict), in eval mode. Its logits equal mmseg's
    whole-image inference (decode head, bilinear resize to the input size)."""
    state = extract_state_dict(checkpoint)
    return _finish(mmseg_model_name(state), state, {})


# --- CoinCheung/BiSeNet ---------------------------------------------------------------------------

# (pattern, replacement) applied in order; the first that matches renames the key.
COINCHEUNG_V2_RULES: list[Rule] = [
    (r"^detail\.S(\d)\.(\d+)\.", lambda m: f"backbone.detail.detail_branch.{int(m[1]) - 1}.{m[2]}."),
    (r"^segment\.S1S2\.conv\.", "backbone.semantic.stage1.conv_first."),
    (r"^segment\.S1S2\.left\.", "backbone.semantic.stage1.convs."),
    (r"^segment\.S1S2\.fuse\.", "backbone.semantic.stage1.fuse_last."),
    (r"^segment\.S5_5\.bn\.", "backbone.semantic.stage4_CEBlock.gap.1."),
    (r"^segment\.S5_5\.", "backbone.semantic.stage4_CEBlock."),
    (r"^segment\.S3\.", "backbone.semantic.stage2."),
    (r"^segment\.S4\.", "backbone.semantic.stage3."),
    (r"^segment\.S5_4\.", "backbone.semantic.stage4."),
    (r"^bga\.left1\.0\.", "backbone.bga.detail_dwconv.0.depthwise_conv.conv."),
    (r"^bga\.left1\.1\.", "backbone.bga.detail_dwconv.0.depthwise_conv.bn."),
    (r"^bga\.left1\.2\.", "backbone.bga.detail_dwconv.0.pointwise_conv.conv."),
    (r"^bga\.left2\.0\.", "backbone.bga.detail_down.0.conv."),
    (r"^bga\.left2\.1\.", "backbone.bga.detail_down.0.bn."),
    (r"^bga\.right1\.0\.", "backbone.bga.semantic_conv.0.conv."),
    (r"^bga\.right1\.1\.", "backbone.bga.semantic_conv.0.bn."),
    (r"^bga\.right2\.0\.", "backbone.bga.semantic_dwconv.0.depthwise_conv.conv."),
    (r"^bga\.right2\.1\.", "backbone.bga.semantic_dwconv.0.depthwise_conv.bn."),
    (r"^bga\.right2\.2\.", "backbone.bga.semantic_dwconv.0.pointwise_conv.conv."),
    (r"^bga\.conv\.0\.", "backbone.bga.conv.conv."),
    (r"^bga\.conv\.1\.", "backbone.bga.conv.bn."),
    (r"^head\.", "decode_head."),
    (r"^aux2\.", "auxiliary_head.0."),
    (r"^aux3\.", "auxiliary_head.1."),
    (r"^aux4\.", "auxiliary_head.2."),
    (r"^aux5_4\.", "auxiliary_head.3."),
]
# inside a GE layer (applied after the stage rename): CoinCheung's plain Sequentials
_GE_RULES: list[Rule] = [
    (r"\.dwconv\.0\.(weight)$", r".dwconv.0.conv.\1"),
    (r"\.dwconv\.1\.", ".dwconv.0.bn."),
    (r"\.dwconv1\.0\.", ".dwconv.0.conv."),
    (r"\.dwconv1\.1\.", ".dwconv.0.bn."),
    (r"\.dwconv2\.0\.", ".dwconv.1.conv."),
    (r"\.dwconv2\.1\.", ".dwconv.1.bn."),
    (r"\.conv2\.0\.", ".conv2.0.conv."),
    (r"\.conv2\.1\.", ".conv2.0.bn."),
    (r"\.shortcut\.0\.", ".shortcut.0.depthwise_conv.conv."),
    (r"\.shortcut\.1\.", ".shortcut.0.depthwise_conv.bn."),
    (r"\.shortcut\.2\.", ".shortcut.0.pointwise_conv.conv."),
    (r"\.shortcut\.3\.", ".shortcut.0.pointwise_conv.bn."),
]
COINCHEUNG_V1_RULES: list[Rule] = [
    (r"^cp\.resnet\.", "backbone.context_path.backbone."),
    (r"^cp\.arm(16|32)\.conv\.", r"backbone.context_path.arm\1.conv_layer."),
    (r"^cp\.arm(16|32)\.conv_atten\.", r"backbone.context_path.arm\1.atten_conv_layer.1.conv."),
    (r"^cp\.arm(16|32)\.bn_atten\.", r"backbone.context_path.arm\1.atten_conv_layer.1.bn."),
    (r"^cp\.conv_avg\.", "backbone.context_path.gap_conv.1."),
    (r"^cp\.", "backbone.context_path."),
    (r"^sp\.conv1\.", "backbone.spatial_path.layer1."),
    (r"^sp\.conv2\.", "backbone.spatial_path.layer2."),
    (r"^sp\.conv3\.", "backbone.spatial_path.layer3."),
    (r"^sp\.conv_out\.", "backbone.spatial_path.layer4."),
    (r"^ffm\.convblk\.", "backbone.ffm.conv1."),
    (r"^ffm\.conv\.", "backbone.ffm.conv_atten.0.conv."),
    (r"^ffm\.bn\.", "backbone.ffm.conv_atten.0.bn."),
    (r"^conv_out\.conv\.", "decode_head.convs.0."),
    (r"^conv_out\.conv_out\.", "decode_head.conv_seg."),
    (r"^conv_out16\.conv\.", "auxiliary_head.0.convs.0."),
    (r"^conv_out16\.conv_out\.", "auxiliary_head.0.conv_seg."),
    (r"^conv_out32\.conv\.", "auxiliary_head.1.convs.0."),
    (r"^conv_out32\.conv_out\.", "auxiliary_head.1.conv_seg."),
]


def _rename(key: str, rules: list[Rule]) -> str | None:
    for pattern, replacement in rules:
        new, n = re.subn(pattern, replacement, key, count=1)
        if n:
            return new
    return None


def coincheung_to_bisenet(state: dict[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    """(model name, state dict with the package's names) for a CoinCheung V1 R-18 or V2 state
    dict. Raises :class:`CheckpointError` naming the first keys no rule maps."""
    if any(k.startswith("segment.") for k in state):
        name, rules = "bisenetv2", COINCHEUNG_V2_RULES
    elif any(k.startswith("cp.resnet.") for k in state):
        name, rules = f"bisenetv1-r{_resnet_depth(state, 'cp.resnet.')}", COINCHEUNG_V1_RULES
    else:
        raise CheckpointError(
            "not a CoinCheung BiSeNet checkpoint: no 'segment.*' (V2) or 'cp.resnet.*' (V1) keys; "
            f"first keys: {list(state)[:5]}"
        )
    renamed, unmapped = {}, []
    for key, value in state.items():
        new = _rename(key, rules)
        if new is None:
            unmapped.append(key)
            continue
        if name == "bisenetv2" and new.startswith("backbone.semantic.stage") and ".stage1." not in new and "CEBlock" not in new:
            new = _rename(new, _GE_RULES) or new
        renamed[new] = value
    if unmapped:
        raise CheckpointError(f"{len(unmapped)} key(s) of the CoinCheung checkpoint map to nothing, e.g. {unmapped[:5]}")
    return name, renamed


def from_coincheung(checkpoint: str | Path | dict[str, Any]) -> SegmentationModel:
    """The package's model holding a CoinCheung/BiSeNet checkpoint (V2 or V1 R-18; a path or a
    state dict), in eval mode; its logits equal CoinCheung's eval-mode output."""
    state = extract_state_dict(checkpoint)
    name, renamed = coincheung_to_bisenet(state)
    options = bisenetv2.COINCHEUNG_OPTIONS if name == "bisenetv2" else bisenetv1.COINCHEUNG_OPTIONS
    return _finish(name, renamed, options)


# --- conversion -----------------------------------------------------------------------------------

CONVERTERS: dict[str, Callable[[str | Path | dict[str, Any]], SegmentationModel]] = {
    "mmseg": from_mmseg, "coincheung": from_coincheung,
}


def convert_checkpoint(source: str, path: str | Path, output: str | Path) -> Checkpoint:
    """Read a model-zoo checkpoint (``source``: "mmseg" or "coincheung") and write it to
    ``output`` in the package's schema (:mod:`bisenet.checkpoint`), with the model's name and
    options, so that ``model_from_checkpoint(output)`` needs nothing else; returns what it wrote."""
    if source not in CONVERTERS:
        raise UsageError(f"cannot convert from {source!r}: use one of {', '.join(CONVERTERS)}")
    if load_checkpoint(path).layout == "bisenet":
        raise UsageError(f"{path} is already a checkpoint of this package: there is nothing to convert (use it as it is)")
    model = CONVERTERS[source](path)
    name, options = model_spec(model)
    checkpoint = Checkpoint(model.state_dict(), name, options, provenance={"converted_from": f"{source}: {path}"})
    save_checkpoint(checkpoint, output)
    return checkpoint
