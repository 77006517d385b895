"""GroupAdmin: the admin calls librdkafka lacks — ListGroups of every protocol, DescribeGroups of any group,
DescribeLogDirs, and the brokers of a Metadata answer — sent over Hub's own protocol connection
(``KafkaConnection``) to any Kafka-protocol broker.

As Kafka's Admin does it: ListGroups goes to every broker (each lists the groups it coordinates), DescribeGroups
to each group's coordinator (FindCoordinator), DescribeLogDirs to each partition's leader (Metadata). Each
broker's versions come from its ApiVersions answer (asked once per connection), and the newest version both
sides speak is used. ListGroups below v4 answers no state, and some brokers answer "Unknown" (tansu): those groups
are described to get one.

What a broker lacks leads to an honest gap, never a guess: no DescribeLogDirs (tansu), or no permission to
describe the cluster, gives ``None`` sizes ("unknown", as the Admin interface defines); a member without a
consumer assignment (another protocol, or a broker that answers no assignment bytes) has no partitions; a group a
broker does not list is not listed (tansu lists only groups that committed offsets). Errors of a broker that does
answer are raised as ClientErrors naming it.

Connections use the client's security settings (TLS, SASL PLAIN/SCRAM: ``KafkaConnection``), one per broker,
kept until ``close``. Thread-safe: the connection map is guarded by a lock; each connection serialises its own
requests.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from hub.log.client.consumer_protocol import decode_assignment
from hub.log.client.errors import ClientError, RetriableClientError, raise_for
from hub.log.client.kafka.connection import KafkaConnection
from hub.log.client.kafka.group_member import parse_bootstrap
from hub.log.client.types import BrokerNode, GroupDescription, GroupListing, GroupMemberDescription, TopicPartition
from hub.log.error_codes import ErrorCode
from hub.log.protocol import ProtocolError
from hub.log.protocol.registry import API_SPECS
from hub.log.security.client import client_security

log = logging.getLogger("hub.log.client.kafka")

METADATA, FIND_COORDINATOR, DESCRIBE_GROUPS, LIST_GROUPS, API_VERSIONS, DESCRIBE_LOG_DIRS = 3, 10, 15, 16, 18, 35
#: Versions capped below the codec's newest: DescribeGroups v6 answers unknown groups with an error, not "Dead".
_CAPS = {DESCRIBE_GROUPS: 5}
#: A group's coordinator moved or is loading: ask again (Kafka's Admin retries these too).
_RETRY_CODES = frozenset(
    {ErrorCode.NOT_COORDINATOR, ErrorCode.COORDINATOR_LOAD_IN_PROGRESS, ErrorCode.COORDINATOR_NOT_AVAILABLE}
)
_ATTEMPTS = 5
_BACKOFF_S = 0.1
#: What ListGroups answers when it tells no state: nothing (below v4), or "Unknown" (tansu).
_NO_STATE = frozenset({"", "Unknown"})
_NO_SIZE_CODES = frozenset({ErrorCode.CLUSTER_AUTHORIZATION_FAILED, ErrorCode.UNSUPPORTED_VERSION})

Address = tuple[str, int]


class GroupAdmin:
    """See the module docstring. ``config`` is the client's settings (only its security settings are read)."""

    def __init__(
        self, bootstrap_servers: str, *, timeout_s: float = 30.0, config: Mapping[str, Any] | None = None
    ) -> None:
        self._bootstrap = parse_bootstrap(bootstrap_servers)
        self._security = client_security(config)
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._connections: dict[Address, KafkaConnection] = {}
        self._versions: dict[Address, dict[int, int]] = {}

    # --- connections and versions ------------------------------------------------------------------------------

    def _connection(self, address: Address) -> KafkaConnection:
        with self._lock:
            connection = self._connections.get(address)
            if connection is None:
                connection = KafkaConnection(
                    *address, client_id="hub-admin", timeout_s=self._timeout_s, security=self._security
                )
                self._connections[address] = connection
            return connection

    def _version(self, address: Address, api_key: int) -> int | None:
        """The newest version of ``api_key`` both sides speak; None when the broker does not offer it."""
        versions = self._versions.get(address)
        if versions is None:
            answer = self._connection(address).request(
                API_VERSIONS, 3, {"client_software_name": "hub", "client_software_version": "1"}
            )
            raise_for(answer["error_code"], f"asking {address[0]}:{address[1]} for its API versions")
            versions = {}
            for api in answer["api_keys"]:
                spec = API_SPECS.get(api["api_key"])
                if spec is None:
                    continue
                high = min(api["max_version"], spec.max_version, _CAPS.get(spec.api_key, spec.max_version))
                if max(api["min_version"], spec.min_version) <= high:
                    versions[spec.api_key] = high
            self._versions[address] = versions
        return versions.get(api_key)

    def _request(self, address: Address, api_key: int, body: dict[str, Any]) -> tuple[int | None, dict[str, Any]]:
        """``(version, answer)`` of one request; ``(None, {})`` when the broker does not offer the API. A broken
        connection is dropped, so the next call opens a fresh one."""
        version = self._version(address, api_key)
        if version is None:
            return None, {}
        try:
            return version, self._connection(address).request(api_key, version, body)
        except RetriableClientError:
            self._forget(address)
            raise

    def _forget(self, address: Address) -> None:
        with self._lock:
            connection = self._connections.pop(address, None)
            self._versions.pop(address, None)
        if connection is not None:
            connection.close()

    def _metadata(self, topics: Collection[str] | None) -> dict[str, Any]:
        """A Metadata answer from the first bootstrap server that gives one (``topics`` None: every topic)."""
        failure: ClientError | None = None
        for address in self._bootstrap:
            try:
                _, answer = self._request(
                    address,
                    METADATA,
                    {
                        "topics": None
                        if topics is None
                        else [{"topic_id": uuid.UUID(int=0), "name": name} for name in sorted(topics)],
                        "allow_auto_topic_creation": False,
                        "include_cluster_authorized_operations": False,
                        "include_topic_authorized_operations": False,
                    },
                )
                return answer
            except RetriableClientError as exc:
                failure = exc
        assert failure is not None  # parse_bootstrap gives at least one server
        raise failure

    def _brokers(self, metadata: Mapping[str, Any]) -> dict[int, Address]:
        return {broker["node_id"]: (broker["host"], broker["port"]) for broker in metadata["brokers"]}

    def describe_cluster(self) -> list[BrokerNode]:
        """The brokers a Metadata answer lists, by id."""
        brokers = self._metadata(())["brokers"]
        return sorted(
            (BrokerNode(b["node_id"], b["host"], b["port"], b.get("rack")) for b in brokers),
            key=lambda node: node.node_id,
        )

    # --- groups ------------------------------------------------------------------------------------------------

    def list_groups(self) -> list[GroupListing]:
        """Every group every broker lists, of every protocol type (ListGroups to each broker)."""
        found: dict[str, GroupListing] = {}
        for address in self._brokers(self._metadata(())).values():
            _, answer = self._request(address, LIST_GROUPS, {"states_filter": [], "types_filter": []})
            if not answer:
                continue  # a broker without ListGroups lists nothing
            raise_for(answer["error_code"], f"listing the groups of {address[0]}:{address[1]}")
            for group in answer["groups"]:
                found[group["group_id"]] = GroupListing(
                    group["group_id"], group.get("group_state") or "", group["protocol_type"]
                )
        stateless = [group_id for group_id, listing in found.items() if listing.state in _NO_STATE]
        if stateless:  # ListGroups below v4 answers no state, some brokers "Unknown": ask the coordinators
            for group_id, described in self.describe_groups(stateless).items():
                found[group_id] = GroupListing(group_id, described.state, found[group_id].protocol_type)
        return sorted(found.values(), key=lambda listing: listing.group_id)

    def describe_groups(self, group_ids: Collection[str]) -> dict[str, GroupDescription]:
        """Each group as its coordinator describes it; an unknown group is ``Dead`` with no members."""
        wanted = sorted(set(group_ids))
        described: dict[str, GroupDescription] = {}
        for attempt in range(_ATTEMPTS):
            pending = [group_id for group_id in wanted if group_id not in described]
            if not pending:
                break
            retry = False
            for address, groups in self._coordinators(pending).items():
                _, answer = self._request(
                    address, DESCRIBE_GROUPS, {"groups": groups, "include_authorized_operations": False}
                )
                if not answer:
                    raise ClientError(f"{address[0]}:{address[1]} does not offer DescribeGroups")
                for group in answer["groups"]:
                    code = group["error_code"]
                    if code in _RETRY_CODES and attempt < _ATTEMPTS - 1:
                        self._forget(address)
                        retry = True
                        continue
                    if code == ErrorCode.GROUP_ID_NOT_FOUND:
                        described[group["group_id"]] = GroupDescription(group["group_id"], "Dead")
                        continue
                    raise_for(code, f"describing group {group['group_id']}")
                    described[group["group_id"]] = _description(group)
            if not retry:
                break
            time.sleep(_BACKOFF_S * (attempt + 1))
        return {group_id: described[group_id] for group_id in wanted if group_id in described}

    def _coordinators(self, group_ids: Iterable[str]) -> dict[Address, list[str]]:
        """The groups by the address of their coordinator (FindCoordinator, batched from v4)."""
        by_address: dict[Address, list[str]] = {}
        ids = list(group_ids)
        failure: ClientError | None = None
        for bootstrap in self._bootstrap:
            try:
                version = self._version(bootstrap, FIND_COORDINATOR)
                if version is None:
                    raise ClientError(f"{bootstrap[0]}:{bootstrap[1]} does not offer FindCoordinator")
                if version >= 4:
                    _, answer = self._request(bootstrap, FIND_COORDINATOR, {"key_type": 0, "coordinator_keys": ids})
                    found = answer["coordinators"]
                else:
                    found = []
                    for group_id in ids:
                        _, single = self._request(bootstrap, FIND_COORDINATOR, {"key_type": 0, "key": group_id})
                        found.append({**single, "key": group_id})
                for entry in found:
                    raise_for(entry["error_code"], f"finding the coordinator of group {entry['key']}")
                    by_address.setdefault((entry["host"], entry["port"]), []).append(entry["key"])
                return by_address
            except RetriableClientError as exc:
                failure = exc
        assert failure is not None
        raise failure

    # --- log sizes ---------------------------------------------------------------------------------------------

    def log_sizes(self, partitions: Collection[TopicPartition]) -> dict[TopicPartition, int | None]:
        """Bytes of each partition's log on its leader (DescribeLogDirs); None where the leader cannot tell."""
        sizes: dict[TopicPartition, int | None] = dict.fromkeys(partitions)
        if not sizes:
            return sizes
        metadata = self._metadata({tp.topic for tp in sizes})
        brokers = self._brokers(metadata)
        by_leader: dict[int, dict[str, list[int]]] = {}
        for topic in metadata["topics"]:
            for part in topic["partitions"]:
                if TopicPartition(topic["name"], part["partition_index"]) in sizes and part["leader_id"] in brokers:
                    by_leader.setdefault(part["leader_id"], {}).setdefault(topic["name"], []).append(
                        part["partition_index"]
                    )
        for leader, topics in by_leader.items():
            address = brokers[leader]
            _, answer = self._request(
                address,
                DESCRIBE_LOG_DIRS,
                {"topics": [{"topic": name, "partitions": sorted(indexes)} for name, indexes in topics.items()]},
            )
            if not answer:
                continue  # the broker has no DescribeLogDirs: sizes unknown
            if answer.get("error_code", 0) in _NO_SIZE_CODES:
                log.info("%s:%d does not describe its log dirs: %s", *address, ErrorCode(answer["error_code"]).name)
                continue
            raise_for(answer.get("error_code", 0), f"describing the log dirs of {address[0]}:{address[1]}")
            for result in answer["results"]:
                if result["error_code"] != ErrorCode.NONE:
                    continue  # an offline log dir holds none of the leader's partitions
                for topic in result["topics"]:
                    for part in topic["partitions"]:
                        tp = TopicPartition(topic["name"], part["partition_index"])
                        if tp in sizes and not part["is_future_key"]:
                            sizes[tp] = part["partition_size"]
        return sizes

    def close(self) -> None:
        with self._lock:
            connections = list(self._connections.values())
            self._connections.clear()
            self._versions.clear()
        for connection in connections:
            connection.close()


def _description(group: Mapping[str, Any]) -> GroupDescription:
    consumer = group["protocol_type"] == "consumer"
    members = tuple(
        GroupMemberDescription(
            member["member_id"],
            member["client_id"],
            member["client_host"],
            _assignment(member["member_assignment"]) if consumer else frozenset(),
            member.get("group_instance_id"),
        )
        for member in group["members"]
    )
    return GroupDescription(
        group["group_id"], group["group_state"], group["protocol_type"], group["protocol_data"], members
    )


def _assignment(data: bytes) -> frozenset[TopicPartition]:
    """A consumer member's assigned partitions; none when the broker answered no (or unreadable) bytes."""
    if not data:
        return frozenset()
    try:
        return frozenset(decode_assignment(data))
    except ProtocolError as exc:  # bytes a consumer wrote in a layout Hub cannot read: still a member
        log.debug("unreadable consumer assignment: %s", exc)
        return frozenset()
