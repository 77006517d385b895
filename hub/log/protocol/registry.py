"""Lookup of message codecs by API key, message name and version, over the generated schemas.

``request_codec(key, version)`` / ``response_codec(key, version)`` compile the schema on first use and cache the
codec, so a hot path pays one dict lookup. Versions are checked against the schema's valid versions; which versions
a server *advertises* is the server's decision, not this module's.

Data schemas (``ConsumerProtocolSubscription``, ``ConsumerProtocolAssignment``) are carried as opaque bytes inside
JoinGroup/SyncGroup and start with their own int16 version: ``encode_data`` / ``decode_data`` handle that prefix.
A newer data version than the schema knows is read with the newest known layout and trailing bytes are ignored,
as Kafka's consumer protocol requires (later versions only append fields).

The caches are plain dicts: concurrent first use may compile a codec twice, which is harmless.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.log.protocol.codec import MessageCodec
from hub.log.protocol.errors import ProtocolDecodeError, UnsupportedVersionError
from hub.log.protocol.messages import APIS, DATA, HEADERS
from hub.log.protocol.wire import Buffer, in_range

_VERSION_PREFIX = struct.Struct(">h")


@dataclass(frozen=True, slots=True)
class ApiSpec:
    """Name and version ranges of one API key, as defined by its message definitions."""

    api_key: int
    name: str
    valid_versions: tuple[int, int]
    flexible_versions: tuple[int, int] | None
    deprecated_versions: tuple[int, int] | None

    @property
    def min_version(self) -> int:
        return self.valid_versions[0]

    @property
    def max_version(self) -> int:
        return self.valid_versions[1]

    def is_flexible(self, version: int) -> bool:
        """Whether ``version`` uses compact encodings and tagged fields (and request header v2)."""
        return in_range(version, self.flexible_versions)


API_SPECS: dict[int, ApiSpec] = {
    key: ApiSpec(
        api_key=key,
        name=entry["name"],
        valid_versions=entry["valid_versions"],
        flexible_versions=entry["flexible_versions"],
        deprecated_versions=entry.get("deprecated_versions"),
    )
    for key, entry in APIS.items()
}
API_KEYS_BY_NAME: dict[str, int] = {spec.name: key for key, spec in API_SPECS.items()}

_CODECS: dict[tuple[str, int], MessageCodec] = {}


def api_spec(api_key: int) -> ApiSpec:
    try:
        return API_SPECS[api_key]
    except KeyError:
        raise UnsupportedVersionError(f"unknown API key {api_key}") from None


def _codec(schema: Mapping[str, Any], version: int) -> MessageCodec:
    name: str = schema["name"]
    codec = _CODECS.get((name, version))
    if codec is None:
        if not in_range(version, schema["valid_versions"]):
            low, high = schema["valid_versions"]
            raise UnsupportedVersionError(f"{name} has no version {version} (valid {low}-{high})")
        flexible = in_range(version, schema["flexible_versions"])
        codec = MessageCodec(name, version, schema["fields"], flexible)
        _CODECS[(name, version)] = codec
    return codec


def request_codec(api_key: int, version: int) -> MessageCodec:
    """The codec of the request body of ``api_key`` at ``version`` (no header)."""
    entry = APIS.get(api_key)
    if entry is None:
        raise UnsupportedVersionError(f"unknown API key {api_key}")
    return _codec(entry["request"], version)


def response_codec(api_key: int, version: int) -> MessageCodec:
    """The codec of the response body of ``api_key`` at ``version`` (no header)."""
    entry = APIS.get(api_key)
    if entry is None:
        raise UnsupportedVersionError(f"unknown API key {api_key}")
    return _codec(entry["response"], version)


def header_codec(name: str, version: int) -> MessageCodec:
    """The codec of ``RequestHeader`` or ``ResponseHeader`` at ``version``."""
    schema = HEADERS.get(name)
    if schema is None:
        raise UnsupportedVersionError(f"unknown header {name!r}")
    return _codec(schema, version)


def data_codec(name: str, version: int) -> MessageCodec:
    """The codec of a data schema (e.g. ``ConsumerProtocolAssignment``) at ``version``, without version prefix."""
    schema = DATA.get(name)
    if schema is None:
        raise UnsupportedVersionError(f"unknown data schema {name!r}")
    return _codec(schema, version)


def data_versions(name: str) -> tuple[int, int]:
    schema = DATA.get(name)
    if schema is None:
        raise UnsupportedVersionError(f"unknown data schema {name!r}")
    versions: tuple[int, int] = schema["valid_versions"]
    return versions


def encode_data(name: str, version: int, value: Mapping[str, Any]) -> bytes:
    """int16 ``version`` followed by ``value`` encoded with the data schema ``name``."""
    return _VERSION_PREFIX.pack(version) + data_codec(name, version).encode(value)


def decode_data(name: str, data: Buffer) -> tuple[int, dict[str, Any]]:
    """Read the version prefix and the value; returns (version as written, value)."""
    low, high = data_versions(name)
    if len(data) < 2:
        raise ProtocolDecodeError(name, -1, "<version>", 0, "truncated: no version prefix")
    (version,) = _VERSION_PREFIX.unpack_from(data, 0)
    if version < low:
        raise ProtocolDecodeError(name, version, "<version>", 0, f"version {version} below {low}")
    if version > high:
        return version, data_codec(name, high).decode_from(data, 2)[0]
    return version, data_codec(name, version).decode(data, 2)
