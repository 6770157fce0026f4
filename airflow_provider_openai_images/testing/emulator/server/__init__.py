"""How requests reach the emulator and answers leave it: over real sockets (:mod:`.http_server`) or through an
in-process httpx transport (:mod:`.transport`), both parsing the HTTP envelope alike (:mod:`.parsing`) and
sending the core's :class:`~.replies.Reply` s."""
