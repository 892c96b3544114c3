"""The package's layering (ARCHITECTURE.md): each module imports only its own layer and the
layers above it; nothing in the library imports the book, the tests or the tools; no module is
much over 600 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import bisenet

PACKAGE = Path(bisenet.__file__).parent
# module (or folder) -> layer, as in ARCHITECTURE.md; the longest matching prefix wins
LAYERS = {
    "errors": 0,
    "atomic": 0,
    "analysis.provenance": 0,
    "layers": 1,
    "models": 1,
    "data": 2,
    "losses": 2,
    "metrics": 2,
    "checkpoint": 3,
    "interop": 3,
    "deploy": 3,
    "safe_load": 3,
    "quantize": 3,
    "recipes": 4,
    "recipe_configs": 4,
    "cache": 4,
    "profiles": 4,
    "devices": 4,
    "results": 4,
    "engine": 5,
    "analysis": 6,
    "analysis.diagram": 6,
    "analysis.diagram_v1": 6,
    "analysis.diagram_layout": 6,
    "predict": 6,
    "trained": 6,
    "ablation": 6,
    "budget": 6,
    "zoo": 6,
    "cli": 7,
    "__main__": 7,
    "__init__": 7,
}
ALLOWED = {("recipes", "profiles")}  # recipes.get_recipe looks up the profiles' recipes (ARCHITECTURE.md)


def layer_of(module: str) -> int:
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in LAYERS:
            return LAYERS[".".join(parts[:n])]
    raise AssertionError(f"bisenet.{module} has no layer in ARCHITECTURE.md / LAYERS")


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        name = ".".join(path.relative_to(PACKAGE).with_suffix("").parts).removesuffix(".__init__")
        yield (name or "__init__"), path


def imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_every_module_imports_only_its_layer_and_those_above():
    wrong = []
    for name, path in modules():
        own = layer_of(name)
        for target in imports(path):
            if target == "bisenet" or not target.startswith("bisenet."):
                continue
            target = target.removeprefix("bisenet.")
            if layer_of(target) > own and (name.split(".")[0], target.split(".")[0]) not in ALLOWED:
                wrong.append(f"bisenet.{name} (layer {own}) imports bisenet.{target} (layer {layer_of(target)})")
    assert not wrong, "\n".join(wrong)


def test_the_library_imports_no_book_test_or_tool_and_names_no_repository_path():
    for name, path in modules():
        for target in imports(path):
            assert target.split(".")[0] not in ("tools", "tests", "benchmarks", "notebooks"), (name, target)
        text = path.read_text()
        assert "parents[1]" not in text and "parents[2]" not in text, f"bisenet.{name} looks for the repository"


def test_no_module_is_much_over_600_lines():
    long = {name: n for name, path in modules() if (n := len(path.read_text().splitlines())) > 620}
    assert not long, long
