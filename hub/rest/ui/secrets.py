"""Connector configs as the console shows and edits them: secret values hidden.

A key is secret when its plugin declares it of type PASSWORD, or when its name says so (``password``, ``secret``,
``token``, ``key`` of credentials); its value is shown as ``MASK``. When an edited config comes back, a secret key
still holding ``MASK`` keeps its stored value, so editing other keys never needs the secret. Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from hub.runtime.herder import Herder

MASK = "********"
_SECRET_NAME = re.compile(r"password|secret|token|credential|private\.key|api\.key|access\.key", re.IGNORECASE)


def secret_keys(herder: Herder, config: Mapping[str, str]) -> set[str]:
    """The keys of ``config`` whose values are secrets."""
    keys = {k for k in config if _SECRET_NAME.search(k)}
    plugin = config.get("connector.class", "")
    try:
        options: list[dict[str, Any]] = herder.plugin_config(plugin) if plugin else []
    except Exception:  # an unknown plugin declares nothing; the names still count
        options = []
    keys |= {str(o.get("name")) for o in options if str(o.get("type", "")).upper() == "PASSWORD"}
    return keys & set(config)


def mask_config(herder: Herder, config: Mapping[str, str]) -> dict[str, Any]:
    """``{"config": ..., "secrets": [...]}``: the config with each secret value replaced by ``MASK``."""
    secrets = secret_keys(herder, config)
    return {"config": {k: MASK if k in secrets else v for k, v in config.items()}, "secrets": sorted(secrets)}


def unmask_config(herder: Herder, edited: Mapping[str, str], stored: Mapping[str, str]) -> dict[str, str]:
    """``edited`` with every secret still masked given back its stored value."""
    secrets = secret_keys(herder, stored)
    return {k: stored[k] if v == MASK and k in secrets and k in stored else v for k, v in edited.items()}
