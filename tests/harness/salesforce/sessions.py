"""Who may log in and which sessions are live: the org's user, its connected app, and the session ids it issued.

Responsibility: check credentials for the three grants (SOAP username + password + security token, the OAuth JWT
bearer grant, client credentials) and keep the set of valid session ids. ``expire_all`` ends every session at once,
as an administrator's "expire all sessions" does, so clients must log in again. Thread-safety: all methods lock.
"""

from __future__ import annotations

import secrets
import string
import threading
from dataclasses import dataclass

TOKEN_ALPHABET = string.ascii_letters + string.digits + "._"


@dataclass(frozen=True)
class Credentials:
    """The org's one API user and one connected app (consumer key and secret; the certificate that verifies JWTs)."""

    username: str = "hub@example.com"
    password: str = "hub-password"
    security_token: str = "hubSecurityToken1"
    consumer_key: str = "3MVG9hubTestConsumerKey"
    consumer_secret: str = "hub-consumer-secret"
    jwt_public_key_pem: str | None = None  # PEM public key or certificate; without it JWT logins fail


class SessionStore:
    """Session ids issued by logins, and whether each is still valid."""

    def __init__(self, org_id: str) -> None:
        self._org_id = org_id
        self._lock = threading.Lock()
        self._live: set[str] = set()
        self.issued = 0

    def issue(self) -> str:
        token = self._org_id[:15] + "!" + "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(96))
        with self._lock:
            self._live.add(token)
            self.issued += 1
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            return token in self._live

    def expire_all(self) -> int:
        """End every session; returns how many there were."""
        with self._lock:
            count = len(self._live)
            self._live.clear()
        return count
