"""The connector name policy through the REST API: what is refused with 400 before anything is stored, and that
every accepted name round-trips through its percent-encoded ``Location``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.runtime.connector_names import MAX_NAME_LENGTH, connector_path
from tests.rest.conftest import local_api

pytestmark = pytest.mark.integration

CONFIG = {"connector.class": "Datagen", "topic": "names", "rate": "1"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with local_api(tmp_path_factory.mktemp("names")) as local:
        yield local.client


@pytest.fixture(autouse=True)
def _no_leftovers(api: httpx.Client) -> Iterator[None]:
    yield
    for name in api.get("/connectors").json():
        api.delete(connector_path(name))


def _refused(response: httpx.Response, *words: str) -> None:
    assert response.status_code == 400, response.text
    message = response.json()["message"]
    assert all(word in message for word in words), message


def _create(api: httpx.Client, name: Any) -> httpx.Response:
    return api.post("/connectors", json={"name": name, "config": CONFIG})


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("", ("empty",)),
        ("   ", ("empty",)),
        ("x" * (MAX_NAME_LENGTH + 1), ("256 characters", "255")),
        ("y" * 400_000, ("400000 characters",)),
        (".", ("dot-segment",)),
        ("..", ("dot-segment",)),
        ("a/b", ("'/'",)),
        ("tab\there", ("control",)),
        ("next\x85line", ("control",)),  # C1 control, as Java's Character.isISOControl
        ("nul\x00", ("control",)),
    ],
)
def test_bad_names_are_refused_before_anything_is_stored(api: httpx.Client, name: str, words: tuple[str]) -> None:
    _refused(_create(api, name), *words)
    assert api.get("/connectors").json() == []


def test_a_lone_surrogate_is_refused_with_400(api: httpx.Client) -> None:
    body = '{"name": "bad\\ud800name", "config": {"connector.class": "Datagen", "topic": "t"}}'
    answer = api.post("/connectors", content=body, headers={"content-type": "application/json"})
    _refused(answer, "surrogate")
    assert api.get("/connectors").json() == []


@pytest.mark.parametrize(
    ("name", "location"),
    [
        ("名前-テスト", "/connectors/%E5%90%8D%E5%89%8D-%E3%83%86%E3%82%B9%E3%83%88"),
        ("🚀 launch", "/connectors/%F0%9F%9A%80%20launch"),
        ("a b?c#d%e", "/connectors/a%20b%3Fc%23d%25e"),
        ("ünïcödé:@!", "/connectors/%C3%BCn%C3%AFc%C3%B6d%C3%A9:@!"),
        ("z" * MAX_NAME_LENGTH, "/connectors/" + "z" * MAX_NAME_LENGTH),
    ],
)
def test_names_round_trip_through_their_encoded_location(api: httpx.Client, name: str, location: str) -> None:
    created = _create(api, name)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == location
    assert created.json()["name"] == name
    assert api.get("/connectors").json() == [name]
    assert api.get(location).json()["name"] == name
    assert api.get(location + "/config").json()["name"] == name
    assert api.delete(location).status_code == 204
    assert api.get("/connectors").json() == []


def test_put_creates_with_an_encoded_location_and_checks_the_name(api: httpx.Client) -> None:
    created = api.put("/connectors/%E2%82%AC%20euro/config", json=CONFIG)
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/connectors/%E2%82%AC%20euro"
    assert created.json()["name"] == "€ euro"
    _refused(api.put("/connectors/%2E%2E/config", json=CONFIG), "dot-segment")
    _refused(api.put("/connectors/%20padded/config", json=CONFIG), "whitespace")
    _refused(api.put("/connectors/" + "w" * (MAX_NAME_LENGTH + 1) + "/config", json=CONFIG), "limit")
    assert api.get("/connectors").json() == ["€ euro"]


def test_post_trims_the_name_as_connect_does(api: httpx.Client) -> None:
    created = _create(api, "  padded  ")
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "padded"
    assert created.headers["location"] == "/connectors/padded"
