"""Reads one sObject for the Bulk API source: a Bulk API 2.0 snapshot, then incremental queries by SystemModstamp.

Phases, per object:

1. **snapshot** — a Bulk API 2.0 ``query`` job selects every bulk-queryable field (``WHERE CreatedDate >=
   salesforce.since`` when set); its results are read page by page (``batch.max.rows`` rows, ``Sforce-Locator``).
   The job's ``createdDate`` (the server's clock) becomes the watermark W the incremental phase starts from.
2. **incremental** — every ``poll.interval.ms`` a REST ``queryAll`` (deleted rows included, with
   ``IsDeleted=true``) selects ``WHERE SystemModstamp >= W - overlap``, sorted by (SystemModstamp, Id). A row whose
   (Id, SystemModstamp) was sent already is skipped; W moves to the newest SystemModstamp. The overlap
   (``hub.salesforce.poll.overlap.ms``) catches rows committed after rows with a later SystemModstamp were read.

Offsets (source partition ``{"object": NAME}``): ``{"phase": "snapshot", "job", "locator", "index", "since"}``
— ``index`` rows of the page at ``locator`` of query job ``job`` were sent; or ``{"phase": "incremental",
"watermark": ISO, "seen": "Id@ms,…"}`` — the rows inside the overlap window already sent, kept in the offset
while there are at most ``MAX_SEEN_IN_OFFSET`` (past that the offset holds none, and a restarted task sends the
window's rows again: at-least-once). A restart inside a snapshot reads the stored job's page again and skips the
rows sent; if the job is gone (Salesforce deletes them after some days) the snapshot starts over.

Used by one task thread; the pages after the first are fetched ahead on a thread of ``page_prefetch``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from itertools import repeat
from operator import itemgetter
from typing import Any

from connectors.salesforce.bulk2 import Bulk2, Page, next_look
from connectors.salesforce.page_prefetch import PagesAhead
from connectors.salesforce.schema import ObjectDescription, datetime_ms, format_datetime, parse_datetime
from connectors.salesforce.session import SalesforceApiError, SalesforceSession
from hub.sdk import SourceRecord, Struct
from hub.sdk.errors import ConnectorError
from hub.sdk.records import NO_HEADERS
from hub.sdk.schema import STRING_SCHEMA, Schema

log = logging.getLogger(__name__)

MAX_SEEN_IN_OFFSET = 100
MODSTAMP = "SystemModstamp"


#: (field name, slot setter) of SourceRecord, in field order: ``source_records`` sets every one of them.
_RECORD_SLOTS = tuple((f.name, getattr(SourceRecord, f.name).__set__) for f in dataclasses.fields(SourceRecord))


def source_records(
    topic: str,
    values: list[Struct],
    schema: Schema,
    keys: list[str],
    timestamps: list[int],
    partition: Mapping[str, Any],
    offsets: list[dict[str, Any]],
) -> list[SourceRecord]:
    """``SourceRecord(topic, value, schema, key, STRING_SCHEMA, None, timestamp, NO_HEADERS, partition, offset)``
    for each (value, key, timestamp, offset), built attribute by attribute over the whole batch with the slots'
    setters (as SourceRecord's own constructor sets them), so no Python frame runs per record."""
    count = len(values)
    columns: dict[str, Iterable[Any]] = {
        "topic": repeat(topic),
        "value": values,
        "value_schema": repeat(schema),
        "key": keys,
        "key_schema": repeat(STRING_SCHEMA),
        "kafka_partition": repeat(None),
        "timestamp": timestamps,
        "headers": repeat(NO_HEADERS),
        "source_partition": repeat(partition),
        "source_offset": offsets,
    }
    made = list(map(SourceRecord.__new__, repeat(SourceRecord, count)))
    for name, set_slot in _RECORD_SLOTS:
        deque(map(set_slot, made, columns[name]), maxlen=0)  # KeyError: SourceRecord has a field added here
    return made


@functools.lru_cache(maxsize=8192)
def _ms(moment: dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


class ObjectReader:
    """The snapshot and incremental reads of one sObject (see the module docstring)."""

    def __init__(
        self,
        session: SalesforceSession,
        sobject: str,
        topic: str,
        *,
        page_rows: int,
        since: str,
        overlap_ms: int,
        poll_interval_ms: int,
        snapshot: bool,
        stored: Mapping[str, Any] | None,
    ) -> None:
        self.session = session
        self.bulk = Bulk2(session)
        self.sobject = sobject
        self.topic = topic
        self.page_rows = page_rows
        self.since = since
        self.overlap_ms = overlap_ms
        self.poll_interval_s = poll_interval_ms / 1000
        self.partition = {"object": sobject}
        self.description: ObjectDescription | None = None
        self.phase = "snapshot" if snapshot else "start"
        self.job_id = ""
        self.job_started: dt.datetime | None = None
        self.page: Page | None = None
        self.locator = ""  # of the page being sent ("" = the first)
        self.index = 0  # rows of that page sent
        self.rows_reader: Callable[[list[list[str]]], list[Struct]] = lambda rows: []
        self.watermark: dt.datetime | None = None
        self.seen: dict[tuple[str, int], None] = {}  # (Id, SystemModstamp ms) sent inside the window
        self.next_query = 0.0
        self.ahead: PagesAhead | None = None  # the following pages of the snapshot job, fetched ahead
        self.snapshot_total = 0  # rows of the snapshot job
        self.sent = 0  # records returned by poll since the task started
        self.job_created = 0.0  # time.monotonic() when the query job was created or found again
        self.job_pause = 0.0  # the wait before the next look at a running query job (bulk2.next_look)
        self.pending: list[SourceRecord] = []
        self._resume(stored)

    def _resume(self, stored: Mapping[str, Any] | None) -> None:
        if not stored:
            return
        if stored.get("phase") == "snapshot":
            self.phase = "resume"
            self.job_id = str(stored.get("job", ""))
            self.locator = str(stored.get("locator", ""))
            self.index = int(stored.get("index", 0))
            self.job_started = parse_datetime(str(stored["since"]))
        elif stored.get("phase") == "incremental":
            self.phase = "incremental"
            self.watermark = parse_datetime(str(stored["watermark"]))
            for entry in filter(None, str(stored.get("seen", "")).split(",")):
                record_id, _, ms = entry.rpartition("@")
                self.seen[(record_id, int(ms))] = None
        else:
            raise ConnectorError(f"stored offset {dict(stored)} of {self.sobject} has no known phase")

    # --- the one entry point -----------------------------------------------------------------------------------

    def poll(self, limit: int) -> list[SourceRecord]:
        """Up to ``limit`` records, or [] when nothing is due (see ``due_in``)."""
        if self.description is None:
            describe = self.session.request("GET", f"sobjects/{self.sobject}/describe").json()
            self.description = ObjectDescription.of(describe, bulk=True)
            if MODSTAMP not in self.description.types:
                raise ConnectorError(f"{self.sobject} has no {MODSTAMP} field to poll by")
        if self.phase == "start":
            self._start_without_snapshot()
        if self.phase == "snapshot":
            self._start_snapshot()
        if self.phase == "resume":
            self._resume_snapshot()
        if self.phase == "waiting":
            self._check_job()
        if self.phase == "reading":
            snapshot = self._read_snapshot(limit)
            self.sent += len(snapshot)
            return snapshot
        if self.phase == "incremental":
            if not self.pending and time.monotonic() >= self.next_query:
                self._query_changes()
            batch, self.pending = self.pending[:limit], self.pending[limit:]
            self.sent += len(batch)
            return batch
        return []

    def progress(self) -> dict[str, Any]:
        """This object's phase and, in a snapshot, the rows of the job and how many were sent."""
        if self.phase in ("reading", "waiting", "snapshot", "resume"):
            return {"phase": "snapshot", "done": self.sent, "total": self.snapshot_total}
        return {"phase": "changes", "sent": self.sent}

    def due_in(self) -> float:
        """Seconds until this object has something to do."""
        if self.phase == "incremental" and not self.pending:
            return max(0.0, self.next_query - time.monotonic())
        return self.job_pause if self.phase == "waiting" else 0.0

    # --- snapshot -----------------------------------------------------------------------------------------------

    def _soql(self, where: Iterable[str] = ()) -> str:
        assert self.description is not None
        conditions = list(where)
        if self.since:
            conditions.insert(0, f"CreatedDate >= {self.since}T00:00:00Z")
        soql = f"SELECT {', '.join(self.description.bulk_fields)} FROM {self.sobject}"
        return soql + (" WHERE " + " AND ".join(conditions) if conditions else "")

    def _start_snapshot(self) -> None:
        job = self.bulk.start_query(self._soql())
        self.job_id = str(job["id"])
        self.job_started = parse_datetime(str(job["createdDate"]))
        self.locator, self.index = "", 0
        self.job_created = time.monotonic()
        self.phase = "waiting"
        log.info("%s: snapshot through Bulk API 2.0 query job %s", self.sobject, self.job_id)

    def _resume_snapshot(self) -> None:
        try:
            info = self.session.request("GET", f"jobs/query/{self.job_id}").json()
        except SalesforceApiError as exc:
            if exc.status != 404:
                raise
            info = {}
        if info.get("state") in (None, "Failed", "Aborted"):
            log.warning("%s: snapshot job %s is gone; the snapshot starts over", self.sobject, self.job_id)
            self._start_snapshot()
            return
        self.phase = "waiting"
        log.info(
            "%s: resuming snapshot job %s at row %d of page %r", self.sobject, self.job_id, self.index, self.locator
        )

    def _check_job(self) -> None:
        info = self.session.request("GET", f"jobs/query/{self.job_id}").json()
        state = info.get("state")
        if state in ("Failed", "Aborted"):
            raise ConnectorError(f"{self.sobject}: snapshot job {self.job_id} {state}: {info.get('errorMessage', '')}")
        if state != "JobComplete":
            self.job_pause = next_look(time.monotonic() - self.job_created)
            return
        self.snapshot_total = int(info.get("numberRecordsProcessed") or 0)
        self._load_page(self.locator)
        self._remember_rows(self.page.rows[: self.index] if self.page else [])
        self.phase = "reading"

    def _load_page(self, locator: str) -> None:
        assert self.description is not None
        ahead = self.ahead
        if ahead is not None and locator and ahead.next_locator == locator:
            page = ahead.take(locator)
        else:
            if ahead is not None:
                ahead.close()
                self.ahead = None
            opened = self.bulk.open_results_page(self.job_id, locator or None, self.page_rows)
            if opened.next_locator is not None:
                # The following pages are fetched (built by the server, sent, parsed) while this one is read and
                # becomes records.
                self.ahead = PagesAhead(self.bulk, self.job_id, opened.next_locator, self.page_rows)
            page = opened.read()
        self.page = page
        self.locator = locator
        self.rows_reader = self.description.rows_reader(page.header)

    def close(self) -> None:
        """Stops fetching ahead."""
        if self.ahead is not None:
            self.ahead.close()

    def _remember_rows(self, rows: list[list[str]]) -> None:
        """Rows already sent inside the overlap window of the snapshot's start go into ``seen``."""
        if not rows or self.page is None or MODSTAMP not in self.page.header:
            return
        id_at, stamp_at = self.page.header.index("Id"), self.page.header.index(MODSTAMP)
        for row in rows:
            self._note(row[id_at], parse_datetime(row[stamp_at]))

    def _note(self, record_id: str, modstamp: dt.datetime) -> None:
        assert self.job_started is not None or self.watermark is not None
        floor = (self.watermark or self.job_started or modstamp) - dt.timedelta(milliseconds=self.overlap_ms)
        if modstamp >= floor:
            self.seen[(record_id, _ms(modstamp))] = None

    def _read_snapshot(self, limit: int) -> list[SourceRecord]:
        assert self.page is not None
        assert self.job_started is not None
        records: list[SourceRecord] = []
        header = self.page.header
        id_at, stamp_at = header.index("Id"), header.index(MODSTAMP)
        since = format_datetime(self.job_started)
        floor_ms = _ms(self.job_started) - self.overlap_ms
        seen, job, topic, partition = self.seen, self.job_id, self.topic, self.partition
        assert self.description is not None
        schema = self.description.schema
        while len(records) < limit:
            if self.index >= len(self.page.rows):
                if self.page.next_locator is None:
                    self._finish_snapshot(records)
                    break
                self._load_page(self.page.next_locator)
                self.index = 0
                header = self.page.header
                id_at, stamp_at = header.index("Id"), header.index(MODSTAMP)
                continue
            start = self.index
            rows = self.page.rows[start : start + limit - len(records)]
            count = len(rows)
            locator = self.locator
            # Column-wide, so the per-row work runs in C: Ids, stamps, what goes into ``seen``, the records. The
            # Ids and stamps are read before ``rows_reader`` turns the rows into the records' values in place.
            ids = list(map(itemgetter(id_at), rows))
            stamps = list(map(datetime_ms, map(itemgetter(stamp_at), rows)))
            values = self.rows_reader(rows)
            if stamps and max(stamps) >= floor_ms:
                seen.update(dict.fromkeys(key for key in zip(ids, stamps, strict=True) if key[1] >= floor_ms))
            offsets = [
                {"phase": "snapshot", "job": job, "locator": locator, "index": index, "since": since}
                for index in range(start + 1, start + count + 1)
            ]
            records += source_records(topic, values, schema, ids, stamps, partition, offsets)
            self.index = start + len(rows)
        return records

    def _finish_snapshot(self, records: list[SourceRecord]) -> None:
        """The last row's offset says the snapshot is done; a restart then goes straight to the incremental phase."""
        self.watermark = self.job_started
        self.phase = "incremental"
        self.next_query = 0.0
        self.page = None
        log.info("%s: snapshot done; polling changes from %s", self.sobject, self.watermark)
        if records:
            last = records[-1]
            records[-1] = last.replace(source_offset=self._incremental_offset())

    def _start_without_snapshot(self) -> None:
        """Changes only: the watermark is the newest SystemModstamp now in the org (the server's clock)."""
        response = self.session.request(
            "GET",
            "queryAll",
            params={"q": f"SELECT Id, {MODSTAMP} FROM {self.sobject} ORDER BY {MODSTAMP} DESC LIMIT 1"},
        ).json()
        rows = response.get("records") or []
        self.watermark = parse_datetime(rows[0][MODSTAMP]) if rows else dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        if rows:
            self.seen[(str(rows[0]["Id"]), _ms(self.watermark))] = None
        self.phase = "incremental"

    # --- incremental --------------------------------------------------------------------------------------------

    def _query_changes(self) -> None:
        assert self.description is not None
        assert self.watermark is not None
        start = self.watermark - dt.timedelta(milliseconds=self.overlap_ms)
        floor = start.replace(microsecond=0)  # SOQL datetimes have whole seconds; an earlier floor only widens
        soql = self._soql([f"{MODSTAMP} >= {floor.strftime('%Y-%m-%dT%H:%M:%SZ')}"])
        rows: list[dict[str, Any]] = []
        body = self.session.request("GET", "queryAll", params={"q": soql}).json()
        rows += body.get("records", [])
        while not body.get("done", True) and body.get("nextRecordsUrl"):
            body = self.session.request("GET", self.session.instance_url + body["nextRecordsUrl"]).json()
            rows += body.get("records", [])
        self.next_query = time.monotonic() + self.poll_interval_s
        changes = []
        for row in rows:
            modstamp = parse_datetime(str(row[MODSTAMP]))
            if modstamp < start or (str(row["Id"]), _ms(modstamp)) in self.seen:
                continue
            changes.append((modstamp, str(row["Id"]), row))
        changes.sort(key=lambda change: (change[0], change[1]))
        for modstamp, record_id, row in changes:
            self.seen[(record_id, _ms(modstamp))] = None
            if modstamp > self.watermark:
                self.watermark = modstamp
            self._prune()
            value = self.description.struct_from_json(row)
            self.pending.append(self._record(record_id, value, modstamp, self._incremental_offset()))

    def _prune(self) -> None:
        assert self.watermark is not None
        floor = _ms(self.watermark) - self.overlap_ms
        if any(ms < floor for _, ms in self.seen):
            self.seen = {key: None for key in self.seen if key[1] >= floor}

    def _incremental_offset(self) -> dict[str, Any]:
        assert self.watermark is not None
        self._prune()
        offset: dict[str, Any] = {"phase": "incremental", "watermark": format_datetime(self.watermark)}
        if len(self.seen) <= MAX_SEEN_IN_OFFSET:
            offset["seen"] = ",".join(f"{record_id}@{ms}" for record_id, ms in self.seen)
        return offset

    def _record(self, record_id: str, value: Struct, modstamp: dt.datetime, offset: dict[str, Any]) -> SourceRecord:
        return SourceRecord(
            topic=self.topic,
            key=record_id,
            key_schema=STRING_SCHEMA,
            value=value,
            value_schema=value.schema,
            timestamp=_ms(modstamp),
            source_partition=self.partition,
            source_offset=offset,
        )
