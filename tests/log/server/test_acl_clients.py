"""The listener with an authorizer, driven by real clients nobody here wrote (confluent-kafka's librdkafka and
kafka-python): clients without an ACL get TOPIC_AUTHORIZATION_FAILED / GROUP_AUTHORIZATION_FAILED, an ACL created
through either admin client lets them in, and the ACL and SCRAM admin APIs work from both admin clients.

Until the listener authenticates with SASL, a connection's principal here is ``User:<client.id>`` (the server's
``principal_of`` test hook); ``User:admin`` is a super user."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import kafka.errors as kerrors
import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ACL, ACLFilter, ACLOperation, ACLPermissionType, ResourcePattern, ResourcePatternFilter
from kafka.admin import ACLResourcePatternType as KpPatternType
from kafka.admin import ResourceType as KpResourceType
from kafka.admin import ScramMechanism as KpMechanism
from kafka.admin import UserScramCredentialDeletion as KpDeletion
from kafka.admin import UserScramCredentialUpsertion as KpUpsertion

from hub.log.security.scram_credentials import ScramCredentialStore, credential_from_salted_password, salted_password
from hub.log.server.context import RequestContext
from tests.log.server.in_process import InProcessNode

pytestmark = pytest.mark.integration

STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def principal_of(ctx: RequestContext) -> str:
    return f"User:{ctx.header.client_id}"


class SecuredNode(InProcessNode):
    """A store node with the StandardAuthorizer and its listener on an event loop thread."""

    def __init__(self, data_dir: Path, properties: dict[str, str]) -> None:
        super().__init__(data_dir, properties)
        self.add_listener(
            authorizer=self.node.authorizer, scram_credentials=self.node.scram_credentials, principal_of=principal_of
        )


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredNode]:
    properties = {
        "authorizer.class.name": STANDARD,
        "super.users": "User:admin",
        "group.initial.rebalance.delay.ms": "0",
    }
    with SecuredNode(tmp_path_factory.mktemp("secured"), properties) as node:
        yield node


@pytest.fixture(scope="module")
def admin(secured: SecuredNode) -> AdminClient:
    return AdminClient({"bootstrap.servers": secured.bootstrap, "client.id": "admin"})


@pytest.fixture(scope="module")
def kp_admin(secured: SecuredNode) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=secured.bootstrap, client_id="admin", request_timeout_ms=10_000)
    yield client
    client.close()


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _topic(admin: AdminClient) -> str:
    name = _name("t")
    admin.create_topics([NewTopic(name, 1, 1)])[name].result(10)
    return name


def _allow(admin: AdminClient, user: str, kind: ResourceType, name: str, operation: AclOperation) -> None:
    acl = AclBinding(kind, name, ResourcePatternType.LITERAL, f"User:{user}", "*", operation, AclPermissionType.ALLOW)
    for future in admin.create_acls([acl]).values():
        future.result(10)


def _confluent_send(bootstrap: str, user: str, topic: str) -> KafkaError | None:
    producer = Producer({"bootstrap.servers": bootstrap, "client.id": user, "message.timeout.ms": 10_000})
    outcome: list[KafkaError | None] = []
    producer.produce(topic, b"v", on_delivery=lambda err, _msg: outcome.append(err))
    producer.flush(15)
    assert outcome, "no delivery report"
    return outcome[0]


def _confluent_consumer(bootstrap: str, user: str, group: str, topic: str) -> Consumer:
    consumer = Consumer({
        "bootstrap.servers": bootstrap, "client.id": user, "group.id": group,
        "auto.offset.reset": "earliest", "session.timeout.ms": 6000,
    })  # fmt: skip
    consumer.subscribe([topic])
    return consumer


# --- produce and consume through confluent-kafka ----------------------------------------------------------------


def test_confluent_producer_needs_write_on_the_topic(secured: SecuredNode, admin: AdminClient) -> None:
    topic = _topic(admin)
    user = _name("producer")
    error = _confluent_send(secured.bootstrap, user, topic)
    assert error is not None
    assert error.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    _allow(admin, user, ResourceType.TOPIC, topic, AclOperation.WRITE)
    assert _confluent_send(secured.bootstrap, user, topic) is None


def test_confluent_consumer_needs_read_on_its_group(secured: SecuredNode, admin: AdminClient) -> None:
    topic = _topic(admin)
    assert _confluent_send(secured.bootstrap, "admin", topic) is None
    user, group = _name("consumer"), _name("g")
    _allow(admin, user, ResourceType.TOPIC, topic, AclOperation.READ)
    consumer = _confluent_consumer(secured.bootstrap, user, group, topic)
    try:
        error = None
        for _ in range(20):
            message = consumer.poll(1)
            if message is not None and message.error() is not None:
                error = message.error()
                break
        assert error is not None
        assert error.code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    finally:
        consumer.close()
    _allow(admin, user, ResourceType.GROUP, group, AclOperation.READ)
    consumer = _confluent_consumer(secured.bootstrap, user, group, topic)
    try:
        message = None
        for _ in range(30):
            message = consumer.poll(1)
            if message is not None and message.error() is None:
                break
        assert message is not None
        assert message.error() is None
        assert message.value() == b"v"
    finally:
        consumer.close()


# --- produce and consume through kafka-python -------------------------------------------------------------------


def test_kafka_python_producer_and_consumer_are_refused_without_acls(secured: SecuredNode, admin: AdminClient) -> None:
    topic = _topic(admin)
    user = _name("kp")
    producer = KafkaProducer(
        bootstrap_servers=secured.bootstrap, client_id=user, max_block_ms=5000, enable_idempotence=False
    )
    try:
        with pytest.raises(kerrors.TopicAuthorizationFailedError):
            producer.send(topic, b"v").get(10)
    finally:
        producer.close(5)
    _allow(admin, user, ResourceType.TOPIC, topic, AclOperation.WRITE)
    # Idempotent: InitProducerId is allowed by WRITE on some topic, as in Kafka.
    producer = KafkaProducer(bootstrap_servers=secured.bootstrap, client_id=user, max_block_ms=5000)
    try:
        assert producer.send(topic, b"v").get(10).offset == 0
    finally:
        producer.close(5)
    _allow(admin, user, ResourceType.TOPIC, topic, AclOperation.READ)
    consumer = KafkaConsumer(
        topic, bootstrap_servers=secured.bootstrap, client_id=user, group_id=_name("g"),
        auto_offset_reset="earliest", consumer_timeout_ms=10_000,
    )  # fmt: skip
    try:
        with pytest.raises(kerrors.GroupAuthorizationFailedError):
            consumer.poll(10_000)
    finally:
        consumer.close()


# --- the ACL APIs -----------------------------------------------------------------------------------------------


def test_confluent_acl_create_describe_delete(admin: AdminClient) -> None:
    topic = _name("acl")
    read = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:alice", "*",
                      AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    deny = AclBinding(ResourceType.TOPIC, topic[:6], ResourcePatternType.PREFIXED, "User:bob", "10.0.0.1",
                      AclOperation.WRITE, AclPermissionType.DENY)  # fmt: skip
    for future in admin.create_acls([read, deny]).values():
        assert future.result(10) is None
    match = AclBindingFilter(ResourceType.TOPIC, topic, ResourcePatternType.MATCH, None, None,
                             AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    assert sorted(admin.describe_acls(match).result(10), key=str) == sorted([read, deny], key=str)
    only_bob = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, "User:bob", None,
                                AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    assert deny in admin.describe_acls(only_bob).result(10)
    deleted = admin.delete_acls([match])[match].result(10)
    assert sorted(deleted, key=str) == sorted([read, deny], key=str)
    assert admin.describe_acls(match).result(10) == []


def test_confluent_acl_errors(secured: SecuredNode, admin: AdminClient) -> None:
    bad_cluster = AclBinding(ResourceType.BROKER, "not-the-cluster", ResourcePatternType.LITERAL, "User:x", "*",
                             AclOperation.ALTER, AclPermissionType.ALLOW)  # fmt: skip
    with pytest.raises(KafkaException) as info:
        admin.create_acls([bad_cluster])[bad_cluster].result(10)
    assert info.value.args[0].code() == KafkaError.INVALID_REQUEST
    stranger = AdminClient({"bootstrap.servers": secured.bootstrap, "client.id": _name("stranger")})
    acl = AclBinding(ResourceType.TOPIC, "t", ResourcePatternType.LITERAL, "User:x", "*",
                     AclOperation.READ, AclPermissionType.ALLOW)  # fmt: skip
    with pytest.raises(KafkaException) as info:
        stranger.create_acls([acl])[acl].result(10)
    assert info.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    everything = AclBindingFilter(ResourceType.ANY, None, ResourcePatternType.ANY, None, None,
                                  AclOperation.ANY, AclPermissionType.ANY)  # fmt: skip
    with pytest.raises(KafkaException) as info:
        stranger.delete_acls([everything])[everything].result(10)
    assert info.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED


def test_kafka_python_acl_create_describe_delete(kp_admin: KafkaAdminClient) -> None:
    group = _name("g")
    acl = ACL("User:carol", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
              ResourcePattern(KpResourceType.GROUP, group, KpPatternType.LITERAL))  # fmt: skip
    result = kp_admin.create_acls([acl])
    assert result["failed"] == []
    assert len(result["succeeded"]) == 1
    wanted = ACLFilter("User:carol", None, ACLOperation.ANY, ACLPermissionType.ANY,
                       ResourcePatternFilter(KpResourceType.GROUP, group, KpPatternType.ANY))  # fmt: skip
    found, error = kp_admin.describe_acls(wanted)
    assert error is kerrors.NoError
    assert [(a.principal, a.resource_pattern.resource_name, a.operation) for a in found] == [
        ("User:carol", group, ACLOperation.READ)
    ]
    [(_filter, matched, error)] = kp_admin.delete_acls([wanted])
    assert error is kerrors.NoError
    assert len(matched) == 1
    assert kp_admin.describe_acls(wanted)[0] == []


def test_kafka_python_acls_need_the_cluster_permission(secured: SecuredNode) -> None:
    stranger = KafkaAdminClient(bootstrap_servers=secured.bootstrap, client_id=_name("stranger"))
    try:
        everything = ACLFilter(None, None, ACLOperation.ANY, ACLPermissionType.ANY,
                               ResourcePatternFilter(KpResourceType.ANY, None, KpPatternType.ANY))  # fmt: skip
        with pytest.raises(kerrors.ClusterAuthorizationFailedError):
            stranger.describe_acls(everything)
    finally:
        stranger.close()


# --- the SCRAM APIs ---------------------------------------------------------------------------------------------


def test_confluent_scram_credentials(secured: SecuredNode, admin: AdminClient) -> None:
    user = _name("scram")
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192), b"pw")
    assert admin.alter_user_scram_credentials([upsert])[user].result(10) is None
    description = admin.describe_user_scram_credentials([user])[user].result(10)
    assert [(i.mechanism, i.iterations) for i in description.scram_credential_infos] == [
        (ScramMechanism.SCRAM_SHA_512, 8192)
    ]
    stored = ScramCredentialStore.in_directory(secured.node.config.data_dir).lookup(user, "SCRAM-SHA-512")
    assert stored is not None
    assert stored.iterations == 8192
    too_few = UserScramCredentialUpsertion(user, ScramCredentialInfo(ScramMechanism.SCRAM_SHA_256, 1000), b"pw")
    with pytest.raises(KafkaException) as info:
        admin.alter_user_scram_credentials([too_few])[user].result(10)
    assert info.value.args[0].code() == KafkaError.UNACCEPTABLE_CREDENTIAL
    missing = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_256)
    with pytest.raises(KafkaException) as info:
        admin.alter_user_scram_credentials([missing])[user].result(10)
    assert info.value.args[0].code() == KafkaError.RESOURCE_NOT_FOUND
    gone = UserScramCredentialDeletion(user, ScramMechanism.SCRAM_SHA_512)
    assert admin.alter_user_scram_credentials([gone])[user].result(10) is None
    with pytest.raises(KafkaException) as info:
        admin.describe_user_scram_credentials([user])[user].result(10)
    assert info.value.args[0].code() == KafkaError.RESOURCE_NOT_FOUND


def test_kafka_python_scram_credentials(secured: SecuredNode, kp_admin: KafkaAdminClient) -> None:
    user = _name("kpscram")
    upsert = KpUpsertion(user, "SCRAM-SHA-256", "pw", iterations=4096)
    assert kp_admin.alter_user_scram_credentials([upsert]) == {user: None}
    described = kp_admin.describe_user_scram_credentials([user, _name("nobody")])
    assert described[user] == {
        "error": None,
        "credential_infos": [{"mechanism": KpMechanism.SCRAM_SHA_256, "iterations": 4096}],
    }
    assert [entry["error"] is not None for entry in described.values()] == [False, True]
    # The broker keeps what the password derives to under the salt the client chose: a SCRAM login would succeed.
    stored = secured.server.scram_credentials.lookup(user, "SCRAM-SHA-256")
    assert stored is not None
    expected = credential_from_salted_password(
        "SCRAM-SHA-256", stored.salt, salted_password("SCRAM-SHA-256", "pw", stored.salt, 4096), 4096
    )
    assert stored == expected
    twice = [KpDeletion(user, "SCRAM-SHA-256"), KpUpsertion(user, "SCRAM-SHA-512", "pw")]
    assert kp_admin.alter_user_scram_credentials(twice)[user] is not None  # DUPLICATE_RESOURCE
    assert kp_admin.alter_user_scram_credentials([KpDeletion(user, "SCRAM-SHA-256")]) == {user: None}
    assert secured.server.scram_credentials.lookup(user, "SCRAM-SHA-256") is None


# --- the admin APIs of other resources ------------------------------------------------------------------------


def test_confluent_admin_apis_are_refused_per_resource(secured: SecuredNode, admin: AdminClient) -> None:
    topic, other = _topic(admin), _topic(admin)
    user = _name("operator")
    _allow(admin, user, ResourceType.TOPIC, other, AclOperation.ALTER_CONFIGS)
    operator = AdminClient({"bootstrap.servers": secured.bootstrap, "client.id": user})
    configs = operator.describe_configs([ConfigResource("topic", topic), ConfigResource("topic", other)])
    by_name = {resource.name: future for resource, future in configs.items()}
    with pytest.raises(KafkaException) as info:
        by_name[topic].result(10)
    assert info.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert "retention.ms" in by_name[other].result(10)  # ALTER_CONFIGS implies DESCRIBE_CONFIGS
    broker = ConfigResource("broker", "0", incremental_configs=[
        ConfigEntry("log.retention.ms", "1000", incremental_operation=AlterConfigOpType.SET)])  # fmt: skip
    with pytest.raises(KafkaException) as info:
        operator.incremental_alter_configs([broker])[broker].result(10)
    assert info.value.args[0].code() == KafkaError.CLUSTER_AUTHORIZATION_FAILED
    group = _name("g")
    with pytest.raises(KafkaException) as info:
        operator.delete_consumer_groups([group])[group].result(10)
    assert info.value.args[0].code() == KafkaError.GROUP_AUTHORIZATION_FAILED
    _allow(admin, user, ResourceType.TOPIC, topic, AclOperation.DESCRIBE)  # to find the leader; DELETE is missing
    partition = TopicPartition(topic, 0, 0)
    (future,) = operator.delete_records([partition]).values()
    with pytest.raises(KafkaException) as info:
        future.result(10)
    assert info.value.args[0].code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
