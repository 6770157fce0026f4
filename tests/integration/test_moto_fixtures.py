"""The pytest plugin's moto fixtures, in an inner pytest session of its own process: moto's S3 server starts
only when a test asks for it, once per session, and each test gets an empty bucket behind ``aws_default``."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_the_moto_fixtures_start_one_server_on_demand_and_an_empty_bucket_per_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        from airflow_provider_openai_images.testing.moto_s3 import MotoS3Server

        STARTS = []
        _start = MotoS3Server.start

        def _counted(self, *args, **kwargs):
            STARTS.append(self)
            return _start(self, *args, **kwargs)

        MotoS3Server.start = _counted
        """
    )
    pytester.makepyfile(
        """
        import json
        import os

        from conftest import STARTS

        def test_a_without_s3_starts_nothing():
            assert STARTS == []

        def test_b_stores_an_object(moto_s3_bucket, moto_s3_server):
            connection = json.loads(os.environ["AIRFLOW_CONN_AWS_DEFAULT"])
            assert connection["extra"]["endpoint_url"] == moto_s3_server.endpoint_url
            moto_s3_bucket.client.put_object(Bucket=moto_s3_bucket.name, Key="a/b.txt", Body=b"x")
            assert (moto_s3_bucket.keys("a/"), moto_s3_bucket.read("a/b.txt")) == (["a/b.txt"], b"x")
            assert moto_s3_bucket.uri == "s3://openai-images-test"

        def test_c_gets_it_empty_from_the_same_server(moto_s3_bucket):
            assert moto_s3_bucket.keys() == []
            assert len(STARTS) == 1
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "airflow_provider_openai_images.testing.pytest_plugin", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=3)
