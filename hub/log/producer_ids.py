"""Producer id allocation for InitProducerId: unique for the life of the data directory, crash or not.

Ids are handed out from blocks of ``block_size``; the end of the current block is written durably to
``producer-ids.json`` (``{"version": 1, "next_block_start": N}``) before any id of it is used, so after a crash
the next process starts above every id that could have been given out (unused ids of the block are skipped).

Thread-safe.
"""

from __future__ import annotations

import threading
from pathlib import Path

from hub.log.checkpoint import read_versioned_json, write_json_atomically

FILE_NAME = "producer-ids.json"
FORMAT_VERSION = 1


class ProducerIdAllocator:
    """Allocates producer ids from durable blocks (see the module docstring)."""

    def __init__(self, data_dir: Path, *, block_size: int = 1000) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.block_size = block_size
        self._lock = threading.Lock()
        self._next = 0
        self._block_end = 0
        self._loaded = False

    def _load(self) -> None:
        try:
            data = read_versioned_json(self.path) or {}
        except ValueError as exc:
            raise ValueError(f"cannot read producer ids: {exc}") from None
        start = data.get("next_block_start", 0)
        if not isinstance(start, int) or start < 0:
            raise ValueError(f"{self.path}: next_block_start must be a non-negative integer, got {start!r}")
        self._next = self._block_end = start
        self._loaded = True

    def allocate(self) -> int:
        """A producer id never handed out before in this data directory."""
        with self._lock:
            if not self._loaded:
                self._load()
            if self._next >= self._block_end:
                self._block_end = self._next + self.block_size
                write_json_atomically(self.path, {"version": FORMAT_VERSION, "next_block_start": self._block_end})
            allocated = self._next
            self._next += 1
            return allocated
