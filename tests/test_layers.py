"""The package's layers (docs/style.md): no module imports from a layer above its own, and no import circle.

Every ``import`` of every module under ``src/uprising`` counts, at module level and inside functions
alike (only imports under ``if TYPE_CHECKING:`` are left out: they never run). The layers, lowest first:

0. kernels: ``uprising.kernels``
1. mechanisms and models: ``uprising.mechanisms``, ``model``, ``scenario``, ``clock``, ``country.scenario``,
   ``country.inputs`` (which keys of a scenario file are behaviour and which a country's), ``country.model``
2. drivers: everything else (``simulate``, ``execution``, ``country.simulate``/``fit``/``observables``/
   ``compare``, ``experiment``, ``validation``, ``report``, ``analysis``, ...)
3. ``uprising.viz``, an optional edge: only the app and the command line may import it
4. ``uprising.app``, an optional edge: only the command line may import it
5. the command line: ``uprising.cli`` and ``uprising.__main__``
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "uprising"

CORE = ("uprising.mechanisms", "uprising.model", "uprising.scenario", "uprising.clock", "uprising.country.scenario",
        "uprising.country.inputs", "uprising.country.model", "uprising.country.travel")
LAYER_NAMES = {0: "kernels", 1: "mechanisms and models", 2: "drivers", 3: "viz", 4: "app", 5: "cli"}

#: Imports known to break the layers or to close a circle, each with the work that removes it. They are left
#: out of both checks. Empty since issue 12: add nothing to it.
KNOWN: dict[tuple[str, str], str] = {
}


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def layer(module: str) -> int:
    """The layer of a module, by the rule in this file's docstring."""
    if _within(module, "uprising.kernels"):
        return 0
    if _within(module, "uprising.cli") or module == "uprising.__main__":
        return 5
    if _within(module, "uprising.app"):
        return 4
    if _within(module, "uprising.viz"):
        return 3
    if any(_within(module, p) for p in CORE):
        return 1
    return 2


def modules() -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its own name, for its __init__.py)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or \
        (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST):
    """The Import and ImportFrom nodes of a tree, at any depth, outside ``if TYPE_CHECKING:`` blocks."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        if isinstance(node, ast.If) and _type_checking_only(node):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imports(known: dict[str, Path]) -> dict[str, set[str]]:
    """For each module, the package's modules it imports (``from P import m`` counts as importing the
    module ``P.m`` where there is one, else ``P``)."""
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        is_package = path.name == "__init__.py"
        here = name if is_package else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names)
                continue
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                targets.add(sub if sub in known else source)
        graph[name] = {t for t in targets if t in known and t != name}
    return graph


def _graph() -> dict[str, set[str]]:
    graph = imports(modules())
    for (importer, imported) in KNOWN:
        graph.get(importer, set()).discard(imported)
    return graph


def test_the_layers_cover_the_modules_named_in_the_style_guide():
    known = modules()
    assert layer("uprising.kernels.lattice") == 0
    assert layer("uprising.country.model") == 1 and layer("uprising.mechanisms.price") == 1
    assert layer("uprising.country.ensemble") == 2 and layer("uprising.experiment.runner") == 2
    assert layer("uprising.cli.common") == 5 and layer("uprising.viz.plots") == 3
    assert "uprising.cli" in known and "uprising.scenario" in known


def test_no_module_imports_from_a_layer_above_its_own():
    graph = _graph()
    upward = sorted(f"{importer} ({LAYER_NAMES[layer(importer)]}) imports {imported} "
                    f"({LAYER_NAMES[layer(imported)]})"
                    for importer, targets in graph.items() for imported in targets
                    if layer(imported) > layer(importer))
    assert not upward, "\n".join(upward)


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_circle():
    graph = _graph()
    circles = _circles(graph)
    shown = []
    for members in circles:
        edges = [f"{a} -> {b}" for a in members for b in sorted(graph[a]) if b in members]
        shown.append("circle: " + "; ".join(edges))
    assert not circles, "\n".join(shown)


def test_the_circle_finder_finds_a_circle_and_nothing_else():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_every_known_exception_still_exists():
    """An entry of KNOWN whose import is gone is deleted, so that the list only shrinks."""
    graph = imports(modules())
    stale = [f"{a} -> {b}" for (a, b) in KNOWN if b not in graph.get(a, set())]
    assert not stale, "remove from KNOWN: " + ", ".join(stale)
