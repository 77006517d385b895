"""``/admin/loggers``: read and change log levels of this process at runtime, as Connect's endpoint does."""

from __future__ import annotations

import logging
import time

LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "WARNING", "ERROR", "FATAL", "OFF")
_PYTHON_LEVEL = {
    "TRACE": logging.DEBUG,
    "WARN": logging.WARNING,
    "FATAL": logging.CRITICAL,
    "OFF": logging.CRITICAL + 10,
}


class LoggerLevels:
    """Levels of named loggers and when this API last changed them."""

    def __init__(self) -> None:
        self._modified: dict[str, int] = {}

    def all(self) -> dict[str, dict[str, object]]:
        names = [
            "root",
            *sorted(
                n
                for n, lg in logging.root.manager.loggerDict.items()
                if isinstance(lg, logging.Logger) and lg.level != logging.NOTSET
            ),
        ]
        return {name: self.get(name) for name in names}

    def get(self, name: str) -> dict[str, object]:
        logger = logging.getLogger() if name == "root" else logging.getLogger(name)
        level = logging.getLevelName(logger.getEffectiveLevel())
        return {"level": "WARN" if level == "WARNING" else level, "last_modified": self._modified.get(name)}

    def known(self, name: str) -> bool:
        return name == "root" or name in logging.root.manager.loggerDict

    def set(self, name: str, level: str) -> list[str]:
        """Set ``name`` and its descendants to ``level``; the loggers changed."""
        value = _PYTHON_LEVEL.get(level.upper(), getattr(logging, level.upper(), None))
        if level.upper() not in LEVELS or not isinstance(value, int):
            raise ValueError(f"invalid log level '{level}'.")
        now = int(time.time() * 1000)
        if name == "root":
            targets = ["root"]
            logging.getLogger().setLevel(value)
        else:
            targets = [name, *sorted(n for n in logging.root.manager.loggerDict if n.startswith(name + "."))]
            for target in targets:
                logging.getLogger(target).setLevel(value)
        for target in targets:
            self._modified[target] = now
        return targets
