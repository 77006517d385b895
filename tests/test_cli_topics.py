"""`hub topics …` against a running Kafka listener."""

from __future__ import annotations

import json
import uuid

import pytest

from hub.cli import main
from tests.harness.hub import HubServer

pytestmark = pytest.mark.integration


def test_create_list_describe_delete(hub_server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    name = f"cli-{uuid.uuid4().hex[:6]}"
    bootstrap = ["--bootstrap-servers", hub_server.bootstrap]
    assert main(["topics", "create", name, "--partitions", "2", "--config", "retention.ms=60000", *bootstrap]) == 0
    assert main(["topics", "list", "--json", *bootstrap]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[-1])[name] == 2
    assert main(["topics", "describe", name, "--json", *bootstrap]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["configs"]["retention.ms"] == "60000"
    assert main(["topics", "list", *bootstrap]) == 0
    assert name in capsys.readouterr().out
    assert main(["topics", "delete", name, *bootstrap]) == 0
    capsys.readouterr()


def test_errors_are_one_line_with_the_brokers_reason(hub_server: HubServer, capsys: pytest.CaptureFixture[str]) -> None:
    bootstrap = ["--bootstrap-servers", hub_server.bootstrap]
    assert main(["topics", "create", "bad", "--config", "nope=1", *bootstrap]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "unknown topic config 'nope'" in err
    assert main(["topics", "create", "x", "--config", "noequals", *bootstrap]) == 2
    assert main(["topics", "delete", f"missing-{uuid.uuid4().hex[:6]}", *bootstrap]) == 1
    assert "Unknown topic" in capsys.readouterr().err
