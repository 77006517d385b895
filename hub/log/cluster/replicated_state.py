"""``ReplicatedMetadata``: the Raft plumbing under ``MetadataQuorum`` (pysyncobj, by composition).

pysyncobj's ``SyncObj`` runs on a thread of its own (``doTick``; never its auto-tick thread, which stops when the
thread that created it ends). Committed records are applied in log order by that thread: each swaps in a new
immutable ``ClusterMetadata`` under a lock and queues ``(old, new)`` for the listeners, which one dispatcher
thread calls in order. A command's caller blocks on an event until its record has been applied locally.
Snapshots use pysyncobj's serializer hooks (``storage``), so what is stored is Hub's versioned format.

Raft's messages travel as pickles: anyone who can reach the quorum port can run code in the process unless
``password`` is set (see docs/replication.md, "Metadata quorum"). The port is bound to the voter's own address.

Thread-safe.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from pysyncobj import FAIL_REASON, SyncObj, SyncObjConf, SyncObjConsumer, SyncObjException, replicated

from hub.log.cluster import storage
from hub.log.cluster.codec import apply_command, decode_command, encode_command, new_cluster_id, parse_voters
from hub.log.cluster.metadata import ClusterMetadata
from hub.log.errors import LogError, NotControllerError, QuorumStorageError, QuorumTimeoutError

log = logging.getLogger("hub.log.cluster.quorum")

Listener = Callable[[ClusterMetadata, ClusterMetadata], None]
_CLOSED = -1  # the outcome of commands still waiting when the quorum closes


class _Applier(SyncObjConsumer):  # type: ignore[misc]
    """The replicated state machine: one replicated method, applying Hub's encoded commands."""

    def __init__(self, quorum: ReplicatedMetadata) -> None:
        super().__init__()
        self._quorum = quorum

    @replicated  # type: ignore[untyped-decorator]
    def apply_record(self, record: bytes) -> Any:
        return self._quorum._apply(record)


class ReplicatedMetadata:
    """One node's member of the Raft group replicating ``ClusterMetadata``; see the module docstring."""

    def __init__(
        self,
        node_id: int,
        voters: Mapping[int, str] | str,
        data_dir: str | Path,
        *,
        password: str | None = None,
        command_timeout_s: float = 10.0,
        raft_min_timeout_s: float = 0.3,
        raft_max_timeout_s: float = 0.8,
        log_compaction_min_entries: int = 5000,
    ) -> None:
        self.node_id = node_id
        self.voters = parse_voters(voters) if isinstance(voters, str) else dict(voters)
        #: A node that is not a voter is an observer (Kafka's broker-only node): it receives every committed
        #: command and submits its own through the leader, but neither votes nor leads.
        self.observer = node_id not in self.voters
        self.directory = Path(data_dir) / storage.METADATA_DIR
        self.command_timeout_s = command_timeout_s
        self._password = password
        self._raft_timeouts = (raft_min_timeout_s, raft_max_timeout_s)
        self._compaction = log_compaction_min_entries
        self._by_address = {address: node for node, address in self.voters.items()}
        self._proposed_cluster_id = new_cluster_id()
        self._state = ClusterMetadata()
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._changes: queue.SimpleQueue[tuple[ClusterMetadata, ClusterMetadata] | None] = queue.SimpleQueue()
        self._heartbeats: dict[int, float] = {}
        self._failure: QuorumStorageError | None = None
        self._raft: SyncObj | None = None
        self._applier = _Applier(self)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._pending: set[Callable[[Any, int], None]] = set()

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Check the stored files (QuorumStorageError), bind the quorum port and start Raft."""
        storage.check_files(self.directory, self.node_id)
        low, high = self._raft_timeouts
        period = min(0.1, low / 4)
        conf = SyncObjConf(
            password=self._password,
            autoTick=False,
            raftMinTimeout=low,
            raftMaxTimeout=high,
            appendEntriesPeriod=period,
            connectionTimeout=max(high, 3 * period),
            connectionRetryTime=min(0.5, low),
            leaderFallbackTimeout=max(high, 5 * period),
            appendEntriesUseBatch=False,
            bindAddress=None if self.observer else self.voters[self.node_id],
            maxBindRetries=40,
            bindRetryTime=0.25,
            journalFile=str(self.directory / storage.JOURNAL_FILE),
            fullDumpFile=str(self.directory / storage.SNAPSHOT_FILE),
            serializer=self._write_snapshot,
            deserializer=self._read_snapshot,
            useFork=False,
            logCompactionMinEntries=self._compaction,
            commandsWaitLeader=True,
        )
        me = None if self.observer else self.voters[self.node_id]
        others = [address for node, address in sorted(self.voters.items()) if node != self.node_id]
        try:
            self._raft = SyncObj(me, others, conf=conf, consumers=[self._applier])
        except SyncObjException as exc:
            raise OSError(f"cannot listen on the quorum address {me}: {exc}") from None
        for name, target in (("raft", self._tick_loop), ("listeners", self._dispatch_loop)):
            thread = threading.Thread(target=target, name=f"hub-quorum-{name}-{self.node_id}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def close(self, resign: bool = True) -> None:
        """Hand Raft leadership to a caught-up voter if this node leads (unless ``resign`` is False, which is
        like a crash), then stop Raft (closing its files and port) and the listener thread; commands still
        waiting fail with NotControllerError."""
        if resign and self._raft is not None and not self._stopping.is_set() and self.is_leader():
            self._resign(min(1.0, self.command_timeout_s))
        self._stopping.set()
        self._changes.put(None)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        for callback in list(self._pending):
            callback(None, _CLOSED)

    def _resign(self, timeout_s: float) -> None:
        """Raft's leadership transfer (TimeoutNow), asked of the Raft thread until another voter leads; given up
        when no voter is caught up (pysyncobj denies the transfer then)."""
        assert self._raft is not None
        raft = self._raft
        denied: list[int] = []

        def answer(_: object, error: int) -> None:
            if error != FAIL_REASON.SUCCESS:
                denied.append(error)

        def transfer() -> None:
            if raft._isLeader():
                raft.transferLeadership(callback=answer)

        raft.addOnTickCallback(transfer)
        deadline = time.monotonic() + timeout_s
        while self.is_leader() and time.monotonic() < deadline and len(denied) < 10:
            time.sleep(0.01)
        raft.removeOnTickCallback(transfer)

    def _tick_loop(self) -> None:
        assert self._raft is not None
        try:
            while not self._stopping.is_set():
                try:
                    self._raft.doTick(0.02)
                except Exception:
                    log.exception("quorum node %d: Raft tick failed", self.node_id)
                    time.sleep(0.05)
        finally:
            self._raft.destroy()

    def _dispatch_loop(self) -> None:
        while True:
            change = self._changes.get()
            if change is None:
                return
            for listener in list(self._listeners):
                try:
                    listener(*change)
                except Exception:
                    log.exception("quorum node %d: metadata listener failed", self.node_id)

    # -- state ----------------------------------------------------------------------------------------------

    def snapshot(self) -> ClusterMetadata:
        """The metadata as this node last applied it (immutable)."""
        return self._state

    def add_listener(self, callback: Listener) -> None:
        """Call ``callback(old, new)`` after each applied change, in order, on the dispatcher thread. Changes
        applied before the call are not replayed: read ``snapshot()`` after adding the listener (a change may then
        arrive that the snapshot already holds, so handle ``new`` as the whole truth)."""
        self._listeners.append(callback)

    def last_heartbeat(self, node_id: int) -> float | None:
        """When (time.monotonic) this node applied the broker's latest heartbeat."""
        return self._heartbeats.get(node_id)

    def voter_unreachable(self, node_id: int) -> bool:
        """Whether this node's Raft connection to voter ``node_id`` is down (False for itself, observers and
        while Raft is not running): a process that was killed drops its connections at once."""
        address = self.voters.get(node_id)
        if self._raft is None or address is None or node_id == self.node_id:
            return False
        return int(self._raft.getStatus().get(f"partner_node_status_server_{address}", 2)) == 0

    def is_leader(self) -> bool:
        return self._raft is not None and not self._stopping.is_set() and bool(self._raft._isLeader())

    def leader_id(self) -> int:
        """The Raft leader's node id as this node knows it; -1 if none."""
        leader = self._raft._getLeader() if self._raft is not None else None
        return -1 if leader is None else self._by_address.get(leader.address, -1)

    def _apply(self, record: bytes) -> Any:
        """Apply one committed record (Raft thread): the command's answer, or the LogError it raised."""
        assert self._raft is not None
        try:
            op, args, cluster_id = decode_command(record)
            with self._lock:
                old = self._state
                base = old if old.cluster_id else replace(old, cluster_id=cluster_id)
                try:
                    new, answer = apply_command(base, op, args)
                except LogError as exc:
                    new, answer = base, exc
                if new != old:
                    self._state = replace(new, offset=self._raft.raftLastApplied + 1)
                    self._changes.put((old, self._state))
            if op == "heartbeat" and not isinstance(answer, LogError):
                self._heartbeats[args["node_id"]] = time.monotonic()
            return answer
        except QuorumStorageError as exc:
            self._fail(exc)
            return exc
        except Exception as exc:  # a bug must not stop the Raft thread; every node fails the same way
            log.exception("quorum node %d: applying a metadata command failed", self.node_id)
            return exc

    def _fail(self, exc: QuorumStorageError) -> None:
        log.error("quorum node %d: %s; refusing further commands", self.node_id, exc)
        self._failure = exc

    # -- snapshots (pysyncobj's serializer hooks, on the Raft thread) ---------------------------------------

    def _write_snapshot(self, path: str, data: tuple[Any, ...]) -> None:
        last, previous, cluster = data
        addresses = sorted(getattr(node, "address", str(node)) for node in cluster)
        storage.write_snapshot(path, self._state, tuple(last), tuple(previous), addresses)

    def _read_snapshot(self, path: str) -> tuple[Any, ...]:
        try:
            state, last, previous, cluster = storage.read_snapshot(path)
        except QuorumStorageError as exc:
            self._fail(exc)
            raise
        with self._lock:
            old, self._state = self._state, state
            if state != old:
                self._changes.put((old, state))
        return last, previous, cluster

    # -- commands -------------------------------------------------------------------------------------------

    def _submit(self, op: str, args: dict[str, Any], timeout_s: float | None = None) -> Any:
        if self._failure is not None:
            raise self._failure
        if self._raft is None or self._stopping.is_set():
            raise NotControllerError(f"the metadata quorum of node {self.node_id} is not running")
        done = threading.Event()
        outcome: list[tuple[Any, int]] = []

        def callback(result: Any, error: int) -> None:
            outcome.append((result, error))
            done.set()

        self._pending.add(callback)
        try:
            self._applier.apply_record(encode_command(op, args, self._proposed_cluster_id), callback=callback)
            timeout = self.command_timeout_s if timeout_s is None else timeout_s
            if not done.wait(timeout):
                raise QuorumTimeoutError(f"metadata command {op} was not applied within {timeout:g} s")
        finally:
            self._pending.discard(callback)
        result, error = outcome[0]
        if error == FAIL_REASON.QUEUE_FULL:
            raise QuorumTimeoutError(f"metadata command {op}: the quorum's queue is full")
        if error == _CLOSED:
            raise NotControllerError(f"metadata command {op}: the quorum of node {self.node_id} closed")
        if error != FAIL_REASON.SUCCESS:
            raise NotControllerError(f"metadata command {op} was dropped by a leader change (reason {error})")
        if isinstance(result, BaseException):
            raise result
        return result

    def wait_ready(self, timeout_s: float) -> None:
        """Wait until a leader exists and this node has applied everything committed before now
        (QuorumTimeoutError otherwise); the first command ever committed also fixes the cluster id."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                self._submit("barrier", {}, max(0.05, deadline - time.monotonic()))
                return
            except NotControllerError:
                if time.monotonic() >= deadline:
                    raise QuorumTimeoutError(f"the metadata quorum was not ready within {timeout_s:g} s") from None

    def quorum_status(self) -> dict[str, Any]:
        """What DescribeQuorum answers: leader id, leader epoch (the Raft term), high watermark (the commit
        index) and per voter its log end offset (known on the leader only, else -1) and last fetch (-1)."""
        if self._raft is None:
            raise NotControllerError("the metadata quorum is not running")
        status = self._raft.getStatus()
        leader = self.leader_id()
        commit = int(status["commit_idx"])
        voters = []
        for node, address in sorted(self.voters.items()):
            if node == self.node_id:
                end = commit if leader != self.node_id else max(commit, self._match_max(status))
            else:
                end = int(status.get(f"match_idx_server_{address}", -1)) if leader == self.node_id else -1
            voters.append({"node_id": node, "log_end_offset": end, "last_fetch_timestamp": -1})
        return {
            "leader_id": leader,
            "leader_epoch": int(status["raft_term"]),
            "high_watermark": commit,
            "voters": voters,
            "observers": [],
        }

    @staticmethod
    def _match_max(status: Mapping[str, Any]) -> int:
        return max((int(v) for k, v in status.items() if k.startswith("match_idx_server_")), default=0)
