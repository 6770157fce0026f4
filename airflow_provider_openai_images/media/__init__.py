"""Images as files: where inputs come from (``sources``), how they are made acceptable (``preparation``), and
what an answered image is (``imaging``, ``svg``). Pillow is imported inside functions only."""
