"""An offline emulator of the OpenAI Images API: a test double, not a model.

:class:`ImagesAPIEmulator` implements ``POST /images/generations``, ``/images/edits`` (multipart or
JSON), ``/images/variations``, ``GET /models`` and ``GET /models/{model}`` (OpenAI paths under ``/v1``
and Azure OpenAI deployment paths), validates every request against the packaged OpenAPI document and
its own model catalogue and rules (OpenAI's as of 2026-12-05, independent of the provider's), and
answers with real PNG/JPEG/WEBP images, animated GIFs and SVG documents of the requested size, as
``b64_json`` or as URLs served by an image host that expire. By default it serves the models OpenAI
serves today and answers the retired ones ``404 model_not_found``; ``compatible_server=True`` serves
them all, as Azure OpenAI and compatible servers do. It draws pictures from the prompt's hash; nothing here
calls OpenAI. It also implements the Files and Batch APIs for image generations and edits
(``/v1/files``, ``/v1/batches``), each batch processed on a thread of its own, with scriptable fates
(``emulator.inject_batch(BatchFault.expire_after(3))``).

Reach it over real HTTP on loopback (``with ImagesAPIEmulator() as emulator:``) or in-process,
without any socket, through ``emulator.transport()``. Faults are scriptable
(``emulator.inject(Fault.rate_limit(retry_after=1))``) and every request is recorded
(``emulator.requests``), with how many images were billed, so tests can prove that nothing was paid
for twice. Images are billed when generated, as the real API bills them, even if their answer is
then truncated, dropped or too late for the client; ``emulator.wait_until_idle()`` waits for
requests still in flight.

The modules, one job each, grouped by what they emulate:

- :mod:`.images`: the Images and Models APIs: :mod:`~.images.parameters` (a multipart request's
  parameters), :mod:`~.images.validation` (what the API would refuse), :mod:`~.images.served_models` (the
  model catalogue, data), :mod:`~.images.serving` (which models are served; the Models API),
  :mod:`~.images.model_rules` (parameters per model), :mod:`~.images.uploads` (uploaded images),
  :mod:`~.images.image_refs` (a JSON edit's images), :mod:`~.images.generation` (answer bodies),
  :mod:`~.images.rendering` (pictures), :mod:`~.images.previews` (GIF and SVG files), :mod:`~.images.usage`
  (token usage), :mod:`~.images.prices` (what answers cost).
- :mod:`.files`: the Files API (its store on disk and its endpoints).
- :mod:`.batches`: the Batch API: :mod:`~.batches.record` (one batch), :mod:`~.batches.store` (the batches),
  :mod:`~.batches.runner` (a batch's life on its thread), :mod:`~.batches.lines` (input files),
  :mod:`~.batches.output` (output files), :mod:`~.batches.faults` (scripted batch fates), :mod:`~.batches.api`
  (the endpoints).
- :mod:`.server`: the transports: :mod:`~.server.http_server` (real sockets), :mod:`~.server.transport`
  (in-process httpx), :mod:`~.server.parsing` (the HTTP envelope to a record), :mod:`~.server.query`
  (query-string arguments), :mod:`~.server.replies` (what is sent back).
- Shared: :mod:`.recordings` (what was received), :mod:`.rejections` (refusals), :mod:`.faults` (scripted
  misbehaviour of any request), :mod:`.fault_script` (the queue faults wait in), :mod:`.specs` (the packaged
  OpenAPI documents); :mod:`.core` (state and replies, no transport), :mod:`.images_api_emulator` (the public
  class) and :mod:`.cli`.

Run it by hand with ``python -m airflow_provider_openai_images.testing.emulator --port 8089``.
"""

from airflow_provider_openai_images.testing.emulator.batches.faults import BatchFault
from airflow_provider_openai_images.testing.emulator.batches.record import TERMINAL_BATCH_STATUSES, EmulatedBatch
from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.files import FileRecord
from airflow_provider_openai_images.testing.emulator.images.rendering import render_image
from airflow_provider_openai_images.testing.emulator.images_api_emulator import DEFAULT_API_KEY, ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.recordings import DownloadRecord, RecordedRequest, UploadedFile

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
    "render_image",
]
