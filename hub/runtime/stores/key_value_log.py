"""KeyValueLog: what the config, offset and status stores write through — a replayed log of key/value records.

Three implementations: ``TopicBackedLog`` (a compacted topic of the store, shared by every worker of a cluster),
``MemoryLog`` (this process only, gone on exit) and ``FileLog`` (this process, kept in a local file: standalone
mode's ``offset.storage.file.filename``). Every record sent, by this process or (for topics) another, reaches
the callback given at construction, in order per key; a None value is a tombstone.
"""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import orjson

from hub.sdk.errors import ConnectorError

RecordCallback = Callable[[bytes, bytes | None], None]

#: Version of the FileLog file format, so a later release can upgrade old files.
FILE_LOG_VERSION = 1


class KeyValueLog(ABC):
    """A log of key/value records replayed into a callback (see the module docstring)."""

    @abstractmethod
    def start(self, timeout_s: float = 60.0) -> None:
        """Replay everything stored so far into the callback, then follow new records."""

    @abstractmethod
    def send(self, key: bytes, value: bytes | None) -> Future[Any]:
        """Write a record; the future resolves once it is stored."""

    @abstractmethod
    def flush(self, timeout_s: float = 30.0) -> None:
        """Block until every record sent so far is stored."""

    @abstractmethod
    def read_to_end(self, timeout_s: float = 30.0) -> None:
        """Block until every record stored before this call went through the callback (read your writes)."""

    @abstractmethod
    def stop(self) -> None:
        """Flush and release resources."""


class MemoryLog(KeyValueLog):
    """Records kept in this process; ``send`` calls the callback at once."""

    def __init__(self, callback: RecordCallback) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self.records: dict[bytes, bytes] = {}

    def start(self, timeout_s: float = 60.0) -> None:
        for key, value in list(self.records.items()):
            self._callback(key, value)

    def send(self, key: bytes, value: bytes | None) -> Future[Any]:
        with self._lock:
            if value is None:
                self.records.pop(key, None)
            else:
                self.records[key] = value
            self._callback(key, value)
        future: Future[Any] = Future()
        future.set_result(None)
        return future

    def flush(self, timeout_s: float = 30.0) -> None:
        """Nothing to wait for."""

    def read_to_end(self, timeout_s: float = 30.0) -> None:
        """Every record is read as it is sent."""

    def stop(self) -> None:
        """Nothing to release."""


class FileLog(MemoryLog):
    """A MemoryLog saved to a JSON file on ``flush`` and ``stop`` (written to a temporary file, then renamed, so a
    crash leaves the previous complete version)."""

    def __init__(self, path: Path, callback: RecordCallback) -> None:
        super().__init__(callback)
        self.path = path

    def start(self, timeout_s: float = 60.0) -> None:
        if self.path.exists():
            try:
                document = orjson.loads(self.path.read_bytes())
                if document.get("version") != FILE_LOG_VERSION:
                    raise ValueError(f"unsupported version {document.get('version')!r}")
                self.records = {bytes.fromhex(key): bytes.fromhex(value) for key, value in document["records"].items()}
            except (ValueError, KeyError, AttributeError, TypeError) as exc:
                raise ConnectorError(f"{self.path} is unreadable ({exc}); move it away to start afresh") from exc
        super().start(timeout_s)

    def flush(self, timeout_s: float = 30.0) -> None:
        with self._lock:
            document = {"version": FILE_LOG_VERSION, "records": {k.hex(): v.hex() for k, v in self.records.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + ".tmp")
        with open(temporary, "wb") as file:
            file.write(orjson.dumps(document))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, self.path)

    def stop(self) -> None:
        self.flush()
