"""The pytest plugin's fixtures, run in an inner pytest session (no sockets: the session emulator is
replaced by one that is never started)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

_NOT_STARTED_SESSION_EMULATOR = """
import pytest
from airflow_provider_openai_images.testing import ImagesAPIEmulator

@pytest.fixture(scope="session")
def images_api_emulator_server():
    return ImagesAPIEmulator()
"""


def test_settings_a_test_changes_are_restored_for_the_next_one(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_NOT_STARTED_SESSION_EMULATOR)
    pytester.makepyfile(
        """
        from airflow_provider_openai_images.testing import DEFAULT_API_KEY, Fault

        def test_a_changes_everything(images_api_emulator):
            images_api_emulator.api_key = "sk-changed"
            images_api_emulator.url_ttl = -1
            images_api_emulator.latency = 0.5
            images_api_emulator.images_per_minute = 1
            images_api_emulator.unavailable_models.add("dall-e-3")
            images_api_emulator.inject(Fault.server_error())

        def test_b_gets_the_emulator_as_it_was(images_api_emulator):
            settings = (images_api_emulator.api_key, images_api_emulator.url_ttl, images_api_emulator.latency)
            assert settings == (DEFAULT_API_KEY, 3600.0, 0.0)
            assert images_api_emulator.images_per_minute is None
            assert images_api_emulator.unavailable_models == set()
            images_api_emulator.unavailable_models = {"dall-e-2"}

        def test_c_gets_it_back_even_after_the_set_was_replaced(images_api_emulator):
            assert images_api_emulator.unavailable_models == set()
        """
    )
    result = pytester.runpytest("-p", "airflow_provider_openai_images.testing.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_serving_settings_a_test_changes_are_restored_for_the_next_one(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(_NOT_STARTED_SESSION_EMULATOR)
    pytester.makepyfile(
        """
        def test_a_changes_them(images_api_emulator):
            images_api_emulator.compatible_server = True
            images_api_emulator.extra_models["house-model"] = "gpt-image-2"
            images_api_emulator.shutdown_dates["gpt-image-2"] = "2027-01-01"

        def test_b_gets_them_back_then_replaces_the_dicts(images_api_emulator):
            emulator = images_api_emulator
            assert (emulator.compatible_server, emulator.extra_models, emulator.shutdown_dates) == (False, {}, {})
            emulator.extra_models = {"other": "gpt-image-2"}
            emulator.shutdown_dates = {"gpt-image-2": None}

        def test_c_gets_them_back_even_after_the_dicts_were_replaced(images_api_emulator):
            assert (images_api_emulator.extra_models, images_api_emulator.shutdown_dates) == ({}, {})
        """
    )
    result = pytester.runpytest("-p", "airflow_provider_openai_images.testing.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_in_process_fixture_is_a_fresh_emulator_behind_the_default_connection(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json, os

        def test_fresh(images_api_emulator_in_process):
            emulator = images_api_emulator_in_process
            connection = json.loads(os.environ["AIRFLOW_CONN_OPENAI_IMAGES_DEFAULT"])
            assert connection["host"] == emulator.base_url == "http://images-api.emulator.invalid/v1"
            assert connection["password"] == emulator.api_key
            assert emulator.requests == []
            emulator.api_key = "sk-changed"

        def test_another_fresh_one(images_api_emulator_in_process):
            assert images_api_emulator_in_process.api_key != "sk-changed"
        """
    )
    result = pytester.runpytest("-p", "airflow_provider_openai_images.testing.pytest_plugin", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
