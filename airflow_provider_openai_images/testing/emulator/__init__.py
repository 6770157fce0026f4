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

Modules, one job each: :mod:`.faults` (scripted misbehaviour), :mod:`.records` (what was received),
:mod:`.parsing` (raw request to record), :mod:`.served_models` (the model catalogue), :mod:`.serving`
(which models are served; the Models API), :mod:`.rejections`, :mod:`.validation`,
:mod:`.model_rules` and :mod:`.uploads` (what the API would refuse), :mod:`.image_refs` (a JSON
edit's images), :mod:`.rendering` (pictures), :mod:`.previews` (GIF and SVG files),
:mod:`.generation` (answer bodies), :mod:`.usage` (token usage), :mod:`.prices` (what answers cost),
:mod:`.replies` (what is sent back), :mod:`.core` (state and replies, no transport),
:mod:`.files` (the file store), :mod:`.batch_api` (the Files and Batch endpoints), :mod:`.batches`
(batch state), :mod:`.batch_runner` (a batch's processing), :mod:`.batch_lines` (input files),
:mod:`.batch_output` (output files), :mod:`.batch_faults` (scripted batch fates), :mod:`.http_server`
and :mod:`.transport` (the two adapters), :mod:`.images_api_emulator` (the public class) and
:mod:`.cli`.

Run it by hand with ``python -m airflow_provider_openai_images.testing.emulator --port 8089``.
"""

from airflow_provider_openai_images.testing.emulator.batch_faults import BatchFault
from airflow_provider_openai_images.testing.emulator.batches import TERMINAL_BATCH_STATUSES, BatchRecord
from airflow_provider_openai_images.testing.emulator.faults import Fault
from airflow_provider_openai_images.testing.emulator.files import FileRecord
from airflow_provider_openai_images.testing.emulator.images_api_emulator import DEFAULT_API_KEY, ImagesAPIEmulator
from airflow_provider_openai_images.testing.emulator.records import DownloadRecord, RecordedRequest, UploadedFile
from airflow_provider_openai_images.testing.emulator.rendering import render_image

__all__ = [
    "DEFAULT_API_KEY",
    "TERMINAL_BATCH_STATUSES",
    "BatchFault",
    "BatchRecord",
    "DownloadRecord",
    "Fault",
    "FileRecord",
    "ImagesAPIEmulator",
    "RecordedRequest",
    "UploadedFile",
    "render_image",
]
