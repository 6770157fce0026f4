"""Every Python sample of the README and the docs runs, against the offline emulator and moto's S3 server, so
that a sample cannot drift from the code.

Each fenced ``python`` block (see :mod:`tests.docs.samples` for how one opts out) runs in a fresh namespace,
compiled as if it were its page (a traceback names ``docs/page.md`` and the page's line), in a working
directory holding the files the samples name (``conftest.py``), with ``openai_images_default`` at the
emulator, ``openai_images_compatible`` at an emulator serving as compatible servers do, and ``aws_default``
at moto's S3 server. Then:

- every ``test_*`` function the block defines is called, with the pytest fixtures it names;
- every DAG the block built runs with ``dag.test()`` and must succeed, unless the block has tests (they run
  the DAGs they want) or is marked ``build only`` (built, not run).
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DAGS_FOLDER
from tests.docs.samples import PAGES, REPO_ROOT, Sample, blocks_in, python_samples

SAMPLES = python_samples()
OPTED_OUT = [sample for sample in SAMPLES if sample.opt_out]
#: the most samples that may opt out, of either kind: raise it only with a reason on each
MAX_OPT_OUTS = 3


def run_sample(sample: Sample, request: pytest.FixtureRequest) -> list[Any]:
    """Run ``sample`` as a DAG file in the DAGs folder (``dag.test()`` wants it there); returns its DAG runs."""
    from airflow.sdk import DAG

    path = DAGS_FOLDER / f"{sample.module_name}.py"
    path.write_text(sample.code)
    namespace: dict[str, Any] = {"__name__": sample.module_name, "__file__": str(path)}
    try:
        # blank lines first: the sample's line numbers are its page's, in tracebacks too
        code = compile("\n" * sample.line + sample.code, str(sample.page), "exec")
        exec(code, namespace)
        tests = [value for name, value in namespace.items() if name.startswith("test_") and inspect.isfunction(value)]
        for test in tests:
            test(**{name: request.getfixturevalue(name) for name in inspect.signature(test).parameters})
        dags = {id(value): value for value in namespace.values() if isinstance(value, DAG)}
        if sample.opt_out == "build only":
            assert dags, f"{sample.id} is marked 'build only' but builds no DAG"
            return []
        if tests:  # a sample's tests run the DAGs they want
            return []
        runs = []
        for dag in dags.values():
            run = dag.test()
            unfinished = sorted({ti.task_id for ti in run.get_task_instances() if ti.state != "success"})
            assert run.state == "success", f"{sample.id}: DAG {dag.dag_id} ended {run.state}: {unfinished}, see the log"
            runs.append(run)
        return runs
    finally:
        path.unlink()


@pytest.mark.parametrize("sample", SAMPLES, ids=[sample.id for sample in SAMPLES])
def test_the_sample_runs(sample: Sample, sample_environment: Path, request: pytest.FixtureRequest) -> None:
    if sample.opt_out == "not run":
        pytest.skip(f"not run: {sample.reason}")
    run_sample(sample, request)


def test_opt_outs_are_rare_and_say_why() -> None:
    for sample in OPTED_OUT:
        assert sample.reason, f"{sample.id}: an opt-out needs a reason"
    report = "\n".join(f"  {sample.id}: {sample.opt_out}: {sample.reason}" for sample in OPTED_OUT)
    print(f"\n{len(SAMPLES)} Python samples, {len(OPTED_OUT)} opted out:\n{report}")
    assert len(OPTED_OUT) <= MAX_OPT_OUTS, f"{len(OPTED_OUT)} samples opt out:\n{report}"


def test_the_pages_that_teach_code_have_samples() -> None:
    pages = {sample.page.relative_to(REPO_ROOT).as_posix() for sample in SAMPLES}
    teaching = {"README.md", *(f"docs/{name}.md" for name in ("connection", "hook", "operators", "bulk-and-batch"))}
    teaching |= {f"docs/{name}.md" for name in ("gallery-and-review", "spend-and-guarantees", "models", "testing")}
    assert teaching <= pages


@pytest.mark.parametrize("block", blocks_in("json"), ids=[block.id for block in blocks_in("json")])
def test_the_json_samples_are_json(block: Sample) -> None:
    json.loads(block.code)


#: a path the pages name in code, such as `core/pricing.py` or `dags/on_demand.py`
NAMED_PATH = re.compile(r"`([\w.-]+(?:/[\w.-]+)+\.(?:py|json|yaml|txt))`")


@pytest.mark.parametrize("page", PAGES, ids=[page.relative_to(REPO_ROOT).as_posix() for page in PAGES])
def test_the_files_a_page_names_exist(page: Path) -> None:
    """A module moved or renamed shows up here, not in a reader's search."""
    package = REPO_ROOT / "airflow_provider_openai_images"
    missing = [
        path
        for path in sorted(set(NAMED_PATH.findall(page.read_text())))
        if not path.startswith(("demo-output/", "../"))  # made by `make demo`; beside the repository
        and not any((root / path).exists() for root in (REPO_ROOT, package))
    ]
    assert missing == [], f"{page.name} names files that do not exist"


def test_the_readme_links_to_pages_that_exist() -> None:
    """MkDocs checks the links between the docs' pages; the README is not one of them."""
    readme = (REPO_ROOT / "README.md").read_text()
    links = {link.split("#")[0] for link in re.findall(r"\]\(([^)\s]+)\)", readme) if "://" not in link}
    assert links, "the README links to the docs"
    assert sorted(link for link in links if not (REPO_ROOT / link).exists()) == []


def test_the_architecture_page_shows_the_checked_layers_and_every_module() -> None:
    """The tables are made at build time by docs/hooks/package_map.py, from the architecture test and the modules."""
    spec = importlib.util.spec_from_file_location("package_map", REPO_ROOT / "docs" / "hooks" / "package_map.py")
    assert spec
    assert spec.loader
    package_map = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package_map)
    page = (REPO_ROOT / "docs" / "architecture.md").read_text()
    assert package_map.LAYERS_MARKER in page
    assert package_map.MODULES_MARKER in page
    built = package_map.on_page_markdown(page, None, None, None)
    for layer, allowed in package_map.may_import().items():
        (row,) = [line for line in built.splitlines() if line.startswith(f"| `{layer}` |")]
        assert all(f"`{each}`" in row for each in allowed - {layer, "__init__"}), row
    for module in (REPO_ROOT / "airflow_provider_openai_images").rglob("*.py"):
        if module.name != "__main__.py" and "__pycache__" not in module.parts:
            assert f"| `{module.relative_to(REPO_ROOT / 'airflow_provider_openai_images').as_posix()}` |" in built
