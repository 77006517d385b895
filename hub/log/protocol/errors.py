"""Errors of the Kafka wire-protocol codec.

Exception tree (all under hub.log.errors.LogError)::

    ProtocolError
    ├── ProtocolDecodeError     bytes are truncated or malformed; names the message, version, field and position
    ├── ProtocolEncodeError     a value does not fit its field (wrong type, out of range, null where not nullable)
    └── UnsupportedVersionError the API key, message or version is not in the generated schemas
"""

from __future__ import annotations

from hub.log.errors import LogError


class ProtocolError(LogError):
    """Base class of the protocol codec's errors."""


class ProtocolDecodeError(ProtocolError):
    """Request or response bytes could not be decoded.

    ``message`` is the schema name (e.g. ``FetchRequest``), ``field`` a dotted path with ``[]`` for array
    elements (e.g. ``topics[].partitions[].fetch_offset``), ``position`` the byte offset in the decoded buffer.
    """

    def __init__(self, message: str, version: int, field: str, position: int, reason: str) -> None:
        super().__init__(f"cannot decode {message} v{version}: field {field!r} at byte {position}: {reason}")
        self.message = message
        self.version = version
        self.field = field
        self.position = position
        self.reason = reason


class ProtocolEncodeError(ProtocolError):
    """A value could not be encoded into its field."""

    def __init__(self, message: str, version: int, field: str, reason: str) -> None:
        super().__init__(f"cannot encode {message} v{version}: field {field!r}: {reason}")
        self.message = message
        self.version = version
        self.field = field
        self.reason = reason


class UnsupportedVersionError(ProtocolError):
    """No schema exists for this API key / message name and version."""
