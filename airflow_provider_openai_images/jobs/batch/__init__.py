"""The Batch API mode of the operators (``use_batch_api=True``): half the price, within 24 hours.

- :mod:`.record`: the task instance's ``batch.json`` in S3, the batch's metadata and fingerprint;
- :mod:`.input_file`: the JSONL input file, checked line by line before anything is uploaded;
- :mod:`.submission`: what earlier tries left, re-attaching to their batch, or creating one;
- :mod:`.waiting`: waiting for the batch in the triggerer, then landing it;
- :mod:`.output`: output and error lines landed one at a time, whatever each holds;
- :mod:`.output_lines`: one output or error line, parsed without trusting it;
- :mod:`.line_failures`: what a line that brought no images means for its item;
- :mod:`.unknown_lines`: lines that name none of the batch's requests;
- :mod:`.manifest`: the manifest of every item's records and of the unknown lines.
"""
