"""HTTPS, authentication with read-only and admin roles, and secrets that never come back out of the API."""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.sdk import ConfigDef, ConfigType, SourceConnector, SourceTask, hookimpl
from tests.rest.conftest import local_api, start_hub, stop_hub


def _sha(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@pytest.mark.integration
def test_https_with_basic_and_bearer_auth_and_roles(tmp_path: Path) -> None:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    credentials = tmp_path / "credentials.json"
    credentials.write_text(
        json.dumps(
            {
                "users": [
                    {"name": "ops", "password_sha256": _sha("s3cret"), "role": "admin"},
                    {"name": "viewer", "password_sha256": _sha("look"), "role": "read-only"},
                ],
                "tokens": [{"name": "ci", "token_sha256": _sha("tok-123"), "role": "admin"}],
            }
        )
    )
    config = f"rest.ssl.cert.file={cert}\nrest.ssl.key.file={key}\nrest.auth.file={credentials}\n"
    hub = start_hub(tmp_path, config=config, scheme="https", auth=("viewer", "look"))
    try:
        with httpx.Client(base_url=hub.url, verify=False, timeout=30) as client:
            refused = client.get("/connectors")
            assert refused.status_code == 401
            assert refused.json()["error_code"] == 401
            assert client.get("/connectors", auth=("ops", "wrong")).status_code == 401
            assert client.get("/connectors", auth=("viewer", "look")).json() == []
            body = {"name": "g", "config": {"connector.class": "Datagen", "topic": "t", "rate": "1"}}
            forbidden = client.post("/connectors", json=body, auth=("viewer", "look"))
            assert forbidden.status_code == 403
            assert client.get("/connectors", auth=("viewer", "look")).json() == []
            created = client.post("/connectors", json=body, headers={"Authorization": "Bearer tok-123"})
            assert created.status_code == 201
            assert client.delete("/connectors/g", auth=("ops", "s3cret")).status_code == 204
        with pytest.raises(httpx.ConnectError):
            httpx.get(hub.url + "/", timeout=5)  # certificate not trusted: TLS is really on
    finally:
        stop_hub(hub)


class _SecretSource(SourceConnector):
    """A source with a password option, to see where the password shows up."""

    def config_def(self) -> ConfigDef:
        return ConfigDef().define("password", ConfigType.PASSWORD, doc="A secret.").define("topic", ConfigType.STRING)

    def start(self, config: dict[str, str]) -> None:
        self.config = dict(config)

    def task_class(self) -> type[SourceTask]:
        return _IdleTask

    def task_configs(self, max_tasks: int) -> list[dict[str, str]]:
        return [dict(self.config)]

    def stop(self) -> None:
        """Nothing to release."""


class _IdleTask(SourceTask):
    def start(self, config: dict[str, str]) -> None:
        self.config = config

    def poll(self) -> list[Any]:
        return []

    def stop(self) -> None:
        """Nothing to release."""


class _Plugin:
    @hookimpl
    def hub_register_connectors(self) -> list[type[Any]]:
        return [_SecretSource]


@pytest.fixture
def secret_api(tmp_path: Path) -> Iterator[httpx.Client]:
    with local_api(tmp_path / "store", plugins=[_Plugin()]) as served:
        yield served.client


def test_password_values_never_come_back(secret_api: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_TEST_SECRET", "from-env")
    config = {"connector.class": "_SecretSource", "password": "hunter2", "topic": "t"}
    created = secret_api.post("/connectors", json={"name": "s", "config": config})
    assert created.status_code == 201
    assert created.json()["config"]["password"] == "[hidden]"
    assert secret_api.get("/connectors/s/config").json()["password"] == "[hidden]"
    shown = secret_api.get("/connectors/s/config").json()
    assert secret_api.put("/connectors/s/config", json=shown).status_code == 200  # "[hidden]" keeps the secret
    tasks = secret_api.get("/connectors/s/tasks").json()
    while not tasks:
        tasks = secret_api.get("/connectors/s/tasks").json()
    assert tasks[0]["config"]["password"] == "[hidden]"
    validated = secret_api.put("/connector-plugins/_SecretSource/config/validate", json={**config, "name": "s"})
    assert "hunter2" not in validated.text
    secret_api.put("/connectors/s/config", json={**config, "password": "${env:HUB_TEST_SECRET}"})
    assert secret_api.get("/connectors/s/config").json()["password"] == "${env:HUB_TEST_SECRET}"
    assert "hunter2" not in json.dumps(secret_api.get("/connectors", params={"expand": "info"}).json())
