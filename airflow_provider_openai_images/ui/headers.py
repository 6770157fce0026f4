"""The security headers of every answer of the gallery app: a Content-Security-Policy and ``nosniff``.

The page, its assets and the JSON answers get :data:`PAGE_CSP`: scripts, styles, images and requests
from the API server's own origin only (thumbnails are same-origin URLs; ``data:`` for images only), framed
by the Airflow UI only. An answer that sets its own policy keeps it: S3 objects go out sandboxed
(:data:`~airflow_provider_openai_images.ui.objects.OBJECT_CSP`), the HTML error page with
:data:`ERROR_PAGE_CSP`.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: the page loads its script, stylesheet, JSON and images from the app itself; nothing inline
PAGE_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'self'"
#: the small HTML error page: its inline styles, and nothing else
ERROR_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


class SecurityHeaders:
    """ASGI middleware: adds :data:`PAGE_CSP` and ``X-Content-Type-Options: nosniff`` to every answer that
    does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", PAGE_CSP)
                headers.setdefault("X-Content-Type-Options", "nosniff")
            await send(message)

        await self.app(scope, receive, send_with_headers)
