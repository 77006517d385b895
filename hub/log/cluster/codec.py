"""The metadata quorum's stored formats, both versioned: commands (the records of the Raft log) and snapshots of
``ClusterMetadata`` (the quorum's full dump). A reader refuses a version it does not know with
``QuorumStorageError`` rather than guess. Also the formats of ``controller.quorum.voters`` and of cluster ids.
``apply_command`` maps a decoded command onto its transition.

Commands are ``MAGIC_COMMAND + version byte + JSON``; snapshots are ``MAGIC_SNAPSHOT + version byte + JSON``.
JSON keeps them readable and free of pickle's code execution.

Pure functions; thread-safe.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from typing import Any, Final

from hub.log.cluster import metadata as md
from hub.log.cluster import security_state
from hub.log.cluster import transitions as tr
from hub.log.cluster.metadata import BrokerInfo, ClusterMetadata, PartitionState, TopicState
from hub.log.errors import QuorumStorageError

MAGIC_COMMAND: Final = b"HubMetaCmd"
MAGIC_SNAPSHOT: Final = b"HubMetaSnap"
#: Version 2 added dynamic broker configs (the ``alter_broker_config`` command, ``broker_configs`` in snapshots)
#: and the ACLs and SCRAM credentials (``security_state``'s commands, ``acls`` and ``scram`` in snapshots);
#: version 1 is still read.
COMMAND_VERSION: Final = 2
SNAPSHOT_VERSION: Final = 2


def _unwrap(data: bytes, magic: bytes, known: int, what: str) -> Any:
    """The JSON body of a command or snapshot of format ``1..known``."""
    if not data.startswith(magic) or len(data) <= len(magic):
        raise QuorumStorageError(f"not a Hub metadata {what} (corrupt data, or written by another program)")
    version = data[len(magic)]
    if not 1 <= version <= known:
        raise QuorumStorageError(
            f"metadata {what} format version {version} is unknown to this Hub (it reads versions 1 to {known}); "
            "upgrade Hub, or remove the node's __cluster_metadata directory to let it rejoin from the others"
        )
    try:
        return json.loads(data[len(magic) + 1 :])
    except ValueError as exc:
        raise QuorumStorageError(f"corrupt metadata {what}: {exc}") from None


def encode_command(op: str, args: dict[str, Any], cluster_id: str) -> bytes:
    """A command as stored in the Raft log; ``cluster_id`` is the id to adopt if the cluster has none yet."""
    body = json.dumps({"op": op, "args": args, "cluster_id": cluster_id}, separators=(",", ":"))
    return MAGIC_COMMAND + bytes([COMMAND_VERSION]) + body.encode()


def decode_command(data: bytes) -> tuple[str, dict[str, Any], str]:
    body = _unwrap(data, MAGIC_COMMAND, COMMAND_VERSION, "command")
    return body["op"], body["args"], body["cluster_id"]


def _tp_keys(items: list[list[Any]]) -> list[tuple[str, int]]:
    return [(str(t), int(p)) for t, p in items]


_APPLY: Final[dict[str, Callable[[ClusterMetadata, dict[str, Any]], tuple[ClusterMetadata, Any]]]] = {
    "barrier": lambda s, a: (s, None),
    "register_broker": lambda s, a: _with_broker(md.register_broker(s, **a), a["node_id"]),
    "heartbeat": lambda s, a: _with_broker(md.heartbeat(s, **a), a["node_id"]),
    "fence_broker": lambda s, a: _with_broker(md.fence_broker(s, **a), a["node_id"]),
    "unfence_broker": lambda s, a: _with_broker(md.unfence_broker(s, **a), a["node_id"]),
    "set_controller": lambda s, a: (md.set_controller(s, **a), None),
    "create_topic": lambda s, a: tr.create_topic(s, **a),
    "delete_topic": lambda s, a: (tr.delete_topic(s, **a), None),
    "create_partitions": lambda s, a: tr.create_partitions(s, **a),
    "alter_topic_config": lambda s, a: (tr.alter_topic_config(s, **a), None),
    "alter_broker_config": lambda s, a: (tr.alter_broker_config(s, **a), None),
    "alter_partition": lambda s, a: tr.alter_partition(s, **a),
    "elect_leaders": lambda s, a: tr.elect_leaders(
        s, None if a["partitions"] is None else _tp_keys(a["partitions"]), a["unclean"]
    ),
    "alter_reassignments": lambda s, a: tr.alter_reassignments(
        s, {(str(t), int(p)): target for t, p, target in a["reassignments"]}, a["unclean_default"]
    ),
    **security_state.COMMANDS,
}


def _with_broker(state: ClusterMetadata, node_id: int) -> tuple[ClusterMetadata, BrokerInfo]:
    return state, state.brokers[node_id]


def apply_command(state: ClusterMetadata, op: str, args: dict[str, Any]) -> tuple[ClusterMetadata, Any]:
    """The state after one command, and the command's answer; a LogError leaves the state as it was."""
    handler = _APPLY.get(op)
    if handler is None:
        raise QuorumStorageError(f"unknown metadata command {op!r} (written by a newer Hub?)")
    return handler(state, args)


def state_to_json(state: ClusterMetadata) -> dict[str, Any]:
    return {
        "cluster_id": state.cluster_id,
        "controller_id": state.controller_id,
        "offset": state.offset,
        "broker_configs": state.broker_configs,
        "brokers": [
            [b.node_id, b.host, b.port, b.rack, b.incarnation, b.fenced] for _, b in sorted(state.brokers.items())
        ],
        "topics": [
            {
                "name": t.name,
                "topic_id": t.topic_id,
                "configs": t.configs,
                "partitions": [
                    [p.replicas, p.isr, p.leader, p.leader_epoch, p.partition_epoch, p.adding, p.removing]
                    for p in t.partitions
                ],
            }
            for _, t in sorted(state.topics.items())
        ],
        **security_state.to_json(state),
    }


def state_from_json(data: dict[str, Any]) -> ClusterMetadata:
    brokers = {
        int(n): BrokerInfo(int(n), host, int(port), rack, incarnation, bool(fenced))
        for n, host, port, rack, incarnation, fenced in data["brokers"]
    }
    topics = {}
    for t in data["topics"]:
        parts = tuple(
            PartitionState(tuple(r), tuple(i), int(lead), int(le), int(pe), tuple(add), tuple(rem))
            for r, i, lead, le, pe, add, rem in t["partitions"]
        )
        topics[t["name"]] = TopicState(t["name"], t["topic_id"], dict(t["configs"]), parts)
    dynamic = {str(key): dict(values) for key, values in data.get("broker_configs", {}).items()}
    acls, scram = security_state.from_json(data)
    return ClusterMetadata(
        data["cluster_id"],
        brokers,
        topics,
        int(data["controller_id"]),
        int(data["offset"]),
        dynamic,
        acls,
        scram,
    )


def encode_snapshot(state: ClusterMetadata, raft: dict[str, Any]) -> bytes:
    """A snapshot of the state with the Raft bookkeeping stored beside it (JSON-ready values only)."""
    body = json.dumps({"state": state_to_json(state), "raft": raft}, separators=(",", ":"))
    return MAGIC_SNAPSHOT + bytes([SNAPSHOT_VERSION]) + body.encode()


def decode_snapshot(data: bytes) -> tuple[ClusterMetadata, dict[str, Any]]:
    body = _unwrap(data, MAGIC_SNAPSHOT, SNAPSHOT_VERSION, "snapshot")
    try:
        return state_from_json(body["state"]), body["raft"]
    except (KeyError, TypeError, ValueError) as exc:
        raise QuorumStorageError(f"corrupt metadata snapshot: {exc!r}") from None


def parse_voters(value: str) -> dict[int, str]:
    """``controller.quorum.voters`` (``1@host:port,2@host:port``) as node id → ``host:port``."""
    voters: dict[int, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        node, _, address = item.partition("@")
        host, _, port = address.rpartition(":")
        if not node.isdigit() or not host or not port.isdigit():
            raise ValueError(f"controller.quorum.voters: {item!r} is not id@host:port")
        voters[int(node)] = f"{host}:{port}"
    return voters


def new_cluster_id() -> str:
    """A Kafka-style cluster id: a random UUID as 22 characters of URL-safe base64."""
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
