"""The authorizer: Kafka's StandardAuthorizer semantics over the ACLs of an AclBindings store, and its broker settings.

``authorize(principal, host, operation, resource_type, name)`` decides one action on one named resource:

- a principal in ``super.users`` may do anything;
- the ACLs that apply to the resource are those of its type naming it literally, naming the literal wildcard ``*``,
  or naming a prefix of it (PREFIXED); of these, the ones for the principal (or ``User:*``) and the client host
  (or ``*``) count;
- a DENY for the operation (or ALL) wins over any ALLOW;
- an ALLOW for the operation or ALL allows it; an ALLOW for READ, WRITE, DELETE or ALTER also allows DESCRIBE, and
  one for ALTER_CONFIGS also allows DESCRIBE_CONFIGS (DENYs imply nothing);
- with no ACL at all on the resource (for anyone), ``allow.everyone.if.no.acl.found`` decides (default false).

``authorize_any`` is Kafka's ``authorizeByResourceType``: may the principal do the operation on some resource of
the type (InitProducerId's "WRITE on any topic").

Thread-safe: the decisions read an immutable snapshot of the ACLs, indexed per resource type (by literal name and
by prefix) when it changes, so a decision costs a few dict lookups however many ACLs there are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from hub.log.errors import InvalidConfigError
from hub.log.security.acl import (
    WILDCARD,
    WILDCARD_PRINCIPAL,
    AclBinding,
    AclOperation,
    AclPermissionType,
    PatternType,
    ResourceType,
    valid_principal,
)
from hub.log.security.contracts import AclBindings

#: The authorizer class names Kafka accepts for ``authorizer.class.name`` (KRaft's; Kafka 4 has no other).
AUTHORIZER_CLASSES: Final = frozenset({"org.apache.kafka.metadata.authorizer.StandardAuthorizer"})
SECURITY_PROPERTIES: Final = frozenset({"authorizer.class.name", "super.users", "allow.everyone.if.no.acl.found"})

_IMPLIES_DESCRIBE: Final = frozenset(
    {AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER}
)
_IMPLIES_DESCRIBE_CONFIGS: Final = frozenset({AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS})


@dataclass(frozen=True)
class AuthorizerSettings:
    """``super.users`` and ``allow.everyone.if.no.acl.found`` of a broker whose authorizer is enabled."""

    super_users: frozenset[str] = field(default_factory=frozenset)
    allow_everyone_if_no_acl_found: bool = False


def authorizer_settings(properties: Mapping[str, str]) -> AuthorizerSettings | None:
    """The authorizer settings from broker properties; None when ``authorizer.class.name`` is unset or empty
    (Kafka's default: no authorizer, every request allowed). InvalidConfigError names a bad value."""
    name = properties.get("authorizer.class.name", "").strip()
    others = sorted(key for key in ("super.users", "allow.everyone.if.no.acl.found") if key in properties)
    if not name:
        if others:
            raise InvalidConfigError(f"{', '.join(others)} need authorizer.class.name to be set")
        return None
    if name not in AUTHORIZER_CLASSES:
        raise InvalidConfigError(
            f"authorizer.class.name {name!r} is not supported: use {', '.join(sorted(AUTHORIZER_CLASSES))}"
        )
    supers = [user.strip() for user in properties.get("super.users", "").split(";") if user.strip()]
    bad = [user for user in supers if not valid_principal(user)]
    if bad:
        raise InvalidConfigError(f"super.users: {', '.join(bad)} is not a principal (Type:name, e.g. User:admin)")
    allow = properties.get("allow.everyone.if.no.acl.found", "false").strip().lower()
    if allow not in ("true", "false"):
        raise InvalidConfigError(f"allow.everyone.if.no.acl.found must be true or false, got {allow!r}")
    return AuthorizerSettings(frozenset(supers), allow == "true")


def _operation_matches(acl: AclBinding, operation: AclOperation) -> bool:
    if acl.operation in (AclOperation.ALL, operation):
        return True
    if acl.permission != AclPermissionType.ALLOW:
        return False
    if operation == AclOperation.DESCRIBE:
        return acl.operation in _IMPLIES_DESCRIBE
    return operation == AclOperation.DESCRIBE_CONFIGS and acl.operation in _IMPLIES_DESCRIBE_CONFIGS


#: Per resource type: ACLs by literal name, by prefix, and all of them.
_TypeIndex = tuple[dict[str, list[AclBinding]], dict[str, list[AclBinding]], list[AclBinding]]
_EMPTY: _TypeIndex = ({}, {}, [])


class Authorizer:
    """Decides actions against the ACLs of ``store`` (see the module docstring)."""

    def __init__(self, settings: AuthorizerSettings, store: AclBindings) -> None:
        self.settings = settings
        self.store = store
        self._indexed: tuple[AclBinding, ...] | None = None
        self._index: dict[ResourceType, _TypeIndex] = {}

    def _index_of(self, resource_type: ResourceType) -> _TypeIndex:
        acls = self.store.acls()
        if acls is not self._indexed:
            index: dict[ResourceType, _TypeIndex] = {}
            for acl in acls:
                literal, prefixed, every = index.setdefault(acl.resource_type, ({}, {}, []))
                every.append(acl)
                by_name = literal if acl.pattern_type == PatternType.LITERAL else prefixed
                by_name.setdefault(acl.resource_name, []).append(acl)
            # Two threads may rebuild at once; each builds from its own snapshot, and either result is correct.
            self._index = index
            self._indexed = acls
        return self._index.get(resource_type, _EMPTY)

    def _acls_of(self, resource_type: ResourceType) -> list[AclBinding]:
        return self._index_of(resource_type)[2]

    def _applying(self, resource_type: ResourceType, name: str) -> list[AclBinding]:
        """The ACLs on ``name``: literal, the literal wildcard and every prefix (a dict lookup per prefix length)."""
        literal, prefixed, _ = self._index_of(resource_type)
        found = [*literal.get(name, ()), *literal.get(WILDCARD, ())] if name != WILDCARD else [*literal.get(name, ())]
        if prefixed:
            for end in range(1, len(name) + 1):
                found.extend(prefixed.get(name[:end], ()))
        return found

    def is_super_user(self, principal: str) -> bool:
        return principal in self.settings.super_users

    def authorize(
        self, principal: str, host: str, operation: AclOperation, resource_type: ResourceType, name: str
    ) -> bool:
        if self.is_super_user(principal):
            return True
        applying = self._applying(resource_type, name)
        allowed = False
        for acl in applying:
            if acl.principal not in (principal, WILDCARD_PRINCIPAL) or acl.host not in (host, WILDCARD):
                continue
            if not _operation_matches(acl, operation):
                continue
            if acl.permission == AclPermissionType.DENY:
                return False
            allowed = True
        if allowed:
            return True
        return not applying and self.settings.allow_everyone_if_no_acl_found

    def authorize_any(self, principal: str, host: str, operation: AclOperation, resource_type: ResourceType) -> bool:
        """Whether the principal may do ``operation`` on some resource of ``resource_type``."""
        if self.authorize(principal, host, operation, resource_type, "hardcode"):
            return True
        deny: dict[PatternType, set[str]] = {PatternType.LITERAL: set(), PatternType.PREFIXED: set()}
        allow: list[AclBinding] = []
        for acl in self._acls_of(resource_type):
            if acl.principal not in (principal, WILDCARD_PRINCIPAL) or acl.host not in (host, WILDCARD):
                continue
            if acl.operation not in (operation, AclOperation.ALL):
                continue
            if acl.permission == AclPermissionType.DENY:
                if acl.pattern_type == PatternType.LITERAL and acl.resource_name == WILDCARD:
                    return False
                deny[acl.pattern_type].add(acl.resource_name)
            else:
                allow.append(acl)
        if any(acl.pattern_type == PatternType.LITERAL and acl.resource_name == WILDCARD for acl in allow):
            return True
        for acl in allow:
            if acl.pattern_type == PatternType.LITERAL and acl.resource_name in deny[PatternType.LITERAL]:
                continue
            name = acl.resource_name
            if not any(name[:end] in deny[PatternType.PREFIXED] for end in range(1, len(name) + 1)):
                return True
        return False
