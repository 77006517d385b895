"""OffsetsAdmin: reads, alters and resets the offsets of a connector (KIP-875).

A source connector's offsets live in the offset store, keyed by the source partitions its tasks name; a sink
connector's are the committed offsets of its consumer group ``connect-{name}``, per topic partition. Altering
and resetting need the connector STOPPED, and pass the WriteGate first (only the leader of a group changes them);
reading does not.

Thread-safety: every call may come from any thread; it uses the thread-safe stores and a short-lived client.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from hub.log.client import GroupMembershipError, OffsetSpec, StoreClients, TopicPartition
from hub.runtime.connector_config import common_def
from hub.runtime.connector_queries import ConnectorQueries
from hub.runtime.herder import BadRequestError, ConflictError
from hub.runtime.herder_strategies import WriteGate
from hub.runtime.stores import ConfigStore, OffsetStore, TargetState, canonical
from hub.runtime.stores.offsets import check_map
from hub.sdk.connector import SinkConnector
from hub.sdk.errors import DataError

ALTERED = "The offsets for this connector have been altered successfully"
RESET = "The offsets for this connector have been reset successfully"


class OffsetsAdmin:
    """Offsets administration of connectors (see the module docstring)."""

    def __init__(
        self,
        clients: StoreClients,
        configs: ConfigStore,
        offsets: OffsetStore,
        queries: ConnectorQueries,
        gate: WriteGate,
    ) -> None:
        self._clients = clients
        self._configs = configs
        self._offsets = offsets
        self._queries = queries
        self._gate = gate

    def _is_sink(self, config: Mapping[str, str]) -> bool:
        return issubclass(self._queries.connector_class(config), SinkConnector)

    def _sink_partitions(self, config: Mapping[str, str]) -> list[TopicPartition]:
        options, _ = common_def(self._queries.connector_class(config)).errors(config)
        topics = set(options.get("topics") or [])
        with self._clients.admin() as admin:
            listed = admin.list_topics()
        if options.get("topics.regex"):
            topics |= {t for t in listed if re.fullmatch(options["topics.regex"], t)}
        return [TopicPartition(t, p) for t in sorted(topics) if t in listed for p in range(listed[t])]

    def offsets(self, name: str) -> list[dict[str, Any]]:
        """``[{"partition": {…}, "offset": {…}}]`` for sources; sink offsets per topic partition."""
        config = self._queries.config_of(name)
        if not self._is_sink(config):
            self._offsets.refresh()
            return [{"partition": p, "offset": o} for p, o in self._offsets.all_offsets(name)]
        partitions = self._sink_partitions(config)
        with self._clients.consumer(group_id=f"connect-{name}") as consumer:
            committed = consumer.committed(partitions) if partitions else {}
        return [
            {"partition": {"kafka_topic": tp.topic, "kafka_partition": tp.partition}, "offset": {"kafka_offset": o}}
            for tp, o in sorted(committed.items())
            if o is not None
        ]

    def _require_stopped(self, name: str) -> Mapping[str, str]:
        config = self._queries.config_of(name)
        if self._configs.snapshot().target_state(name) is not TargetState.STOPPED:
            raise BadRequestError(
                f"Connectors must be in the STOPPED state before their offsets can be modified. Stop {name} first."
            )
        return config

    def alter_offsets(self, name: str, offsets: Sequence[Mapping[str, Any]]) -> str:
        self._gate.check()
        config = self._require_stopped(name)
        if not self._is_sink(config):
            changes = {}
            for entry in offsets:
                partition, offset = entry.get("partition"), entry.get("offset")
                if not isinstance(partition, dict) or not (offset is None or isinstance(offset, dict)):
                    raise BadRequestError("each offset needs a 'partition' object and an 'offset' object or null")
                try:
                    check_map("partition", partition)
                    if offset is not None:
                        check_map("offset", offset)
                except DataError as exc:
                    raise BadRequestError(str(exc)) from None
                changes[canonical(partition)] = (partition, offset)
            self._offsets.write(name, changes)
            return ALTERED
        commits: dict[TopicPartition, int] = {}
        for entry in offsets:
            partition, offset = entry.get("partition") or {}, entry.get("offset")
            try:
                tp = TopicPartition(str(partition["kafka_topic"]), int(partition["kafka_partition"]))
                commits[tp] = 0 if offset is None else int(offset["kafka_offset"])
            except (KeyError, TypeError, ValueError) as exc:
                raise BadRequestError(
                    "sink offsets look like {'partition': {'kafka_topic': …, 'kafka_partition': …}, "
                    f"'offset': {{'kafka_offset': …}}}}: {exc}"
                ) from exc
        with self._clients.admin() as admin:
            listed = admin.list_topics()
        for tp, kafka_offset in commits.items():
            if not 0 <= tp.partition < listed.get(tp.topic, 0):
                raise BadRequestError(f"Topic {tp.topic!r} has no partition {tp.partition}")
            if not 0 <= kafka_offset < 2**63:
                raise BadRequestError(f"The offset of {tp.topic}-{tp.partition} must be 0 or more (and under 2^63)")
        self._commit_sink_offsets(name, commits)
        return ALTERED

    def reset_offsets(self, name: str) -> str:
        self._gate.check()
        config = self._require_stopped(name)
        if not self._is_sink(config):
            self._offsets.refresh()
            stored = self._offsets.all_offsets(name)
            self._offsets.write(name, {canonical(p): (p, None) for p, _ in stored})
        else:
            partitions = self._sink_partitions(config)
            with self._clients.admin() as admin:
                earliest = admin.list_offsets(partitions, OffsetSpec.EARLIEST) if partitions else {}
            self._commit_sink_offsets(name, {tp: offset or 0 for tp, offset in earliest.items()})
        return RESET

    def _commit_sink_offsets(self, name: str, commits: Mapping[TopicPartition, int]) -> None:
        try:
            with self._clients.consumer(group_id=f"connect-{name}") as consumer:
                consumer.commit(commits)
        except GroupMembershipError as exc:  # stopping is asynchronous: its tasks may still be in the group
            raise ConflictError(
                f"The tasks of {name} have not left its consumer group yet; retry in a few seconds ({exc})"
            ) from None
