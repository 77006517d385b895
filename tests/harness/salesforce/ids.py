"""Salesforce record ids: 15 case-sensitive characters (a 3-character key prefix, then a base-62 number) and the
3-character suffix that makes the 18-character, case-insensitive form the APIs return.

Thread-safety: :class:`IdAllocator` hands out ids under a lock, so two threads never get the same one.
"""

from __future__ import annotations

import itertools
import string
import threading

BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
SUFFIX_ALPHABET = string.ascii_uppercase + "012345"
POD = "5g"  # the two characters after the key prefix: the instance the record was created on


def to_18(id15: str) -> str:
    """The 18-character form: each 5-character chunk adds one letter encoding which of its characters are upper
    case."""
    if len(id15) != 15:
        raise ValueError(f"a 15-character id is needed, got {id15!r}")
    suffix = ""
    for chunk in range(3):
        bits = 0
        for position, char in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= char <= "Z":
                bits |= 1 << position
        suffix += SUFFIX_ALPHABET[bits]
    return id15 + suffix


def normalize(record_id: str) -> str | None:
    """The 18-character id for a 15-character one, or for an 18-character one in any letter case (its suffix says
    which letters are upper case, which is what makes the 18-character form case-insensitive); else None."""
    if len(record_id) == 15 and record_id.isalnum():
        return to_18(record_id)
    if len(record_id) != 18 or not record_id.isalnum():
        return None
    restored = []
    for chunk, letter in enumerate(record_id[15:].upper()):
        position = SUFFIX_ALPHABET.find(letter)
        if position < 0:
            return None
        for offset, char in enumerate(record_id[chunk * 5 : chunk * 5 + 5]):
            restored.append(char.upper() if position >> offset & 1 else char.lower())
    candidate = to_18("".join(restored))
    return candidate if candidate.lower() == record_id.lower() else None


def base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rest = divmod(number, 62)
        digits = BASE62[rest] + digits
    return digits.rjust(width, "0")


class IdAllocator:
    """Allocates ids in creation order (an id's 15-character form sorts in the order ids were made)."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self, key_prefix: str) -> str:
        with self._lock:
            number = next(self._counter)
        return to_18(key_prefix + POD + base62(number, 10))
