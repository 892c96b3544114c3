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
    "provenance": 0,
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
    "openvino_ir": 3,
    "exporting": 3,
    "recipes": 4,
    "cache": 4,
    "profiles": 4,
    "devices": 4,
    "engine": 5,
    "analysis": 6,
    "predict": 6,
    "ablation": 6,
    "budget": 6,
    "zoo": 6,
    "book": 7,  # the book's wing: only the chapters, the tools and the book-cache command use it
    "cli": 8,
    "__main__": 8,
    "__init__": 8,
}
# the one place outside the wing that may import it: the command that fills the book's cache
BOOK_IMPORTERS = {"cli.training"}


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
            if layer_of(target) > own:
                wrong.append(f"bisenet.{name} (layer {own}) imports bisenet.{target} (layer {layer_of(target)})")
    assert not wrong, "\n".join(wrong)


def _module_of(target: str, known: set[str]) -> str | None:
    """The package module an import statement loads: ``bisenet.analysis.speed`` -> "analysis.speed";
    a package's name -> its ``__init__`` (named like the package); None outside the package."""
    if target == "bisenet":
        return "__init__"
    if not target.startswith("bisenet."):
        return None
    name = target.removeprefix("bisenet.")
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports, at the top or inside functions, with
    ``from bisenet.pkg import submodule`` counted as an import of the submodule alone (importing a
    submodule runs its package's ``__init__`` first, which is not a dependency on what that
    ``__init__`` re-exports)."""
    found = dict(modules())
    known = set(found)
    graph: dict[str, set[str]] = {}
    for name, path in found.items():
        edges = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # ``from pkg import submodule`` depends on the submodule; ``from pkg import name``
                # on the package (its __init__)
                prefix = node.module.removeprefix("bisenet").lstrip(".")
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{prefix}.{a.name}".lstrip(".") in known]
                targets = subs if len(subs) == len(node.names) else [node.module, *subs]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for target in targets:
                module = _module_of(target, known)
                if module is not None and module != name:
                    edges.add(module)
        graph[name] = edges
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): each is a
    circle of imports."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_circle_of_imports_counting_imports_inside_functions():
    # a package's __init__ re-exports its modules, which import each other, never the __init__
    assert cycles(import_graph()) == []


def test_cycles_finds_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_only_the_book_cache_command_imports_the_books_wing():
    outside = {
        name
        for name, edges in import_graph().items()
        if not name.startswith("book") and any(e.startswith("book") for e in edges)
    }
    assert outside <= BOOK_IMPORTERS, outside


def test_the_library_imports_no_book_test_or_tool_and_names_no_repository_path():
    for name, path in modules():
        for target in imports(path):
            assert target.split(".")[0] not in ("tools", "tests", "benchmarks", "notebooks"), (name, target)
        text = path.read_text()
        assert "parents[1]" not in text and "parents[2]" not in text, f"bisenet.{name} looks for the repository"


def test_no_module_is_much_over_600_lines():
    long = {name: n for name, path in modules() if (n := len(path.read_text().splitlines())) > 620}
    assert not long, long
