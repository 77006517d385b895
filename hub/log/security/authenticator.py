"""ServerAuthenticator: the SASL state of one connection to a SASL listener, as Kafka's SaslServerAuthenticator.

Before authentication the client may send ApiVersions (served as usual), SaslHandshake (17) and SaslAuthenticate
(36); anything else closes the connection (Kafka's ILLEGAL_SASL_STATE). SaslHandshake names a mechanism; one the
listener does not enable gets UNSUPPORTED_SASL_MECHANISM with the enabled list, then the connection closes. After
a v0 handshake the client sends bare size-prefixed SASL tokens, and gets bare tokens back (``raw``); after v1 it
wraps them in SaslAuthenticate. A failed exchange answers SASL_AUTHENTICATION_FAILED with Kafka's message (bare
tokens: nothing) and closes. Success sets the principal ``User:<name>``; with ``connections.max.reauth.ms`` the
session lasts that long (``session_lifetime_ms`` in SaslAuthenticate v1+), and the client re-authenticates on the
same connection (KIP-368) by sending SaslHandshake again with the same mechanism, for the same principal; a
request that arrives after the session expired closes the connection, as Kafka's broker does. Without a session
lifetime, or within a second of the last re-authentication, a SaslHandshake is not a re-authentication
(``may_reauthenticate``): the server answers it ILLEGAL_SASL_STATE as Kafka's broker does. An exchange must
finish within ``sasl.server.authentication.timeout.ms`` (``deadline``; the server enforces it).

Owned by one connection's coroutine; not thread-safe.
"""

from __future__ import annotations

import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

from hub.log.error_codes import ErrorCode
from hub.log.protocol import RequestHeader, encode_response
from hub.log.security.contracts import ScramCredentials
from hub.log.security.listeners import ListenerSettings
from hub.log.security.sasl import AuthenticationFailedError, ServerMechanism, server_mechanism

SASL_HANDSHAKE = 17
SASL_AUTHENTICATE = 36
_SIZE = struct.Struct(">i")


class SaslStateError(Exception):
    """The connection must close; ``str()`` is the log line's reason (never a secret)."""


@dataclass
class Reply:
    """Frames to write (each size-prefixed), and whether to close the connection after writing them."""

    frames: list[bytes]
    close_reason: str | None = None


class ServerAuthenticator:
    """The SASL exchange of one connection (see the module docstring)."""

    def __init__(
        self,
        listener: ListenerSettings,
        credentials: ScramCredentials | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.listener = listener
        self._credentials = credentials
        self._clock = clock
        self.principal: str | None = None  # set once authenticated
        self.mechanism_name: str | None = None
        self._mechanism: ServerMechanism | None = None
        self.raw = False  # a v0 handshake: the next frames are bare tokens
        self._reauthenticating = False
        self._expires_at: float | None = None
        self._reauthenticated_at: float | None = None
        self.deadline: float | None = clock() + listener.sasl_timeout_ms / 1000

    @property
    def authenticated(self) -> bool:
        return self.principal is not None and self._mechanism is None

    @property
    def exchanging(self) -> bool:
        """A handshake was answered and the exchange is not over (no request but SaslAuthenticate is allowed)."""
        return self._mechanism is not None

    def expired(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at

    def may_reauthenticate(self) -> bool:
        """Whether a SaslHandshake now starts a re-authentication (a session lifetime, at most one a second)."""
        last = self._reauthenticated_at
        return self._expires_at is not None and (last is None or self._clock() - last >= 1.0)

    def _text(self) -> str:
        return "re-authentication" if self._reauthenticating else "authentication"

    # --- requests ----------------------------------------------------------------------------------------------

    def handshake(self, header: RequestHeader, body: dict[str, object]) -> Reply:
        mechanism = str(body.get("mechanism", ""))
        enabled = list(self.listener.mechanisms)
        if self.exchanging:
            raise SaslStateError("SaslHandshake in the middle of a SASL exchange")
        if self.authenticated:
            if header.api_version < 1:
                raise SaslStateError("re-authentication needs SaslHandshake v1")
            if mechanism != self.mechanism_name:
                answer = {"error_code": ErrorCode.UNSUPPORTED_SASL_MECHANISM, "mechanisms": enabled}
                return Reply(
                    [encode_response(SASL_HANDSHAKE, header.api_version, header.correlation_id, answer)],
                    f"SASL mechanism {mechanism!r} requested for re-authentication of mechanism {self.mechanism_name}",
                )
            self._reauthenticating = True
            self._reauthenticated_at = self._clock()
            self.deadline = self._clock() + self.listener.sasl_timeout_ms / 1000
        elif mechanism not in enabled:
            answer = {"error_code": ErrorCode.UNSUPPORTED_SASL_MECHANISM, "mechanisms": enabled}
            return Reply(
                [encode_response(SASL_HANDSHAKE, header.api_version, header.correlation_id, answer)],
                f"unsupported SASL mechanism {mechanism!r}",
            )
        self.mechanism_name = mechanism
        self._mechanism = server_mechanism(mechanism, self.listener.plain_users, self._credentials)
        self.raw = header.api_version == 0
        answer = {"error_code": ErrorCode.NONE, "mechanisms": enabled}
        return Reply([encode_response(SASL_HANDSHAKE, header.api_version, header.correlation_id, answer)])

    def authenticate(self, header: RequestHeader, body: dict[str, object]) -> Reply:
        version, correlation = header.api_version, header.correlation_id
        if self._mechanism is None:
            raise SaslStateError("SaslAuthenticate before SaslHandshake")
        token = body.get("auth_bytes") or b""
        assert isinstance(token, bytes)
        try:
            answer = self._evaluate(token)
        except AuthenticationFailedError as exc:
            failure = {
                "error_code": ErrorCode.SASL_AUTHENTICATION_FAILED,
                "error_message": str(exc),
                "auth_bytes": b"",
                "session_lifetime_ms": 0,
            }
            return Reply([encode_response(SASL_AUTHENTICATE, version, correlation, failure)], str(exc))
        lifetime = self._session_lifetime_ms() if self._mechanism is None else 0
        success = {
            "error_code": ErrorCode.NONE,
            "error_message": None,
            "auth_bytes": answer,
            "session_lifetime_ms": lifetime,
        }
        return Reply([encode_response(SASL_AUTHENTICATE, version, correlation, success)])

    def raw_token(self, token: bytes) -> Reply:
        """A bare token after a v0 handshake: the answer as a bare token, or the close on failure."""
        try:
            answer = self._evaluate(token)
        except AuthenticationFailedError as exc:
            return Reply([], str(exc))
        if self._mechanism is None:
            self.raw = False
            self._session_lifetime_ms()
        return Reply([_SIZE.pack(len(answer)) + answer])

    # --- the exchange ------------------------------------------------------------------------------------------

    def _evaluate(self, token: bytes) -> bytes:
        mechanism = self._mechanism
        assert mechanism is not None
        try:
            answer = mechanism.evaluate(token)
        except AuthenticationFailedError as exc:
            message = str(exc)
            if self._reauthenticating:
                message = message.replace("during authentication", "during re-authentication")
            self._mechanism = None
            raise AuthenticationFailedError(message) from None
        if mechanism.complete:
            principal = f"User:{mechanism.user}"
            self._mechanism = None
            if self._reauthenticating and principal != self.principal:
                raise AuthenticationFailedError(
                    f"Cannot change principals during re-authentication from {self.principal}: {principal}"
                )
            self.principal = principal
            self.deadline = None
        return answer

    def _session_lifetime_ms(self) -> int:
        lifetime = self.listener.max_reauth_ms
        self._expires_at = self._clock() + lifetime / 1000 if lifetime > 0 else None
        self._reauthenticating = False
        return lifetime
