"""Loading the model zoo's checkpoints: mmsegmentation's, CoinCheung/BiSeNet's and
sssegmentation's.

mmsegmentation: the package's parameter names *are* mmseg's (``bisenet.models`` was built to
that layout), so its checkpoints load as they are; only the architecture and the class count are
read off the keys.

CoinCheung: its network differs in a few places (the presets
``bisenet.models.bisenetv2.COINCHEUNG_OPTIONS``: ``bga_upsample="nearest4x",
bga_pointwise_bias=False, head="coincheung"``; ``bisenet.models.bisenetv1.COINCHEUNG_OPTIONS``:
``ffm_attention="coincheung", dropout=0``) and names its modules differently;
:func:`coincheung_to_bisenet` renames every key by the rules below, one to one.

sssegmentation (1.7.0, FCN + BiSeNetV1 R-18 / R-50): mmseg's network with the "v1c" deep stem
(``bisenet.models.bisenetv1.SSSEG_OPTIONS``) and plain ``nn.Sequential`` modules where mmseg has
``ConvModule`` s; :func:`sssegmentation_to_bisenet` renames every key (``SSSEG_V1_RULES``).

Each ``from_*`` function returns the package's model in eval mode, with the auxiliary heads
loaded when the checkpoint has them; :func:`load_model` picks the function from the file's keys.
A checkpoint that matches no known layout fails with the first keys that did not map.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from bisenet.checkpoint import (
    Checkpoint,
    CheckpointError,
    extract_state_dict,
    load_checkpoint,
    load_weights,
    model_from_checkpoint,
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


# sssegmentation: segmentor.state_dict() of its FCN with a BiSeNetV1 backbone. Its Sequentials are
# (conv, BN, ReLU) where mmseg has ConvModule(conv, bn); the attention Sequentials start with the pool.
_SEQ = {"0": "conv", "1": "bn"}
SSSEG_V1_RULES: list[Rule] = [
    (r"^backbone_net\.context_path\.backbone_net\.", "backbone.context_path.backbone."),
    (
        r"^backbone_net\.context_path\.(arm16|arm32)\.conv_layer\.([01])\.",
        lambda m: f"backbone.context_path.{m[1]}.conv_layer.{_SEQ[m[2]]}.",
    ),
    (
        r"^backbone_net\.context_path\.(arm16|arm32)\.atten_conv_layer\.([12])\.",
        lambda m: f"backbone.context_path.{m[1]}.atten_conv_layer.1.{_SEQ[str(int(m[2]) - 1)]}.",
    ),
    (
        r"^backbone_net\.context_path\.(conv_head16|conv_head32)\.([01])\.",
        lambda m: f"backbone.context_path.{m[1]}.{_SEQ[m[2]]}.",
    ),
    (
        r"^backbone_net\.context_path\.gap_conv\.([12])\.",
        lambda m: f"backbone.context_path.gap_conv.1.{_SEQ[str(int(m[1]) - 1)]}.",
    ),
    (r"^backbone_net\.spatial_path\.(layer[1-4])\.([01])\.", lambda m: f"backbone.spatial_path.{m[1]}.{_SEQ[m[2]]}."),
    (r"^backbone_net\.ffm\.conv1\.([01])\.", lambda m: f"backbone.ffm.conv1.{_SEQ[m[1]]}."),
    (r"^backbone_net\.ffm\.conv_atten\.([01])\.", lambda m: f"backbone.ffm.conv_atten.0.{_SEQ[m[1]]}."),
    (r"^decoder\.([01])\.", lambda m: f"decode_head.convs.0.{_SEQ[m[1]]}."),
    (r"^decoder\.4\.", "decode_head.conv_seg."),
    (r"^auxiliary_decoder\.([01])\.([01])\.", lambda m: f"auxiliary_head.{m[1]}.convs.0.{_SEQ[m[2]]}."),
    (r"^auxiliary_decoder\.([01])\.4\.", r"auxiliary_head.\1.conv_seg."),
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
        if (
            name == "bisenetv2"
            and new.startswith("backbone.semantic.stage")
            and ".stage1." not in new
            and "CEBlock" not in new
        ):
            new = _rename(new, _GE_RULES) or new
        renamed[new] = value
    if unmapped:
        raise CheckpointError(
            f"{len(unmapped)} key(s) of the CoinCheung checkpoint map to nothing, e.g. {unmapped[:5]}"
        )
    return name, renamed


def from_coincheung(checkpoint: str | Path | dict[str, Any]) -> SegmentationModel:
    """The package's model holding a CoinCheung/BiSeNet checkpoint (V2 or V1 R-18; a path or a
    state dict), in eval mode; its logits equal CoinCheung's eval-mode output."""
    state = extract_state_dict(checkpoint)
    name, renamed = coincheung_to_bisenet(state)
    options = bisenetv2.COINCHEUNG_OPTIONS if name == "bisenetv2" else bisenetv1.COINCHEUNG_OPTIONS
    return _finish(name, renamed, options)


# --- sssegmentation ------------------------------------------------------------------------------


def sssegmentation_to_bisenet(state: dict[str, torch.Tensor]) -> tuple[str, dict[str, torch.Tensor]]:
    """(model name, state dict with the package's names) for an sssegmentation FCN + BiSeNetV1
    state dict (ResNet-18 or -50 with the v1c stem). Raises :class:`CheckpointError` naming the
    first keys no rule maps, or when the trunk has the 7 x 7 stem (not sssegmentation's configs)."""
    prefix = "backbone_net.context_path.backbone_net."
    if not any(k.startswith(prefix) for k in state):
        raise CheckpointError(
            "not an sssegmentation BiSeNetV1 checkpoint: no 'backbone_net.context_path.backbone_net.*' keys; "
            f"first keys: {list(state)[:5]}"
        )
    if f"{prefix}stem.0.weight" not in state:
        raise CheckpointError(
            f"the sssegmentation checkpoint's ResNet has no v1c stem ({prefix}stem.*): its BiSeNetV1 configs "
            "all use one; a 7x7-stem trunk is not a layout this package knows"
        )
    name = f"bisenetv1-r{_resnet_depth(state, prefix)}"
    renamed, unmapped = {}, []
    for key, value in state.items():
        new = _rename(key, SSSEG_V1_RULES)
        if new is None:
            unmapped.append(key)
        else:
            renamed[new] = value
    if unmapped:
        raise CheckpointError(
            f"{len(unmapped)} key(s) of the sssegmentation checkpoint map to nothing, e.g. {unmapped[:5]}"
        )
    return name, renamed


def from_sssegmentation(checkpoint: str | Path | dict[str, Any]) -> SegmentationModel:
    """The package's model holding an sssegmentation FCN + BiSeNetV1 checkpoint (a path, the
    ``{"model", "cur_epoch", "cur_iter", "optimizer", ...}`` dict its ``train.py`` saves, or a bare
    state dict), in eval mode; its logits equal sssegmentation's whole-image inference resized to
    the input size, as its ``test.py`` does."""
    state = extract_state_dict(checkpoint)
    name, renamed = sssegmentation_to_bisenet(state)
    return _finish(name, renamed, bisenetv1.SSSEG_OPTIONS)


# --- any checkpoint --------------------------------------------------------------------------------

CONVERTERS: dict[str, Callable[[str | Path | dict[str, Any]], SegmentationModel]] = {
    "mmseg": from_mmseg,
    "coincheung": from_coincheung,
    "sssegmentation": from_sssegmentation,
}


def foreign_layout(state: dict[str, torch.Tensor]) -> str | None:
    """Which tool's names a state dict has: "sssegmentation", "coincheung", or None (the
    package's names, which are mmseg's)."""
    if any(k.startswith("backbone_net.") for k in state):
        return "sssegmentation"
    if any(k.startswith(("segment.", "cp.resnet.")) for k in state):
        return "coincheung"
    return None


def load_model(
    source: str | Path | dict[str, Any] | Checkpoint, name: str | None = None, aux_heads: bool = False
) -> SegmentationModel:
    """The model of any checkpoint the package reads, in eval mode: its own (the model it names),
    mmseg's (``name`` when given, else the architecture read off the keys), CoinCheung's and
    sssegmentation's (renamed, with their model options). ``bisenet eval``, ``predict`` and
    ``export`` load through it. A ``name`` that disagrees with a foreign file's architecture
    raises :class:`CheckpointError`."""
    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    where = f"checkpoint {source}" if isinstance(source, (str, Path)) else "the checkpoint"
    layout = foreign_layout(checkpoint.state_dict)
    if layout is None:
        if not (checkpoint.model_name or name):
            name = mmseg_model_name(checkpoint.state_dict)
        return model_from_checkpoint(checkpoint, name, aux_heads=aux_heads)
    model = CONVERTERS[layout](checkpoint.state_dict)
    found, _ = model_spec(model)
    if name and name != found:
        raise CheckpointError(f"{where} is a {layout} {found}, not a {name}")
    if not aux_heads:
        model.auxiliary_head = None
    return model


def convert_checkpoint(source: str, path: str | Path, output: str | Path) -> Checkpoint:
    """Read a model-zoo checkpoint (``source``: "mmseg", "coincheung" or "sssegmentation") and write it to
    ``output`` in the package's schema (:mod:`bisenet.checkpoint`), with the model's name and
    options, so that ``model_from_checkpoint(output)`` needs nothing else; returns what it wrote."""
    if source not in CONVERTERS:
        raise UsageError(f"cannot convert from {source!r}: use one of {', '.join(CONVERTERS)}")
    if load_checkpoint(path).layout == "bisenet":
        raise UsageError(
            f"{path} is already a checkpoint of this package: there is nothing to convert (use it as it is)"
        )
    model = CONVERTERS[source](path)
    name, options = model_spec(model)
    checkpoint = Checkpoint(model.state_dict(), name, options, provenance={"converted_from": f"{source}: {path}"})
    save_checkpoint(checkpoint, output)
    return checkpoint


# --- fine-tuning from any checkpoint ---------------------------------------------------------------

MIN_INIT_SHARE = 0.5  # of the model's parameters that must fit for init_from to accept a checkpoint


@dataclass
class InitReport:
    """What :func:`init_from` loaded into a model: the tensors taken from the checkpoint, and
    those kept at the model's own initialisation with the reason (absent, or another shape)."""

    source: str
    loaded: list[str]
    absent: list[str]
    reshaped: list[str]  # "name (theirs) != (ours)"
    loaded_parameters: int
    total_parameters: int

    def summary(self) -> str:
        share = 100 * self.loaded_parameters / max(self.total_parameters, 1)
        lines = [
            f"--init {self.source}: loaded {len(self.loaded)} of "
            f"{len(self.loaded) + len(self.absent) + len(self.reshaped)}"
            f" tensors ({share:.1f}% of the parameters)"
        ]
        if self.reshaped:
            lines.append(
                f"  kept at initialisation, another shape in the checkpoint ({len(self.reshaped)}): "
                + "; ".join(self.reshaped[:6])
                + (" ..." if len(self.reshaped) > 6 else "")
            )
        if self.absent:
            lines.append(
                f"  kept at initialisation, not in the checkpoint ({len(self.absent)}): "
                + ", ".join(self.absent[:6])
                + (" ..." if len(self.absent) > 6 else "")
            )
        return "\n".join(lines)


def init_from(model: torch.nn.Module, source: str | Path | dict[str, Any]) -> InitReport:
    """Fine-tuning's start: load into ``model`` every tensor of checkpoint ``source`` (any layout
    :func:`load_model` reads: the package's, mmseg's, CoinCheung's, sssegmentation's) whose name
    and shape match; the rest keeps the model's initialisation. With another class count that is
    the classifiers (``conv_seg`` of the main and auxiliary heads), re-initialised for the new
    classes. Returns what was loaded and what was not (:class:`InitReport`)."""
    checkpoint = load_checkpoint(source)
    layout = foreign_layout(checkpoint.state_dict)
    # the package's and mmseg's names are the model's own; CoinCheung's and sssegmentation's are renamed
    theirs = checkpoint.state_dict if layout is None else CONVERTERS[layout](checkpoint.state_dict).state_dict()
    own = model.state_dict()
    loaded = [k for k in own if k in theirs and theirs[k].shape == own[k].shape]
    reshaped = [
        f"{k} {tuple(theirs[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in theirs and theirs[k].shape != own[k].shape
    ]
    absent = [k for k in own if k not in theirs]
    params = dict(model.named_parameters())
    fitting = sum(params[k].numel() for k in loaded if k in params)
    total = sum(p.numel() for p in params.values())
    if fitting < MIN_INIT_SHARE * total:  # a few same-shaped BatchNorms of another architecture are no start
        raise CheckpointError(
            f"--init {source}: only {100 * fitting / total:.1f}% of the parameters of {type(model).__name__} fit the "
            f"checkpoint (fine-tuning needs at least {100 * MIN_INIT_SHARE:.0f}%): a checkpoint of another "
            "architecture?"
        )
    model.load_state_dict({k: theirs[k] for k in loaded}, strict=False)
    return InitReport(
        str(source) if isinstance(source, (str, Path)) else "the checkpoint", loaded, absent, reshaped, fitting, total
    )
