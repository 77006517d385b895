"""Whatever a client sends, the answer is a 4xx, never a 5xx: deeply nested and non-Unicode JSON, bytes that are
not UTF-8 in headers, wrong methods (405 with ``Allow``), bodies that stall (408) or are cut off (logged at
DEBUG only); and ``GET /health`` open to probes only when ``public_health`` says so."""

from __future__ import annotations

import base64
import hashlib
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.log.client import NewTopic
from hub.rest.auth import Credentials
from tests.rest.conftest import LocalApi, local_api, start_hub, stop_hub

pytestmark = pytest.mark.integration

DEEP = 10_000
BODY_TIMEOUT_S = 1.0


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalApi]:
    with local_api(tmp_path_factory.mktemp("hostile"), body_timeout_s=BODY_TIMEOUT_S) as api:
        yield api


def _credentials() -> Credentials:
    return Credentials({"ops": (hashlib.sha256(b"s3cret").hexdigest(), "admin")}, [])


def _status_and_message(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert body["error_code"] == response.status_code
    return response.status_code, str(body["message"])


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/connectors"),
        ("PUT", "/connector-plugins/Datagen/config/validate"),
        ("PATCH", "/connectors/deep/offsets"),
        ("PUT", "/connectors/deep/config"),
        ("PATCH", "/connectors/deep/config"),
        ("PUT", "/admin/loggers/hub"),
    ],
)
@pytest.mark.parametrize("shape", ["[", '{"a":'])
def test_deeply_nested_json_is_a_400(local: LocalApi, method: str, path: str, shape: str) -> None:
    closing = "]" if shape == "[" else "}"
    body = shape * DEEP + "1" + closing * DEEP
    answer = local.client.request(method, path, content=body, headers={"content-type": "application/json"})
    status, message = _status_and_message(answer)
    assert (status, "nested deeper than 64 levels") == (400, message[-len("nested deeper than 64 levels") :])


def test_nesting_within_the_limit_is_still_parsed(local: LocalApi) -> None:
    offsets = {"offsets": [{"partition": {"a": [[[[1]]]]}, "offset": {"b": 1}}]}
    answer = local.client.patch("/connectors/missing/offsets", json=offsets)
    assert answer.status_code == 404


def test_lone_surrogates_anywhere_in_a_body_are_a_400(local: LocalApi) -> None:
    for body in ('{"connector.class": "Datagen", "topic": "\\udc00"}', '{"\\ud83d": "x"}'):
        answer = local.client.put("/connectors/s/config", content=body, headers={"content-type": "application/json"})
        status, message = _status_and_message(answer)
        assert status == 400
        assert "surrogate" in message
    assert local.client.get("/connectors").json() == []


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_numbers_json_does_not_have_are_a_400(local: LocalApi, number: str) -> None:
    body = f'{{"connector.class": "Datagen", "topic": "t", "rate": {number}}}'
    answer = local.client.put(
        "/connector-plugins/Datagen/config/validate", content=body, headers={"content-type": "application/json"}
    )
    status, message = _status_and_message(answer)
    assert status == 400
    assert number.lstrip("-") in message


def test_405_names_the_allowed_methods(local: LocalApi) -> None:
    cases = {
        ("DELETE", "/connectors"): "GET, HEAD, POST",
        ("POST", "/connectors/x"): "DELETE, GET, HEAD",
        ("GET", "/connectors/x/pause"): "PUT",
        ("DELETE", "/connectors/x/config"): "GET, HEAD, PATCH, PUT",
        ("POST", "/health"): "GET, HEAD",
    }
    for (method, path), allowed in cases.items():
        answer = local.client.request(method, path)
        assert _status_and_message(answer)[0] == 405
        assert answer.headers["allow"] == allowed, (method, path)


def _raw_request(local: LocalApi, head: bytes, body_part: bytes) -> socket.socket:
    sock = socket.create_connection((local.host, local.port), timeout=30)
    sock.sendall(head + body_part)
    return sock


def _head(length: int) -> bytes:
    return (
        b"POST /connectors HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % length
    )


def test_a_stalled_body_is_answered_408_and_the_connection_closed(local: LocalApi) -> None:
    started = time.monotonic()
    with _raw_request(local, _head(100), b'{"name": "slo') as sock:
        received = b""
        while chunk := sock.recv(65536):  # the server closes the connection after its answer
            received += chunk
    assert received.startswith(b"HTTP/1.1 408 "), received
    assert b"not received within 1 s" in received
    assert time.monotonic() - started >= BODY_TIMEOUT_S
    assert local.client.get("/connectors").json() == []


def test_a_client_gone_mid_body_is_logged_at_debug_only(local: LocalApi, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with _raw_request(local, _head(1000), b'{"name": "gone", "con'):
        time.sleep(0.3)
    deadline = time.monotonic() + 10
    while not any("went away" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    gone = [r for r in caplog.records if "went away" in r.getMessage()]
    assert gone
    assert all(r.levelno == logging.DEBUG for r in gone)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert local.client.get("/connectors").json() == []


@pytest.mark.parametrize(
    ("header", "status"),
    [
        (b"X-Odd: \xff\xfe\x80", b"401"),
        (b"Authorization: Basic \xff\xfe", b"401"),
        (b"Authorization: Bearer \xc3\x28", b"401"),
        (b"Authorization: Basic " + base64.b64encode(b"ops:\xff"), b"401"),
        (b"X-\xff: value", b"400"),  # not a header name: refused by the HTTP parser
    ],
)
def test_bytes_that_are_not_utf8_in_headers_are_a_4xx_with_auth_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, header: bytes, status: bytes
) -> None:
    with local_api(tmp_path, credentials=_credentials()) as api:
        head = b"GET /connectors HTTP/1.1\r\nHost: hub\r\n" + header + b"\r\nConnection: close\r\n\r\n"
        with _raw_request(api, head, b"") as sock:
            received = b""
            while chunk := sock.recv(65536):
                received += chunk
        assert received.startswith(b"HTTP/1.1 " + status + b" "), received
        assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


@pytest.mark.parametrize("public", [True, False])
def test_health_is_open_to_probes_only_when_public(tmp_path: Path, public: bool) -> None:
    with local_api(tmp_path, credentials=_credentials(), public_health=public) as api:
        assert api.client.get("/health").status_code == (200 if public else 401)
        assert api.client.head("/health").status_code == (200 if public else 401)
        assert api.client.get("/health", auth=("ops", "s3cret")).status_code == 200
        assert api.client.get("/connectors").status_code == 401  # nothing else is open
        assert api.client.get("/").status_code == 401


@pytest.mark.slow
def test_worker_options_for_health_and_the_body_timeout(tmp_path: Path) -> None:
    credentials = tmp_path / "credentials.json"
    digest = hashlib.sha256(b"s3cret").hexdigest()
    credentials.write_text(f'{{"users": [{{"name": "ops", "password_sha256": "{digest}", "role": "admin"}}]}}')
    config = f"rest.auth.file={credentials}\nrest.auth.health.public=true\nrest.request.body.timeout.ms=500\n"
    hub = start_hub(tmp_path, config=config)
    try:
        assert httpx.get(hub.url + "/health", timeout=10).status_code == 200
        assert httpx.get(hub.url + "/connectors", timeout=10).status_code == 401
        host, port = hub.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(_head(100).replace(b"Host: hub", b"Host: hub\r\nAuthorization: Basic b3BzOnMzY3JldA=="))
            assert sock.recv(65536).startswith(b"HTTP/1.1 408 ")
    finally:
        stop_hub(hub)


def test_source_offsets_that_the_offsets_topic_cannot_hold_are_a_400(local: LocalApi) -> None:
    config = {"connector.class": "Datagen", "topic": "offsets-t", "rate": "1"}
    created = local.client.post("/connectors", json={"name": "src", "config": config, "initial_state": "STOPPED"})
    assert created.status_code == 201, created.text
    try:
        for partition, offset in [({"f": [1, []]}, {"o": 1}), ({"f": "x"}, {"o": {"deep": 1}}), ({"f": 2**70}, None)]:
            answer = local.client.patch(
                "/connectors/src/offsets", json={"offsets": [{"partition": partition, "offset": offset}]}
            )
            assert _status_and_message(answer)[0] == 400
        fine = {"offsets": [{"partition": {"f": "x"}, "offset": {"o": 2**62}}]}
        assert local.client.patch("/connectors/src/offsets", json=fine).status_code == 200
    finally:
        local.client.delete("/connectors/src")


def test_sink_offsets_out_of_range_are_a_400_and_while_its_group_has_members_a_409(local: LocalApi) -> None:
    with local.herder.clients.admin() as admin:
        admin.create_topics([NewTopic("sink-t")], if_not_exists=True)
    config = {"connector.class": "FileStreamSink", "topics": "sink-t", "file": "/dev/null"}
    created = local.client.post("/connectors", json={"name": "snk", "config": config, "initial_state": "STOPPED"})
    assert created.status_code == 201, created.text
    for partition, kafka_offset in [(0, 2**70), (0, -5), (2**40, 1), (5, 1)]:
        entry = {
            "partition": {"kafka_topic": "sink-t", "kafka_partition": partition},
            "offset": {"kafka_offset": kafka_offset},
        }
        answer = local.client.patch("/connectors/snk/offsets", json={"offsets": [entry]})
        assert _status_and_message(answer)[0] == 400
    # A member still in the connector's group, as its tasks are for a moment after PUT …/stop.
    with local.herder.clients.consumer(group_id="connect-snk") as member:
        member.subscribe(["sink-t"])
        deadline = time.monotonic() + 30
        while not member.assignment() and time.monotonic() < deadline:
            member.poll(0.1)
        for answer in (
            local.client.delete("/connectors/snk/offsets"),
            local.client.patch(
                "/connectors/snk/offsets",
                json={
                    "offsets": [
                        {"partition": {"kafka_topic": "sink-t", "kafka_partition": 0}, "offset": {"kafka_offset": 0}}
                    ]
                },
            ),
        ):
            status, message = _status_and_message(answer)
            assert status == 409
            assert "consumer group" in message
    local.client.delete("/connectors/snk")
