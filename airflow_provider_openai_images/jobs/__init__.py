"""Many requests as one job, in the worker, the triggerer or through the Batch API: the job's contract
(``spec``), its real-time run (``realtime``), what it returns (``outcome``), what failed and why
(``failures``), what it cost (``accounting``), and the Batch API's way (``batch``)."""
