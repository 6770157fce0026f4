"""Test doubles for users' own DAG tests and for this provider's: the offline Images API emulator.

Import :class:`ImagesAPIEmulator`, :class:`Fault` and :class:`BatchFault` from here; nothing in this
package talks to OpenAI.
"""

from airflow_provider_openai_images.testing.emulator import (
    DEFAULT_API_KEY,
    TERMINAL_BATCH_STATUSES,
    BatchFault,
    DownloadRecord,
    EmulatedBatch,
    Fault,
    FileRecord,
    ImagesAPIEmulator,
    RecordedRequest,
    UploadedFile,
)

__all__ = [
    "DEFAULT_API_KEY",
    "TERMINAL_BATCH_STATUSES",
    "BatchFault",
    "DownloadRecord",
    "EmulatedBatch",
    "Fault",
    "FileRecord",
    "ImagesAPIEmulator",
    "RecordedRequest",
    "UploadedFile",
]
