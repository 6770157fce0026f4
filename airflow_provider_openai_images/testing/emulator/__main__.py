from airflow_provider_openai_images.testing.emulator.cli import _main

_main()
