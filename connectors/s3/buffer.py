"""SpillBuffer: the bytes of one object being written — in memory up to a threshold, then in a temporary file.

This is what bounds a sink task's memory: each open object holds at most ``hub.s3.spill.threshold.bytes`` in
memory; past that its bytes move to an anonymous temporary file (deleted by the OS when closed, even after a
crash) and later writes append there. Uploads read the bytes back in parts of ``s3.part.size``.

Written by one thread; once sealed it is only read (the upload thread takes it over). ``release()`` frees it.
"""

from __future__ import annotations

import io
import tempfile
import zlib
from collections.abc import Iterator
from typing import BinaryIO

_CHUNK = 1024 * 1024


class SpillBuffer(io.RawIOBase):
    """An append-only byte sink that spills to disk past ``threshold`` bytes.

    Bytes come back as ``bytearray``s: botocore sends those with one socket write, where it cuts ``bytes`` into
    128 KiB pieces that each wait for the GIL while the task thread encodes records.
    """

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self.threshold = threshold
        self._memory: bytearray | None = bytearray()
        self._file: io.BufferedRandom | None = None
        self.size = 0

    @property
    def spilled(self) -> bool:
        """Whether the bytes are in a temporary file."""
        return self._file is not None

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        length = len(data)
        if self._memory is not None:
            if self.size + length <= self.threshold:
                self._memory += data
                self.size += length
                return length
            self._spill()
        assert self._file is not None
        self._file.write(data)
        self.size += length
        return length

    def _spill(self) -> None:
        assert self._memory is not None
        self._file = tempfile.TemporaryFile(prefix="hub-s3-")  # noqa: SIM115 (owned until release())
        self._file.write(self._memory)
        self._memory = None

    def tell(self) -> int:
        return self.size

    def getvalue(self) -> bytearray:
        """All the bytes (read back from disk when spilled); do not change them."""
        if self._memory is not None:
            return self._memory
        return self._read(0, self.size)

    def parts(self, part_size: int) -> Iterator[bytearray]:
        """The bytes in consecutive pieces of ``part_size`` (the last one shorter)."""
        for start in range(0, self.size, part_size):
            if self._memory is not None:
                yield self._memory[start : start + part_size]
            else:
                yield self._read(start, min(part_size, self.size - start))

    def _read(self, start: int, length: int) -> bytearray:
        assert self._file is not None
        self._file.flush()
        self._file.seek(start)
        data = bytearray(length)
        view = memoryview(data)
        filled = 0
        while filled < length:
            count = self._file.readinto(view[filled:])
            if not count:
                raise OSError(f"the spill file ended after {start + filled} of {start + length} bytes")
            filled += count
        return data

    def release(self) -> None:
        """Free the memory or delete the temporary file."""
        if self._file is not None:
            self._file.close()
            self._file = None
        self._memory = None
        self.size = 0

    def close(self) -> None:
        """Writers close their output when done; the bytes stay until ``release()``."""


class GzipOutput(io.RawIOBase):
    """Compresses what is written into another output (gzip framing with a zero mtime, so the same bytes in give
    the same bytes out)."""

    def __init__(self, out: SpillBuffer, level: int) -> None:
        super().__init__()
        self.out = out
        self._compressor = zlib.compressobj(level, zlib.DEFLATED, 31)

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        compressed = self._compressor.compress(data)
        if compressed:
            self.out.write(compressed)
        return len(data)

    def finish(self) -> None:
        """Write the end of the gzip stream."""
        self.out.write(self._compressor.flush())


def read_chunks(stream: BinaryIO) -> Iterator[bytes]:
    """A binary stream in pieces of about a megabyte."""
    while chunk := stream.read(_CHUNK):
        yield chunk
