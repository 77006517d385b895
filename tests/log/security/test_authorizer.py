"""The authorizer's decisions follow Kafka's StandardAuthorizer: literal, wildcard and prefixed patterns, DENY over
ALLOW, the operations READ/WRITE/DELETE/ALTER imply DESCRIBE (ALLOW only), super users, and
allow.everyone.if.no.acl.found only for resources without any ACL."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.log.errors import InvalidConfigError
from hub.log.security.acl import (
    AclBinding,
    AclFilter,
    AclOperation,
    AclPermissionType,
    AclValidationError,
    PatternType,
    ResourceType,
    acl_filter,
    binding,
)
from hub.log.security.acl_store import AclStore
from hub.log.security.authorizer import Authorizer, AuthorizerSettings, authorizer_settings

ALICE = "User:alice"
BOB = "User:bob"
HOST = "10.0.0.1"
TOPIC = ResourceType.TOPIC
LIT = PatternType.LITERAL
PRE = PatternType.PREFIXED
ALLOW = AclPermissionType.ALLOW
DENY = AclPermissionType.DENY
Op = AclOperation


def acl(name: str, op: AclOperation, perm: AclPermissionType = ALLOW, *, principal: str = ALICE,
        pattern: PatternType = LIT, host: str = "*", kind: ResourceType = TOPIC) -> AclBinding:  # fmt: skip
    return AclBinding(kind, name, pattern, principal, host, op, perm)


def authorizer(*acls: AclBinding, supers: frozenset[str] = frozenset(), allow_if_none: bool = False) -> Authorizer:
    store = AclStore(None)
    store.add(acls)
    return Authorizer(AuthorizerSettings(supers, allow_if_none), store)


def may(auth: Authorizer, op: AclOperation, name: str, principal: str = ALICE, host: str = HOST) -> bool:
    return auth.authorize(principal, host, op, TOPIC, name)


def test_literal_wildcard_and_prefixed_patterns_match_as_in_kafka() -> None:
    auth = authorizer(acl("orders", Op.READ), acl("pay-", Op.WRITE, pattern=PRE), acl("*", Op.DESCRIBE, principal=BOB))
    assert may(auth, Op.READ, "orders")
    assert not may(auth, Op.READ, "orders2")  # a literal name is not a prefix
    assert may(auth, Op.WRITE, "pay-in")
    assert may(auth, Op.WRITE, "pay-")
    assert not may(auth, Op.WRITE, "pa")
    assert may(auth, Op.DESCRIBE, "anything", principal=BOB)
    assert not may(auth, Op.READ, "anything", principal=BOB)


def test_deny_wins_over_allow_including_all_and_wildcard_principal() -> None:
    auth = authorizer(
        acl("orders", Op.ALL),
        acl("ord", Op.READ, DENY, pattern=PRE, principal="User:*"),
    )
    assert not may(auth, Op.READ, "orders")
    assert may(auth, Op.WRITE, "orders")
    everything_denied = authorizer(acl("*", Op.ALL), acl("orders", Op.ALL, DENY))
    assert not may(everything_denied, Op.DESCRIBE, "orders")
    assert may(everything_denied, Op.DESCRIBE, "other")


def test_allow_implies_describe_but_deny_does_not_deny_describe() -> None:
    for op in (Op.READ, Op.WRITE, Op.DELETE, Op.ALTER):
        assert may(authorizer(acl("t", op)), Op.DESCRIBE, "t"), op
    assert not may(authorizer(acl("t", Op.CREATE)), Op.DESCRIBE, "t")
    assert may(authorizer(acl("t", Op.ALTER_CONFIGS)), Op.DESCRIBE_CONFIGS, "t")
    assert not may(authorizer(acl("t", Op.DESCRIBE_CONFIGS)), Op.ALTER_CONFIGS, "t")
    assert may(authorizer(acl("t", Op.DESCRIBE), acl("t", Op.READ, DENY)), Op.DESCRIBE, "t")
    assert not may(authorizer(acl("t", Op.READ)), Op.WRITE, "t")


def test_hosts_must_match_unless_the_acl_names_every_host() -> None:
    auth = authorizer(acl("t", Op.READ, host="10.0.0.2"))
    assert not may(auth, Op.READ, "t")
    assert may(auth, Op.READ, "t", host="10.0.0.2")


def test_super_users_may_do_anything_even_against_a_deny() -> None:
    auth = authorizer(acl("t", Op.ALL, DENY, principal="User:admin"), supers=frozenset({"User:admin"}))
    assert may(auth, Op.DELETE, "t", principal="User:admin")
    assert auth.authorize("User:admin", HOST, Op.ALTER, ResourceType.CLUSTER, "kafka-cluster")


def test_no_acl_found_allows_everyone_only_when_configured_and_only_without_resource_acls() -> None:
    assert not may(authorizer(), Op.READ, "t")
    open_auth = authorizer(acl("guarded", Op.READ, principal=BOB), allow_if_none=True)
    assert may(open_auth, Op.READ, "t")
    assert not may(open_auth, Op.READ, "guarded")  # an ACL exists for the resource, for someone else


def test_authorize_any_is_kafkas_authorize_by_resource_type() -> None:
    assert authorizer(acl("pay-", Op.WRITE, pattern=PRE)).authorize_any(ALICE, HOST, Op.WRITE, TOPIC)
    assert not authorizer(acl("t", Op.READ)).authorize_any(ALICE, HOST, Op.WRITE, TOPIC)
    assert not authorizer(acl("t", Op.WRITE), acl("*", Op.WRITE, DENY)).authorize_any(ALICE, HOST, Op.WRITE, TOPIC)
    covered = authorizer(acl("pay-in", Op.WRITE), acl("pay", Op.WRITE, DENY, pattern=PRE))
    assert not covered.authorize_any(ALICE, HOST, Op.WRITE, TOPIC)


def test_filters_match_any_exact_and_match_patterns() -> None:
    literal, prefixed, wildcard = acl("orders", Op.READ), acl("ord", Op.READ, pattern=PRE), acl("*", Op.READ)
    match = AclFilter(TOPIC, "orders", PatternType.MATCH)
    assert [a for a in (literal, prefixed, wildcard) if match.matches(a)] == [literal, prefixed, wildcard]
    assert [a for a in (literal, prefixed, wildcard) if AclFilter(TOPIC, "ord").matches(a)] == [prefixed]
    assert AclFilter().matches(literal)
    assert not AclFilter(ResourceType.GROUP).matches(literal)
    assert not AclFilter(permission=DENY).matches(literal)


def test_validation_refuses_what_kafka_refuses() -> None:
    good = (2, "t", 3, ALICE, "*", 3, 3)
    assert binding(*good) == acl("t", Op.READ)
    for bad in [(1, "t", 3, ALICE, "*", 3, 3), (2, "t", 2, ALICE, "*", 3, 3), (2, "t", 3, ALICE, "*", 1, 3),
                (2, "t", 3, ALICE, "*", 3, 1), (2, "", 3, ALICE, "*", 3, 3), (4, "other", 3, ALICE, "*", 3, 3),
                (2, "t", 3, "alice", "*", 3, 3), (2, "t", 3, ALICE, "*", 99, 3)]:  # fmt: skip
        with pytest.raises(AclValidationError):
            binding(*bad)
    assert acl_filter(1, None, 1, None, None, 1, 1) == AclFilter()
    with pytest.raises(AclValidationError):
        acl_filter(2, None, 0, None, None, 1, 1)
    with pytest.raises(AclValidationError):
        acl_filter(2, None, 1, None, None, 0, 1)


def test_the_store_persists_atomically_and_refuses_a_newer_format(tmp_path: Path) -> None:
    store = AclStore.in_directory(tmp_path)
    store.add([acl("t", Op.READ), acl("t", Op.READ), acl("p-", Op.WRITE, DENY, pattern=PRE)])
    assert AclStore.in_directory(tmp_path).acls() == (acl("t", Op.READ), acl("p-", Op.WRITE, DENY, pattern=PRE))
    assert store.remove([AclFilter(permission=DENY), AclFilter(TOPIC, "nothing")]) == [
        [acl("p-", Op.WRITE, DENY, pattern=PRE)],
        [],
    ]
    assert AclStore.in_directory(tmp_path).acls() == (acl("t", Op.READ),)
    (tmp_path / "acls.json").write_text('{"version": 99, "acls": []}')
    with pytest.raises(ValueError, match="newer"):
        AclStore.in_directory(tmp_path)


def test_settings_from_broker_properties() -> None:
    assert authorizer_settings({}) is None
    assert authorizer_settings({"authorizer.class.name": ""}) is None
    settings = authorizer_settings({
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": "User:admin; User:ops",
        "allow.everyone.if.no.acl.found": "true",
    })  # fmt: skip
    assert settings == AuthorizerSettings(frozenset({"User:admin", "User:ops"}), True)
    for bad in [{"authorizer.class.name": "kafka.security.authorizer.AclAuthorizer"},
                {"super.users": "User:admin"},
                {"authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
                 "super.users": "admin"}]:  # fmt: skip
        with pytest.raises(InvalidConfigError):
            authorizer_settings(bad)
