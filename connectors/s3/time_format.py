"""PathFormat: Joda-Time ``DateTimeFormat`` patterns, as Confluent's time-based partitioners write ``path.format``.

A pattern is letters naming fields (``YYYY``, ``MM``, ``dd``, ``HH``…), text in single quotes (``'year'=``; ``''``
is a quote) and other characters copied as they are. The count of a numeric letter is its minimum number of digits
(``yy`` is the two-digit year); for month (``M``) and day-of-week (``E``) names, three letters give the short name
and four the full one. Supported letters: G C Y y x w e E D M d a K h H k m s S Z z. Names are English: a pattern
with names and a locale of another language is refused when compiled.

Immutable once compiled; safe to share between threads.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_TEXT_LETTERS = frozenset("GEaz")


def _number(value: int, count: int) -> str:
    return str(value).zfill(count)


def _year(value: int, count: int) -> str:
    return _number(value % 100, 2) if count == 2 else _number(value, count)


def _hour12(moment: dt.datetime) -> int:
    return moment.hour % 12


def _month(moment: dt.datetime, count: int) -> str:
    if count >= 4:
        return _MONTHS[moment.month - 1]
    if count == 3:
        return _MONTHS[moment.month - 1][:3]
    return _number(moment.month, count)


def _fraction(moment: dt.datetime, count: int) -> str:
    millis = f"{moment.microsecond // 1000:03d}"
    return millis[:count] if count <= 3 else millis + "0" * (count - 3)


def _offset(moment: dt.datetime, count: int) -> str:
    if count >= 3:
        return str(moment.tzinfo) if moment.tzinfo is not None else "UTC"
    delta = moment.utcoffset() or dt.timedelta(0)
    minutes = int(delta.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    hours, minute = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}{':' if count == 2 else ''}{minute:02d}"


_FIELDS: dict[str, Callable[[dt.datetime, int], str]] = {
    "G": lambda m, c: "AD",
    "C": lambda m, c: _number(m.year // 100, c),
    "Y": lambda m, c: _year(m.year, c),
    "y": lambda m, c: _year(m.year, c),
    "x": lambda m, c: _year(m.isocalendar()[0], c),
    "w": lambda m, c: _number(m.isocalendar()[1], c),
    "e": lambda m, c: _number(m.isoweekday(), c),
    "E": lambda m, c: _DAYS[m.weekday()] if c >= 4 else _DAYS[m.weekday()][:3],
    "D": lambda m, c: _number(m.timetuple().tm_yday, c),
    "M": _month,
    "d": lambda m, c: _number(m.day, c),
    "a": lambda m, c: "AM" if m.hour < 12 else "PM",
    "K": lambda m, c: _number(_hour12(m), c),
    "h": lambda m, c: _number(_hour12(m) or 12, c),
    "H": lambda m, c: _number(m.hour, c),
    "k": lambda m, c: _number(m.hour or 24, c),
    "m": lambda m, c: _number(m.minute, c),
    "s": lambda m, c: _number(m.second, c),
    "S": _fraction,
    "Z": _offset,
    "z": lambda m, c: m.tzname() or "UTC",
}

Part = str | tuple[Callable[[dt.datetime, int], str], int]


class PathFormat:
    """A compiled pattern; ``format(moment)`` writes a datetime (in the zone it carries) with it."""

    def __init__(self, pattern: str, locale: str = "en") -> None:
        self.pattern = pattern
        self.parts, uses_text = _compile(pattern)
        language = locale.replace("_", "-").split("-")[0].lower()
        if uses_text and language not in ("", "en"):
            raise ValueError(
                f"path.format {pattern!r} writes month or day names, which Hub has only in English; "
                f"use numbers or an English locale instead of {locale!r}"
            )

    def format(self, moment: dt.datetime) -> str:
        return "".join(part if isinstance(part, str) else part[0](moment, part[1]) for part in self.parts)


def _compile(pattern: str) -> tuple[list[Part], bool]:
    parts: list[Part] = []
    uses_text = False
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "'":
            end = index + 1
            text = []
            while end < len(pattern):
                if pattern[end] == "'":
                    if end + 1 < len(pattern) and pattern[end + 1] == "'":
                        text.append("'")
                        end += 2
                        continue
                    break
                text.append(pattern[end])
                end += 1
            else:
                raise ValueError(f"path.format {pattern!r} has an unclosed quote")
            parts.append("".join(text) if end > index + 1 else "'")
            index = end + 1
            continue
        if char.isascii() and char.isalpha():
            count = 1
            while index + count < len(pattern) and pattern[index + count] == char:
                count += 1
            field = _FIELDS.get(char)
            if field is None:
                raise ValueError(f"path.format {pattern!r}: pattern letter {char!r} is not supported")
            uses_text = uses_text or char in _TEXT_LETTERS or (char == "M" and count >= 3)
            parts.append((field, count))
            index += count
            continue
        parts.append(char)
        index += 1
    return parts, uses_text
