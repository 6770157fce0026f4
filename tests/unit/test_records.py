"""The XCom record is a typed contract, and docs/operators.md documents exactly its fields."""

from __future__ import annotations

import re

from airflow_provider_openai_images.records import ImageRecord, ManifestSummary, bounded
from tests.conftest import REPO_ROOT


def documented_record_fields(section_title: str = "### The XCom record") -> list[str]:
    documented = (REPO_ROOT / "docs" / "operators.md").read_text()
    section = documented.split(section_title, 1)[1].split("\n#", 1)[0]
    return re.findall(r"^\| `(\w+)` \|", section, flags=re.MULTILINE)


def test_the_documented_record_table_lists_exactly_the_typed_record_fields() -> None:
    documented = documented_record_fields()
    assert len(documented) == len(set(documented)), "each field once"
    assert set(documented) == ImageRecord.__required_keys__ | ImageRecord.__optional_keys__


def test_the_documented_summary_table_lists_exactly_the_typed_summary_fields() -> None:
    documented = documented_record_fields("### The manifest summary")
    assert documented == list(ManifestSummary.__annotations__)


def test_fields_every_record_has_are_required_the_others_not() -> None:
    assert ImageRecord.__required_keys__ == {"s3_uri", "model", "request_id", "status"}


def test_long_prompts_are_bounded_in_sidecars_and_the_cut_is_said() -> None:
    provenance = bounded({"prompt": "x" * 5000, "model": "m"})
    assert len(provenance["prompt"] or "") == 4000
    assert provenance.get("prompt_truncated_from") == 5000
    assert "prompt_truncated_from" not in bounded({"prompt": "short"})
