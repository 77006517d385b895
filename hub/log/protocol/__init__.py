"""Hub's Kafka wire-protocol codec: message schemas generated from Kafka's message definitions, interpreted by a
compiled encoder/decoder, plus request/response framing.

Messages are plain dicts with snake_case keys. Typical server use::

    header, body = decode_request(payload)
    parts = encode_response_parts(header.api_key, header.api_version, header.correlation_id, response)

Regenerate ``messages.py`` with ``scripts/gen_protocol.py`` (see docs/protocol-codec.md); nothing here reads the
definition files at run time.
"""

from __future__ import annotations

from hub.log.protocol.codec import MessageCodec
from hub.log.protocol.errors import (
    ProtocolDecodeError,
    ProtocolEncodeError,
    ProtocolError,
    UnsupportedVersionError,
)
from hub.log.protocol.frames import (
    FRAME_SIZE,
    RequestHeader,
    decode_request,
    decode_request_header,
    decode_response,
    encode_request,
    encode_response,
    encode_response_parts,
    request_header_version,
    response_header_version,
    split_frame,
)
from hub.log.protocol.registry import (
    API_KEYS_BY_NAME,
    API_SPECS,
    ApiSpec,
    api_spec,
    data_codec,
    data_versions,
    decode_data,
    encode_data,
    header_codec,
    request_codec,
    response_codec,
)
from hub.log.protocol.wire import ZERO_COPY_MIN_BYTES

__all__ = [
    "API_KEYS_BY_NAME",
    "API_SPECS",
    "FRAME_SIZE",
    "ZERO_COPY_MIN_BYTES",
    "ApiSpec",
    "MessageCodec",
    "ProtocolDecodeError",
    "ProtocolEncodeError",
    "ProtocolError",
    "RequestHeader",
    "UnsupportedVersionError",
    "api_spec",
    "data_codec",
    "data_versions",
    "decode_data",
    "decode_request",
    "decode_request_header",
    "decode_response",
    "encode_data",
    "encode_request",
    "encode_response",
    "encode_response_parts",
    "header_codec",
    "request_codec",
    "request_header_version",
    "response_codec",
    "response_header_version",
    "split_frame",
]
