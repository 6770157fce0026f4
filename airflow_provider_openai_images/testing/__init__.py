"""Test doubles for users' own DAG tests and for this provider's: the offline Images API emulator.

Import :class:`ImagesAPIEmulator` and :class:`Fault` from here; nothing in this package talks to OpenAI.
"""

from airflow_provider_openai_images.testing.emulator import (
    DEFAULT_API_KEY,
    DownloadRecord,
    Fault,
    ImagesAPIEmulator,
    RecordedRequest,
    UploadedFile,
)

__all__ = [
    "DEFAULT_API_KEY",
    "DownloadRecord",
    "Fault",
    "ImagesAPIEmulator",
    "RecordedRequest",
    "UploadedFile",
]
