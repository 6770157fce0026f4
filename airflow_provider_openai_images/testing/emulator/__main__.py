"""``python -m airflow_provider_openai_images.testing.emulator --port 8089``: the emulator over HTTP until
Ctrl-C (``--help`` for its options)."""

from airflow_provider_openai_images.testing.emulator.cli import _main

_main()
