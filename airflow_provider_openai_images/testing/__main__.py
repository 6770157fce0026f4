"""``python -m airflow_provider_openai_images.testing``: the Images API emulator, as
``python -m airflow_provider_openai_images.testing.emulator`` runs it (``--help`` for its options)."""

from airflow_provider_openai_images.testing.emulator.cli import _main

_main()
