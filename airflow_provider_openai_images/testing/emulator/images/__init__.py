"""The emulated Images API (``/images/generations``, ``/images/edits``, ``/images/variations``) and Models API
(``GET /models``, ``GET /models/{model}``): what a request may ask, which models are served, and the answers
drawn, priced and billed. Nothing here knows how a request travels (:mod:`..server`)."""
