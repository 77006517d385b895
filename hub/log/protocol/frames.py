"""Kafka request and response frames: size prefix, headers and body.

Byte layout (big-endian)::

    frame            = int32 size | payload                      size counts the payload bytes
    request payload  = request header | request body
    request header   v1: int16 api_key | int16 api_version | int32 correlation_id | int16-length client_id (-1 null)
                     v2: v1 | tagged-field section               (client_id keeps its int16 length even in v2)
    response payload = response header | response body
    response header  v0: int32 correlation_id
                     v1: v0 | tagged-field section

Header versions: a flexible request version uses request header v2 and response header v1, other versions
request header v1 and response header v0 -- except ApiVersions, whose response always has header v0 (KIP-511),
so a client can read the error of a version it does not understand.

The functions here take the *payload* (the bytes after the size prefix) when decoding and produce whole frames
(with the size prefix) when encoding. Pure functions; thread-safe.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.log.protocol.codec import assemble_parts
from hub.log.protocol.errors import ProtocolDecodeError
from hub.log.protocol.registry import API_SPECS, header_codec, request_codec, response_codec
from hub.log.protocol.wire import Big, Buffer

API_VERSIONS_KEY = 18
FRAME_SIZE = struct.Struct(">i")
_KEY_AND_VERSION = struct.Struct(">hh")


@dataclass(frozen=True, slots=True)
class RequestHeader:
    """A decoded request header; ``header_version`` is 1 or 2."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None
    header_version: int


def request_header_version(api_key: int, api_version: int) -> int:
    """2 for flexible versions, else 1; unknown API keys are read as header v1."""
    spec = API_SPECS.get(api_key)
    return 2 if spec is not None and spec.is_flexible(api_version) else 1


def response_header_version(api_key: int, api_version: int) -> int:
    """1 for flexible versions, else 0; always 0 for ApiVersions."""
    if api_key == API_VERSIONS_KEY:
        return 0
    spec = API_SPECS.get(api_key)
    return 1 if spec is not None and spec.is_flexible(api_version) else 0


def decode_request_header(payload: Buffer) -> tuple[RequestHeader, int]:
    """Read the header of a request payload; returns it and the offset of the body.

    Works for any API version, including versions above those in the schemas (an ApiVersions probe from a newer
    client), because the header version depends only on whether the version is flexible.
    """
    if len(payload) < _KEY_AND_VERSION.size:
        raise ProtocolDecodeError("RequestHeader", -1, "request_api_key", 0, f"truncated: {len(payload)} bytes")
    api_key, api_version = _KEY_AND_VERSION.unpack_from(payload, 0)
    version = request_header_version(api_key, api_version)
    fields, offset = header_codec("RequestHeader", version).decode_from(payload, 0)
    header = RequestHeader(api_key, api_version, fields["correlation_id"], fields["client_id"], version)
    return header, offset


def decode_request(payload: Buffer) -> tuple[RequestHeader, dict[str, Any]]:
    """Decode header and body of a request payload (raises UnsupportedVersionError for unknown versions).

    Bytes after the body are ignored, as Kafka's brokers ignore them: librdkafka's all-topics Metadata request of
    the flexible versions carries some, and its AlterUserScramCredentials one more (empty) tag section than the
    schema has."""
    header, offset = decode_request_header(payload)
    body, _ = request_codec(header.api_key, header.api_version).decode_from(payload, offset)
    return header, body


def encode_request(
    api_key: int, api_version: int, correlation_id: int, client_id: str | None, body: Mapping[str, Any]
) -> bytes:
    """A whole request frame (size prefix, header, body)."""
    buf = bytearray(4)
    big: Big = []
    header = {
        "request_api_key": api_key,
        "request_api_version": api_version,
        "correlation_id": correlation_id,
        "client_id": client_id,
    }
    header_codec("RequestHeader", request_header_version(api_key, api_version)).encode_into(header, buf, big)
    request_codec(api_key, api_version).encode_into(body, buf, big)
    return _finish(buf, big)


def encode_response_parts(api_key: int, api_version: int, correlation_id: int, body: Mapping[str, Any]) -> list[Buffer]:
    """A whole response frame as a list of buffers, large records pieces passed through uncopied.

    Write the parts in order (e.g. ``transport.writelines(parts)``); do not mutate a records buffer until then.
    """
    buf = bytearray(4)
    big: Big = []
    header_version = response_header_version(api_key, api_version)
    header_codec("ResponseHeader", header_version).encode_into({"correlation_id": correlation_id}, buf, big)
    response_codec(api_key, api_version).encode_into(body, buf, big)
    FRAME_SIZE.pack_into(buf, 0, len(buf) - 4 + sum(_nbytes(piece) for _, piece in big))
    return assemble_parts(buf, big)


def encode_response(api_key: int, api_version: int, correlation_id: int, body: Mapping[str, Any]) -> bytes:
    """A whole response frame as one bytes object."""
    return b"".join(encode_response_parts(api_key, api_version, correlation_id, body))


def decode_response(api_key: int, api_version: int, payload: Buffer) -> tuple[int, dict[str, Any]]:
    """Decode a response payload; returns (correlation_id, body)."""
    header_version = response_header_version(api_key, api_version)
    header, offset = header_codec("ResponseHeader", header_version).decode_from(payload, 0)
    return header["correlation_id"], response_codec(api_key, api_version).decode(payload, offset)


def split_frame(frame: Buffer) -> memoryview:
    """The payload of one whole frame, checking the size prefix against the frame's length."""
    view = frame if isinstance(frame, memoryview) else memoryview(frame)
    if len(view) < 4:
        raise ProtocolDecodeError("frame", -1, "size", 0, "truncated size prefix")
    (size,) = FRAME_SIZE.unpack_from(view, 0)
    if size != len(view) - 4:
        raise ProtocolDecodeError("frame", -1, "size", 0, f"size prefix {size} but {len(view) - 4} payload bytes")
    return view[4:]


def _nbytes(piece: Buffer) -> int:
    return piece.nbytes if isinstance(piece, memoryview) else len(piece)


def _finish(buf: bytearray, big: Big) -> bytes:
    FRAME_SIZE.pack_into(buf, 0, len(buf) - 4 + sum(_nbytes(piece) for _, piece in big))
    return b"".join(assemble_parts(buf, big))
