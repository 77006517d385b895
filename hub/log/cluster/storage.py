"""The metadata quorum's files in ``<data_dir>/__cluster_metadata/``, checked before Raft opens them.

- ``quorum.json``: this directory's format version and node id (Kafka's ``meta.properties``): a directory of
  another node, or of an unknown format, is refused.
- ``journal`` (+ ``journal.meta``): pysyncobj's Raft log. Its header must be pysyncobj's journal format 1, its
  records must be whole, and each command in it must be a Hub command of a known version (``codec``).
- ``snapshot``: the full dump written at log compaction by ``write_snapshot`` (``codec``'s versioned format).

pysyncobj only logs a dump it cannot read and carries on with the journal, which would silently lose state;
``check_files`` therefore refuses such files with ``QuorumStorageError`` before the quorum starts.

Not thread-safe by itself: the quorum calls it before starting Raft, and its hooks from the Raft thread only.
"""

from __future__ import annotations

import base64
import json
import os
import pickle
import struct
from pathlib import Path
from typing import Any, Final

from hub.log.cluster.codec import decode_command, decode_snapshot, encode_snapshot
from hub.log.cluster.metadata import ClusterMetadata
from hub.log.errors import QuorumStorageError

METADATA_DIR: Final = "__cluster_metadata"
FORMAT_FILE: Final = "quorum.json"
JOURNAL_FILE: Final = "journal"
SNAPSHOT_FILE: Final = "snapshot"
FORMAT_VERSION: Final = 1

# pysyncobj's journal layout: name (24 bytes), library version (8), format version (u32), end offset (u32).
_JOURNAL_NAME: Final = b"PYSYNCOBJ"
_JOURNAL_FORMAT: Final = 1
_JOURNAL_HEADER: Final = 24 + 8 + 4 + 4
_REGULAR_COMMAND: Final = 0

Entry = tuple[bytes, int, int]


def check_files(directory: Path, node_id: int) -> None:
    """Create the directory (with its format file) or check what it holds; QuorumStorageError if unusable."""
    directory.mkdir(parents=True, exist_ok=True)
    format_file = directory / FORMAT_FILE
    if format_file.exists():
        try:
            found = json.loads(format_file.read_text())
            version, owner = int(found["version"]), int(found["node.id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise QuorumStorageError(f"{format_file} is corrupt: {exc!r}") from None
        if version != FORMAT_VERSION:
            raise QuorumStorageError(f"{format_file}: format version {version} is unknown (known: {FORMAT_VERSION})")
        if owner != node_id:
            raise QuorumStorageError(f"{directory} belongs to node {owner}, not node {node_id}")
    else:
        tmp = format_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"version": FORMAT_VERSION, "node.id": node_id}))
        os.replace(tmp, format_file)
    check_journal(directory / JOURNAL_FILE)
    snapshot = directory / SNAPSHOT_FILE
    if snapshot.exists():
        read_snapshot(snapshot)


def check_journal(path: Path) -> None:
    """Walk pysyncobj's journal: header, record framing and every Hub command's version."""
    if not path.exists():
        return
    data = path.read_bytes()
    if len(data) < _JOURNAL_HEADER or data[:24].rstrip(b"\0") != _JOURNAL_NAME:
        raise QuorumStorageError(f"{path} is not a metadata journal (corrupt or written by another program)")
    version, end = struct.unpack_from("<II", data, 32)
    if version != _JOURNAL_FORMAT:
        raise QuorumStorageError(f"{path}: journal format version {version} is unknown (known: {_JOURNAL_FORMAT})")
    if end > len(data):
        raise QuorumStorageError(f"{path} is truncated: its records end at {end}, the file at {len(data)}")
    offset = _JOURNAL_HEADER
    while offset < end:
        (size,) = struct.unpack_from("<I", data, offset)
        if size < 16 or offset + 8 + size > end or struct.unpack_from("<I", data, offset + 4 + size)[0] != size:
            raise QuorumStorageError(f"{path} is corrupt at byte {offset}")
        command = data[offset + 4 + 16 : offset + 4 + size]
        if command[:1] == bytes([_REGULAR_COMMAND]):
            _check_command(path, offset, command[1:])
        offset += size + 8


def _check_command(path: Path, offset: int, pickled: bytes) -> None:
    try:
        # The journal is this node's own file (pysyncobj itself unpickles it the same way).
        call = pickle.loads(pickled)
        record = call[1][0]
    except Exception as exc:
        raise QuorumStorageError(f"{path} is corrupt at byte {offset}: {exc!r}") from None
    if not isinstance(record, bytes):
        raise QuorumStorageError(f"{path} is corrupt at byte {offset}: not a Hub command")
    decode_command(record)


def _entry_to_json(entry: Entry) -> list[Any]:
    return [base64.b64encode(entry[0]).decode(), entry[1], entry[2]]


def _entry_from_json(value: list[Any]) -> Entry:
    return base64.b64decode(value[0]), int(value[1]), int(value[2])


def write_snapshot(path: str, state: ClusterMetadata, last: Entry, previous: Entry, cluster: list[str]) -> None:
    """pysyncobj's serializer hook: the state with the two last applied entries and the voters' addresses."""
    raft = {"last": _entry_to_json(last), "previous": _entry_to_json(previous), "cluster": cluster}
    with open(path, "wb") as file:
        file.write(encode_snapshot(state, raft))
        file.flush()
        os.fsync(file.fileno())


def read_snapshot(path: str | Path) -> tuple[ClusterMetadata, Entry, Entry, list[str]]:
    """The state and Raft bookkeeping of a snapshot; QuorumStorageError if corrupt or of an unknown version."""
    with open(path, "rb") as file:
        state, raft = decode_snapshot(file.read())
    try:
        return state, _entry_from_json(raft["last"]), _entry_from_json(raft["previous"]), list(raft["cluster"])
    except (KeyError, TypeError, ValueError) as exc:
        raise QuorumStorageError(f"corrupt metadata snapshot {path}: {exc!r}") from None
