"""The template fields every operator of this provider has, and a subclass's own on top."""

from __future__ import annotations

#: Template fields of every operator of this provider.
BASE_TEMPLATE_FIELDS = (
    "conn_id",
    "aws_conn_id",
    "s3_bucket",
    "s3_key_prefix",
    "model",
    "n",
    "size",
    "response_format",
    "safety_identifier",
    "user",
    "extra_body",
    "max_images",
    "max_cost_usd",
    "spill_path",
)


def images_template_fields(*template_fields: str) -> tuple[str, ...]:
    """An operator's template fields: ``template_fields`` plus those every operator of this provider has."""
    return tuple(sorted({*BASE_TEMPLATE_FIELDS, *template_fields}))


__all__ = ["BASE_TEMPLATE_FIELDS", "images_template_fields"]
