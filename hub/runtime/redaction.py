"""Keeps values resolved from ``${provider:…}`` references out of every message: validation problems, exception
texts, status traces and log records show the reference as written instead.

The config resolver registers each value a provider returns (and each whole resolved config value) with the
reference text it came from. ``redact()`` replaces every registered value in a text by its reference. The first
registration also installs a logging record factory, so every log record of the process, whoever writes it (the
runtime, a connector, a driver), is redacted before any handler sees it.

Values are matched as they are, stripped of surrounding whitespace, and as they appear inside a ``repr()``
(escaped), which covers how messages usually quote them; as whole words only (``postgres`` is not replaced inside
``postgresql``: a value cut out of a longer word is no longer the value). Values shorter than ``MIN_BARE_LENGTH``
characters are replaced only where they appear quoted (``'v'`` or ``"v"``): bare, they would match inside every
number and word of every message, and a value that short hides nothing anyway.

The registry is process-wide because logging is, and it only grows: a value may show up in a message long after
it was resolved. It holds no more than the values providers returned, which live in memory anyway. Thread-safe.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Final

MIN_BARE_LENGTH: Final = 4


class SecretRedactor:
    """The registry of resolved values and what replaces them (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._replacements: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None
        self._log_records_redacted = False

    def register(self, value: str, reference: str) -> None:
        """Show ``reference`` wherever ``value`` would appear from now on."""
        if value == reference:
            return
        forms: dict[str, str] = {}
        for form in (value, value.strip(), repr(value)[1:-1], repr(value.strip())[1:-1]):
            if not form or form == reference:
                continue
            if len(form) >= MIN_BARE_LENGTH:
                forms.setdefault(form, reference)
            for quote in "'\"":
                forms.setdefault(f"{quote}{form}{quote}", f"{quote}{reference}{quote}")
        with self._lock:
            added = {form: shown for form, shown in forms.items() if form not in self._replacements}
            if not added:
                return
            self._replacements.update(added)
            self._pattern = None
            install = not self._log_records_redacted
            self._log_records_redacted = True
        if install:
            _redact_log_records(self)

    def redact(self, text: str) -> str:
        """``text`` with every registered value replaced by its reference."""
        pattern = self._current_pattern()
        if pattern is None or not text:
            return text
        return pattern.sub(lambda match: self._replacements[match.group(0)], text)

    def _current_pattern(self) -> re.Pattern[str] | None:
        with self._lock:
            if self._pattern is None and self._replacements:
                longest_first = sorted(self._replacements, key=len, reverse=True)
                self._pattern = re.compile("|".join(whole_word(form) for form in longest_first))
            return self._pattern

    def redact_record(self, record: logging.LogRecord) -> None:
        """Redact a log record's message and exception text in place."""
        if self._current_pattern() is None:
            return
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: logging reports it when a handler formats it
            return
        shown = self.redact(message)
        if shown != message:
            record.msg, record.args = shown, None
        if record.exc_info:
            trace = logging.Formatter().formatException(record.exc_info)
            shown = self.redact(trace)
            if shown != trace:  # handlers print exc_text instead: the exception object itself holds the values
                record.exc_text, record.exc_info = shown, None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)


def whole_word(form: str) -> str:
    """A regex matching ``form`` where it is not part of a longer word."""
    before = r"(?<!\w)" if re.match(r"\w", form[0]) else ""
    after = r"(?!\w)" if re.match(r"\w", form[-1]) else ""
    return before + re.escape(form) + after


def _redact_log_records(redactor: SecretRedactor) -> None:
    make_record = logging.getLogRecordFactory()

    def redacted_record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redactor.redact_record(record)
        return record

    logging.setLogRecordFactory(redacted_record)


#: The process's registry; config resolvers register into it.
SECRETS: Final = SecretRedactor()


def redact(text: str) -> str:
    """``text`` with every value resolved so far in this process replaced by its reference."""
    return SECRETS.redact(text)
