"""Models by name: every variant registers itself next to its class, as timm's models do.

A variant is a *builder* function, decorated where the model class is defined::

    @register_model("bisenetv1-r50", BiSeNetV1Config, depth=50)
    def bisenetv1(config, *, num_classes=19, aux_heads=True, in_channels=3, pretrained_backbone=None):
        ...

``register_model(name, config_class, **fixed)`` records the builder under ``name`` with the
config dataclass it takes and the config fields that the name fixes (``depth=50`` here; the
caller cannot change them). :func:`build_model` makes the config from the fixed values and the
caller's options that are config fields, and passes the other options (the builder's own
keyword parameters, here ``in_channels`` and ``pretrained_backbone``) to the builder as they
are. :func:`model_spec` goes back from a model to the name and options that rebuild it.

>>> model = build_model("bisenetv2", num_classes=19, ge_dw_relu=False)
>>> model_spec(model)
('bisenetv2', {'ge_dw_relu': False})
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import nn

from bisenet.errors import UsageError

# the builder parameters that build_model fills itself; all others are options
_BUILD_ARGS = ("config", "num_classes", "aux_heads")


@dataclass(frozen=True)
class ModelEntry:
    """One registered model: what :func:`register_model` records.

    Args:
        name: the registered name, e.g. ``"bisenetv1-r50"`` (required).
        builder: ``builder(config, *, num_classes, aux_heads, **extra)`` returns the model
            (required).
        config_class: the frozen config dataclass the builder takes (required).
        fixed: the config fields the name fixes, e.g. ``{"depth": 50}`` (required).
    """

    name: str
    builder: Callable[..., nn.Module]
    config_class: type
    fixed: dict[str, Any]

    def config_fields(self) -> list[str]:
        """The config's field names, in declaration order."""
        return [f.name for f in dataclasses.fields(self.config_class)]

    def extra_parameters(self) -> dict[str, inspect.Parameter]:
        """The builder's own keyword parameters (neither config fields nor ``_BUILD_ARGS``)."""
        params = inspect.signature(self.builder).parameters
        return {k: p for k, p in params.items() if k not in _BUILD_ARGS}

    def options(self) -> list[str]:
        """The keyword options :func:`build_model` accepts for this model, sorted."""
        free = [f for f in self.config_fields() if f not in self.fixed]
        return sorted({*free, *self.extra_parameters()})

    def default_config(self) -> Any:
        """The config this name builds without options."""
        return self.config_class(**self.fixed)


_REGISTRY: dict[str, ModelEntry] = {}


def register_model(name: str, config_class: type, **fixed: Any) -> Callable[[Callable], Callable]:
    """Decorator: register the decorated builder under ``name`` and return it unchanged.

    The builder has the signature ``builder(config, *, num_classes=19, aux_heads=True, **extra)``
    and returns the model; ``config`` is a ``config_class`` instance. Decorators can be stacked
    to register one builder under several names with different fixed values.

    Args:
        name: the name :func:`build_model` accepts (required); registering it twice raises
            ``ValueError``.
        config_class: the frozen config dataclass of the model (required).
        **fixed: config fields that the name fixes (they are not options of the name); an
            unknown field raises ``TypeError``. Default: none.
    """
    fields = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(fixed) - fields)
    if unknown:
        raise TypeError(f"{config_class.__name__} has no field {unknown}; its fields are {sorted(fields)}")

    def decorator(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in _REGISTRY:
            raise ValueError(f"a model named {name!r} is already registered")
        _REGISTRY[name] = ModelEntry(name, builder, config_class, dict(fixed))
        return builder

    return decorator


def _entry(name: str) -> ModelEntry:
    if name not in _REGISTRY:
        raise UsageError(f"unknown model {name!r}; available: {', '.join(available_models())}")
    return _REGISTRY[name]


def available_models() -> list[str]:
    """The names :func:`build_model` accepts, sorted."""
    return sorted(_REGISTRY)


def model_options(name: str) -> list[str]:
    """The keyword options :func:`build_model` accepts for the model ``name``, sorted: the
    fields of its config that the name does not fix, and the builder's own keyword parameters.

    Args:
        name: a registered name (required); an unknown one raises ``ValueError``.
    """
    return _entry(name).options()


MAX_CLASSES = 65_536  # far beyond any dataset (COCO-Stuff: 171); a head of more is a mistake, not a model


def build_model(name: str, num_classes: int = 19, aux_heads: bool = True, **options: Any) -> nn.Module:
    """Build a registered model by name.

    ``aux_heads=False`` builds no auxiliary (booster) heads at all. ``options`` are passed to the
    model class (e.g. ``ge_dw_relu=False`` for V2, ``ffm_attention="paper"`` or
    ``pretrained_backbone=PATH`` for V1); an unknown name or option raises an error listing the
    valid ones.

    Args:
        name: one of :func:`available_models` (required); an unknown name raises ``ValueError``.
        num_classes: an integer from 1 to :data:`MAX_CLASSES` (``ValueError`` otherwise).
            Default 19.
        aux_heads: build the auxiliary (booster) heads. Default True.
        **options: fields of the model's config and builder arguments, see
            :func:`model_options`; an unknown one raises ``TypeError``. Presets are option
            dicts: ``build_model("bisenetv2", **bisenetv2.COINCHEUNG_OPTIONS)``. Default: none.
    """
    entry = _entry(name)
    if isinstance(num_classes, bool) or not isinstance(num_classes, int) or not 1 <= num_classes <= MAX_CLASSES:
        raise UsageError(f"num_classes must be an integer from 1 to {MAX_CLASSES:,}, got {num_classes!r}")
    unknown = sorted(set(options) - set(entry.options()))
    if unknown:
        raise TypeError(f"{name} has no option {unknown}; its options are {entry.options()}")
    fields = entry.config_fields()
    config = entry.config_class(**entry.fixed, **{k: v for k, v in options.items() if k in fields})
    extra = {k: v for k, v in options.items() if k not in fields}
    return entry.builder(config, num_classes=num_classes, aux_heads=aux_heads, **extra)


def model_spec(model: nn.Module) -> tuple[str, dict[str, Any]]:
    """The registered name and the options that rebuild ``model`` with
    ``build_model(name, **options)`` (with its ``num_classes``; and ``aux_heads`` as the model
    has them): what to save beside the weights.

    Among the registered names of the model's config class whose fixed values match its config,
    the one that needs the fewest options; the options are the config fields that differ from
    that name's defaults, plus the builder arguments the model keeps as attributes of the same
    name with a non-default value (``in_channels``). Arguments the model does not keep
    (``pretrained_backbone``, a path whose weights are loaded into the model) are not part of it.

    >>> model_spec(build_model("bisenetv2", width=2, depth=3))
    ('bisenetv2-large', {})

    Args:
        model: a model built by a registered builder, with its config as ``model.config``
            (required); a model that no registered name builds raises ``ValueError``.
    """
    config = getattr(model, "config", None)
    best: tuple[str, dict[str, Any]] | None = None
    for entry in _REGISTRY.values():
        if type(config) is not entry.config_class:
            continue
        if any(getattr(config, k) != v for k, v in entry.fixed.items()):
            continue
        defaults = entry.default_config()
        options = {
            k: getattr(config, k)
            for k in entry.config_fields()
            if k not in entry.fixed and getattr(config, k) != getattr(defaults, k)
        }
        for k, param in entry.extra_parameters().items():
            if (
                hasattr(model, k)
                and param.default is not inspect.Parameter.empty
                and getattr(model, k) != param.default
            ):
                options[k] = getattr(model, k)
        if best is None or len(options) < len(best[1]):
            best = entry.name, options
    if best is None:
        raise ValueError(
            f"no registered model builds this {type(model).__name__} (config {config!r}); "
            f"available: {', '.join(available_models())}"
        )
    return best
