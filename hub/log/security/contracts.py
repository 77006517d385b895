"""The types the listener's security parts share: a connection's principal, SCRAM credentials, and the protocols of
the stores that keep credentials and ACLs (a node's files, or a cluster's metadata quorum).

Plain immutable data and protocols; thread-safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Protocol

if TYPE_CHECKING:
    from hub.log.security.acl import AclBinding, AclFilter

#: Kafka's principal for a connection that did not authenticate (PLAINTEXT and SSL without client certificates).
ANONYMOUS: Final = "User:ANONYMOUS"

SCRAM_MECHANISMS: Final = ("SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclass(frozen=True, slots=True)
class ScramCredential:
    """One user's stored SCRAM credential for one mechanism (RFC 5802: no password, only the derived keys)."""

    mechanism: str  # one of SCRAM_MECHANISMS
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int


#: Each user's credentials by mechanism.
Users = Mapping[str, Mapping[str, ScramCredential]]


class ScramCredentials(Protocol):
    """Where the SASL authenticator looks a SCRAM user up; None when the user has no credential for it."""

    def lookup(self, user: str, mechanism: str) -> ScramCredential | None: ...


class ScramCredentialAdmin(ScramCredentials, Protocol):
    """The SCRAM admin APIs' view of the credentials: every user's, and changes applied together."""

    def users(self) -> Users: ...

    def alter(
        self, deletions: Iterable[tuple[str, str]], upsertions: Iterable[tuple[str, ScramCredential]]
    ) -> None: ...


class AclBindings(Protocol):
    """The ACLs the authorizer enforces and the ACL APIs change."""

    def acls(self) -> tuple[AclBinding, ...]: ...

    def matching(self, acl_filter: AclFilter) -> list[AclBinding]: ...

    def add(self, bindings: Iterable[AclBinding]) -> None: ...

    def remove(self, filters: Iterable[AclFilter]) -> list[list[AclBinding]]: ...
