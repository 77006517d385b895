"""A three-node cluster of `hub log serve` processes with the authorizer: ACLs and SCRAM credentials changed
through one node's listener are what every node answers (they live in the replicated metadata)."""

from __future__ import annotations

from typing import Any

import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)

from tests.harness.store_cluster import ClusterFactory
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

#: Without SASL every connection (the replicas' fetches too) is User:ANONYMOUS: as a super user it may do anything.
OPTIONS = {
    "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
    "super.users": "User:ANONYMOUS",
}


def test_acls_and_credentials_are_the_same_on_every_node(store_cluster: ClusterFactory) -> None:
    cluster = store_cluster(3, options=OPTIONS)
    acl = AclBinding(ResourceType.TOPIC, "orders", ResourcePatternType.LITERAL, "User:alice", "*",
                     AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    admin = cluster.admin()
    for future in admin.create_acls([acl]).values():
        assert future.result(15) is None
    upsert = UserScramCredentialUpsertion("alice", ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 4096), b"pw")
    assert admin.alter_user_scram_credentials([upsert])["alice"].result(15) is None
    # Each node answers from its own copy of the metadata: ask each one directly.
    every_acl = {"resource_type_filter": 1, "resource_name_filter": None, "pattern_type_filter": 1,
                 "principal_filter": None, "host_filter": None, "operation": 1, "permission_type": 1}  # fmt: skip
    for node_id, node in cluster.nodes.items():
        host, port = node.bootstrap.rsplit(":", 1)
        with RawKafkaConnection(host, int(port)) as connection:

            def state(c: RawKafkaConnection = connection) -> tuple[Any, Any]:
                acls = c.request(29, 1, every_acl)["resources"]
                users = c.request(50, 0, {"users": [{"name": "alice"}]})["results"]
                return acls, users

            acls, users = cluster.wait_until(
                lambda s=state: (answer := s())[1][0]["error_code"] == 0 and answer[0] and answer, 15,
                f"the ACL and the credential on node {node_id}",
            )  # fmt: skip
            assert [(r["resource_name"], [a["principal"] for a in r["acls"]]) for r in acls] == [
                ("orders", ["User:alice"])
            ]
            assert users[0]["credential_infos"] == [{"mechanism": 1, "iterations": 4096}]
