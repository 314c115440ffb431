"""The package's layers only point down, and nothing imports in a cycle (imports inside functions count).

Layers, lowest first; a module may import its own layer or lower ones, never a higher one:
"""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "s3rec_lite"

LAYERS = [
    {"errors", "files", "provenance", "reference", "metrics"},
    {"config"},
    {"data", "batches"},
    {"objectives"},
    {"recommender", "model", "baselines"},
    {"fast"},
    {"checkpoint"},
    {"train"},
    {"zoo"},
    {"pipeline"},
    {"experiments"},
    {"__init__"},  # the package root re-exports the core
    {"book"},  # the book's helpers: plots, widgets, checks, explain, grader, ...
    {"cli", "__main__"},
]


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    for i, names in enumerate(LAYERS):
        if top in names:
            return i
    raise AssertionError(f"s3rec_lite.{module} is in no layer of tests/test_architecture.py: add it")


def module_name(path: Path) -> str:
    """``model``, ``book.plots.results_plots``; a package's ``__init__`` is the package (the root: ``__init__``)."""
    parts = list(path.relative_to(PKG).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def package_of(path: Path) -> list[str]:
    """The package a relative import in ``path`` starts from."""
    return list(path.relative_to(PKG).parent.parts)


def imports_of(path: Path, existing: set[str]) -> set[str]:
    """Every s3rec_lite module ``path`` imports, at any depth of the code (functions included)."""
    me, package = module_name(path), package_of(path)
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            elif node.module and node.module.startswith("s3rec_lite"):
                target = node.module[len("s3rec_lite."):] if node.module != "s3rec_lite" else ""
            else:
                continue
            for alias in node.names:  # ``from pkg import module`` imports that module
                sub = f"{target}.{alias.name}" if target else alias.name
                if sub in existing:
                    found.add(sub)
            found.add(target or "__init__")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("s3rec_lite."):
                    found.add(alias.name[len("s3rec_lite."):])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            raise AssertionError(f"{path}: importlib.import_module hides an import from this check")
    return {t for t in found if t in existing} - {me}


def graph() -> dict[str, set[str]]:
    paths = list(PKG.rglob("*.py"))
    existing = {module_name(p) for p in paths}
    return {module_name(p): imports_of(p, existing) for p in paths}


def test_every_import_points_down_or_sideways():
    bad = []
    for mod, targets in graph().items():
        for t in targets:
            if layer_of(t) > layer_of(mod):
                bad.append(f"s3rec_lite.{mod} imports s3rec_lite.{t} (a higher layer)")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycles():
    g = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in sorted(g.get(m, ())):
            if state.get(t) == 1:
                raise AssertionError("import cycle: " + " -> ".join(stack[stack.index(t):] + [t]))
            if not state.get(t):
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(g):
        if not state.get(m):
            visit(m)


def test_the_check_sees_an_upward_import(tmp_path, monkeypatch):
    """The contract can fail: a model file that imports the training loop is reported."""
    fake = tmp_path / "s3rec_lite"
    (fake / "book").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "train.py").write_text("")
    (fake / "model.py").write_text("def f():\n    from .train import x\n")
    monkeypatch.setattr(__import__(__name__), "PKG", fake)
    try:
        test_every_import_points_down_or_sideways()
    except AssertionError as exc:
        assert "s3rec_lite.model imports s3rec_lite.train" in str(exc)
    else:
        raise AssertionError("the upward import went unnoticed")


def test_the_training_loop_does_not_ask_what_a_model_is():
    """No hasattr/getattr dispatch on model types in the loops: models implement the Recommender interface."""
    source = (PKG / "train.py").read_text()
    assert "hasattr(model" not in source and "getattr(model" not in source
