"""Signed worker-to-worker requests, as Kafka Connect's KIP-507 signs them.

The group's leader generates a session key and writes it to the config topic (record ``session-key``:
``{"key": base64, "algorithm": "HmacSHA256", "creation-timestamp": ms}``), and writes a new one when it is older than
``inter.worker.key.ttl.ms`` or was made with another algorithm or size than the leader's config asks for. Every
worker reads it from there. A worker sending an internal request (the task configs it generated,
``PUT /connectors/NAME/tasks``) signs the exact body bytes with HMAC under that key: header
``X-Connect-Authorization`` holds the base64 signature, ``X-Connect-Request-Signature-Algorithm`` the algorithm
(``inter.worker.signature.algorithm``). The receiver checks it before doing anything, with Connect's answers:
no signature 400, an algorithm outside ``inter.worker.verification.algorithms`` 400, no session key read yet 503,
a wrong signature (or one made under a rotated key: the sender reads the config topic again and retries) 403.

Anyone who can read the config topic can read the key: on Hub's own store that is what the Kafka listener serves,
so the listener's access is what guards it (docs/rest-api.md).

Stateless functions and frozen values: thread-safe.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hub.runtime.herder import BadRequestError, ForbiddenError, UnavailableError

SIGNATURE_HEADER = "X-Connect-Authorization"
ALGORITHM_HEADER = "X-Connect-Request-Signature-Algorithm"
#: The config-topic record that carries the session key.
SESSION_KEY_RECORD = "session-key"

#: Connect's (JCA's) names of the HMAC algorithms, with the hash each uses.
DIGESTS = {"HmacSHA1": "sha1", "HmacSHA256": "sha256", "HmacSHA384": "sha384", "HmacSHA512": "sha512"}


@dataclass(frozen=True)
class SessionKey:
    """The key the workers of a group sign internal requests with."""

    key: bytes
    algorithm: str
    created_ms: int

    def __repr__(self) -> str:  # never the key itself, in logs or tracebacks
        return f"SessionKey(algorithm={self.algorithm!r}, bytes={len(self.key)}, created_ms={self.created_ms})"

    @classmethod
    def generate(cls, algorithm: str, size_bits: int | None, now_ms: int) -> SessionKey:
        """A random key; its default size is the hash's output size (as Java's HMAC key generators use for SHA-2)."""
        digest = hashlib.new(DIGESTS[algorithm])
        return cls(secrets.token_bytes(size_bits // 8 if size_bits else digest.digest_size), algorithm, now_ms)

    def to_record(self) -> dict[str, Any]:
        return {
            "key": base64.b64encode(self.key).decode(),
            "algorithm": self.algorithm,
            "creation-timestamp": self.created_ms,
        }

    @classmethod
    def from_record(cls, value: Mapping[str, Any]) -> SessionKey:
        """The key a ``session-key`` record holds; ValueError naming what is wrong with it."""
        key, algorithm, created = value.get("key"), value.get("algorithm"), value.get("creation-timestamp")
        if not isinstance(key, str) or not isinstance(algorithm, str) or not isinstance(created, int):
            raise ValueError(
                "a session key needs a string 'key', a string 'algorithm' and an integer 'creation-timestamp'"
            )
        try:
            raw = base64.b64decode(key, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"the session key is not base64: {exc}") from None
        if not raw:
            raise ValueError("the session key is empty")
        return cls(raw, algorithm, created)


def _mac(key: SessionKey, algorithm: str, body: bytes) -> bytes:
    return hmac.new(key.key, body, DIGESTS[algorithm]).digest()


def signature_headers(key: SessionKey, algorithm: str, body: bytes) -> dict[str, str]:
    """The headers that sign ``body`` under ``key``."""
    return {SIGNATURE_HEADER: base64.b64encode(_mac(key, algorithm, body)).decode(), ALGORITHM_HEADER: algorithm}


@dataclass(frozen=True)
class RequestSignature:
    """What a received internal request claims: its signature, the algorithm, and the body it signed."""

    algorithm: str
    signature: bytes
    body: bytes

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], body: bytes) -> RequestSignature | None:
        """The request's signature; None when either header is missing; BadRequestError when it is malformed.
        ``headers`` must look names up case-insensitively (as Starlette's do)."""
        algorithm, encoded = headers.get(ALGORITHM_HEADER), headers.get(SIGNATURE_HEADER)
        if algorithm is None or encoded is None:
            return None
        try:
            signature = base64.b64decode(encoded, validate=True)
        except binascii.Error as exc:
            raise BadRequestError(f"The {SIGNATURE_HEADER} header is not base64: {exc}") from None
        return cls(algorithm, signature, body)

    def is_valid(self, key: SessionKey) -> bool:
        return self.algorithm in DIGESTS and hmac.compare_digest(_mac(key, self.algorithm, self.body), self.signature)


def verify(signature: RequestSignature | None, key: SessionKey | None, allowed: Sequence[str]) -> None:
    """Refuse an internal request that is not signed with the current session key, with Connect's answers."""
    if signature is None:
        raise BadRequestError("Internal request missing required signature")
    if signature.algorithm not in allowed:
        raise BadRequestError(
            f"This worker does not support the {signature.algorithm!r} key signing algorithm used by other workers. "
            f"This worker is currently configured to use: {', '.join(allowed)}. Check that all workers' "
            "configuration files permit the same set of signature algorithms, and correct any misconfigured worker "
            "and restart it."
        )
    if key is None:
        raise UnavailableError(
            "This worker is still starting up and has not been able to read a session key from the config topic yet"
        )
    if not signature.is_valid(key):
        raise ForbiddenError("Internal request contained invalid signature.")
