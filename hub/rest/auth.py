"""Optional authentication of the REST API: HTTP basic users and bearer tokens from a credentials file, each with
the role ``read-only`` (GET requests) or ``admin`` (everything).

The file (``rest.auth.file``) is JSON::

    {"users":  [{"name": "ops", "password_sha256": "<hex>", "role": "admin"}],
     "tokens": [{"name": "grafana", "token_sha256": "<hex>", "role": "read-only"}]}

Only SHA-256 digests of passwords and tokens are stored (``printf %s SECRET | sha256sum``); comparisons take
constant time. Without a file, the API is open (and listens on 127.0.0.1 by default). Header bytes are decoded as
ISO-8859-1, as HTTP defines them, so no byte a client sends can fail the check with anything but 401.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROLES = ("read-only", "admin")


class AuthConfigError(ValueError):
    """The credentials file is unreadable or wrong."""


@dataclass(frozen=True)
class Principal:
    name: str
    role: str

    def may(self, method: str) -> bool:
        return self.role == "admin" or method in ("GET", "HEAD", "OPTIONS")


class Credentials:
    """Users and tokens from the credentials file (see the module docstring)."""

    def __init__(self, users: dict[str, tuple[str, str]], tokens: list[tuple[str, str, str]]) -> None:
        self._users = users  # name -> (sha256 hex, role)
        self._tokens = tokens  # (sha256 hex, name, role)

    @classmethod
    def load(cls, path: Path) -> Credentials:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise AuthConfigError(f"cannot read the credentials file {path}: {exc}") from exc
        users: dict[str, tuple[str, str]] = {}
        tokens: list[tuple[str, str, str]] = []
        try:
            for entry in document.get("users", []):
                users[str(entry["name"])] = (_digest(entry, "password_sha256"), _role(entry))
            for entry in document.get("tokens", []):
                tokens.append((_digest(entry, "token_sha256"), str(entry.get("name", "token")), _role(entry)))
        except (KeyError, TypeError, AttributeError) as exc:
            raise AuthConfigError(
                f"credentials file {path}: each entry needs its name, digest and role ({exc})"
            ) from exc
        return cls(users, tokens)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an ``Authorization`` header, or None when it proves nothing."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "basic":
            try:
                name, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            known = self._users.get(name)
            if known is not None and hmac.compare_digest(_sha256(password.encode()), known[0]):
                return Principal(name, known[1])
            return None
        if scheme.lower() == "bearer":
            digest = _sha256(value.strip().encode("latin-1"))  # the token's bytes as the client sent them
            for token_digest, name, role in self._tokens:
                if hmac.compare_digest(digest, token_digest):
                    return Principal(name, role)
        return None


def authorization_header(headers: Iterable[tuple[bytes, bytes]]) -> str | None:
    """The ``Authorization`` header of an ASGI scope's raw headers, as text (every byte decodes as ISO-8859-1)."""
    for name, value in headers:
        if name.lower() == b"authorization":
            return value.decode("latin-1")
    return None


def _sha256(secret: bytes) -> str:
    return hashlib.sha256(secret).hexdigest()


def _digest(entry: dict[str, object], key: str) -> str:
    value = str(entry[key]).strip().lower()
    if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
        raise AuthConfigError(f"{key} of {entry.get('name')!r} is not a SHA-256 hex digest")
    return value


def _role(entry: dict[str, object]) -> str:
    role = str(entry.get("role", "read-only"))
    if role not in ROLES:
        raise AuthConfigError(f"role of {entry.get('name')!r} must be one of {', '.join(ROLES)}, not {role!r}")
    return role
