"""Object names, as Confluent's S3 sink writes them, and their parsing for the source.

An object is named ``<topics.dir>/<topic>/<encoded partition>/<topic>+<kafka partition>+<start offset>.<ext>``:
the encoded partition is the partitioner's directory (``partition=0``, ``region=eu``, ``year=2024/month=05``…),
the start offset is the Kafka offset of the object's first record, zero-padded (10 digits by default) so names
sort by offset, and ``+`` and ``/`` are ``file.delim`` and ``directory.delim``. Because a name depends only on
where its first record sits, a task that writes the same records again writes the same names.

Pure functions over immutable values; thread-safe.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ObjectNamer:
    """Builds object names for one layout (``topics.dir``, delimiters, padding, extension)."""

    topics_dir: str
    directory_delim: str
    file_delim: str
    pad_width: int
    extension: str

    def directory(self, topic: str, encoded_partition: str) -> str:
        """``<topics.dir>/<topic>/<encoded partition>``."""
        parts = [self.topics_dir, topic, encoded_partition] if self.topics_dir else [topic, encoded_partition]
        return self.directory_delim.join(parts)

    def key(self, topic: str, encoded_partition: str, partition: int, start_offset: int) -> str:
        """The full name of the object of ``topic``/``partition`` whose first record is at ``start_offset``."""
        delim = self.file_delim
        name = f"{topic}{delim}{partition}{delim}{start_offset:0{self.pad_width}d}{self.extension}"
        return f"{self.directory(topic, encoded_partition)}{self.directory_delim}{name}"


@dataclass(frozen=True, order=True)
class ObjectName:
    """A parsed object name; orders by topic, partition, start offset, then the full key."""

    topic: str
    partition: int
    start_offset: int
    key: str


class NameParser:
    """Recognises the names the sink writes under ``topics.dir`` with one extension."""

    def __init__(self, topics_dir: str, directory_delim: str, file_delim: str, extension: str) -> None:
        self.prefix = f"{topics_dir}{directory_delim}" if topics_dir else ""
        self.directory_delim = directory_delim
        delim = re.escape(file_delim)
        self._pattern = re.compile(
            rf"(?P<topic>.+?){delim}(?P<partition>\d+){delim}(?P<offset>\d+){re.escape(extension)}"
        )

    def parse(self, key: str) -> ObjectName | None:
        """The parts of ``key``, or None for an object the sink did not write."""
        if not key.startswith(self.prefix):
            return None
        name = key.rsplit(self.directory_delim, 1)[-1]
        match = self._pattern.fullmatch(name)
        if match is None:
            return None
        topic = match["topic"]
        if not key[len(self.prefix) :].startswith(topic + self.directory_delim):
            return None
        return ObjectName(topic, int(match["partition"]), int(match["offset"]), key)
