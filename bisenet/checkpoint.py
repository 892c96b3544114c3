"""Checkpoints: the one schema the package writes, the one reader of every accepted layout, and
the checkpoints of a training run's folder.

**What the package writes** (training, ``bisenet convert``, the cached profile models): a dict
``{"format": "bisenet-checkpoint-1", "model": state_dict, "model_name", "model_options",
"recipe", "iteration", "metrics", "provenance"}``, plus ``"optimizer"``, ``"scaler"``, ``"rng"``
and ``"best_miou"`` when training can resume from it (:class:`Checkpoint`). The model name and
options rebuild the network (``bisenet.build_model(model_name, **model_options)``); the class count
is read off the classifier's shape.

**What the package reads** (:func:`load_checkpoint`): that schema; the package's files from before
the schema had a ``format`` key; mmsegmentation's ``{"meta": ..., "state_dict": ...}`` (the
package's parameter names *are* mmseg's); sssegmentation's ``{"model": ..., "cur_epoch",
"cur_iter", "optimizer", ...}``; and a bare state dict (CoinCheung's files). Foreign names are
mapped by ``bisenet.interop``. A ``module.`` prefix (saved from DistributedDataParallel) is removed.
Files are read with ``torch.load(weights_only=True)`` (:mod:`bisenet.safe_load`: numpy values
and the training tools' bookkeeping classes allowed as inert data, anything that would run code
refused): no code in a file runs while it loads.

Every file is written atomically (:mod:`bisenet.atomic`): a run killed while it writes leaves
the previous checkpoints as they were.
"""

from __future__ import annotations

import dataclasses
import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from bisenet.atomic import atomic_write, remove_stale
from bisenet.errors import CheckpointError, UsageError
from bisenet.models import build_model
from bisenet.safe_load import UnsafeCheckpoint, load_failure, safe_torch_load

FORMAT = "bisenet-checkpoint-1"
AUX_PREFIX = "auxiliary_head."
ITER_PATTERN = re.compile(r"^iter_(\d+)\.pth$")

__all__ = [
    "FORMAT",
    "Checkpoint",
    "CheckpointError",
    "extract_state_dict",
    "iteration_checkpoints",
    "latest_valid",
    "load_checkpoint",
    "load_weights",
    "model_from_checkpoint",
    "non_finite",
    "num_classes_of",
    "prune",
    "read_checkpoint",
    "save_checkpoint",
]


@dataclass
class Checkpoint:
    """A model's weights and what is known about them.

    Args:
        state_dict: the model's parameters and buffers (``model.state_dict()``).
        model_name: the registered model (``bisenet.available_models()``); None when the file
            does not say (mmseg's and CoinCheung's files: ``bisenet.interop`` reads it off the keys).
        model_options: the options of ``build_model`` that rebuild the network. Default ``{}``.
        recipe: the training recipe (``Recipe.to_dict()``) when the package trained it. Default None.
        iteration: the training iteration it was saved at. Default None.
        metrics: validation metrics at that iteration, e.g. ``{"mIoU": 0.41}``. Default ``{}``.
        provenance: where it came from (``bisenet.provenance.provenance()``; for a
            converted file, ``{"converted_from": ...}``). Default ``{}``.
        optimizer, scaler, rng, best_miou: the training state a run resumes from (iteration
            checkpoints only). Default None.
        classes, palette: the class names and their (r, g, b) colours of the data it was trained
            on, for overlays and exported metadata. Default None.
        layout: the layout it was read from ("bisenet", "mmseg", "sssegmentation" or "state
            dict"); not written.
    """

    state_dict: dict[str, torch.Tensor]
    model_name: str | None = None
    model_options: dict = field(default_factory=dict)
    recipe: dict | None = None
    iteration: int | None = None
    metrics: dict = field(default_factory=dict)
    provenance: dict = field(default_factory=dict)
    optimizer: dict | None = None
    scaler: dict | None = None
    rng: dict | None = None
    best_miou: float | None = None
    classes: list[str] | None = None
    palette: list[list[int]] | None = None
    layout: str = "bisenet"

    @property
    def num_classes(self) -> int:
        """The number of classes the weights predict (the main classifier's output channels)."""
        return num_classes_of(self.state_dict)

    @property
    def resumable(self) -> bool:
        """Whether a training run can continue from it (it holds the optimizer's state)."""
        return self.optimizer is not None and self.iteration is not None

    def to_dict(self) -> dict[str, Any]:
        """The dict written to the file (the schema of the module docstring)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "model": self.state_dict,
            "model_name": self.model_name,
            "model_options": dict(self.model_options),
            "recipe": self.recipe,
            "iteration": self.iteration,
            "metrics": dict(self.metrics),
            "provenance": dict(self.provenance),
        }
        for key in ("optimizer", "scaler", "rng", "best_miou", "classes", "palette"):
            if getattr(self, key) is not None:
                data[key] = getattr(self, key)
        return data


def save_checkpoint(checkpoint: Checkpoint, path: str | Path) -> Path:
    """Write ``checkpoint`` to ``path`` atomically; returns the path. A write the system refuses (a
    full disk, a file-size limit) raises :class:`~bisenet.errors.OutputError` naming ``path`` and
    the reason, and leaves the previous file as it was."""
    path = Path(path)
    # serialised in memory first: torch's zip writer reports a failed write to a file as
    # "RuntimeError: ... unexpected pos", losing the system's reason (ENOSPC, EFBIG)
    buffer = io.BytesIO()
    torch.save(checkpoint.to_dict(), buffer)
    with atomic_write(path) as f:
        f.write(buffer.getbuffer())
    return path


# --- reading ---------------------------------------------------------------------------------------


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The dict stored in a checkpoint file, as stored; a missing, truncated or corrupt file
    raises :class:`CheckpointError` naming it (it is never half-loaded)."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path} is a folder, not a file: give the .pth file in it")
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = safe_torch_load(path)
    except UnsafeCheckpoint as e:
        raise CheckpointError(f"checkpoint {path} is not safe to load: {e}") from None
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        # torch's first line says what failed; its advice to load with weights_only=False (which
        # would run code from the file) is never repeated (safe_load.load_failure)
        raise CheckpointError(f"cannot read checkpoint {path}: {load_failure(e)}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(data).__name__}, not a dict")
    return data


def _is_state_dict(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(isinstance(v, torch.Tensor) for v in value.values())


def _strip_ddp(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k.removeprefix("module."): v for k, v in state.items()}


def _from_earlier_package_file(data: dict[str, Any]) -> Checkpoint:
    """A file the package wrote before the schema had a ``format`` key: training checkpoints
    (``recipe``, ``meta``), ``best.pth`` (``mIoU``), converted files (``model_name``,
    ``converted_from``) and the cached book models (``model_name``, ``trained_with``)."""
    recipe = data.get("recipe") or data.get("trained_with")
    name, options = data.get("model_name"), data.get("model_options")
    if name is None and isinstance(recipe, dict):
        name, options = recipe.get("model"), recipe.get("model_options")
    provenance = dict(data.get("meta") or {})
    if "converted_from" in data:
        provenance["converted_from"] = data["converted_from"]
    return Checkpoint(
        _strip_ddp(data["model"]),
        name,
        dict(options or {}),
        recipe,
        data.get("iteration"),
        {"mIoU": data["mIoU"]} if "mIoU" in data else {},
        provenance,
        data.get("optimizer"),
        data.get("scaler"),
        data.get("rng"),
        data.get("best_miou"),
    )


class NewerCheckpointError(CheckpointError):
    """A checkpoint in a schema of a newer version of the package: not damaged, not readable here."""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_rng_state(value: Any) -> bool:
    """The shape :func:`bisenet.engine.rng.rng_state` writes: torch's byte tensor, Python's and
    numpy's generator states."""
    if not isinstance(value, dict):
        return False
    numpy_state = value.get("numpy")
    return (
        isinstance(value.get("torch"), torch.Tensor)
        and isinstance(value.get("python"), tuple)
        and isinstance(numpy_state, tuple)
        and len(numpy_state) == 5
        and isinstance(numpy_state[1], torch.Tensor)
    )


# the fields of a checkpoint in FORMAT: (what a valid value is, what to say it should be)
FIELD_RULES: dict[str, tuple[Any, str]] = {
    "model": (_is_state_dict, "the model's state dict (names -> tensors)"),
    "model_name": (lambda v: v is None or isinstance(v, str), "a registered model name"),
    "model_options": (lambda v: isinstance(v, dict), "a dict of model options"),
    "recipe": (lambda v: v is None or isinstance(v, dict), "a recipe (dict)"),
    "iteration": (lambda v: v is None or _is_count(v), "a non-negative integer"),
    "metrics": (lambda v: isinstance(v, dict), "a dict of metrics"),
    "provenance": (lambda v: isinstance(v, dict), "a dict"),
    "optimizer": (
        lambda v: isinstance(v, dict) and isinstance(v.get("state"), dict) and isinstance(v.get("param_groups"), list),
        "an optimizer state dict (state, param_groups)",
    ),
    "scaler": (lambda v: isinstance(v, dict), "a gradient scaler's state dict"),
    "rng": (_is_rng_state, "the random generators' states (torch, python, numpy)"),
    "best_miou": (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    "classes": (lambda v: isinstance(v, (list, tuple)) and all(isinstance(c, str) for c in v), "a list of class names"),
    "palette": (
        lambda v: isinstance(v, (list, tuple)) and all(isinstance(c, (list, tuple)) for c in v),
        "a list of colours",
    ),
}


REQUIRED_FIELDS = ("model", "model_options", "metrics", "provenance")


def _check_format(data: dict[str, Any], where: str) -> None:
    """Refuse a file of another schema version, and a file of this one whose fields do not hold
    what the schema says (a damaged or hand-edited file), naming the field."""
    version = data["format"]
    if version != FORMAT:
        if isinstance(version, str) and version.startswith("bisenet-checkpoint-"):
            raise NewerCheckpointError(
                f"{where} is in the schema {version!r}, written by another version of the package (this one reads "
                f"{FORMAT!r}): read it with the version that wrote it, or update the package"
            )
        raise CheckpointError(f"{where} names an unknown format {version!r} (this package writes {FORMAT!r})")
    for key, (valid, expected) in FIELD_RULES.items():
        if key not in data and key in REQUIRED_FIELDS:
            raise CheckpointError(f"{where} lacks its {key!r} field ({expected}): the file is damaged")
        if data.get(key) is None and key not in REQUIRED_FIELDS:
            continue  # an optional field left out (to_dict writes no None of the training state)
        if not valid(data[key]):
            shown = repr(data[key]) if not isinstance(data[key], dict) else f"a dict with keys {list(data[key])[:5]}"
            raise CheckpointError(
                f"{where}: its {key!r} field holds {shown[:80]} ({type(data[key]).__name__}), not {expected}: the file "
                "is damaged or was edited by hand"
            )


def _check_progress(data: dict[str, Any], where: str) -> None:
    """An iteration past the end of the checkpoint's own recipe is a damaged field too (resuming
    from it would stop at once, having trained nothing)."""
    recipe, iteration = data.get("recipe"), data.get("iteration")
    total = recipe.get("iters") if isinstance(recipe, dict) else None
    if isinstance(iteration, int) and isinstance(total, int) and iteration > total:
        raise CheckpointError(
            f"{where}: its 'iteration' field holds {iteration}, past the end of its recipe's {total} iterations: "
            "the file is damaged or was edited by hand"
        )


def load_checkpoint(source: str | Path | dict[str, Any]) -> Checkpoint:
    """A :class:`Checkpoint` from a file or an already loaded dict, whatever its layout (see the
    module docstring); a dict that holds no state dict raises :class:`CheckpointError`, a file of
    the package's schema whose fields are damaged too (naming the field), and one written in a
    newer schema :class:`NewerCheckpointError`."""
    where = f"checkpoint {source}" if isinstance(source, (str, Path)) else "the checkpoint"
    data = read_checkpoint(source) if isinstance(source, (str, Path)) else source
    if "format" in data:
        _check_format(data, where)
        _check_progress(data, where)
        fields = {f.name for f in dataclasses.fields(Checkpoint)} - {"state_dict", "layout"}
        return Checkpoint(_strip_ddp(data["model"]), **{k: data[k] for k in fields if k in data})
    if _is_state_dict(data.get("model")) and "cur_iter" in data and "recipe" not in data:  # sssegmentation's train.py
        return Checkpoint(
            _strip_ddp(data["model"]),
            iteration=data.get("cur_iter"),
            layout="sssegmentation",
            provenance={"sssegmentation": {k: data.get(k) for k in ("cur_epoch", "cur_iter")}},
        )
    if _is_state_dict(data.get("model")):
        return _from_earlier_package_file(data)
    if _is_state_dict(data.get("state_dict")):  # mmsegmentation (mmcv / mmengine runners)
        meta = data.get("meta")
        return Checkpoint(
            _strip_ddp(data["state_dict"]), provenance={"meta": meta} if isinstance(meta, dict) else {}, layout="mmseg"
        )
    if _is_state_dict(data):
        return Checkpoint(_strip_ddp(data), layout="state dict")
    raise CheckpointError(
        f"{where} holds no state dict (expected tensors under 'model', 'state_dict' or at the top level); "
        f"its top-level keys: {list(data)[:8]}"
    )


def extract_state_dict(source: str | Path | dict[str, Any]) -> dict[str, torch.Tensor]:
    """The model's state dict from any accepted layout."""
    return load_checkpoint(source).state_dict


def non_finite(state: dict[str, torch.Tensor]) -> list[str]:
    """The names of the floating-point tensors of ``state`` that hold a NaN or an infinity (the
    weights of a diverged run)."""
    return [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]


def num_classes_of(state: dict[str, torch.Tensor]) -> int:
    """The number of classes a state dict predicts (its main classifier's output channels)."""
    for key in ("decode_head.conv_seg.weight", "decode_head.conv_out.1.weight"):  # FCN / CoinCheung head
        if key in state:
            return int(state[key].shape[0])
    raise CheckpointError("no decode_head.conv_seg.weight in the state dict: not a bisenet/mmseg segmentation model")


def load_weights(model: nn.Module, source: str | Path | dict[str, Any]) -> None:
    """Load weights into ``model`` strictly. Auxiliary-head weights are ignored when the model
    was built without auxiliary heads; anything else missing, unexpected or of the wrong shape,
    and weights holding NaN or infinity (a diverged run), raise :class:`CheckpointError` naming
    the first such keys."""
    state = source if _is_state_dict(source) else extract_state_dict(source)
    where = f" {source}" if isinstance(source, (str, Path)) else ""
    bad = non_finite(state)
    if bad:
        raise CheckpointError(
            f"checkpoint{where} holds NaN or infinite values in {len(bad)} tensor(s), e.g. {bad[:3]}: it comes "
            "from a run that diverged. Use an earlier checkpoint, or train again with a lower learning rate"
        )
    own = model.state_dict()
    if not any(k.startswith(AUX_PREFIX) for k in own):
        state = {k: v for k, v in state.items() if not k.startswith(AUX_PREFIX)}
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [
        f"{k} {tuple(state[k].shape)} != {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    ]
    if missing or unexpected or wrong:
        raise CheckpointError(
            f"checkpoint{where} does not fit {type(model).__name__}: "
            f"{len(missing)} missing (e.g. {missing[:3]}), {len(unexpected)} unexpected "
            f"(e.g. {unexpected[:3]}), {len(wrong)} of the wrong shape (e.g. {wrong[:3]}). "
            "Was it saved from another model or number of classes?"
        )
    model.load_state_dict(state)


def model_from_checkpoint(
    source: str | Path | dict[str, Any] | Checkpoint, name: str | None = None, aux_heads: bool = False
) -> nn.Module:
    """Build the model a checkpoint was saved from and load it (eval mode).

    Args:
        source: a file, a loaded dict or a :class:`Checkpoint`.
        name: the registered model, needed when the checkpoint does not say (mmseg's files);
            when it does, the two must agree. Default None.
        aux_heads: also build (and load) the auxiliary heads. Default False.
    """
    checkpoint = source if isinstance(source, Checkpoint) else load_checkpoint(source)
    where = f"checkpoint {source}" if isinstance(source, (str, Path)) else "the checkpoint"
    saved = checkpoint.model_name
    if saved and name and saved != name:
        raise CheckpointError(f"{where} holds a {saved}, not a {name}")
    if not (saved or name):
        raise CheckpointError(f"{where} does not say which model it holds: pass the model name")
    state = checkpoint.state_dict
    options = dict(num_classes=num_classes_of(state), aux_heads=aux_heads, **checkpoint.model_options)
    try:
        with torch.device("meta"):  # shapes only: nothing is allocated yet
            parameters = sum(p.numel() for p in build_model(saved or name, **options).parameters())
    except (TypeError, UsageError) as e:  # options the model does not have, or out of range
        asked = checkpoint.model_options
        raise CheckpointError(f"{where} asks for model options {asked} that do not build: {e}") from e
    held = sum(t.numel() for t in state.values() if isinstance(t, torch.Tensor))
    if parameters > held:  # the options ask for more than the file has weights for: refused before allocating
        raise CheckpointError(
            f"{where} asks for model options {checkpoint.model_options}, which build {parameters:,} parameters, "
            f"but it holds {held:,} values: the options are not the weights' (a damaged or hand-edited file)"
        )
    model = build_model(saved or name, **options)
    load_weights(model, state)
    return model.eval()


# --- the checkpoints of a training run ---------------------------------------------------------------


def iteration_checkpoints(work_dir: str | Path) -> list[tuple[int, Path]]:
    """(iteration, path) of the ``iter_N.pth`` files in ``work_dir``, oldest first."""
    found = []
    for p in Path(work_dir).glob("iter_*.pth"):
        m = ITER_PATTERN.match(p.name)
        if m:
            found.append((int(m.group(1)), p))
    return sorted(found)


def prune(work_dir: str | Path, keep: int) -> None:
    """Delete all but the newest ``keep`` iteration checkpoints (``best.pth`` is never touched)
    and what killed writers left behind."""
    for _, path in iteration_checkpoints(work_dir)[:-keep] if keep > 0 else []:
        path.unlink(missing_ok=True)
    remove_stale(work_dir)


def latest_valid(work_dir: str | Path) -> tuple[Path, Checkpoint] | None:
    """The newest iteration checkpoint a run can resume from; a corrupt newer one is reported (a
    warning naming it and the error) and skipped, never loaded."""
    for _, path in reversed(iteration_checkpoints(work_dir)):
        try:
            checkpoint = load_checkpoint(path)
            if not checkpoint.resumable:
                raise CheckpointError(f"{path} is not a training checkpoint (no optimizer state or iteration)")
            if non_finite(checkpoint.state_dict):
                raise CheckpointError(f"{path} holds NaN or infinite weights (the run diverged there)")
        except NewerCheckpointError:
            raise  # not damaged: resuming from an older one would train over a newer version's work
        except CheckpointError as e:
            warnings.warn(f"skipping corrupt checkpoint: {e}", stacklevel=2)
            continue
        return path, checkpoint
    return None
