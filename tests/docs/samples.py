"""The Python samples of ``README.md`` and ``docs/*.md``: every fenced ``python`` block, with where it is and
whether its page opted it out.

A block runs unless the line right above its fence is one of these HTML comments (invisible on the page):

- ``<!-- not run: REASON -->``: not executed at all (a sample that needs real OpenAI or real AWS);
- ``<!-- build only: REASON -->``: executed, so its DAGs are built, but not run with ``dag.test()`` (a DAG that
  waits for a person, or is scheduled on assets).

Both kinds are counted and reported by ``test_samples.py``; keep them rare.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
#: the pages whose samples are run
PAGES = (REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md")))
#: info strings of fences that hold Python (anything else, ``json``, ``sh``, ``text``, is not run)
PYTHON_FENCES = {"python", "py", "python3"}
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>```+|~~~+)\s*(?P<info>[\w+-]*)")
MARKER = re.compile(r"^\s*<!--\s*(?P<kind>not run|build only)\s*:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True)
class Sample:
    page: Path
    #: line of the opening fence, from 1
    line: int
    code: str
    language: str
    #: ``"not run"``, ``"build only"`` or ``None``
    opt_out: str | None = None
    reason: str = ""

    @property
    def id(self) -> str:
        return f"{self.page.relative_to(REPO_ROOT)}:{self.line}"

    @property
    def module_name(self) -> str:
        """A module name of its own, for the file the sample is run from."""
        stem = re.sub(r"\W", "_", self.page.relative_to(REPO_ROOT).with_suffix("").as_posix())
        return f"docs_sample_{stem}_{self.line}"


def fenced_blocks(page: Path) -> list[Sample]:
    """Every fenced block of ``page`` (all languages), with the opt-out marker on the line above it."""
    lines = page.read_text().splitlines()
    blocks: list[Sample] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not lines[end].strip().startswith(fence):
            body.append(lines[end][indent:] if lines[end][:indent].strip() == "" else lines[end])
            end += 1
        marker = MARKER.match(lines[index - 1]) if index else None
        blocks.append(
            Sample(
                page=page,
                line=index + 1,
                code="\n".join(body) + "\n",
                language=opening["info"].lower(),
                opt_out=marker["kind"] if marker else None,
                reason=marker["reason"] if marker else "",
            )
        )
        index = end + 1
    return blocks


def python_samples() -> list[Sample]:
    return [block for page in PAGES for block in fenced_blocks(page) if block.language in PYTHON_FENCES]


def blocks_in(language: str) -> list[Sample]:
    return [block for page in PAGES for block in fenced_blocks(page) if block.language == language]
