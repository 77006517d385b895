"""KafkaJS, the Kafka client for Node.js, as a fifth family of real clients for Hub's listener.

The Node scripts and the pinned package live in ``tests/clients/kafkajs`` (scripts/test installs Node and npm
from Debian and runs ``npm ci`` there). ``run(script, spec)`` runs one script with ``spec`` as JSON on stdin and
returns the JSON it prints; any other outcome — a non-zero exit, a timeout, output that is not JSON — raises
``KafkaJsError`` with the script's stderr (KafkaJS's log lines and the stack), so a failing test shows why.
``require()`` skips a test, saying what is missing, when Node or the installed package is not there (outside
CI). Stateless; thread-safe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hub.log.server.versions import ADVERTISED

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "clients" / "kafkajs"

#: The newest version of each API that KafkaJS 2.2.4 implements, by its name for the API: (API key, version).
#: KafkaJS sends min(this, the broker's advertised maximum) and never a flexible version (it has none).
KAFKAJS_VERSIONS: dict[str, tuple[int, int]] = {
    "Produce": (0, 7),
    "Fetch": (1, 11),
    "ListOffsets": (2, 3),
    "Metadata": (3, 6),
    "OffsetCommit": (8, 5),
    "OffsetFetch": (9, 4),
    "GroupCoordinator": (10, 2),
    "JoinGroup": (11, 5),
    "Heartbeat": (12, 3),
    "LeaveGroup": (13, 3),
    "SyncGroup": (14, 3),
    "DescribeGroups": (15, 2),
    "ListGroups": (16, 2),
    "SaslHandshake": (17, 1),
    "ApiVersions": (18, 2),
    "CreateTopics": (19, 3),
    "DeleteTopics": (20, 1),
    "DeleteRecords": (21, 1),
    "InitProducerId": (22, 1),
    "AddPartitionsToTxn": (24, 1),
    "AddOffsetsToTxn": (25, 1),
    "EndTxn": (26, 1),
    "TxnOffsetCommit": (28, 1),
    "DescribeAcls": (29, 1),
    "CreateAcls": (30, 1),
    "DeleteAcls": (31, 1),
    "DescribeConfigs": (32, 2),
    "AlterConfigs": (33, 1),
    "SaslAuthenticate": (36, 1),
    "CreatePartitions": (37, 1),
    "DeleteGroups": (42, 1),
    "AlterPartitionReassignments": (45, 0),
    "ListPartitionReassignments": (46, 0),
}

#: Kafka's ConfigResourceTypes as KafkaJS numbers them (admin.describeConfigs / alterConfigs).
TOPIC_RESOURCE = 2
BROKER_RESOURCE = 4


class KafkaJsError(AssertionError):
    """A KafkaJS script failed, timed out or printed something other than its JSON result."""


def unavailable() -> str | None:
    """Why KafkaJS cannot run here (Node or the package missing, with how to install them), or None."""
    if shutil.which("node") is None:
        return "node is not installed (scripts/test installs Debian's nodejs and npm packages)"
    if not (PACKAGE_DIR / "node_modules" / "kafkajs" / "package.json").is_file():
        return f"kafkajs is not installed: run `npm ci` in {PACKAGE_DIR.relative_to(PACKAGE_DIR.parents[2])}"
    return None


def require() -> None:
    """Skip the calling test when KafkaJS cannot run here, saying why — but fail it under CI (``CI=true``), where
    scripts/test has installed Node and the package, so their absence is a broken set-up, not a choice."""
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"KafkaJS cannot run under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def run(script: str, spec: dict[str, Any], timeout_s: float = 60) -> dict[str, Any]:
    """Run ``tests/clients/kafkajs/<script>.js`` with ``spec`` on stdin and return its JSON result."""
    argv = ["node", str(PACKAGE_DIR / f"{script}.js")]
    env = {**os.environ, "KAFKAJS_NO_PARTITIONER_WARNING": "1"}
    try:
        done = subprocess.run(
            argv, input=json.dumps(spec), capture_output=True, text=True, timeout=timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaJsError(f"{script}.js did not finish in {timeout_s} s; stderr:\n{_text(exc.stderr)}") from None
    if done.returncode != 0:
        raise KafkaJsError(f"{script}.js exited with {done.returncode}; stderr:\n{_tail(done.stderr)}")
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise KafkaJsError(
            f"{script}.js printed no JSON result: {done.stdout[:500]!r}; stderr:\n{_tail(done.stderr)}"
        ) from None
    return result


def admin(brokers: str, *steps: tuple[Any, ...], timeout_s: float = 60, **client: Any) -> dict[str, Any]:
    """Run admin calls ``(op, args...)`` in order: ``admin(b, ("createTopics", {...}), ("listTopics",))``; each
    step's result is ``{"ok": value}`` or ``{"error": {...}}`` in ``result["steps"]``."""
    spec = {"brokers": [brokers], "steps": [{"op": op, "args": list(args)} for op, *args in steps], **client}
    return run("admin", spec, timeout_s)


def check_versions(result: dict[str, Any]) -> dict[str, Any]:
    """``result`` after checking each version KafkaJS used in it: the newest it implements that Hub advertises
    (ApiVersions 2 first, before it knows Hub's ranges), within Hub's advertised range."""
    for api, used in result["versions"].items():
        key, newest = KAFKAJS_VERSIONS[api]
        low, high = ADVERTISED[key]
        assert used == [min(newest, high)], (api, used, ADVERTISED[key])
        assert low <= used[0] <= high, (api, used, ADVERTISED[key])
    return result


def kafka_errors(error: dict[str, Any]) -> list[str]:
    """Kafka's error types in a described KafkaJS error and the errors nested in it (per topic, group, partition,
    or wrapped by its retrier), outermost first, each once."""
    found = [error["type"]] if error.get("type") else []
    for nested in error["errors"]:
        found += [kind for kind in kafka_errors(nested) if kind not in found]
    return found


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    return _tail(value or "")


def _tail(text: str, chars: int = 4000) -> str:
    return text[-chars:] if text else "(nothing)"
