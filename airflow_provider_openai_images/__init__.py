"""Apache Airflow provider for the OpenAI Images API.

Importing this package is cheap on purpose: DAG files import it at every parse, so nothing
here (or in ``hooks``/``operators`` at module level) imports httpx, Pillow or boto3.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

PACKAGE_NAME = "airflow-provider-openai-images"
CONN_TYPE = "openai_images"
DEFAULT_CONN_ID = "openai_images_default"


def get_provider_info() -> dict[str, Any]:
    """Describe this provider to Airflow's ``ProvidersManager`` (entry point ``apache_airflow_provider``).

    The connection form is declared here (``conn-fields`` / ``ui-field-behaviour``, Airflow 3.2+), so the
    UI renders it without importing the hook.
    """
    return {
        "package-name": PACKAGE_NAME,
        "name": "OpenAI Images",
        "description": "Generate, edit and vary images with the OpenAI Images API and land them in S3.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "OpenAI Images",
                "external-doc-url": "https://platform.openai.com/docs/api-reference/images",
                "tags": ["software"],
            }
        ],
        "hooks": [
            {
                "integration-name": "OpenAI Images",
                "python-modules": ["airflow_provider_openai_images.hooks.openai_images"],
            }
        ],
        "operators": [
            {
                "integration-name": "OpenAI Images",
                "python-modules": [
                    "airflow_provider_openai_images.operators.base",
                    "airflow_provider_openai_images.operators.output_options",
                    "airflow_provider_openai_images.operators.with_inputs",
                    "airflow_provider_openai_images.operators.generate",
                    "airflow_provider_openai_images.operators.edit",
                    "airflow_provider_openai_images.operators.variation",
                    "airflow_provider_openai_images.operators.bulk",
                ],
            }
        ],
        "triggers": [
            {
                "integration-name": "OpenAI Images",
                "python-modules": [
                    "airflow_provider_openai_images.triggers.images",
                    "airflow_provider_openai_images.triggers.batch",
                ],
            }
        ],
        "config": {
            "openai_images": {
                "description": "The Images view (a plugin of the API server) of the OpenAI Images provider.",
                "options": {
                    "gallery_aws_conn_id": {
                        "description": "The AWS connection the Images view reads S3 with.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "gallery_s3",
                        "default": "aws_default",
                    },
                    "gallery_buckets": {
                        "description": "Comma-separated buckets the Images view may read. Unset: each task "
                        "instance's own bucket (its rendered s3_bucket). Either way, only keys under the task "
                        "instance's own prefix are served.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "images-prod,images-archive",
                        "default": "",
                    },
                },
            }
        },
        "extra-links": [
            "airflow_provider_openai_images.operators.links.OpenAIImagesGalleryLink",
            "airflow_provider_openai_images.operators.links.OpenAIImagesS3Link",
        ],
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "airflow_provider_openai_images.hooks.openai_images.OpenAIImagesHook",
                "hook-name": "OpenAI Images",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port", "login"],
                    "relabeling": {"host": "Base URL", "password": "API key"},
                    "placeholders": {
                        "host": "https://api.openai.com/v1",
                        "password": "sk-...",
                    },
                },
                "conn-fields": {
                    "organization": {
                        "label": "Organization ID",
                        "description": "Sent as OpenAI-Organization (OpenAI only).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "project": {
                        "label": "Project ID",
                        "description": "Sent as OpenAI-Project (OpenAI only).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "timeout": {
                        "label": "Read timeout (seconds)",
                        "description": "Image generation can take minutes; the connect timeout stays short.",
                        "schema": {"type": ["number", "null"], "default": 600, "minimum": 1},
                    },
                    "max_retries": {
                        "label": "Max retries",
                        "description": "Retries on connection errors, 408, 409, 429 and 5xx.",
                        "schema": {"type": ["integer", "null"], "default": 2, "minimum": 0, "maximum": 10},
                    },
                    "api_type": {
                        "label": "API type",
                        "description": "'azure' for Azure OpenAI: deployment URLs and the api-key header.",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["openai", "azure"],
                            "default": "openai",
                        },
                    },
                    "api_version": {
                        "label": "Azure API version",
                        "schema": {"type": ["string", "null"]},
                    },
                    "azure_deployment": {
                        "label": "Azure deployment",
                        "description": "Defaults to the model name of each request.",
                        "schema": {"type": ["string", "null"]},
                    },
                    "default_model": {
                        "label": "Default model",
                        "description": "Model of generations and edits that name none (default: gpt-image-2.5-flare "
                        "for generations, gpt-image-2.5-sunburst for edits).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "models": {
                        "label": "Models (JSON)",
                        "description": "Add or override catalogue entries without a release, e.g. "
                        '{"gpt-image-3": {"extends": "gpt-image-2.5-flare", "prices": {"image_output": 30}}} '
                        "(sizes, qualities, output_formats, shutdown, replacements, token prices per million).",
                        "schema": {"type": ["string", "null"]},
                    },
                    "model_lifecycle": {
                        "label": "Model lifecycle check",
                        "description": "Ask the Models API (free) whether a model is still served before the first "
                        "paid call: auto (on api.openai.com), openai (always: a gateway in front of OpenAI), off "
                        "(Azure, compatible servers).",
                        "schema": {
                            "type": ["string", "null"],
                            "enum": ["auto", "openai", "off"],
                            "default": "auto",
                        },
                    },
                    "retry_possibly_billed": {
                        "label": "Retry possibly billed requests",
                        "description": "Retry a request that got no usable answer after it was sent (it may have "
                        "been billed). Off: fail at once instead of risking a second payment.",
                        "schema": {"type": ["boolean", "null"], "default": True},
                    },
                    "prices": {
                        "label": "Prices (JSON)",
                        "description": 'Override or add prices, e.g. {"my-model": 0.02} (USD per image) or '
                        '{"gpt-image-2": {"image_output": 40}} (USD per million tokens).',
                        "schema": {"type": ["string", "null"]},
                    },
                    "spill_path": {
                        "label": "Spill path",
                        "description": "Where paid images wait when S3 refuses them. With several workers "
                        "(Celery, Kubernetes) set a location every worker reads, s3://bucket/prefix (through the "
                        "task's AWS connection) or a shared volume, or a retry on another worker pays again. "
                        "Default: the worker's temp dir.",
                        "schema": {"type": ["string", "null"]},
                    },
                },
            }
        ],
    }
