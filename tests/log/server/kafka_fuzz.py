"""Frames for fuzzing the Kafka listener: valid requests of every advertised API and version (built with Hub's
codec), and Hypothesis strategies that mutate them — bytes flipped, lengths and counts set to extremes, frames cut
short or padded, fields set to hostile values and re-encoded — or make up frames from nothing."""

from __future__ import annotations

import copy
import socket
import struct
from typing import Any

from hypothesis import strategies as st

from hub.log.compression import Compression
from hub.log.protocol import encode_request
from hub.log.protocol.messages import APIS
from hub.log.records import NewRecord, encode_batch
from hub.log.server.versions import ADVERTISED
from tests.log.protocol.sample_messages import sample

#: Values that make length, count and size fields interesting.
EXTREMES = [0, 1, -1, -2, 0x7F, 0x80, 0xFF, 0x7FFF, -0x8000, 0xFFFF, 0x7FFFFFFF, -0x80000000, 0x10000, 1 << 20]
FUZZ_TOPIC = "fuzz"


def _batch(compression: Compression = Compression.NONE) -> bytes:
    return encode_batch([NewRecord(b"k%d" % i, b"v" * 20, timestamp=1000) for i in range(3)], compression=compression)


def _sensible_bodies() -> dict[int, list[dict[str, Any]]]:
    """Requests a real client would send, so mutations start from paths that reach the store."""
    topic = FUZZ_TOPIC
    return {
        0: [
            {
                "transactional_id": None,
                "acks": acks,
                "timeout_ms": 1000,
                "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": _batch(kind)}]}],
            }
            for acks, kind in ((-1, Compression.NONE), (1, Compression.ZSTD), (-1, Compression.GZIP))
        ],
        1: [
            {
                "replica_id": -1,
                "max_wait_ms": 10,
                "min_bytes": 1,
                "max_bytes": 1 << 20,
                "isolation_level": 0,
                "topics": [
                    {
                        "topic": topic,
                        "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}],
                    }
                ],
            }
        ],
        2: [{"replica_id": -1, "topics": [{"name": topic, "partitions": [{"partition_index": 0, "timestamp": -1}]}]}],
        3: [{"topics": [{"name": topic}], "allow_auto_topic_creation": False}],
        19: [
            {
                "topics": [
                    {"name": "fuzz-new", "num_partitions": 1, "replication_factor": 1, "assignments": [], "configs": []}
                ],
                "timeout_ms": 1000,
                "validate_only": True,
            }
        ],
    }


def seed_requests() -> list[tuple[int, int, dict[str, Any], bytes]]:
    """(api key, version, body, frame) for every advertised version: sample bodies from the schemas, plus the
    sensible bodies above at every version they encode in."""
    sensible = _sensible_bodies()
    seeds: list[tuple[int, int, dict[str, Any], bytes]] = []
    for api_key, (low, high) in sorted(ADVERTISED.items()):
        fields = APIS[api_key]["request"]["fields"]
        for version in range(low, high + 1):
            for body in [sample(fields, version), *sensible.get(api_key, [])]:
                try:
                    frame = encode_request(api_key, version, 7, "fuzzer", body)
                except Exception:
                    continue  # a sensible body may lack a field this version needs
                seeds.append((api_key, version, body, frame))
    return seeds


SEEDS = seed_requests()
SEED_KEYS = sorted({key for key, _, _, _ in SEEDS})
#: Values for string fields: empty, too long, not ASCII, Kafka-illegal, internal, a line break, a real topic.
HOSTILE_STRINGS = ["", "x" * 300, "é\u2028", "..", "__consumer_offsets", "a\nb", FUZZ_TOPIC, "\x00"]


def _resize(frame: bytearray) -> bytes:
    struct.pack_into(">i", frame, 0, len(frame) - 4)
    return bytes(frame)


@st.composite
def mutated_frame(draw: st.DrawFn, api_key: int | None = None) -> bytes:
    """A seed frame (of ``api_key``, or any) with one to four mutations; the size prefix matches the result unless
    the mutation is to the prefix itself."""
    seeds = [frame for key, _, _, frame in SEEDS if api_key is None or key == api_key]
    frame = bytearray(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "extreme16", "extreme32", "truncate", "insert", "delete", "header"]))
        body_start = 4
        if len(frame) <= body_start + 1:
            break
        position = draw(st.integers(body_start, len(frame) - 1))
        if kind == "flip":
            frame[position] ^= draw(st.integers(1, 255))
        elif kind == "extreme16" and position + 2 <= len(frame):
            struct.pack_into(">H", frame, position, draw(st.sampled_from(EXTREMES)) & 0xFFFF)
        elif kind == "extreme32" and position + 4 <= len(frame):
            struct.pack_into(">I", frame, position, draw(st.sampled_from(EXTREMES)) & 0xFFFFFFFF)
        elif kind == "truncate":
            del frame[position:]
        elif kind == "insert":
            frame[position:position] = draw(st.binary(min_size=1, max_size=16))
        elif kind == "delete":
            del frame[position : position + draw(st.integers(1, 16))]
        elif kind == "header" and len(frame) >= 8:  # another api key or version for the same body
            struct.pack_into(">hh", frame, 4, draw(st.integers(-1, 70)), draw(st.integers(-1, 20)))
    if draw(st.integers(0, 20)) == 0:  # rarely: a size prefix that lies
        struct.pack_into(">i", frame, 0, draw(st.sampled_from(EXTREMES)))
        return bytes(frame)
    return _resize(frame)


def _fields(value: Any) -> list[tuple[Any, Any]]:
    """(container, key) of every field and list item in a message, depth first."""
    found: list[tuple[Any, Any]] = []
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found.append((value, key))
        found.extend(_fields(item))
    return found


@st.composite
def field_mutated_frame(draw: st.DrawFn, api_key: int | None = None) -> bytes:
    """A seed request with one to three fields set to hostile values of their type, encoded with Hub's codec: well
    formed, so it reaches the handlers (a value the field's type cannot hold leaves the field as it was)."""
    seeds = [(key, version, body) for key, version, body, _ in SEEDS if api_key is None or key == api_key]
    key, version, body = draw(st.sampled_from(seeds))
    body = copy.deepcopy(body)
    fields = _fields(body)
    for _ in range(draw(st.integers(1, 3)) if fields else 0):
        container, name = draw(st.sampled_from(fields))
        old = container[name]
        if isinstance(old, bool):
            new: Any = not old
        elif isinstance(old, int):
            new = draw(st.sampled_from([*EXTREMES, 2**63 - 1, -(2**63)]))
        elif isinstance(old, str):
            new = draw(st.sampled_from(HOSTILE_STRINGS))
        elif isinstance(old, bytes | bytearray):
            new = draw(st.sampled_from([b"", _batch(Compression.LZ4), draw(st.binary(max_size=64))]))
        elif isinstance(old, list):
            new = draw(st.sampled_from([[], old * 50, None]))
        else:
            new = None
        container[name] = new
        try:
            encode_request(key, version, 9, "fuzzer", body)
        except Exception:
            container[name] = old
    return encode_request(key, version, 9, "fuzzer", body)


@st.composite
def random_frame(draw: st.DrawFn) -> bytes:
    """A made-up frame: a plausible header (any api key and version) and random bytes."""
    header = struct.pack(">hhi", draw(st.integers(-2, 70)), draw(st.integers(-2, 20)), 1)
    client_id = draw(st.sampled_from([b"\xff\xff", b"\x00\x01x", b"\x7f\xff", b""]))
    return _resize(bytearray(4) + header + client_id + draw(st.binary(max_size=200)))


def send_frames(host: str, port: int, frames: list[bytes], reply_timeout_s: float = 0.1) -> int:
    """Send each frame on a connection of its own, waiting briefly for the start of an answer. Returns how many
    frames got one. Raises ConnectionRefusedError if the server is gone."""
    answered = 0
    for frame in frames:
        with socket.create_connection((host, port), timeout=reply_timeout_s) as connection:
            try:
                connection.sendall(frame)
                # Nothing more will come: a frame whose size prefix promises more ends here, not after a timeout.
                connection.shutdown(socket.SHUT_WR)
                answered += bool(connection.recv(4))  # the start of an answer is enough
            except OSError:  # no answer in time, or the server closed the connection: both allowed
                pass
    return answered


def api_versions_answered(host: str, port: int) -> bool:
    """Whether the listener answers a well-formed ApiVersions v0 request with error code 0."""
    with socket.create_connection((host, port), timeout=10) as connection:
        connection.sendall(encode_request(18, 0, 1, "probe", {}))
        size = struct.unpack(">i", _read(connection, 4))[0]
        payload = _read(connection, size)
    return struct.unpack_from(">h", payload, 4)[0] == 0


def _read(connection: socket.socket, count: int) -> bytes:
    data = bytearray()
    while len(data) < count:
        chunk = connection.recv(count - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return bytes(data)
