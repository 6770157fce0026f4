"""The package's plan, checked: no import circles between its modules, no module over 400 lines, and each
layer imports only what it may (``core`` is pure: no Airflow; the emulator imports nothing it is meant to
check). Imports inside functions and under ``TYPE_CHECKING`` do not count: they run when a task runs."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "airflow_provider_openai_images"
NAME = PACKAGE.name
#: layer -> the layers of the package it may import at module level (itself included)
MAY_IMPORT = {
    "core": {"core", "exceptions", "__init__"},  # the package's version, for the User-Agent
    "media": {"media", "core", "exceptions", "records", "s3"},
    "landing": {"landing", "media", "core", "exceptions", "records", "keys", "s3"},
    "jobs": {"jobs", "landing", "media", "core", "exceptions", "records", "keys", "s3"},
    "hooks": {"hooks", "media", "core", "exceptions", "__init__"},
}


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def top_level_imports(path: Path, module: str, known: set[str]) -> Iterator[str]:
    """The package modules ``path`` imports when it is imported (not in functions, not for type checking):
    ``from package import module`` counts as the module, not as the package."""
    tree = ast.parse(path.read_text())
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for each in ast.walk(node) if isinstance(node, (ast.Import, ast.ImportFrom, ast.If, ast.Try)) else []:
            if isinstance(each, ast.Import):
                yield from (alias.name for alias in each.names if alias.name.startswith(NAME))
            elif isinstance(each, ast.ImportFrom):
                base = each.module or ""
                if each.level:
                    parent = package.split(".")[: len(package.split(".")) - each.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                if base.startswith(NAME):
                    for alias in each.names:
                        yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def graph() -> dict[str, set[str]]:
    known = modules()
    return {
        module: {
            target for target in top_level_imports(path, module, set(known)) if target in known and target != module
        }
        for module, path in known.items()
    }


def test_no_import_circles() -> None:
    edges = graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target] if target in path else [module, target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == [], "import circles: " + "; ".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("module", sorted(modules()))
def test_no_module_is_over_400_lines(module: str) -> None:
    lines = len(modules()[module].read_text().splitlines())
    assert lines <= 400, f"{module}: {lines} lines"


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_each_layer_imports_only_what_it_may(layer: str) -> None:
    wrong = []
    for module, targets in graph().items():
        if module.split(".")[1:2] != [layer]:
            continue
        for target in targets:
            top = target.split(".")[1] if "." in target else "__init__"
            if top not in MAY_IMPORT[layer]:
                wrong.append(f"{module} imports {target}")
    assert wrong == []


def test_core_never_imports_airflow() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert not any(name.split(".")[0] == "airflow" for name in names), path


def test_item_failures_are_built_in_one_module() -> None:
    """An :class:`ItemFailure` is a dict with ``kind`` and ``message``: only ``jobs/failures.py`` writes one out
    (through ``item_failure``); everywhere else calls it, so a new field or rule has one place to go."""
    home = PACKAGE / "jobs" / "failures.py"
    built_elsewhere = []
    for path in PACKAGE.rglob("*.py"):
        if path == home or "testing" in path.relative_to(PACKAGE).parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict):
                keys = {key.value for key in node.keys if isinstance(key, ast.Constant)}
                if {"kind", "message"} <= keys:
                    built_elsewhere.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert built_elsewhere == []
