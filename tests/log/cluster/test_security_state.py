"""ACLs and SCRAM credentials in the replicated metadata: changed through any node's quorum member, seen by every
node, kept across restarts in the journal and in snapshots; snapshots of format 1 (without them) stay readable."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hub.log.cluster.codec import MAGIC_SNAPSHOT, decode_snapshot, encode_snapshot
from hub.log.cluster.metadata import ClusterMetadata
from hub.log.cluster.quorum import MetadataQuorum
from hub.log.cluster.security_state import (
    ReplicatedAclStore,
    ReplicatedScramCredentials,
    import_local_credentials,
)
from hub.log.cluster.storage import METADATA_DIR, SNAPSHOT_FILE
from hub.log.security.acl import AclBinding, AclFilter, AclOperation, AclPermissionType, PatternType, ResourceType
from hub.log.security.scram_credentials import ScramCredentialStore, new_credential
from tests.harness.process import free_port
from tests.log.cluster.conftest import Cluster, wait_for

READ = AclBinding(
    ResourceType.TOPIC, "t", PatternType.LITERAL, "User:a", "*", AclOperation.READ, AclPermissionType.ALLOW
)
DENY = AclBinding(
    ResourceType.GROUP, "g", PatternType.PREFIXED, "User:b", "*", AclOperation.ALL, AclPermissionType.DENY
)


def test_a_format_1_snapshot_reads_with_no_acls_or_users() -> None:
    current = encode_snapshot(ClusterMetadata(cluster_id="c", acls=(READ,)), {"term": 1})
    body = json.loads(current[len(MAGIC_SNAPSHOT) + 1 :])
    del body["state"]["acls"], body["state"]["scram"]
    old = MAGIC_SNAPSHOT + bytes([1]) + json.dumps(body).encode()
    state, raft = decode_snapshot(old)
    assert (state.cluster_id, state.acls, state.scram, raft) == ("c", (), {}, {"term": 1})
    assert decode_snapshot(current)[0].acls == (READ,)


@pytest.mark.integration
def test_changes_survive_a_restart_from_the_journal_and_the_snapshot(tmp_path: Path) -> None:
    voters = {1: f"127.0.0.1:{free_port()}"}
    quorum = MetadataQuorum(1, voters, tmp_path, log_compaction_min_entries=10)
    quorum.start()
    credential = new_credential("SCRAM-SHA-256", "pw", 4096)
    try:
        quorum.wait_ready(10)
        acls, users = ReplicatedAclStore(quorum), ReplicatedScramCredentials(quorum)
        acls.add([READ, DENY])
        users.alter([], [("alice", credential), ("bob", credential)])
        users.alter([("bob", "SCRAM-SHA-256")], [])
        assert acls.remove([AclFilter(permission=AclPermissionType.DENY)]) == [[DENY]]
        quorum.register_broker(1, "127.0.0.1", 9001, "inc")
        for _ in range(20):  # enough commands for a compaction: the snapshot must carry the security state
            quorum.heartbeat(1, "inc")
        wait_for(lambda: (tmp_path / METADATA_DIR / SNAPSHOT_FILE).exists(), what="a snapshot")
    finally:
        quorum.close()
    reopened = MetadataQuorum(1, voters, tmp_path)
    reopened.start()
    try:
        reopened.wait_ready(10)
        assert ReplicatedAclStore(reopened).acls() == (READ,)
        users = ReplicatedScramCredentials(reopened)
        assert users.lookup("alice", "SCRAM-SHA-256") == credential
        assert sorted(users.users()) == ["alice"]
    finally:
        reopened.close()


@pytest.mark.integration
def test_credentials_written_offline_move_into_the_cluster(tmp_path: Path) -> None:
    quorum = MetadataQuorum(1, {1: f"127.0.0.1:{free_port()}"}, tmp_path / "quorum")
    quorum.start()
    try:
        quorum.wait_ready(10)
        cluster = ReplicatedScramCredentials(quorum)
        kept = new_credential("SCRAM-SHA-512", "cluster's", 4096)
        cluster.alter([], [("alice", kept)])
        local = ScramCredentialStore.in_directory(tmp_path)
        admin, other = new_credential("SCRAM-SHA-512", "a", 4096), new_credential("SCRAM-SHA-512", "b", 4096)
        local.alter([], [("admin", admin), ("alice", other)])
        assert import_local_credentials(local, cluster) == ["admin"]
        assert cluster.lookup("admin", "SCRAM-SHA-512") == admin
        assert cluster.lookup("alice", "SCRAM-SHA-512") == kept
        assert ScramCredentialStore.in_directory(tmp_path).users() == {}
        assert import_local_credentials(local, cluster) == []
    finally:
        quorum.close()


@pytest.mark.integration
def test_every_node_sees_a_change_made_through_any_node(tmp_path: Path) -> None:
    cluster = Cluster(tmp_path).start(with_brokers=False)
    try:
        nodes = cluster.running()
        follower = next(node for node in nodes if node.q is not cluster.leader().q)
        credential = new_credential("SCRAM-SHA-512", "pw", 4096)
        ReplicatedAclStore(follower.q).add([READ])
        ReplicatedScramCredentials(follower.q).alter([], [("alice", credential)])
        for node in nodes:
            wait_for(lambda n=node: ReplicatedAclStore(n.q).acls() == (READ,), what="ACL replication")
            wait_for(
                lambda n=node: ReplicatedScramCredentials(n.q).lookup("alice", "SCRAM-SHA-512") == credential,
                what="credential replication",
            )
    finally:
        cluster.close()
