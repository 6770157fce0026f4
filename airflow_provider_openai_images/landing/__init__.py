"""Paid images into S3 without losing any: the lander (verify, write, sidecar, recover what an earlier try
landed) and the spill (images S3 refused, kept for the next try)."""

#: the long side of each image's WEBP thumbnail, in pixels (here, not in the lander, so that operators can
#: default to it without importing the lander when a DAG file is parsed)
DEFAULT_THUMBNAIL_SIZE = 256
