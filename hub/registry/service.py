"""SchemaRegistry: Confluent Schema Registry's operations over a replayed ``_schemas`` log.

Reads answer from ``RegistryState`` (the log replayed into memory). Writes — registering, deleting, setting a
compatibility level or a mode — go through one lock in this process and the write gate (in a cluster only the
leader writes: elsewhere the gate raises NotLeaderError and the REST layer forwards the request there, as
Confluent's followers forward to their leader). A write first reads the log to its end, so it sees every earlier
write, decides, sends its records, and reads to the end again so its answer is what the log holds. Ids come from
the highest id the log holds, so they stay unique as long as one writer at a time assigns them, which the gate
ensures; a schema already registered under any subject keeps its id.

Thread-safety: any method may be called from any thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from hub.registry import compatibility, errors, formats
from hub.registry.formats import SCHEMA_TYPES, ParsedSchema
from hub.registry.records import (
    Reference,
    SchemaRecord,
    config_key,
    encode_config,
    encode_mode,
    encode_schema,
    mode_key,
    schema_key,
)
from hub.registry.requests import SchemaRequest, check_subject
from hub.registry.resolver import SchemaResolver
from hub.registry.state import RegistryState
from hub.runtime.stores.key_value_log import KeyValueLog, RecordCallback

MODES = ("READWRITE", "READONLY", "IMPORT")
DEFAULT_MODE = "READWRITE"
TIMEOUT_S = 30.0


class SchemaRegistry:
    """Confluent Schema Registry's model over a log of its records (see the module docstring)."""

    def __init__(self, make_log: Callable[[RecordCallback], KeyValueLog], *, gate: Callable[[], None] | None = None):
        self.state = RegistryState()
        self.resolver = SchemaResolver(self.state)
        self._log = make_log(self.state.apply)
        self._gate = gate or (lambda: None)
        self._write_lock = threading.Lock()

    def start(self, timeout_s: float = 60.0) -> None:
        """Replay the log; the registry answers once this returns."""
        self._log.start(timeout_s)

    def stop(self) -> None:
        self._log.stop()

    # --- reads -------------------------------------------------------------------------------------------------

    @staticmethod
    def schema_types() -> list[str]:
        """The schema types this Hub can parse (those whose library is installed), in Confluent's order."""
        return [t for t in sorted(SCHEMA_TYPES, reverse=True) if formats.available(t)]

    def subjects(self, *, prefix: str = "", deleted: bool = False) -> list[str]:
        return [s for s in self.state.subjects(deleted=deleted) if s.startswith(prefix)]

    def versions(self, subject: str, *, deleted: bool = False) -> list[int]:
        found = self.state.versions(subject, deleted=deleted)
        if not found:
            raise errors.subject_not_found(subject)
        return [r.version for r in found]

    def version(self, subject: str, version: int | None, *, deleted: bool = False) -> SchemaRecord:
        """A version of a subject (None: the latest live one)."""
        kept = self.state.versions(subject, deleted=True)
        if not kept or (not deleted and all(r.deleted for r in kept)):
            raise errors.subject_not_found(subject)
        if version is None:
            live = [r for r in kept if deleted or not r.deleted]
            return live[-1]
        for record in kept:
            if record.version == version and (deleted or not record.deleted):
                return record
        raise errors.version_not_found(version)

    def schema_by_id(self, schema_id: int, *, subject: str | None = None) -> SchemaRecord:
        holders = self.state.holders(schema_id)
        if subject:
            holders = [r for r in holders if r.subject == subject] or holders
        if not holders:
            raise errors.schema_not_found(schema_id)
        return holders[0]

    def formatted(self, record: SchemaRecord, fmt: str | None) -> str:
        """The schema's text in the format a client asks for: ``serialized`` is a Protobuf schema's descriptor in
        base64 (what confluent-kafka's Protobuf serdes read); any other format is the kept text."""
        if fmt == "serialized" and record.schema_type == "PROTOBUF":
            from hub.registry.formats.protobuf import ProtobufSchema

            parsed = self.resolver.parse_record(record)
            assert isinstance(parsed, ProtobufSchema)
            return parsed.serialized()
        return record.schema

    def id_versions(self, schema_id: int, *, deleted: bool = False) -> list[SchemaRecord]:
        holders = self.state.holders(schema_id)
        if not holders:
            raise errors.schema_not_found(schema_id)
        return [r for r in holders if deleted or not r.deleted]

    def schemas(self, *, prefix: str = "", deleted: bool = False, latest_only: bool = False) -> list[SchemaRecord]:
        found = [r for r in self.state.all_records() if r.subject.startswith(prefix) and (deleted or not r.deleted)]
        if latest_only:
            latest: dict[str, SchemaRecord] = {}
            for record in found:
                latest[record.subject] = record
            found = list(latest.values())
        return found

    def referenced_by(self, subject: str, version: int | None) -> list[int]:
        record = self.version(subject, version)
        return sorted({r.id for r in self._referrers(record.subject, record.version)})

    def lookup(self, subject: str, request: SchemaRequest, *, normalize: bool, deleted: bool) -> SchemaRecord:
        """The version of ``subject`` holding the schema of ``request``."""
        check_subject(subject)
        kept = self.state.versions(subject, deleted=deleted)
        if not kept:
            raise errors.subject_not_found(subject)
        new = self._parse_request(request)
        found = self._same_schema(new, request, kept, normalize=normalize)
        if found is None:
            raise errors.schema_not_found()
        return found

    def compatibility(self, subject: str | None, *, fallback: bool = False) -> str | None:
        """The subject's level (None: global); with ``fallback``, the level that applies to it."""
        level = self.state.compatibility(subject)
        if level is None and fallback:
            level = self.state.compatibility(None) if subject is not None else None
            level = level or compatibility.DEFAULT_LEVEL
        return level

    def mode(self, subject: str | None, *, fallback: bool = False) -> str | None:
        mode = self.state.mode(subject)
        if mode is None and fallback:
            mode = (self.state.mode(None) if subject is not None else None) or DEFAULT_MODE
        return mode

    def test_compatibility(
        self, subject: str, version: int | None, request: SchemaRequest, *, all_versions: bool
    ) -> list[str]:
        """Why the schema of ``request`` could not be registered after the given version (``all_versions``: after
        the versions its level checks) of ``subject``; empty when it could."""
        check_subject(subject)
        new = self._parse_request(request)
        level = self.compatibility(subject, fallback=True) or compatibility.DEFAULT_LEVEL
        if all_versions:
            previous = self.state.versions(subject)
        else:
            previous = [self.version(subject, version)]
            level = level.removesuffix("_TRANSITIVE")
        return compatibility.check(level, new, [self.resolver.parse_record(r) for r in previous])

    # --- writes ------------------------------------------------------------------------------------------------

    def register(self, subject: str, request: SchemaRequest, *, normalize: bool = False) -> SchemaRecord:
        """Register a schema under ``subject``: the version that holds it (a new one when none does)."""
        check_subject(subject)
        with self._writing():
            mode = self.mode(subject, fallback=True)
            if mode == "READONLY":
                raise errors.not_permitted(f"Subject {subject} is in read-only mode")
            if (request.id is not None or request.version is not None) and mode != "IMPORT":
                raise errors.not_permitted(
                    f"Subject {subject} is not in import mode: a schema's id and version can only be given in "
                    "IMPORT mode"
                )
            new = self._parse_request(request)
            references = tuple(self._pinned(request.references))
            text = new.normalized() if normalize else new.canonical()
            live = self.state.versions(subject)
            existing = self._same_schema(new, request, live, normalize=normalize)
            if existing is not None and request.id in (None, existing.id):
                return existing
            if mode != "IMPORT":
                level = self.compatibility(subject, fallback=True) or compatibility.DEFAULT_LEVEL
                problems = compatibility.check(level, new, [self.resolver.parse_record(r) for r in live])
                if problems:
                    raise errors.incompatible(subject, problems)
            schema_id = self._id_for(request, text, references)
            version = request.version or self.state.latest_version_number(subject) + 1
            if request.version is not None and any(
                r.version == version for r in self.state.versions(subject, deleted=True)
            ):
                raise errors.not_permitted(f"Subject {subject} already has a version {version}")
            record = SchemaRecord(subject, version, schema_id, request.schema_type, text, references)
            self._write([encode_schema(record)])
            return record

    def delete_subject(self, subject: str, *, permanent: bool) -> list[int]:
        """Soft delete a subject's live versions, or (``permanent``) drop its soft deleted ones for good."""
        check_subject(subject)
        with self._writing():
            self._writable(subject)
            kept = self.state.versions(subject, deleted=True)
            if not kept:
                raise errors.subject_not_found(subject)
            live = [r for r in kept if not r.deleted]
            if permanent:
                if live:
                    raise errors.subject_not_soft_deleted(subject)
                self._no_referrers(kept)
                writes: list[tuple[bytes, bytes | None]] = [(schema_key(r.subject, r.version), None) for r in kept]
                writes += [(config_key(subject), None), (mode_key(subject), None)]
                self._write(writes)
                return [r.version for r in kept]
            if not live:
                raise errors.subject_soft_deleted(subject)
            self._no_referrers(live)
            self._write([encode_schema(_deleted(r)) for r in live])
            return [r.version for r in live]

    def delete_version(self, subject: str, version: int | None, *, permanent: bool) -> int:
        check_subject(subject)
        with self._writing():
            self._writable(subject)
            kept = self.state.versions(subject, deleted=True)
            if not kept:
                raise errors.subject_not_found(subject)
            if version is None:
                live = [r for r in kept if not r.deleted]
                if not live and not permanent:
                    raise errors.subject_not_found(subject)
                target = (live or kept)[-1]
            else:
                matching = [r for r in kept if r.version == version]
                if not matching:
                    raise errors.version_not_found(version)
                target = matching[0]
            if permanent and not target.deleted:
                raise errors.version_not_soft_deleted(subject, target.version)
            if not permanent and target.deleted:
                raise errors.version_soft_deleted(subject, target.version)
            self._no_referrers([target])
            if permanent:
                self._write([(schema_key(target.subject, target.version), None)])
            else:
                self._write([encode_schema(_deleted(target))])
            return target.version

    def set_compatibility(self, subject: str | None, level: object) -> str:
        if not isinstance(level, str) or level.upper() not in compatibility.LEVELS:
            raise errors.invalid_compatibility_level(level)
        if subject is not None:
            check_subject(subject)
        with self._writing():
            self._write([encode_config(subject, level.upper())])
        return level.upper()

    def delete_compatibility(self, subject: str | None) -> str:
        """Remove a subject's level (or reset the global one); the level it had."""
        with self._writing():
            level = self.state.compatibility(subject)
            if subject is not None and level is None:
                raise errors.compatibility_not_configured(subject)
            self._write([(config_key(subject), None)])
        return level or compatibility.DEFAULT_LEVEL

    def set_mode(self, subject: str | None, mode: object, *, force: bool = False) -> str:
        if not isinstance(mode, str) or mode.upper() not in MODES:
            raise errors.invalid_mode(mode)
        if subject is not None:
            check_subject(subject)
        mode = mode.upper()
        with self._writing():
            if mode == "IMPORT" and not force:
                holding = (
                    self.state.subjects(deleted=True) if subject is None else self.state.versions(subject, deleted=True)
                )
                if holding:
                    raise errors.not_permitted(
                        "Cannot import since found existing subjects"
                        if subject is None
                        else f"Cannot import since subject {subject} has versions; use force=true to switch anyway"
                    )
            self._write([encode_mode(subject, mode)])
        return mode

    def delete_mode(self, subject: str) -> str:
        check_subject(subject)
        with self._writing():
            mode = self.state.mode(subject)
            if mode is None:
                raise errors.mode_not_configured(subject)
            self._write([(mode_key(subject), None)])
        return mode

    # --- helpers -----------------------------------------------------------------------------------------------

    def _writing(self) -> _Writing:
        return _Writing(self)

    def _writable(self, subject: str) -> None:
        if self.mode(subject, fallback=True) == "READONLY":
            raise errors.not_permitted(f"Subject {subject} is in read-only mode")

    def _parse_request(self, request: SchemaRequest) -> ParsedSchema:
        return self.resolver.parse(request.schema_type, request.schema, request.references)

    def _pinned(self, references: Iterable[Reference]) -> Iterable[Reference]:
        """References with "latest" (-1) replaced by the version it names now."""
        for reference in references:
            yield Reference(reference.name, reference.subject, self.resolver.resolve(reference).version)

    def _same_schema(
        self, new: ParsedSchema, request: SchemaRequest, candidates: list[SchemaRecord], *, normalize: bool
    ) -> SchemaRecord | None:
        references = tuple(self._pinned(request.references))
        for record in reversed(candidates):
            if record.schema_type != new.schema_type or record.references != references:
                continue
            if record.schema == new.canonical() or record.schema == new.normalized():
                return record
            if normalize and self.resolver.parse_record(record).normalized() == new.normalized():
                return record
        return None

    def _id_for(self, request: SchemaRequest, text: str, references: tuple[Reference, ...]) -> int:
        same = [
            r
            for r in self.state.all_records()
            if r.schema_type == request.schema_type and r.schema == text and r.references == references
        ]
        if request.id is not None:
            holders = self.state.holders(request.id)
            if holders and not any(r.schema == text and r.schema_type == request.schema_type for r in holders):
                raise errors.RegistryError(
                    errors.ID_DOES_NOT_MATCH,
                    f"Schema id {request.id} already holds another schema: an imported schema needs an id of its own",
                )
            return request.id
        if same:
            return same[0].id
        return self.state.max_id + 1

    def _referrers(self, subject: str, version: int) -> list[SchemaRecord]:
        return [
            r
            for r in self.state.all_records()
            if not r.deleted and any(ref.subject == subject and ref.version == version for ref in r.references)
        ]

    def _no_referrers(self, targets: Iterable[SchemaRecord]) -> None:
        for target in targets:
            referrers = [r for r in self._referrers(target.subject, target.version) if r.subject != target.subject]
            if referrers:
                ids = ", ".join(str(r.id) for r in referrers)
                raise errors.reference_exists(
                    f"One or more references exist to the schema {{subject={target.subject}, "
                    f"version={target.version}}}: schema id(s) {ids}"
                )

    def _write(self, writes: Sequence[tuple[bytes, bytes | None]]) -> None:
        try:
            futures = [self._log.send(key, value) for key, value in writes]
            self._log.flush(TIMEOUT_S)
            for future in futures:
                future.result(TIMEOUT_S)
            self._log.read_to_end(TIMEOUT_S)
        except errors.RegistryError:
            raise
        except Exception as exc:
            raise errors.store_error(f"Error while writing to the schemas topic: {exc}") from exc


class _Writing:
    """The context of one write: the gate passed, the process's write lock held, the log read to its end."""

    def __init__(self, registry: SchemaRegistry) -> None:
        self._registry = registry

    def __enter__(self) -> None:
        self._registry._gate()
        self._registry._write_lock.acquire()
        try:
            self._registry._log.read_to_end(TIMEOUT_S)
        except Exception as exc:
            self._registry._write_lock.release()
            raise errors.store_error(f"Error while reading the schemas topic: {exc}") from exc

    def __exit__(self, *exc_info: object) -> None:
        self._registry._write_lock.release()


def _deleted(record: SchemaRecord) -> SchemaRecord:
    return SchemaRecord(
        record.subject, record.version, record.id, record.schema_type, record.schema, record.references, True
    )
