"""The streaming subscriber keeps its subscription through the server forgetting it, an expired session and a
replay id gone from the retention window — against the test server's Streaming API endpoint."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from connectors.salesforce.cometd import BayeuxClient
from connectors.salesforce.subscriber import StreamSubscriber
from tests.harness.salesforce.streaming_app import GOOD_TOKEN, StreamingOnlyServer

pytestmark = pytest.mark.integration

WAIT_S = 30


@pytest.fixture(scope="module")
def server() -> Iterator[StreamingOnlyServer]:
    running = StreamingOnlyServer().start()
    try:
        yield running
    finally:
        running.stop()


def control(server: StreamingOnlyServer, **settings: Any) -> None:
    requests.post(server.url + "/_harness/streaming/settings", json=settings, timeout=10).raise_for_status()


def subscriber(
    server: StreamingOnlyServer, channel: str, replay_id: int, max_message_bytes: int | None = None, **options: Any
) -> StreamSubscriber:
    client = BayeuxClient(
        server.url + "/cometd/60.0", lambda: GOOD_TOKEN, connect_timeout_s=10, max_message_bytes=max_message_bytes
    )
    running = StreamSubscriber(client, channel, replay_id, relogin=options.pop("relogin", lambda: None), **options)
    running.start()
    return running


def take(running: StreamSubscriber, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    deadline = time.monotonic() + WAIT_S
    while len(events) < count and time.monotonic() < deadline and running.error is None:
        events.extend(running.take(count - len(events), 0.5))
    return events


def names(events: list[dict[str, Any]]) -> list[str]:
    return [event["data"]["payload"]["Name"] for event in events]


def wait_for_subscriptions(running: StreamSubscriber, count: int) -> None:
    """Waits until the subscriber has subscribed ``count`` times: from replay id -1, only later events arrive."""
    deadline = time.monotonic() + WAIT_S
    while running.subscriptions < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.subscriptions >= count


def test_events_after_the_server_forgot_the_client_arrive_after_a_rehandshake(server: StreamingOnlyServer) -> None:
    running = subscriber(server, "/data/CaseChangeEvent", -1)
    try:
        wait_for_subscriptions(running, 1)
        server.change("Case", "CREATE", "500000000000001AAA", {"Name": "before"})
        assert names(take(running, 1)) == ["before"]
        control(server, drop_clients=True)
        server.change("Case", "CREATE", "500000000000002AAA", {"Name": "while forgotten"})
        wait_for_subscriptions(running, 2)
        server.change("Case", "CREATE", "500000000000003AAA", {"Name": "after"})
        assert names(take(running, 2)) == ["while forgotten", "after"]
    finally:
        running.stop()


def test_an_expired_session_is_renewed_and_the_stream_goes_on(server: StreamingOnlyServer) -> None:
    logins: list[int] = []

    def relogin() -> None:
        logins.append(1)
        server.renew_sessions()

    running = subscriber(server, "/data/TaskChangeEvent", -1, relogin=relogin)
    try:
        wait_for_subscriptions(running, 1)
        server.change("Task", "CREATE", "00T000000000001AAA", {"Name": "first"})
        assert names(take(running, 1)) == ["first"]
        server.expire_sessions()
        control(server, drop_clients=True)
        server.change("Task", "CREATE", "00T000000000002AAA", {"Name": "during expiry"})
        assert names(take(running, 1)) == ["during expiry"]
        assert logins
    finally:
        server.renew_sessions()
        running.stop()


def test_a_replay_id_out_of_the_window_fails_by_default(server: StreamingOnlyServer) -> None:
    server.change("Note", "CREATE", "002000000000001AAA", {"Name": "old"})
    server.change("Note", "CREATE", "002000000000002AAA", {"Name": "older"})
    control(server, retention_ms=0)
    control(server, retention_ms=72 * 3600 * 1000)
    running = subscriber(server, "/data/NoteChangeEvent", 1)
    try:
        deadline = time.monotonic() + WAIT_S
        while running.error is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert running.error is not None
        assert "replay id 1" in running.error
        assert "you provided was invalid" in running.error
    finally:
        running.stop()


def test_a_replay_id_out_of_the_window_falls_back_to_all_retained_when_configured(
    server: StreamingOnlyServer,
) -> None:
    server.change("Idea", "CREATE", "087000000000001AAA", {"Name": "lost"})
    control(server, retention_ms=0)
    control(server, retention_ms=72 * 3600 * 1000)
    server.change("Idea", "CREATE", "087000000000002AAA", {"Name": "kept"})
    running = subscriber(server, "/data/IdeaChangeEvent", 1, on_invalid_replay="all")
    try:
        assert names(take(running, 1)) == ["kept"]
        assert running.error is None
    finally:
        running.stop()


def test_an_answer_over_the_message_size_limit_fails_naming_the_option(server: StreamingOnlyServer) -> None:
    running = subscriber(server, "/data/TaskChangeEvent", -1, max_message_bytes=2_000)
    try:
        wait_for_subscriptions(running, 1)
        server.change("Task", "CREATE", "00T000000000001AAA", {"Name": "x" * 3_000})
        deadline = time.monotonic() + WAIT_S
        while running.error is None and time.monotonic() < deadline:
            running.take(1, 0.2)
        assert running.error is not None
        assert "connection.max.message.size" in running.error
        assert running.handshakes == 1  # not retried: the same events would come again
    finally:
        running.stop()
