"""Kafka's ACL model: resource types, operations, pattern and permission types (Kafka's byte codes), one ACL binding,
the filters DescribeAcls and DeleteAcls take, and Kafka's validation of both.

A binding is ``(resource_type, resource_name, pattern_type, principal, host, operation, permission)``; a filter
has the same fields where ANY (or None for the strings) matches everything, and the pattern type MATCH matches the
bindings that would apply to the named resource (the literal name, the literal wildcard ``*`` and every prefix).

Plain immutable data and pure functions; thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

#: The name Kafka's CLUSTER resource has (the only one an ACL on CLUSTER may name).
CLUSTER_NAME: Final = "kafka-cluster"
#: A literal resource name or a host that matches every name or host.
WILDCARD: Final = "*"
#: The principal an ACL names to apply to every principal.
WILDCARD_PRINCIPAL: Final = "User:*"


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14
    TWO_PHASE_COMMIT = 15


class AclPermissionType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


class AclValidationError(ValueError):
    """A binding or filter Kafka refuses with INVALID_REQUEST; the message says why."""


@dataclass(frozen=True, slots=True)
class AclBinding:
    """One ACL: who (principal, host) may or may not (permission) do what (operation) to which resources."""

    resource_type: ResourceType
    resource_name: str
    pattern_type: PatternType
    principal: str
    host: str
    operation: AclOperation
    permission: AclPermissionType

    def to_json(self) -> dict[str, Any]:
        return {
            "resource_type": self.resource_type.name,
            "resource_name": self.resource_name,
            "pattern_type": self.pattern_type.name,
            "principal": self.principal,
            "host": self.host,
            "operation": self.operation.name,
            "permission": self.permission.name,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AclBinding:
        return cls(
            ResourceType[data["resource_type"]],
            data["resource_name"],
            PatternType[data["pattern_type"]],
            data["principal"],
            data["host"],
            AclOperation[data["operation"]],
            AclPermissionType[data["permission"]],
        )


@dataclass(frozen=True, slots=True)
class AclFilter:
    """Which bindings DescribeAcls and DeleteAcls mean; None strings and ANY codes match everything."""

    resource_type: ResourceType = ResourceType.ANY
    resource_name: str | None = None
    pattern_type: PatternType = PatternType.ANY
    principal: str | None = None
    host: str | None = None
    operation: AclOperation = AclOperation.ANY
    permission: AclPermissionType = AclPermissionType.ANY

    def matches(self, acl: AclBinding) -> bool:
        if self.resource_type not in (ResourceType.ANY, acl.resource_type):
            return False
        if not self._matches_pattern(acl):
            return False
        if self.principal is not None and self.principal != acl.principal:
            return False
        if self.host is not None and self.host != acl.host:
            return False
        if self.operation not in (AclOperation.ANY, acl.operation):
            return False
        return self.permission in (AclPermissionType.ANY, acl.permission)

    def _matches_pattern(self, acl: AclBinding) -> bool:
        if self.pattern_type == PatternType.MATCH:
            if self.resource_name is None:
                return True
            if acl.pattern_type == PatternType.LITERAL:
                return acl.resource_name in (self.resource_name, WILDCARD)
            return acl.pattern_type == PatternType.PREFIXED and self.resource_name.startswith(acl.resource_name)
        if self.pattern_type not in (PatternType.ANY, acl.pattern_type):
            return False
        return self.resource_name is None or self.resource_name == acl.resource_name


def _enum(kind: type[IntEnum], code: int, what: str) -> Any:
    try:
        return kind(code)
    except ValueError:
        raise AclValidationError(f"unknown {what} {code}") from None


def _codes(
    resource_type: int, pattern_type: int, operation: int, permission: int
) -> tuple[ResourceType, PatternType, AclOperation, AclPermissionType]:
    """The enums of an ACL's (or filter's) codes; AclValidationError naming the first code Kafka does not know."""
    return (
        _enum(ResourceType, resource_type, "resource type"),
        _enum(PatternType, pattern_type, "pattern type"),
        _enum(AclOperation, operation, "operation"),
        _enum(AclPermissionType, permission, "permission type"),
    )


def valid_principal(principal: str) -> bool:
    """Kafka's ``Type:name`` form (``User:alice``), as ``SecurityUtils.parseKafkaPrincipal`` accepts it."""
    kind, sep, name = principal.partition(":")
    return bool(sep and kind and name)


def binding(
    resource_type: int,
    resource_name: str | None,
    pattern_type: int,
    principal: str | None,
    host: str | None,
    operation: int,
    permission: int,
) -> AclBinding:
    """A binding for CreateAcls, validated as Kafka validates a new ACL (AclValidationError when refused)."""
    rtype, pattern, op, perm = _codes(resource_type, pattern_type, operation, permission)
    if rtype in (ResourceType.UNKNOWN, ResourceType.ANY):
        raise AclValidationError(f"Invalid resourceType {rtype.name}")
    if pattern not in (PatternType.LITERAL, PatternType.PREFIXED):
        raise AclValidationError(f"Invalid patternType {pattern.name}")
    if op in (AclOperation.UNKNOWN, AclOperation.ANY):
        raise AclValidationError(f"Invalid operation {op.name}")
    if perm not in (AclPermissionType.ALLOW, AclPermissionType.DENY):
        raise AclValidationError(f"Invalid permissionType {perm.name}")
    if not resource_name:
        raise AclValidationError("Invalid empty resource name")
    if rtype == ResourceType.CLUSTER and resource_name != CLUSTER_NAME:
        raise AclValidationError(f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}")
    if principal is None or not valid_principal(principal):
        raise AclValidationError(f"Invalid principal {principal!r}: expected Type:name, e.g. User:alice")
    if not host:
        raise AclValidationError("Invalid empty host")
    return AclBinding(rtype, resource_name, pattern, principal, host, op, perm)


def acl_filter(
    resource_type: int,
    resource_name: str | None,
    pattern_type: int,
    principal: str | None,
    host: str | None,
    operation: int,
    permission: int,
) -> AclFilter:
    """A filter for DescribeAcls / DeleteAcls, validated as Kafka validates one (AclValidationError when refused)."""
    rtype, pattern, op, perm = _codes(resource_type, pattern_type, operation, permission)
    if rtype == ResourceType.UNKNOWN or pattern == PatternType.UNKNOWN:
        raise AclValidationError("Unknown patternFilter.")
    if op == AclOperation.UNKNOWN or perm == AclPermissionType.UNKNOWN:
        raise AclValidationError("Unknown entryFilter.")
    if principal is not None and not valid_principal(principal):
        raise AclValidationError(f"Invalid principal filter {principal!r}: expected Type:name, e.g. User:alice")
    return AclFilter(rtype, resource_name, pattern, principal, host, op, perm)
