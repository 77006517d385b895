"""Uploads: sealed objects go to S3 whole or not at all, on a background thread, in the order they were sealed.

An object no larger than ``s3.part.size`` is one PUT; a larger one is a multipart upload of ``s3.part.size``
parts, aborted when a part fails. Either way S3 shows the object only once it is complete, so a reader (or a
restarted task) never sees part of one.

The sink seals objects a *rotation* at a time: every open object of a topic partition, together with the offset
after their last record. ``UploadPipeline`` uploads rotations on one daemon thread while the task thread encodes
the next records, and tracks, per topic partition, the end offset of the longest run of uploaded rotations —
the only offset the task may commit. At most ``max_in_flight`` rotations wait or upload at once; sealing
another waits for the oldest, which bounds memory to the rotations in flight plus the objects being written.

A rotation that failed is kept: a transient failure is reported as RetriableError (the runtime redelivers the
batch after ``retry.backoff.ms``) and uploaded again at the next check, a permanent one is reported as
ConnectorError every time until the task stops. Methods are called by the task thread; the worker thread only
uploads and marks rotations done.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from connectors.s3.buffer import SpillBuffer
from connectors.s3.storage import S3Bucket
from hub.sdk.errors import ConnectError, ConnectorError, RetriableError
from hub.sdk.switching import prompt_switching

log = logging.getLogger(__name__)

TopicPartition = tuple[str, int]


@dataclass
class SealedObject:
    """A finished object waiting for its upload."""

    key: str
    buffer: SpillBuffer
    records: int


@dataclass(eq=False)
class Rotation:
    """The objects that complete one stretch of a topic partition, up to (not including) ``end_offset``."""

    tp: TopicPartition
    end_offset: int
    objects: list[SealedObject]
    done: threading.Event = field(default_factory=threading.Event)
    error: ConnectError | None = None
    uploaded: int = 0  # objects already in S3 (a retry starts after them)
    retry_due: bool = False  # a transient failure was reported: the next check uploads it again

    def release(self) -> None:
        for sealed in self.objects:
            sealed.buffer.release()


def upload_object(bucket: S3Bucket, sealed: SealedObject, part_size: int, extra: Mapping[str, str]) -> None:
    """Make ``sealed`` appear in the bucket, complete, or raise (leaving nothing visible)."""
    buffer = sealed.buffer
    if buffer.size <= part_size:
        bucket.put_object(sealed.key, buffer.getvalue(), extra)
        return
    upload_id = bucket.create_multipart_upload(sealed.key, extra)
    try:
        etags = [
            bucket.upload_part(sealed.key, upload_id, number, part)
            for number, part in enumerate(buffer.parts(part_size), 1)
        ]
        bucket.complete_multipart_upload(sealed.key, upload_id, etags)
    except BaseException:
        bucket.abort_multipart_upload(sealed.key, upload_id)
        raise


class UploadPipeline:
    """Uploads rotations in the background and says how far each topic partition is in S3."""

    def __init__(self, bucket: S3Bucket, part_size: int, extra: Mapping[str, str], *, max_in_flight: int = 1) -> None:
        self.bucket = bucket
        self.part_size = part_size
        self.extra = dict(extra)
        self.max_in_flight = max_in_flight
        self._rotations: dict[TopicPartition, deque[Rotation]] = {}
        self._durable: dict[TopicPartition, int] = {}
        self._order: deque[Rotation] = deque()  # in flight, oldest first
        self._queue: queue.Queue[Rotation | None] = queue.Queue()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="hub-s3-upload", daemon=True)
        self._thread.start()

    # --- task thread -------------------------------------------------------------------------------------------

    def submit(self, rotation: Rotation) -> None:
        """Queue a rotation, then wait until at most ``max_in_flight`` are in flight; raises a failure found."""
        self._rotations.setdefault(rotation.tp, deque()).append(rotation)
        self._enqueue(rotation)
        while len(self._order) > self.max_in_flight:
            self._order[0].done.wait()
            self._settle()
        self.check()

    def check(self) -> None:
        """Raise the failure of an uploaded rotation, if any (see the module docstring)."""
        self._settle()
        for rotations in self._rotations.values():
            for rotation in rotations:
                if not rotation.done.is_set() or rotation.error is None:
                    continue
                error = rotation.error
                if isinstance(error, RetriableError):
                    if rotation.retry_due:  # reported once; the batch came back after retry.backoff.ms
                        rotation.error, rotation.retry_due = None, False
                        rotation.done.clear()
                        self._enqueue(rotation)
                        continue
                    rotation.retry_due = True
                raise type(error)(str(error)) from error

    def wait(self, partitions: Collection[TopicPartition] | None = None) -> None:
        """Wait until the rotations of these partitions (default: all) are uploaded or failed."""
        for tp, rotations in list(self._rotations.items()):
            if partitions is None or tp in partitions:
                for rotation in list(rotations):
                    rotation.done.wait()
        self._settle()

    def durable(self, tp: TopicPartition) -> int | None:
        """The offset up to which every record of ``tp`` sealed so far is in S3 (None: nothing uploaded yet)."""
        self._settle()
        return self._durable.get(tp)

    def idle(self, tp: TopicPartition) -> bool:
        """Whether no rotation of ``tp`` is waiting, uploading or failed."""
        self._settle()
        return not self._rotations.get(tp)

    def forget(self, partitions: Collection[TopicPartition]) -> None:
        """Drop the state of revoked partitions once their uploads are over (failed ones are dropped too: their
        records were never committed, so whoever reads the partition next writes them again)."""
        self.wait(partitions)
        for tp in partitions:
            for rotation in self._rotations.pop(tp, ()):
                rotation.release()
            self._durable.pop(tp, None)

    def close(self) -> None:
        """Stop the upload thread after its current object; release what was not uploaded."""
        self._closing.set()
        self._queue.put(None)
        for rotations in self._rotations.values():
            for rotation in rotations:
                if rotation.done.is_set():
                    rotation.release()
        self._rotations.clear()
        self._order.clear()

    def _enqueue(self, rotation: Rotation) -> None:
        self._order.append(rotation)
        self._queue.put(rotation)

    def _settle(self) -> None:
        """Move finished rotations out of flight and advance the durable offsets."""
        while self._order and self._order[0].done.is_set():
            self._order.popleft()
        for tp, rotations in self._rotations.items():
            while rotations and rotations[0].done.is_set() and rotations[0].error is None:
                finished = rotations.popleft()
                self._durable[tp] = finished.end_offset

    # --- upload thread -----------------------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            rotation = self._queue.get()
            if rotation is None:
                return
            if self._closing.is_set():
                rotation.release()
                rotation.done.set()
                continue
            try:
                with prompt_switching():  # else each wake from the socket waits out the task thread's 5 ms turn
                    for sealed in rotation.objects[rotation.uploaded :]:
                        upload_object(self.bucket, sealed, self.part_size, self.extra)
                        rotation.uploaded += 1
                        sealed.buffer.release()
            except ConnectError as exc:
                rotation.error = exc
            except Exception as exc:  # a bug or an unexpected library error: fail the task with it
                key = rotation.objects[rotation.uploaded].key
                if not self._closing.is_set():  # when stopping, the client closing under the upload is expected
                    log.exception("uploading %s failed", key)
                rotation.error = ConnectorError(f"uploading {key} failed: {exc}")
            finally:
                rotation.done.set()
