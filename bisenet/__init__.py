"""bisenet: BiSeNet V1 and V2, component by component, backing the BiSeNet book.

    import bisenet
    model = bisenet.build_model("bisenetv2", num_classes=19)
    bisenet.available_models()

``ARCHITECTURE.md`` at the repository's root maps the package: its layers, which may import
which, and where each concept lives.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "available_models", "build_model"]


def __getattr__(name: str):
    # ``build_model`` and ``available_models`` import torch; they are imported on first use so
    # that ``import bisenet`` (and ``bisenet --help``) stays quick (PEP 562).
    if name in ("available_models", "build_model"):
        from bisenet import models

        return getattr(models, name)
    raise AttributeError(f"module 'bisenet' has no attribute {name!r}")
