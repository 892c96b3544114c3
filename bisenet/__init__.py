"""bisenet: BiSeNet V1 and V2, component by component, backing the BiSeNet book."""

from bisenet.models import available_models, build_model

__version__ = "0.1.0"

__all__ = ["__version__", "available_models", "build_model"]
