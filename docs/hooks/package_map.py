"""MkDocs hook: the package's map, generated at build time so that it cannot go stale.

In a page, ``<!-- package-map: layers -->`` becomes the table of what each layer may import, read from
``MAY_IMPORT`` in ``tests/unit/test_architecture.py`` (the test that enforces it), and
``<!-- package-map: modules -->`` the table of every module of the package with the first paragraph of its
docstring. Nothing is imported: both are read with ``ast``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "airflow_provider_openai_images"
ARCHITECTURE_TEST = ROOT / "tests" / "unit" / "test_architecture.py"
LAYERS_MARKER = "<!-- package-map: layers -->"
MODULES_MARKER = "<!-- package-map: modules -->"
ROOT_MODULE = "__init__"


def may_import() -> dict[str, set[str]]:
    """``MAY_IMPORT`` of the architecture test, read without running it."""
    for node in ast.parse(ARCHITECTURE_TEST.read_text()).body:
        target = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == "MAY_IMPORT" and node.value is not None:
            value = ast.literal_eval(node.value)
            return {layer: set(allowed) for layer, allowed in value.items()}
    raise PluginError(f"no MAY_IMPORT in {ARCHITECTURE_TEST.relative_to(ROOT)}")


def layers() -> list[str]:
    """The package's top-level folders and modules, as the architecture test names them."""
    names = {path.name for path in PACKAGE.iterdir() if path.is_dir() and (path / "__init__.py").exists()}
    names |= {path.stem for path in PACKAGE.glob("*.py")}
    return sorted(names, key=lambda name: (name != ROOT_MODULE, name))


def _inline(text: str) -> str:
    """reStructuredText roles and literals as Markdown code, on one line, safe in a table cell."""
    text = re.sub(r":\w+:`~?\.?([^`]+)`", lambda match: f"`{match[1].split('.')[-1]}`", text)
    text = re.sub(r"``(.+?)``", r"`\1`", text)
    return " ".join(text.split()).replace("|", "\\|")


def summary(path: Path) -> str:
    docstring = ast.get_docstring(ast.parse(path.read_text()))
    return _inline(docstring.split("\n\n", 1)[0]) if docstring else "(no docstring)"


def layers_table() -> str:
    allowed = may_import()
    rows = ["| layer | may import at module level (checked) |", "|---|---|"]
    for layer in layers():
        name = "the package root (`__init__`)" if layer == ROOT_MODULE else f"`{layer}`"
        if layer in allowed:
            others = sorted(allowed[layer] - {layer})
            listed = ", ".join("the root (`__init__`)" if each == ROOT_MODULE else f"`{each}`" for each in others)
            rows.append(f"| {name} | {listed or 'nothing else'} |")
        else:
            rows.append(f"| {name} | not checked |")
    return "\n".join(rows)


def modules_table() -> str:
    rows = ["| module | what it is |", "|---|---|"]
    paths = sorted(PACKAGE.rglob("*.py"), key=lambda path: path.relative_to(PACKAGE).parts)
    for path in paths:
        relative = path.relative_to(PACKAGE).as_posix()
        if "__pycache__" in relative or path.name == "__main__.py":
            continue
        rows.append(f"| `{relative}` | {summary(path)} |")
    return "\n".join(rows)


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    if LAYERS_MARKER in markdown:
        markdown = markdown.replace(LAYERS_MARKER, layers_table())
    if MODULES_MARKER in markdown:
        markdown = markdown.replace(MODULES_MARKER, modules_table())
    return markdown
