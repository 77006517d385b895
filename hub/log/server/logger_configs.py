"""Kafka's BROKER_LOGGER config resource (type 8) over Python's logging: DescribeConfigs lists the root logger
and Hub's own (``hub`` and below, those created so far) with their effective levels under Kafka's level names;
IncrementalAlterConfigs sets a logger's level (SET) or lets it inherit its parent's again (DELETE).

Kafka's rules: the resource name must be this broker's id, APPEND and SUBTRACT are INVALID_REQUEST, as is removing
the root logger's level; an unknown level is INVALID_CONFIG. Python has no TRACE level: TRACE is DEBUG (and is
described as DEBUG afterwards); FATAL is CRITICAL.

Changes apply to this process only and last until it ends, as Kafka's do. Thread-safe (logging's own lock).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hub.log.errors import InvalidConfigError, InvalidRequestError

RESOURCE_BROKER_LOGGER = 8
SOURCE_BROKER_LOGGER = 6
ROOT = "root"
_LEVELS = {
    "ALL": logging.NOTSET + 1,
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "OFF": logging.CRITICAL + 10,
}
_NAMES = {logging.WARNING: "WARN", logging.CRITICAL: "FATAL", logging.CRITICAL + 10: "OFF"}


def _logger(name: str) -> logging.Logger:
    return logging.getLogger() if name == ROOT else logging.getLogger(name)


def level_name(level: int) -> str:
    return _NAMES.get(level, logging.getLevelName(level))


def describe_loggers() -> list[tuple[str, str]]:
    """``(logger, effective level)`` of the root logger and Hub's loggers, by name."""
    names = sorted(
        name
        for name, logger in logging.root.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and (name == "hub" or name.startswith("hub."))
    )
    return [(name, level_name(_logger(name).getEffectiveLevel())) for name in [ROOT, *names]]


def alter_loggers(operations: Sequence[tuple[str, int, Any]], validate_only: bool) -> None:
    """Apply IncrementalAlterConfigs operations (name, op, value) to loggers, all checked before any is applied."""
    changes: list[tuple[logging.Logger, int]] = []
    for name, op, value in operations:
        if op == 0:
            level = _LEVELS.get(str(value).upper())
            if level is None:
                raise InvalidConfigError(
                    f"Cannot set the log level of {name} to {value} as it is not a supported level"
                )
            changes.append((_logger(name), level))
        elif op == 1:
            if name == ROOT:
                raise InvalidRequestError("Removing the log level of the root logger is not allowed")
            changes.append((_logger(name), logging.NOTSET))
        else:
            raise InvalidRequestError(f"Operation {op} is not allowed for the BROKER_LOGGER resource")
    if validate_only:
        return
    for logger, level in changes:
        logger.setLevel(level)
        logging.getLogger("hub.log.server").info("log level of %s set to %s", logger.name, level_name(level))
