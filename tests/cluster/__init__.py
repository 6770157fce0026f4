"""Tests on a real Celery cluster (:class:`~tests.support.cluster.CeleryCluster`): the CeleryExecutor on a
private Postgres and Redis from Debian's packages, two workers. ``pytest -m cluster`` runs only these; without
the packages (and no root or apt-get to install them) they are skipped, saying what to install."""
