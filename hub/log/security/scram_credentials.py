"""SCRAM credentials: deriving them (RFC 5802 / RFC 7677) and the store the SASL authenticator looks users up in.

Only salted credentials are kept — salt, stored key, server key and iteration count per user and mechanism
(SCRAM-SHA-256, SCRAM-SHA-512) — never a password; the iteration count is within Kafka's bounds (4096 to 16384).
AlterUserScramCredentials sends the salted password, from which ``credential_from_salted_password`` derives the
keys, as Kafka's controller does; ``new_credential`` salts a password itself (the CLI's offline mode).

The store lives in the data directory as ``scram-credentials.json`` (mode 0600)::

    {"version": 1, "users": {"alice": {"SCRAM-SHA-512": {"salt": b64, "stored_key": b64, "server_key": b64,
                                                          "iterations": 8192}}}}

Every change rewrites the file atomically (``hub.log.checkpoint``) before readers see it. Thread-safe: changes
are serialised by a lock; ``lookup`` reads an immutable snapshot without locking.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final

from hub.log.checkpoint import FORMAT_VERSION, read_versioned_json, write_json_atomically
from hub.log.error_codes import ErrorCode
from hub.log.security.contracts import SCRAM_MECHANISMS, ScramCredential, Users

FILE_NAME: Final = "scram-credentials.json"
MIN_ITERATIONS: Final = 4096
MAX_ITERATIONS: Final = 16384
DEFAULT_ITERATIONS: Final = 8192
#: Kafka's mechanism codes in the SCRAM admin APIs (``org.apache.kafka.clients.admin.ScramMechanism``).
MECHANISM_CODES: Final[Mapping[int, str]] = MappingProxyType({1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"})
MECHANISM_BY_NAME: Final[Mapping[str, int]] = MappingProxyType({name: code for code, name in MECHANISM_CODES.items()})
_HASHES: Final = {"SCRAM-SHA-256": "sha256", "SCRAM-SHA-512": "sha512"}


def salted_password(mechanism: str, password: str, salt: bytes, iterations: int) -> bytes:
    """RFC 5802's SaltedPassword: PBKDF2 (Hi) of the password with the mechanism's hash."""
    return hashlib.pbkdf2_hmac(_HASHES[mechanism], password.encode("utf-8"), salt, iterations)


def credential_from_salted_password(mechanism: str, salt: bytes, salted: bytes, iterations: int) -> ScramCredential:
    """The stored credential for a salted password: StoredKey = H(HMAC(salted, "Client Key")), ServerKey =
    HMAC(salted, "Server Key")."""
    digest = _HASHES[mechanism]
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = hashlib.new(digest, client_key).digest()
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    return ScramCredential(mechanism, salt, stored_key, server_key, iterations)


def new_credential(mechanism: str, password: str, iterations: int = DEFAULT_ITERATIONS) -> ScramCredential:
    """A credential for ``password`` with a fresh random salt."""
    salt = secrets.token_bytes(32)
    return credential_from_salted_password(
        mechanism, salt, salted_password(mechanism, password, salt, iterations), iterations
    )


def check_credential(user: str, mechanism: str, iterations: int) -> tuple[ErrorCode, str] | None:
    """Kafka's error for this credential (code and message), or None: the name, then the mechanism, then the
    iteration count are checked, as Kafka's controller does."""
    if not user:
        return ErrorCode.UNACCEPTABLE_CREDENTIAL, "Username must not be empty"
    if mechanism not in SCRAM_MECHANISMS:
        return ErrorCode.UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"
    if iterations < MIN_ITERATIONS:
        return ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too few iterations"
    if iterations > MAX_ITERATIONS:
        return ErrorCode.UNACCEPTABLE_CREDENTIAL, "Too many iterations"
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _to_json(credential: ScramCredential) -> dict[str, Any]:
    return {
        "salt": _b64(credential.salt),
        "stored_key": _b64(credential.stored_key),
        "server_key": _b64(credential.server_key),
        "iterations": credential.iterations,
    }


def _from_json(mechanism: str, data: Mapping[str, Any]) -> ScramCredential:
    if mechanism not in SCRAM_MECHANISMS:
        raise ValueError(f"unknown mechanism {mechanism!r}")
    return ScramCredential(
        mechanism,
        base64.b64decode(data["salt"]),
        base64.b64decode(data["stored_key"]),
        base64.b64decode(data["server_key"]),
        int(data["iterations"]),
    )


def users_to_json(users: Users) -> dict[str, Any]:
    return {user: {mech: _to_json(cred) for mech, cred in creds.items()} for user, creds in users.items()}


def users_from_json(data: Mapping[str, Any]) -> dict[str, dict[str, ScramCredential]]:
    return {user: {mech: _from_json(mech, cred) for mech, cred in creds.items()} for user, creds in data.items()}


class ScramCredentialStore:
    """The SCRAM users of a node (see the module docstring); ``path`` None keeps them in memory only (tests).
    Implements ``hub.log.security.contracts.ScramCredentials``."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._users: Users = MappingProxyType({})
        if path is not None:
            data = read_versioned_json(path)
            if data is not None:
                try:
                    self._users = MappingProxyType(users_from_json(data["users"]))
                except (KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ValueError(f"{path}: bad SCRAM credential entry ({type(exc).__name__})") from None

    @classmethod
    def in_directory(cls, data_dir: Path) -> ScramCredentialStore:
        return cls(data_dir / FILE_NAME)

    def lookup(self, user: str, mechanism: str) -> ScramCredential | None:
        creds = self._users.get(user)
        return None if creds is None else creds.get(mechanism)

    def users(self) -> Users:
        """Every user's credentials (an immutable snapshot)."""
        return self._users

    def alter(self, deletions: Iterable[tuple[str, str]], upsertions: Iterable[tuple[str, ScramCredential]]) -> None:
        """Delete ``(user, mechanism)`` pairs and set ``(user, credential)`` ones, in one atomic change. Deleting a
        credential that is not there is no change (callers check first, as Kafka answers RESOURCE_NOT_FOUND)."""
        with self._lock:
            users = {user: dict(creds) for user, creds in self._users.items()}
            for user, mechanism in deletions:
                users.get(user, {}).pop(mechanism, None)
            for user, credential in upsertions:
                users.setdefault(user, {})[credential.mechanism] = credential
            self._save({user: creds for user, creds in users.items() if creds})

    def replace_all(self, users: Users) -> None:
        """Make the store hold exactly ``users`` (a replica following the cluster's state)."""
        with self._lock:
            self._save({user: dict(creds) for user, creds in users.items() if creds})

    def _save(self, users: dict[str, dict[str, ScramCredential]]) -> None:
        if self._path is not None:
            write_json_atomically(self._path, {"version": FORMAT_VERSION, "users": users_to_json(users)})
            os.chmod(self._path, 0o600)
        self._users = MappingProxyType({user: MappingProxyType(creds) for user, creds in users.items()})
