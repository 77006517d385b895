"""Small crash-safe state files: versioned JSON checkpoints and Kafka's leader-epoch checkpoint.

Every file is replaced atomically: written to ``NAME.tmp``, fsynced, renamed over ``NAME``, and the directory
fsynced, so a crash leaves the old or the new content, never a mix (recovery removes stray ``.tmp`` files).

Layouts::

    partition.checkpoint      {"version": 1, "recovery_point": N, "log_start_offset": M}
    topics.json               {"version": 1, "topics": {...}}            (hub.log.store)
    leader-epoch-checkpoint   text, as Kafka writes it: a version line (0), a count line, then one
                              "EPOCH START_OFFSET" line per epoch, in increasing order

A file from a newer format version is refused with a ValueError naming the file. Pure functions; thread-safe as
long as callers do not write the same file concurrently.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
EPOCH_FORMAT_VERSION = 0


def fsync_dir(path: Path) -> None:
    """Make renames and creations inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` via a temporary file, fsync, rename and fsync of the directory."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)


def write_json_atomically(path: Path, data: Any) -> None:
    write_atomically(path, json.dumps(data))


def read_versioned_json(path: Path) -> dict[str, Any] | None:
    """The content of a versioned JSON file, None when missing; ValueError when unreadable or from a newer Hub."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("version"), int):
        raise ValueError(f"{path}: no format version")
    if data["version"] > FORMAT_VERSION:
        raise ValueError(f"{path}: format version {data['version']} is newer than this Hub understands")
    return data


def write_epoch_checkpoint(path: Path, epochs: list[tuple[int, int]]) -> None:
    lines = [str(EPOCH_FORMAT_VERSION), str(len(epochs)), *(f"{epoch} {start}" for epoch, start in epochs)]
    write_atomically(path, "\n".join(lines) + "\n")


def read_epoch_checkpoint(path: Path) -> list[tuple[int, int]]:
    """``[(epoch, start_offset), ...]`` from a leader-epoch checkpoint; [] when missing; ValueError when bad."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    try:
        version, count = int(lines[0]), int(lines[1])
        if version != EPOCH_FORMAT_VERSION:
            raise ValueError(f"unknown version {version}")
        entries = [line.split() for line in lines[2:] if line.strip()]
        if len(entries) != count:
            raise ValueError(f"{count} entries announced, {len(entries)} present")
        return [(int(epoch), int(start)) for epoch, start in entries]
    except (IndexError, ValueError) as exc:
        raise ValueError(f"{path}: not a leader-epoch checkpoint ({exc})") from None
