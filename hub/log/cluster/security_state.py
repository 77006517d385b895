"""The ACLs and SCRAM credentials in the replicated cluster metadata: their quorum commands, their snapshot form,
and the stores a clustered node's listener uses, which read the metadata this node applied and write through the
quorum — so every node authorizes and authenticates the same way.

Commands (format ``codec.COMMAND_VERSION``): ``create_acls`` / ``delete_acls`` with the exact bindings (the
proposer matches a DeleteAcls filter against its metadata, as Kafka's active controller does), and
``alter_scram`` with deletions ``[user, mechanism]`` and upsertions (the derived credential, never a password).
In a snapshot they are ``"acls"`` (``AclBinding.to_json`` entries) and ``"scram"`` (``users_to_json``); a
snapshot without them (format 1) has none.

Pure functions and thread-safe stores (the quorum serialises the changes; reads take its immutable snapshot).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Final

from hub.log.cluster.metadata import ClusterMetadata
from hub.log.security.acl import AclBinding, AclFilter
from hub.log.security.contracts import ScramCredential, Users
from hub.log.security.scram_credentials import ScramCredentialStore, users_from_json, users_to_json

if TYPE_CHECKING:
    from hub.log.cluster.quorum import MetadataQuorum


def _create_acls(state: ClusterMetadata, args: dict[str, Any]) -> tuple[ClusterMetadata, Any]:
    added = (AclBinding.from_json(entry) for entry in args["acls"])
    return replace(state, acls=tuple(dict.fromkeys((*state.acls, *added)))), None


def _delete_acls(state: ClusterMetadata, args: dict[str, Any]) -> tuple[ClusterMetadata, Any]:
    gone = {AclBinding.from_json(entry) for entry in args["acls"]}
    return replace(state, acls=tuple(acl for acl in state.acls if acl not in gone)), None


def _alter_scram(state: ClusterMetadata, args: dict[str, Any]) -> tuple[ClusterMetadata, Any]:
    users = {user: dict(creds) for user, creds in state.scram.items()}
    for user, mechanism in args["deletions"]:
        users.get(user, {}).pop(mechanism, None)
    for user, mechanism, salt, stored_key, server_key, iterations in args["upsertions"]:
        credential = ScramCredential(
            mechanism, base64.b64decode(salt), base64.b64decode(stored_key), base64.b64decode(server_key), iterations
        )
        users.setdefault(user, {})[mechanism] = credential
    return replace(state, scram={user: creds for user, creds in users.items() if creds}), None


COMMANDS: Final[dict[str, Callable[[ClusterMetadata, dict[str, Any]], tuple[ClusterMetadata, Any]]]] = {
    "create_acls": _create_acls,
    "delete_acls": _delete_acls,
    "alter_scram": _alter_scram,
}


def to_json(state: ClusterMetadata) -> dict[str, Any]:
    return {"acls": [acl.to_json() for acl in state.acls], "scram": users_to_json(state.scram)}


def from_json(data: Mapping[str, Any]) -> tuple[tuple[AclBinding, ...], dict[str, dict[str, ScramCredential]]]:
    acls = tuple(AclBinding.from_json(entry) for entry in data.get("acls", ()))
    return acls, users_from_json(data.get("scram", {}))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class ReplicatedAclStore:
    """The cluster's ACLs as this node applied them (an AclBindings); changes go through the quorum and return once
    applied here."""

    def __init__(self, quorum: MetadataQuorum) -> None:
        self._quorum = quorum

    def acls(self) -> tuple[AclBinding, ...]:
        return self._quorum.snapshot().acls

    def matching(self, acl_filter: AclFilter) -> list[AclBinding]:
        return [acl for acl in self.acls() if acl_filter.matches(acl)]

    def add(self, bindings: Iterable[AclBinding]) -> None:
        self._quorum.security_command("create_acls", {"acls": [acl.to_json() for acl in bindings]})

    def remove(self, filters: Iterable[AclFilter]) -> list[list[AclBinding]]:
        current = self.acls()
        matched = [[acl for acl in current if f.matches(acl)] for f in filters]
        gone = list(dict.fromkeys(acl for group in matched for acl in group))
        if gone:
            self._quorum.security_command("delete_acls", {"acls": [acl.to_json() for acl in gone]})
        return matched


class ReplicatedScramCredentials:
    """The cluster's SCRAM credentials as this node applied them (a ScramCredentialAdmin); changes go through the
    quorum."""

    def __init__(self, quorum: MetadataQuorum) -> None:
        self._quorum = quorum

    def lookup(self, user: str, mechanism: str) -> ScramCredential | None:
        creds = self._quorum.snapshot().scram.get(user)
        return None if creds is None else creds.get(mechanism)

    def users(self) -> Users:
        return self._quorum.snapshot().scram

    def alter(self, deletions: Iterable[tuple[str, str]], upsertions: Iterable[tuple[str, ScramCredential]]) -> None:
        upserted = [
            [user, c.mechanism, _b64(c.salt), _b64(c.stored_key), _b64(c.server_key), c.iterations]
            for user, c in upsertions
        ]
        args = {"deletions": [list(d) for d in deletions], "upsertions": upserted}
        self._quorum.security_command("alter_scram", args)


def import_local_credentials(local: ScramCredentialStore, cluster: ReplicatedScramCredentials) -> list[str]:
    """Move the SCRAM credentials written into a clustered node's data directory while it was stopped (``hub users
    add --data-dir``, how a first admin user is bootstrapped) into the cluster, then empty the file: a credential
    the cluster already has for that user and mechanism stays as it is. The users imported, sorted."""
    known = cluster.users()
    new = [
        (user, credential)
        for user, creds in local.users().items()
        for mechanism, credential in creds.items()
        if mechanism not in known.get(user, {})
    ]
    if new:
        cluster.alter([], new)
    if local.users():
        local.replace_all({})
    return sorted({user for user, _ in new})
