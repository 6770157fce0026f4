"""The emulated Batch API for image generations and edits: batches created, processed on threads of their
own, listed and cancelled, with scriptable fates; their input and output files live in the Files API
(:mod:`..files`)."""
