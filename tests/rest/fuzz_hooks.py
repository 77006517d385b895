"""schemathesis hooks for the REST fuzz run (tests/rest/test_fuzz.py; loaded through ``SCHEMATHESIS_HOOKS``): keep
the live connectors the run aims at present, so the state-changing operations act on real connectors.

- Before an offsets change on a live connector, stop it (offsets change only on stopped connectors).
- Before any other call that is not ``GET``, put the live connector back as the run started it (re-created when
  deleted, its config restored when replaced, resumed when paused or stopped) and wait until it and its tasks
  run. Concurrent lifecycle changes are not what this run checks (the restart tests hammer those): every
  request here finds its connector settled.
- After a connector was deleted, re-create it at once.

``HUB_FUZZ_URL`` is the API, ``HUB_FUZZ_LIVE`` a JSON map of live connector names to their configs.
"""

from __future__ import annotations

import json
import os
import time
import urllib.parse
from typing import Any

import httpx
import schemathesis

_URL = os.environ.get("HUB_FUZZ_URL", "")
_LIVE: dict[str, dict[str, str]] = json.loads(os.environ.get("HUB_FUZZ_LIVE", "{}"))
SETTLE_S = 15.0


def _target(case: Any) -> str | None:
    name = (case.path_parameters or {}).get("name")
    return name if name in _LIVE else None


def _changes_offsets(case: Any) -> bool:
    return bool(case.path.endswith("/offsets") and case.method.upper() in ("PATCH", "DELETE"))


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    name = _target(case)
    if name is None or case.method.upper() == "GET":
        return
    with httpx.Client(base_url=_URL, timeout=30) as client:
        if _changes_offsets(case):
            client.put(f"/connectors/{name}/stop")
        else:
            restore(client, name)


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    name = _target(case)
    if name is not None and case.method.upper() == "DELETE" and case.path == "/connectors/{name}":
        with httpx.Client(base_url=_URL, timeout=30) as client:
            restore(client, name)


def restore(client: httpx.Client, name: str) -> None:
    """``name`` present, with its config, and running with all its tasks."""
    path = "/connectors/" + urllib.parse.quote(name, safe="")
    config = _LIVE[name]
    if client.get(path).status_code == 404:
        client.post("/connectors", json={"name": name, "config": config}).raise_for_status()
    elif client.get(path + "/config").json() != {**config, "name": name}:
        client.put(path + "/config", json=config).raise_for_status()
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        status = client.get(path + "/status").json()
        if status["connector"]["state"] in ("PAUSED", "STOPPED"):
            client.put(path + "/resume").raise_for_status()
        elif status["tasks"] and all(s["state"] == "RUNNING" for s in [status["connector"], *status["tasks"]]):
            return
        time.sleep(0.05)
