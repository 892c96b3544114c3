"""Reading model weights from checkpoint files, with errors that name the file and the keys.

Accepted layouts: the package's own checkpoints (``{"model": state_dict, ...}``),
mmsegmentation's (``{"meta": ..., "state_dict": state_dict}``: the package's parameter names are
mmseg's, so these load as they are) and a bare state dict. A ``module.`` prefix (saved from
DistributedDataParallel) is removed. Files are read with ``torch.load(weights_only=True)``: no
arbitrary code runs while loading.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

AUX_PREFIX = "auxiliary_head."


class CheckpointError(RuntimeError):
    """A checkpoint cannot be read or does not fit the model; the message says which and why."""


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The dict stored in a checkpoint file; a missing, truncated or corrupt file raises
    :class:`CheckpointError` naming it (it is never half-loaded)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        raise CheckpointError(f"cannot read checkpoint {path} (corrupt or truncated?): {e}") from e
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(data).__name__}, not a dict")
    return data


def extract_state_dict(checkpoint: dict[str, Any] | str | Path) -> dict[str, torch.Tensor]:
    """The model's state dict from any accepted layout (see the module docstring)."""
    data = read_checkpoint(checkpoint) if isinstance(checkpoint, (str, Path)) else checkpoint
    for key in ("model", "state_dict"):
        if key in data and isinstance(data[key], dict):
            data = data[key]
            break
    if not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError("no state dict found (expected tensors under 'model', 'state_dict' or at the top level)")
    return {k.removeprefix("module."): v for k, v in data.items()}


def load_weights(model: nn.Module, checkpoint: dict[str, Any] | str | Path) -> None:
    """Load weights into ``model`` strictly. Auxiliary-head weights are ignored when the model
    was built without auxiliary heads; anything else missing, unexpected or of the wrong shape
    raises :class:`CheckpointError` naming the first such keys."""
    state = extract_state_dict(checkpoint)
    own = model.state_dict()
    if not any(k.startswith(AUX_PREFIX) for k in own):
        state = {k: v for k, v in state.items() if not k.startswith(AUX_PREFIX)}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}" for k in own if k in state and state[k].shape != own[k].shape]
    if missing or unexpected or wrong:
        where = f" from {checkpoint}" if isinstance(checkpoint, (str, Path)) else ""
        raise CheckpointError(
            f"checkpoint{where} does not fit {type(model).__name__}: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
            f"(e.g. {unexpected[:3]}), {len(wrong)} of the wrong shape (e.g. {wrong[:3]}). "
            "Was it saved from another model or number of classes?"
        )
    model.load_state_dict(state)


def num_classes_of(state: dict[str, torch.Tensor]) -> int:
    """The number of classes a state dict predicts (its main classifier's output channels)."""
    for key in ("decode_head.conv_seg.weight", "decode_head.conv_out.1.weight"):  # FCN / CoinCheung head
        if key in state:
            return int(state[key].shape[0])
    raise CheckpointError("no decode_head.conv_seg.weight in the state dict: not a bisenet/mmseg segmentation model")


def model_from_checkpoint(checkpoint: dict[str, Any] | str | Path, name: str | None = None, aux_heads: bool = False):
    """Build the model a checkpoint was saved from and load it (eval mode).

    The architecture comes from the checkpoint when it says (``bisenet convert`` writes
    ``model_name``/``model_options``; training checkpoints carry their ``recipe``), else from
    ``name``; the class count from the classifier's shape."""
    from bisenet.models import build_model

    data = read_checkpoint(checkpoint) if isinstance(checkpoint, (str, Path)) else checkpoint
    options: dict = {}
    if "model_name" in data:
        saved, options = data["model_name"], dict(data.get("model_options", {}))
    elif isinstance(data.get("recipe"), dict):
        saved, options = data["recipe"]["model"], dict(data["recipe"].get("model_options", {}))
    else:
        saved = None
    if saved and name and saved != name:
        raise CheckpointError(f"checkpoint {checkpoint} holds a {saved}, not a {name}")
    name = saved or name
    if name is None:
        raise CheckpointError(f"checkpoint {checkpoint} does not say which model it holds: pass the model name")
    state = extract_state_dict(data)
    model = build_model(name, num_classes=num_classes_of(state), aux_heads=aux_heads, **options)
    load_weights(model, state)
    return model.eval()
