"""Runs a connector's ``validate_connection`` hook for config validation: bounded in time, never raising, and with
the values of the config's password options kept out of the problems it reports.

The hook runs on a daemon thread of its own; when it has not answered within ``CONNECTION_CHECK_TIMEOUT_S`` the
validation reports that on ``connector.class`` and the thread is left to finish (a connector's connect timeouts
normally end it long before). Values resolved from ``${provider:…}`` references are redacted afterwards with every
other validation message (``hub.runtime.redaction``); passwords written as plain text are hidden here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection, Mapping
from typing import Final

from hub.runtime.redaction import whole_word
from hub.sdk.config import HIDDEN
from hub.sdk.connector import Connector

#: The longest a validation waits for a connector's connection check.
CONNECTION_CHECK_TIMEOUT_S: Final = 30.0
#: Password values shorter than this are hidden only where quoted: bare, a short one (``test``) would also match
#: the same word in a host or bucket name.
_MIN_BARE_SECRET = 8


def connection_problems(
    connector_class: type[Connector],
    config: Mapping[str, str],
    secret_keys: Collection[str],
) -> dict[str, list[str]]:
    """The problems ``connector_class().validate_connection(config)`` reports, per key (see the module docstring)."""
    name = connector_class.__name__
    timeout_s = CONNECTION_CHECK_TIMEOUT_S
    outcome: dict[str, list[str]] = {}

    def check() -> None:
        try:
            found = connector_class().validate_connection(dict(config))
            for key, messages in dict(found or {}).items():
                outcome.setdefault(str(key) or "connector.class", []).extend(str(message) for message in messages)
        except Exception as exc:
            outcome.clear()
            outcome["connector.class"] = [f"{name} failed to check its connection: {type(exc).__name__}: {exc}"]

    thread = threading.Thread(target=check, name=f"validate-connection-{name}", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return {"connector.class": [f"{name} did not finish checking its connection within {timeout_s:g} s"]}
    secrets = [config[key] for key in secret_keys if config.get(key)]
    return {key: [_hide(message, secrets) for message in messages] for key, messages in outcome.items()}


def _hide(message: str, secrets: list[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        for quote in "'\"":
            message = message.replace(f"{quote}{secret}{quote}", f"{quote}{HIDDEN}{quote}")
        if len(secret) >= _MIN_BARE_SECRET:
            message = re.sub(whole_word(secret), HIDDEN, message)
    return message
