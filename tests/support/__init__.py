"""Harnesses only this repository's tests and benchmarks use, not shipped with the package: a real Airflow on
this machine (:mod:`.local_airflow`), a fault-injecting proxy in front of S3 (:mod:`.s3_faults`) and a free
port (:mod:`.ports`). Users' test doubles are in ``airflow_provider_openai_images.testing``.

Scripts run from ``benchmarks/`` import them once the repository root is on ``sys.path``
(``benchmarks/support.py`` puts it there)."""
