"""The types the listener's security parts share: a connection's principal, SCRAM credentials and their lookup.

Plain immutable data and one protocol; thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Protocol

#: Kafka's principal for a connection that did not authenticate (PLAINTEXT and SSL without client certificates).
ANONYMOUS: Final = "User:ANONYMOUS"

SCRAM_MECHANISMS: Final = ("SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True, slots=True)
class ScramCredential:
    """One user's stored SCRAM credential for one mechanism (RFC 5802: no password, only the derived keys)."""

    mechanism: str  # one of SCRAM_MECHANISMS
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


class ScramCredentials(Protocol):
    """Where the SASL authenticator looks a SCRAM user up; None when the user has no credential for it."""

    def lookup(self, user: str, mechanism: str) -> ScramCredential | None: ...
