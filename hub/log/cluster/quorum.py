"""``MetadataQuorum``: the cluster's metadata replicated by Raft over every node (the voters), and its commands.

Each command is encoded (``codec``), committed by the Raft leader and applied in log order on every node
(``replicated_state``). A caller blocks until its command has been applied locally and gets the command's
answer, or its error: ``QuorumTimeoutError`` if that takes longer than the timeout (the command may still be
applied later), ``NotControllerError`` when a leader change dropped it, or the transition's own ``LogError``.
Listeners get ``(old, new)`` for every change, in order, on one dispatcher thread.

Thread-safe.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hub.log.cluster import transitions
from hub.log.cluster.codec import new_cluster_id, parse_voters
from hub.log.cluster.metadata import BrokerInfo, PartitionState, TopicState
from hub.log.cluster.replicated_state import Listener, ReplicatedMetadata
from hub.log.errors import LogError

__all__ = ["Listener", "MetadataQuorum", "TopicPartition", "new_cluster_id", "parse_voters"]

TopicPartition = tuple[str, int]


class MetadataQuorum(ReplicatedMetadata):
    """One node's member of the metadata quorum, with the controller's commands; see the module docstring."""

    def __init__(
        self,
        node_id: int,
        voters: Mapping[int, str] | str,
        data_dir: str | Path,
        *,
        unclean_leader_election: bool = False,
        default_replication_factor: int = 1,
        **options: Any,
    ) -> None:
        """``options`` are ReplicatedMetadata's (password, timeouts, log compaction)."""
        super().__init__(node_id, voters, data_dir, **options)
        self.unclean_leader_election = unclean_leader_election
        self.default_replication_factor = default_replication_factor

    def register_broker(
        self, node_id: int, host: str, port: int, incarnation: str, rack: str | None = None
    ) -> BrokerInfo:
        args = {"node_id": node_id, "host": host, "port": port, "rack": rack, "incarnation": incarnation}
        result: BrokerInfo = self._submit("register_broker", args)
        return result

    def heartbeat(
        self, node_id: int, incarnation: str, want_fence: bool = False, timeout_s: float | None = None
    ) -> BrokerInfo:
        """A broker's heartbeat (unfences it), or with ``want_fence`` its controlled shutdown (fences it)."""
        args = {"node_id": node_id, "incarnation": incarnation, "want_fence": want_fence}
        args["unclean_default"] = self.unclean_leader_election
        result: BrokerInfo = self._submit("heartbeat", args, timeout_s)
        return result

    def fence_broker(self, node_id: int) -> BrokerInfo:
        args = {"node_id": node_id, "unclean_default": self.unclean_leader_election}
        result: BrokerInfo = self._submit("fence_broker", args)
        return result

    def unfence_broker(self, node_id: int) -> BrokerInfo:
        args = {"node_id": node_id, "unclean_default": self.unclean_leader_election}
        result: BrokerInfo = self._submit("unfence_broker", args)
        return result

    def set_controller(self, node_id: int) -> None:
        """Record ``node_id`` as the active controller (its controller does this on taking over)."""
        self._submit("set_controller", {"node_id": node_id})

    def create_topic(
        self,
        name: str,
        partitions: int = 1,
        replication_factor: int | None = None,
        assignments: Sequence[Sequence[int]] | None = None,
        configs: Mapping[str, str] | None = None,
    ) -> TopicState:
        """A topic with replicas spread over the live brokers (or as ``assignments`` say); replication factor
        None or -1 means ``default.replication.factor``."""
        factor = self.default_replication_factor if replication_factor in (None, -1) else replication_factor
        args = {
            "name": name,
            "topic_id": uuid.uuid4().hex,
            "partitions": partitions,
            "replication_factor": factor,
            "assignments": [list(a) for a in assignments] if assignments else None,
            "configs": {k: str(v) for k, v in (configs or {}).items()},
            "start": int.from_bytes(uuid.uuid4().bytes[:4], "big"),
        }
        result: TopicState = self._submit("create_topic", args)
        return result

    def delete_topic(self, name: str) -> None:
        self._submit("delete_topic", {"name": name})

    def create_partitions(
        self, name: str, total: int, assignments: Sequence[Sequence[int]] | None = None
    ) -> TopicState:
        args = {
            "name": name,
            "total": total,
            "assignments": [list(a) for a in assignments] if assignments else None,
            "start": int.from_bytes(uuid.uuid4().bytes[:4], "big"),
        }
        result: TopicState = self._submit("create_partitions", args)
        return result

    def alter_partition(
        self,
        topic: str,
        partition: int,
        leader_id: int,
        leader_epoch: int,
        partition_epoch: int,
        new_isr: Sequence[int],
    ) -> PartitionState:
        args = {"topic": topic, "partition": partition, "leader_id": leader_id, "leader_epoch": leader_epoch}
        args.update(partition_epoch=partition_epoch, new_isr=list(new_isr))
        result: PartitionState = self._submit("alter_partition", args)
        return result

    def elect_leaders(
        self, partitions: Sequence[TopicPartition] | None, unclean: bool = False
    ) -> dict[TopicPartition, LogError | None]:
        """Kafka's ElectLeaders: per partition None (a leader was elected) or the error; None = all partitions."""
        args = {"partitions": None if partitions is None else [list(tp) for tp in partitions], "unclean": unclean}
        result: dict[TopicPartition, LogError | None] = self._submit("elect_leaders", args)
        return result

    def alter_reassignments(
        self, reassignments: Mapping[TopicPartition, Sequence[int] | None]
    ) -> dict[TopicPartition, LogError | None]:
        """Start (target replicas) or cancel (None) reassignments; per partition None or the error."""
        items = [[t, p, None if target is None else list(target)] for (t, p), target in reassignments.items()]
        args = {"reassignments": items, "unclean_default": self.unclean_leader_election}
        result: dict[TopicPartition, LogError | None] = self._submit("alter_reassignments", args)
        return result

    def list_reassignments(
        self, partitions: Sequence[TopicPartition] | None = None
    ) -> dict[TopicPartition, PartitionState]:
        """The partitions with a reassignment in progress, as this node last applied them."""
        return transitions.list_reassignments(self._state, partitions)

    def alter_topic_config(self, name: str, configs: Mapping[str, str | None]) -> None:
        """Set topic config overrides incrementally (None removes one)."""
        self._submit("alter_topic_config", {"name": name, "configs": dict(configs)})

    def alter_broker_config(self, resource: str, configs: Mapping[str, str | None], *, replace_all: bool) -> None:
        """Change dynamic broker configs ("" cluster-wide, a node id one broker's); see
        ``transitions.alter_broker_config``."""
        args = {"resource": resource, "configs": dict(configs), "replace_all": replace_all}
        self._submit("alter_broker_config", args)

    def security_command(self, op: str, args: dict[str, Any]) -> None:
        """An ACL or SCRAM change (``hub.log.cluster.security_state``: create_acls, delete_acls, alter_scram)."""
        self._submit(op, args)
