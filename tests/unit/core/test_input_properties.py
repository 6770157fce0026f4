"""Properties of what users give, tried by Hypothesis rather than by hand: whatever a template renders, a
request is refused with our validation error or built; and whatever the parameters, ``extra_body`` and the
prompt list, a request that passes the budget never sends more than the budget allows.

``make unit`` runs a few hundred examples each, under a fixed seed; ``make fuzz`` runs them at depth.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_openai_images.core.budget import Ask, Budget
from airflow_provider_openai_images.core.pricing import PriceTable
from airflow_provider_openai_images.core.requests import EditRequest, GenerateRequest, ImageRequest
from airflow_provider_openai_images.exceptions import OpenAIImagesBudgetError, OpenAIImagesValidationError

PRICES = PriceTable()
MODELS = ["gpt-image-2", "gpt-image-2.5-flare", "gpt-image-2.6-sunburst", "gpt-image-1", "dall-e-3", "my-sdxl"]

#: what a template may render, or a DAG author may pass
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 40), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8), st.sampled_from(["", " 3 ", "²", "١٢", "nan", "inf", "1e3", "0x10", "-1", "10", "auto"]),
)  # fmt: skip
qualities = st.one_of(scalars, st.sampled_from(["low", "medium", "high", "xhigh", "max", "auto", "standard", "hd"]))
sizes = st.one_of(scalars, st.sampled_from(["1024x1024", "1536x1024", "2048x1152", "3840x2160", "4096x4096", "auto"]))
names = st.sampled_from(["n", "quality", "size", "model", "prompt", "output_format", "stream", "partial_images",
                         "future_flag", "frame_count", "image", "moderation"])  # fmt: skip
extra_bodies = st.one_of(st.none(), st.dictionaries(names, scalars, max_size=3), scalars)
values = st.fixed_dictionaries(
    {"prompt": st.one_of(st.text(max_size=20), scalars), "model": st.one_of(st.sampled_from(MODELS), scalars)},
    optional={
        "n": scalars, "quality": qualities, "size": sizes, "extra_body": extra_bodies,
        "output_format": st.one_of(scalars, st.sampled_from(["png", "gif", "svg", "webp"])), "frame_count": scalars,
        "qualty": scalars, "stream": scalars,
    },
)  # fmt: skip


@given(raw=values, request_type=st.sampled_from([GenerateRequest, EditRequest]))
def test_whatever_a_template_renders_the_request_is_built_or_refused_with_our_validation_error(
    raw: dict[str, Any], request_type: type[ImageRequest]
) -> None:
    refused: OpenAIImagesValidationError | None = None
    try:
        request_type.from_values(raw).check_parameters()
    except OpenAIImagesValidationError as error:  # anything else escapes and fails the test
        refused = error
    if refused is not None:
        assert refused.parameter
        assert "allowed" in str(refused)


def sent_worst_case(request: ImageRequest, *, batch: bool) -> float | None:
    """The worst case of what would really be sent: read back from the HTTP body, not from the request."""
    body = request.to_http_body().json or {}
    return PRICES.worst_case(
        body["model"], images=int(body.get("n", 1)), quality=body.get("quality"), size=body.get("size"),
        batch=batch, output_format=body.get("output_format"), frame_count=body.get("frame_count"),
    )  # fmt: skip


#: requests a DAG author would plausibly write, valid and priced more often than not, with ``extra_body``
#: often carrying what the checks and the budget read
plausible = st.fixed_dictionaries(
    {
        "prompt": st.sampled_from(["a fox", "a lighthouse at dawn"]),
        "model": st.sampled_from(["gpt-image-2", "gpt-image-2.5-flare", "gpt-image-1"]),
        "n": st.one_of(st.integers(1, 10), st.sampled_from(["2", " 4 ", "²"])),
        "quality": st.sampled_from(["low", "medium", "high", "max"]),
    },
    optional={
        "size": st.sampled_from(["1024x1024", "1536x1024", "2048x1152"]),
        "output_format": st.sampled_from(["png", "gif", "jpeg"]),
        "extra_body": st.dictionaries(
            st.sampled_from(["n", "quality", "size", "future_flag"]),
            st.one_of(st.integers(1, 10), st.sampled_from(["high", "3840x2160", "on"])),
            min_size=1,
            max_size=2,
        ),
    },
)


@given(
    items=st.lists(st.one_of(plausible, plausible, plausible, values), min_size=1, max_size=3),
    max_cost=st.one_of(st.none(), st.floats(0, 3), st.sampled_from(["0.5", "nan", "inf", "NaN", "-1", "", "1e-2"])),
    max_images=st.one_of(st.none(), st.integers(0, 12), st.sampled_from(["3", "²", "1.5", "", "inf"])),
    batch=st.booleans(),
)
def test_no_request_that_passes_the_budget_can_send_more_than_it_allows(
    items: list[dict[str, Any]], max_cost: Any, max_images: Any, batch: bool
) -> None:
    try:
        budget = Budget.parse(max_images, max_cost)
        requests = [GenerateRequest.from_values(item) for item in items]
        for request in requests:
            request.validate()
        budget.check(PRICES, [Ask.of(request) for request in requests], batch=batch)
    except (OpenAIImagesValidationError, OpenAIImagesBudgetError):
        return  # refused before anything is sent
    sent_images = sum(int((request.to_http_body().json or {}).get("n", 1)) for request in requests)
    if budget.max_images is not None:
        assert sent_images <= budget.max_images
    if budget.max_cost_usd is not None:
        worst = [sent_worst_case(request, batch=batch) for request in requests]
        assert None not in worst, "a budget was kept although a price is unknown"
        assert sum(w for w in worst if w is not None) <= budget.max_cost_usd + 1e-9
