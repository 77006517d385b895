"""AclStore: the ACL bindings a node enforces, kept in its data directory as ``acls.json``.

Layout: ``{"version": 1, "acls": [{"resource_type": "TOPIC", "resource_name": ..., "pattern_type": "LITERAL",
"principal": "User:alice", "host": "*", "operation": "READ", "permission": "ALLOW"}, ...]}`` (enum names, not
codes, so the file reads well). Every change rewrites the file atomically (``hub.log.checkpoint``) before it is
visible to readers, so an acknowledged change survives a crash and a failed write changes nothing. A file from a
newer Hub is refused.

Thread-safe: changes are serialised by a lock; readers take an immutable snapshot (a tuple) without locking.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from hub.log.checkpoint import FORMAT_VERSION, read_versioned_json, write_json_atomically
from hub.log.security.acl import AclBinding, AclFilter

FILE_NAME: Final = "acls.json"


class AclStore:
    """The node's ACLs (see the module docstring); ``path`` None keeps them in memory only (tests)."""

    def __init__(self, path: Path | None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._acls: tuple[AclBinding, ...] = ()
        if path is not None:
            data = read_versioned_json(path)
            if data is not None:
                try:
                    self._acls = tuple(dict.fromkeys(AclBinding.from_json(entry) for entry in data["acls"]))
                except (KeyError, TypeError, ValueError) as exc:
                    raise ValueError(f"{path}: bad ACL entry ({exc!r})") from None

    @classmethod
    def in_directory(cls, data_dir: Path) -> AclStore:
        return cls(data_dir / FILE_NAME)

    def acls(self) -> tuple[AclBinding, ...]:
        """Every binding, in the order they were created."""
        return self._acls

    def matching(self, acl_filter: AclFilter) -> list[AclBinding]:
        return [acl for acl in self._acls if acl_filter.matches(acl)]

    def add(self, bindings: Iterable[AclBinding]) -> None:
        """Add the bindings not there yet (adding one that exists is no change, as in Kafka)."""
        with self._lock:
            merged = tuple(dict.fromkeys((*self._acls, *bindings)))
            if merged != self._acls:
                self._save(merged)

    def remove(self, filters: Iterable[AclFilter]) -> list[list[AclBinding]]:
        """Remove every binding any of ``filters`` matches; per filter, the bindings it matched."""
        with self._lock:
            matched = [[acl for acl in self._acls if f.matches(acl)] for f in filters]
            gone = {acl for group in matched for acl in group}
            if gone:
                self._save(tuple(acl for acl in self._acls if acl not in gone))
            return matched

    def _save(self, acls: tuple[AclBinding, ...]) -> None:
        if self._path is not None:
            write_json_atomically(self._path, {"version": FORMAT_VERSION, "acls": [acl.to_json() for acl in acls]})
        self._acls = acls
