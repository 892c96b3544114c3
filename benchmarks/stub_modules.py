"""Placeholder modules for imports a reference implementation makes but its networks never use
(torchvision's transforms in sssegmentation's SAM code, torchvision in CoinCheung's V1 module),
so that the side-by-side checks run without torchvision, which this machine cannot install
without pulling a CUDA build of torch. Every attribute of a placeholder module is an empty
placeholder class; nothing of it runs."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types


class _Placeholders(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def __init__(self, top: str) -> None:
        self.top = top

    def find_spec(self, name, path=None, target=None):
        if name == self.top or name.startswith(self.top + "."):
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        module = types.ModuleType(spec.name)
        module.__path__ = []

        def __getattr__(attribute: str):
            if attribute.startswith("__"):
                raise AttributeError(attribute)
            return type(attribute, (), {})

        module.__getattr__ = __getattr__
        return module

    def exec_module(self, module):
        pass


def stub_if_missing(top: str) -> bool:
    """Answer ``import top...`` with placeholders unless ``top`` is importable; True if stubbed."""
    try:
        __import__(top)
        return False
    except ImportError:
        sys.meta_path.insert(0, _Placeholders(top))
        return True
