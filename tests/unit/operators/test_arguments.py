"""Operators declare each argument once, in the class that owns it; `.partial()/.expand()` accept them
all; every field of an operator's request type is an attribute of the operator."""

from __future__ import annotations

import inspect

import pytest

from airflow_provider_openai_images.operators import (
    BaseOpenAIImagesBatchOperator,
    BaseOpenAIImagesInputOperator,
    BaseOpenAIImagesOperator,
    BaseOpenAIImagesOutputOperator,
    OpenAIBulkGenerateImagesOperator,
    OpenAICreateImageVariationOperator,
    OpenAIEditImageOperator,
    OpenAIGenerateImageOperator,
)

OPERATORS = [
    OpenAIGenerateImageOperator,
    OpenAIEditImageOperator,
    OpenAICreateImageVariationOperator,
    OpenAIBulkGenerateImagesOperator,
]
CLASSES = [
    BaseOpenAIImagesOperator,
    BaseOpenAIImagesOutputOperator,
    BaseOpenAIImagesInputOperator,
    BaseOpenAIImagesBatchOperator,
    *OPERATORS,
]
SHARED = {"conn_id", "aws_conn_id", "s3_bucket", "s3_key_prefix", "overwrite", "on_content_policy_violation",
          "model", "n", "size", "response_format", "safety_identifier", "user", "extra_body",
          "max_images", "max_cost_usd", "retry_possibly_billed", "spill_path", "deferrable",
          "thumbnail_size", "asset_alias", "lineage_prompt"}  # fmt: skip


def own_arguments(cls: type) -> set[str]:
    """The keyword arguments a class's own ``__init__`` declares (none if it has no ``__init__``)."""
    if "__init__" not in vars(cls):
        return set()
    parameters = inspect.signature(vars(cls)["__init__"]).parameters.values()
    return {p.name for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY}


def test_the_base_operator_owns_every_shared_argument() -> None:
    assert own_arguments(BaseOpenAIImagesOperator) == SHARED


@pytest.mark.parametrize("cls", CLASSES[1:], ids=lambda cls: cls.__name__)
def test_no_class_declares_an_argument_an_ancestor_declares(cls: type) -> None:
    ancestors = {name for ancestor in cls.__mro__[1:] for name in own_arguments(ancestor)}
    assert own_arguments(cls) & ancestors == set()


def test_each_class_declares_only_its_own_arguments() -> None:
    assert own_arguments(BaseOpenAIImagesOutputOperator) == {
        "quality", "complexity", "background", "output_format", "output_compression", "frame_count",
        "frame_duration_ms", "svg",
    }  # fmt: skip
    assert own_arguments(BaseOpenAIImagesInputOperator) == {"image", "prepare", "square_policy"}
    assert own_arguments(BaseOpenAIImagesBatchOperator) == {
        "use_batch_api", "poll_interval", "batch_timeout", "cancel_on_kill", "keep_files"
    }  # fmt: skip
    assert own_arguments(OpenAIGenerateImageOperator) == {"prompt", "style", "moderation"}
    assert own_arguments(OpenAIEditImageOperator) == {"prompt", "mask", "mask_box", "markup", "input_fidelity"}
    assert own_arguments(OpenAICreateImageVariationOperator) == set()
    assert own_arguments(OpenAIBulkGenerateImagesOperator) == {
        "prompts", "style", "moderation", "max_concurrency", "images_per_minute", "on_item_error",
        "max_xcom_records",
    }  # fmt: skip


def test_partial_and_expand_accept_arguments_declared_in_any_base_class() -> None:
    OpenAIEditImageOperator.partial(
        task_id="e", s3_bucket="b", conn_id="c", model="gpt-image-2.5-flare", prompt="p"
    ).expand(image=["s3://b/1.png", "s3://b/2.png"])
    OpenAIGenerateImageOperator.partial(task_id="g", s3_bucket="b", aws_conn_id="a", quality="low").expand(
        prompt=["a", "b"]
    )
    OpenAICreateImageVariationOperator.partial(task_id="v", s3_bucket="b", n=2, square_policy="pad").expand(
        image=["s3://b/1.png"]
    )
    OpenAIEditImageOperator.partial(task_id="k", s3_bucket="b", image="s3://b/1.png").expand_kwargs(
        [{"prompt": "p", "mask_box": (0, 0, 8, 8), "overwrite": True}]
    )
    OpenAIGenerateImageOperator.partial(task_id="b", s3_bucket="b", use_batch_api=True, poll_interval=5).expand(
        prompt=["a", "b"]
    )


def test_partial_still_refuses_an_unknown_argument() -> None:
    with pytest.raises(TypeError, match="promt"):
        OpenAIGenerateImageOperator.partial(task_id="x", s3_bucket="b").expand(promt=["typo"])
    with pytest.raises(TypeError, match="style"):
        OpenAICreateImageVariationOperator.partial(task_id="y", s3_bucket="b", style="vivid").expand(image=["x"])


def test_a_missing_required_argument_is_named() -> None:
    with pytest.raises(TypeError, match="missing keyword argument 'prompt'"):
        OpenAIGenerateImageOperator(task_id="g", s3_bucket="b")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="missing keyword argument 'image'"):
        OpenAICreateImageVariationOperator(task_id="v", s3_bucket="b")  # type: ignore[call-arg]


def test_default_args_reach_arguments_of_every_class() -> None:
    from airflow.sdk import DAG

    defaults = {"s3_bucket": "from-defaults", "quality": "low", "square_policy": "pad", "conn_id": "c2"}
    with DAG("d", schedule=None, default_args=defaults):
        edit = OpenAIEditImageOperator(task_id="e", image="s3://b/1.png", prompt="p")
    assert (edit.s3_bucket, edit.quality, edit.square_policy, edit.conn_id) == ("from-defaults", "low", "pad", "c2")


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda cls: cls.__name__)
def test_every_value_field_of_the_request_type_is_an_operator_argument(cls: type) -> None:
    declared = {name for klass in cls.__mro__ for name in own_arguments(klass)}
    per_item = {"prompt"} if cls is OpenAIBulkGenerateImagesOperator else set()  # each item brings its prompt
    assert set(cls.request_type.value_fields()) - per_item <= declared


@pytest.mark.parametrize("cls", OPERATORS, ids=lambda cls: cls.__name__)
def test_connections_bucket_prefix_and_model_parameters_are_templated(cls: type) -> None:
    assert set(cls.template_fields) >= {"conn_id", "aws_conn_id", "s3_bucket", "s3_key_prefix", "model", "n", "size"}
    assert len(cls.template_fields) == len(set(cls.template_fields))


def test_each_operator_templates_its_own_inputs_and_prompt() -> None:
    assert {"prompt", "style", "moderation", "quality"} <= set(OpenAIGenerateImageOperator.template_fields)
    assert {"image", "mask", "prompt", "input_fidelity"} <= set(OpenAIEditImageOperator.template_fields)
    assert "image" in OpenAICreateImageVariationOperator.template_fields
    assert "prompt" not in OpenAICreateImageVariationOperator.template_fields


def test_only_the_operators_the_batch_api_takes_have_its_arguments() -> None:
    batchable = {cls for cls in OPERATORS if issubclass(cls, BaseOpenAIImagesBatchOperator)}
    assert batchable == {OpenAIGenerateImageOperator, OpenAIEditImageOperator, OpenAIBulkGenerateImagesOperator}


@pytest.mark.parametrize("name", ["poll_interval", "batch_timeout"])
@pytest.mark.parametrize("value", [0, -5, "soon", True])
def test_a_batch_interval_that_is_not_a_positive_number_is_refused(name: str, value: object) -> None:
    with pytest.raises(ValueError, match=f"{name}=.*allowed a positive number of seconds"):  # at DAG parse
        OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", prompt="p", use_batch_api=True, **{name: value})


def test_a_bad_content_policy_action_is_refused_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="allowed 'fail', 'skip' or 'record'"):
        OpenAIGenerateImageOperator(task_id="g", s3_bucket="b", prompt="p", on_content_policy_violation="ignore")  # type: ignore[arg-type]


def test_the_readme_lists_each_class_with_exactly_its_own_arguments() -> None:
    import re

    from tests.conftest import REPO_ROOT

    readme = (REPO_ROOT / "docs" / "operators.md").read_text()
    for cls in CLASSES:
        (row,) = re.findall(rf"^\| `{cls.__name__}`[^|]*\|([^\n]*)\|$", readme, flags=re.MULTILINE)
        documented = set(re.findall(r"`(\w+)`(?: \([^)]*\))?(?:,|$| )", row))
        assert documented == own_arguments(cls), cls.__name__
