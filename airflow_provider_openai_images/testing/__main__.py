from airflow_provider_openai_images.testing.emulator import _main

_main()
