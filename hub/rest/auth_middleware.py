"""The ASGI middleware that authenticates every request and checks its principal's role before any route runs.

With no credentials the API is open. Two kinds of request need none: ``GET /health`` when the worker config makes
it public, and the internal requests between workers (``PUT /connectors/{name}/tasks``), which are signed with the
group's session key instead (as Connect's basic-auth extension lets them through); the herder refuses them unless
the signature is right. The middleware holds only its configuration, so it serves concurrent requests safely.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Receive, Scope, Send

from hub.rest.auth import Credentials, authorization_header
from hub.rest.errors import error_response

_INTERNAL_REQUEST = re.compile(r"/connectors/[^/]+/tasks")
# The console's page and vendored assets hold no data; the page asks for credentials itself and sends them with
# each call of its API, which is authenticated like every other route.
_CONSOLE_ASSET = re.compile(r"/ui/?|/ui/static/[A-Za-z0-9._/-]+")
#: Where the authenticated principal of a request is kept in its ASGI scope (None when the API is open).
PRINCIPAL_KEY = "hub.principal"


class AuthMiddleware:
    """Answers 401 to a request that proves no principal and 403 to a write by a read-only one; passes the rest."""

    def __init__(self, app: ASGIApp, credentials: Credentials | None, public_health: bool) -> None:
        self.app = app
        self.credentials = credentials
        self.public_health = public_health

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        public = self.public_health and scope["path"] == "/health" and scope["method"] in ("GET", "HEAD")
        internal = scope["method"] == "PUT" and _INTERNAL_REQUEST.fullmatch(scope["path"]) is not None
        asset = scope["method"] in ("GET", "HEAD") and _CONSOLE_ASSET.fullmatch(scope["path"]) is not None
        scope[PRINCIPAL_KEY] = None
        if self.credentials is not None and not public and not internal and not asset:
            principal = self.credentials.authenticate(authorization_header(scope.get("headers", [])))
            if principal is None:
                response = error_response(401, "Authentication required")
                response.headers["WWW-Authenticate"] = 'Basic realm="hub", Bearer'
                await response(scope, receive, send)
                return
            if not principal.may(scope["method"]):
                await error_response(403, f"{principal.name} may only read (role read-only)")(scope, receive, send)
                return
            scope[PRINCIPAL_KEY] = principal
        await self.app(scope, receive, send)
