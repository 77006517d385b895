"""SaslHandshake and SaslAuthenticate where no SASL exchange is going on: on a listener without SASL, or a
SaslAuthenticate on a connection that already authenticated (a SASL listener's exchange itself is the
authenticator's, hub.log.security.authenticator). Both are answered ILLEGAL_SASL_STATE, as Kafka's KafkaApis does.

Stateless; used from the event loop.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from hub.log.error_codes import ErrorCode
from hub.log.server.context import Body, RequestContext


async def sasl_handshake(ctx: RequestContext, body: Body) -> Body:
    return {"error_code": ErrorCode.ILLEGAL_SASL_STATE, "mechanisms": []}


async def sasl_authenticate(ctx: RequestContext, body: Body) -> Body:
    return {
        "error_code": ErrorCode.ILLEGAL_SASL_STATE,
        "error_message": "SaslAuthenticate request received after successful authentication",
        "auth_bytes": b"",
        "session_lifetime_ms": 0,
    }


routes: dict[int, Callable[[RequestContext, Body], Awaitable[Body | None]]] = {
    17: sasl_handshake,
    36: sasl_authenticate,
}
