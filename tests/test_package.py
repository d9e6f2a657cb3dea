"""The package's shape: every submodule reachable as an attribute, imports in one direction,
no function-level imports hiding a cycle, no optax internals."""

from __future__ import annotations

import ast
import pathlib

import fnnet

ROOT = pathlib.Path(fnnet.__file__).parent


def _modules() -> dict[str, ast.Module]:
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        name = ".".join(rel.parts)
        if name.endswith(".__init__"):
            name = name[: -len(".__init__")]
        out[name] = ast.parse(path.read_text(), filename=str(path))
    return out


def _imported(tree: ast.Module, module: str, top_level_only: bool) -> set[str]:
    """fnnet modules imported by ``tree`` (at module level, or anywhere)."""
    found = set()
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("fnnet"):
            found.add(node.module)
            for alias in node.names:  # "from fnnet import core" imports the module fnnet.core
                found.add(f"{node.module}.{alias.name}")
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("fnnet"))
    return found


def test_every_subpackage_is_an_attribute():
    for name in ("checkpoint", "saving", "models", "callbacks", "datasets", "loop", "data",
                 "optimizers", "regularizers", "constraints", "mixed_precision"):
        assert hasattr(fnnet, name), name
    assert fnnet.checkpoint.save_tree is not None  # reachable as fnnet.checkpoint


def test_no_function_level_imports_of_fnnet_modules():
    offenders = []
    for name, tree in _modules().items():
        for fn in ast.walk(tree):
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = _imported(ast.Module(body=list(ast.walk(fn))[1:], type_ignores=[]),
                                  name, top_level_only=False)
                if inner:
                    offenders.append(f"{name}.{fn.name}: {sorted(inner)}")
    assert not offenders, "function-level imports of fnnet modules:\n" + "\n".join(offenders)


def test_imports_have_no_cycles():
    modules = _modules()
    graph = {name: {m for m in _imported(tree, name, True) if m in modules and m != name}
             for name, tree in modules.items()}
    # A package's __init__ re-exporting its submodules is not a cycle of its own: drop the
    # edges from a submodule up to its own package.
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not name.startswith(d + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == 1:
                cycle = stack[stack.index(dep):] + [dep]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if dep not in state:
                visit(dep)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_no_optax_internals():
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert "_src" not in node.module, f"{name} imports {node.module}"
            if isinstance(node, ast.Import):
                assert not any("_src" in a.name for a in node.names), name
