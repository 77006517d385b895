"""SASL mechanisms, both sides: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802/7677, through ``scramp``).

A server mechanism takes the client's tokens one at a time (``evaluate``) and returns its answers until
``complete``; then ``user`` is the authenticated name. A failed exchange raises AuthenticationFailedError whose message
is Kafka's client-facing text: it never says whether the user exists and never holds a password. A client
mechanism is the mirror image, for Hub's own connections.

One mechanism object per exchange, used by one connection at a time; not thread-safe.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from typing import Protocol

from scramp import ScramClient, ScramException, ScramMechanism

from hub.log.security.contracts import SCRAM_MECHANISMS, ScramCredentials

#: Kafka's SCRAM minimum iteration count; a stored credential with fewer is refused, as Kafka does.
MIN_SCRAM_ITERATIONS = 4096


class AuthenticationFailedError(Exception):
    """The client could not be authenticated; ``str()`` is the message the client is sent."""


class ServerMechanism(Protocol):
    name: str
    complete: bool
    user: str | None

    def evaluate(self, token: bytes) -> bytes: ...


class ClientMechanism(Protocol):
    name: str

    def first(self) -> bytes: ...

    def respond(self, challenge: bytes) -> bytes | None:
        """The next token for ``challenge``, or None when the exchange is over (the server was verified)."""
        ...


class PlainServer:
    """PLAIN: one token ``authzid NUL username NUL password`` checked against the configured users."""

    name = "PLAIN"

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = users
        self.complete = False
        self.user: str | None = None

    def evaluate(self, token: bytes) -> bytes:
        parts = token.decode("utf-8", "replace").split("\x00")
        if len(parts) != 3:
            raise AuthenticationFailedError(f"Invalid SASL/PLAIN response: expected 3 tokens, got {len(parts)}")
        authzid, username, password = parts
        if not username:
            raise AuthenticationFailedError("Authentication failed: username not specified")
        if not password:
            raise AuthenticationFailedError("Authentication failed: password not specified")
        expected = self._users.get(username)
        matches = hmac.compare_digest((expected or "").encode(), password.encode())
        if expected is None or not matches:
            raise AuthenticationFailedError("Authentication failed: Invalid username or password")
        if authzid and authzid != username:
            raise AuthenticationFailedError(
                "Authentication failed: Client requested an authorization id that is different from username"
            )
        self.complete, self.user = True, username
        return b""


class ScramServer:
    """SCRAM-SHA-256/512 over the stored credentials: client-first → server-first, client-final → server-final."""

    def __init__(self, mechanism: str, credentials: ScramCredentials | None) -> None:
        self.name = mechanism
        self._credentials = credentials
        self._server = ScramMechanism(mechanism).make_server(self._lookup)
        self._step = 0
        self._username: str | None = None
        self.complete = False
        self.user: str | None = None

    def _lookup(self, username: str) -> tuple[bytes, bytes, bytes, int] | None:
        self._username = username
        found = self._credentials.lookup(username, self.name) if self._credentials is not None else None
        if found is None or found.iterations < MIN_SCRAM_ITERATIONS:
            return None
        return found.salt, found.stored_key, found.server_key, found.iterations

    def evaluate(self, token: bytes) -> bytes:
        failed = (
            f"Authentication failed during authentication due to invalid credentials with SASL mechanism {self.name}"
        )
        try:
            text = token.decode("utf-8")
            if self._step == 0:
                self._step = 1
                self._server.set_client_first(text)
                if "a=" in text.split(",", 2)[1] and text.split(",", 2)[1][2:] != self._username:
                    raise AuthenticationFailedError(
                        "Authentication failed: Client requested an authorization id that is different from username"
                    )
                return str(self._server.get_server_first()).encode()
            if self._step == 1:
                self._step = 2
                self._server.set_client_final(text)
                final = str(self._server.get_server_final()).encode()
                self.complete, self.user = True, self._username
                return final
        except (ScramException, UnicodeDecodeError, IndexError, ValueError):
            raise AuthenticationFailedError(failed) from None
        raise AuthenticationFailedError(failed)


def server_mechanism(
    name: str, plain_users: Mapping[str, str], credentials: ScramCredentials | None
) -> ServerMechanism:
    if name == "PLAIN":
        return PlainServer(plain_users)
    if name in SCRAM_MECHANISMS:
        return ScramServer(name, credentials)
    raise ValueError(f"no SASL mechanism {name}")


class PlainClient:
    name = "PLAIN"

    def __init__(self, username: str, password: str) -> None:
        self._token = f"\x00{username}\x00{password}".encode()

    def first(self) -> bytes:
        return self._token

    def respond(self, challenge: bytes) -> bytes | None:
        return None


class ScramClientMechanism:
    """The client side of SCRAM: it checks the server's signature, so a server that lacks the key is refused."""

    def __init__(self, name: str, username: str, password: str) -> None:
        self.name = name
        self._client = ScramClient([name], username, password)
        self._step = 0

    def first(self) -> bytes:
        return str(self._client.get_client_first()).encode()

    def respond(self, challenge: bytes) -> bytes | None:
        try:
            if self._step == 0:
                self._step = 1
                self._client.set_server_first(challenge.decode())
                return str(self._client.get_client_final()).encode()
            self._client.set_server_final(challenge.decode())
        except (ScramException, UnicodeDecodeError) as exc:
            raise AuthenticationFailedError(
                f"the server's SCRAM answer is not valid: {exc.__class__.__name__}"
            ) from None
        return None


def client_mechanism(name: str, username: str, password: str) -> ClientMechanism:
    if name == "PLAIN":
        return PlainClient(username, password)
    if name in SCRAM_MECHANISMS:
        return ScramClientMechanism(name, username, password)
    raise ValueError(f"SASL mechanism {name} is not offered (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512)")
