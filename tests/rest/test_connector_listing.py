"""``GET /connectors?expand=…`` when the herder changes between the listing and the expansion: a connector deleted
meanwhile is left out, as Connect does, and any other failure is answered as an error instead of being hidden."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub import __version__
from hub.rest.app import create_app
from hub.rest.server import RestServer
from hub.runtime.standalone import StandaloneHerder
from tests.rest.conftest import local_api

pytestmark = pytest.mark.integration

CONFIG = {"connector.class": "Datagen", "topic": "listing", "rate": "1"}


class _DeletesAfterListing:
    """A real herder whose listing races a delete: ``doomed`` is deleted right after each listing names it."""

    def __init__(self, herder: StandaloneHerder, doomed: str) -> None:
        self._herder = herder
        self._doomed = doomed

    def connectors(self) -> list[str]:
        names = self._herder.connectors()
        if self._doomed in names:
            self._herder.delete_connector(self._doomed)
        return names

    def __getattr__(self, name: str) -> Any:
        return getattr(self._herder, name)


class _StatusFails:
    """A real herder whose status read fails unexpectedly for ``broken``."""

    def __init__(self, herder: StandaloneHerder, broken: str) -> None:
        self._herder = herder
        self._broken = broken

    def connector_status(self, name: str) -> dict[str, Any]:
        if name == self._broken:
            raise RuntimeError("the status store is unreadable")
        return self._herder.connector_status(name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._herder, name)


@contextmanager
def _api_over(herder: Any) -> Iterator[httpx.Client]:
    server = RestServer(create_app(herder, version=__version__), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=30) as client:
            yield client
    finally:
        server.stop()


def _create(api: httpx.Client, name: str) -> None:
    created = api.post("/connectors", json={"name": name, "config": CONFIG})
    assert created.status_code == 201, created.text


def test_a_connector_deleted_between_the_listing_and_the_expansion_is_left_out(tmp_path: Path) -> None:
    with local_api(tmp_path / "store") as local:
        _create(local.client, "kept")
        _create(local.client, "doomed")
        with _api_over(_DeletesAfterListing(local.herder, "doomed")) as api:
            listed = api.get("/connectors", params=[("expand", "status"), ("expand", "info")])
        assert listed.status_code == 200, listed.text
        assert list(listed.json()) == ["kept"]
        assert listed.json()["kept"]["info"]["name"] == "kept"
        assert local.client.get("/connectors").json() == ["kept"]


def test_an_unexpected_failure_while_expanding_is_answered_not_hidden(tmp_path: Path) -> None:
    with local_api(tmp_path / "store") as local:
        _create(local.client, "fine")
        _create(local.client, "broken")
        with _api_over(_StatusFails(local.herder, "broken")) as api:
            listed = api.get("/connectors", params={"expand": "status"})
    assert listed.status_code == 500, listed.text
    assert listed.json() == {"error_code": 500, "message": "RuntimeError: the status store is unreadable"}
