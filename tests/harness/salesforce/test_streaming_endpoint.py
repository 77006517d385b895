"""The Streaming API endpoint through two independent Bayeux clients: aiosfstream (on aiocometd) and the connector's
own long-polling client, subscribing side by side to a bare change feed (no org: the changes are published
directly on the feed the org would publish on)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import Client
from aiosfstream_ng.replay import ReplayOption

from connectors.salesforce.cometd import (
    AuthenticationError,
    BayeuxClient,
    BayeuxError,
    InvalidReplayIdError,
    UnknownClientError,
)
from tests.harness.salesforce.streaming_app import GOOD_TOKEN, StreamingOnlyServer

pytestmark = pytest.mark.integration

ACCOUNT = "001000000000001AAA"


class TokenAuthenticator(AuthenticatorBase):
    """aiosfstream's authenticator with a session obtained elsewhere (the server's login is not under test here)."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__()
        self._url = url
        self._token = token

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        return 200, {"access_token": self._token, "token_type": "Bearer", "instance_url": self._url}


@pytest.fixture(scope="module")
def server() -> Iterator[StreamingOnlyServer]:
    running = StreamingOnlyServer().start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(autouse=True)
def _reset(server: StreamingOnlyServer) -> Iterator[None]:
    server.renew_sessions()
    yield
    server.renew_sessions()
    control(server, retention_ms=72 * 3600 * 1000, gap_next=0, overflow_threshold=100_000, connect_timeout_ms=110_000)


def control(server: StreamingOnlyServer, **settings: Any) -> dict[str, Any]:
    response = requests.post(server.url + "/_harness/streaming/settings", json=settings, timeout=10)
    response.raise_for_status()
    answer: dict[str, Any] = response.json()
    return answer


def bayeux(server: StreamingOnlyServer, token: str = GOOD_TOKEN) -> BayeuxClient:
    return BayeuxClient(server.url + "/cometd/60.0", lambda: token, connect_timeout_s=10)


def read(client: BayeuxClient, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    while len(events) < count:
        events.extend(client.connect())
    return events


def aiosfstream_read(server: StreamingOnlyServer, channel: str, count: int, replay: Any) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        messages = []
        async with Client(TokenAuthenticator(server.url, GOOD_TOKEN), replay=replay) as client:
            await client.subscribe(channel)
            async for message in client:
                messages.append(message)
                if len(messages) == count:
                    break
        return messages

    return asyncio.run(asyncio.wait_for(main(), 30))


def test_change_events_reach_aiosfstream_and_the_connector_client_alike(server: StreamingOnlyServer) -> None:
    control(server, retention_ms=0)
    control(server, retention_ms=72 * 3600 * 1000)
    ours = bayeux(server)
    ours.handshake()
    ours.subscribe("/data/AccountChangeEvent", -1)
    ours.connect()  # the first connect is answered at once
    server.change("Account", "CREATE", ACCOUNT, {"Id": ACCOUNT, "Name": "Acme", "Industry": None})
    server.change("Account", "UPDATE", ACCOUNT, {"Id": ACCOUNT, "Name": "Acme Corp"}, ("Name",))
    theirs = aiosfstream_read(server, "/data/AccountChangeEvent", 2, ReplayOption.ALL_EVENTS)
    mine = read(ours, 2)
    ours.disconnect()
    assert [m["data"] for m in theirs] == [m["data"] for m in mine]
    created, updated = (m["data"]["payload"] for m in mine)
    assert created["ChangeEventHeader"]["changeType"] == "CREATE"
    assert created["ChangeEventHeader"]["recordIds"] == [ACCOUNT]
    assert created["Name"] == "Acme"
    assert "Industry" not in created
    assert "Id" not in created
    assert updated["ChangeEventHeader"]["changedFields"] == ["Name"]
    assert updated == {"ChangeEventHeader": updated["ChangeEventHeader"], "Name": "Acme Corp"}
    first, second = (m["data"]["event"]["replayId"] for m in mine)
    assert second > first


def test_a_subscription_from_a_replay_id_gets_only_later_events(server: StreamingOnlyServer) -> None:
    server.change("Contact", "CREATE", "003000000000001AAA", {"Name": "A"})
    server.change("Contact", "CREATE", "003000000000002AAA", {"Name": "B"})
    client = bayeux(server)
    client.handshake()
    client.subscribe("/data/ContactChangeEvent", -2)
    replay_ids = [m["data"]["event"]["replayId"] for m in read(client, 2)]
    client.disconnect()
    again = bayeux(server)
    again.handshake()
    again.subscribe("/data/ContactChangeEvent", replay_ids[-2])
    later = read(again, 1)
    again.disconnect()
    assert [m["data"]["event"]["replayId"] for m in later] == replay_ids[-1:]


def test_a_replay_id_older_than_the_retention_window_is_refused(server: StreamingOnlyServer) -> None:
    server.change("Lead", "CREATE", "00Q000000000001AAA", {"LastName": "A"})
    client = bayeux(server)
    client.handshake()
    client.subscribe("/data/LeadChangeEvent", -2)
    (old,) = read(client, 1)
    server.change("Lead", "CREATE", "00Q000000000002AAA", {"LastName": "B"})
    control(server, retention_ms=0)
    with pytest.raises(InvalidReplayIdError, match="you provided was invalid"):
        client.subscribe("/data/LeadChangeEvent", old["data"]["event"]["replayId"])


def test_a_forgotten_client_is_told_to_handshake_again(server: StreamingOnlyServer) -> None:
    client = bayeux(server)
    client.handshake()
    client.subscribe("/data/ChangeEvents", -1)
    control(server, drop_clients=True)
    with pytest.raises(UnknownClientError, match="403::Unknown client") as refused:
        client.connect()
    assert refused.value.advice["reconnect"] == "handshake"


def test_an_expired_session_is_refused_with_401(server: StreamingOnlyServer) -> None:
    client = bayeux(server)
    client.handshake()
    server.expire_sessions()
    with pytest.raises(AuthenticationError, match="401::Authentication invalid"):
        client.subscribe("/data/ChangeEvents", -1)
    with pytest.raises(AuthenticationError):
        bayeux(server).handshake()


def test_an_unknown_channel_is_refused(server: StreamingOnlyServer) -> None:
    client = bayeux(server)
    client.handshake()
    with pytest.raises(BayeuxError, match="does not exist"):
        client.subscribe("/topic/NoSuchTopic", -1)


def test_gap_and_overflow_events_carry_only_the_header(server: StreamingOnlyServer) -> None:
    client = bayeux(server)
    client.handshake()
    client.subscribe("/data/OpportunityChangeEvent", -1)
    client.connect()
    control(server, gap_next=1, overflow_threshold=1)
    server.change("Opportunity", "UPDATE", "006000000000001AAA", {"Name": "X"}, ("Name",))
    server.change("Opportunity", "CREATE", "006000000000002AAA", {"Name": "Y"})
    gap, plain = (m["data"]["payload"] for m in read(client, 2))
    assert gap == {"ChangeEventHeader": gap["ChangeEventHeader"]}
    assert gap["ChangeEventHeader"]["changeType"] == "GAP_UPDATE"
    assert gap["ChangeEventHeader"]["recordIds"] == ["006000000000001AAA"]
    assert plain["ChangeEventHeader"]["changeType"] == "CREATE"


def test_a_pushtopic_notifies_the_changes_its_query_selects(server: StreamingOnlyServer) -> None:
    server.change(
        "PushTopic",
        "CREATE",
        "0IF000000000001AAA",
        {"Name": "Accounts", "Query": "SELECT Id, Name FROM Account", "NotifyForFields": "Referenced"},
    )
    client = bayeux(server)
    client.handshake()
    client.subscribe("/topic/Accounts", -1)
    client.connect()
    server.change("Account", "UPDATE", ACCOUNT, {"Id": ACCOUNT, "Name": "N", "Phone": "1"}, ("Phone",))
    server.change("Account", "UPDATE", ACCOUNT, {"Id": ACCOUNT, "Name": "M", "Phone": "1"}, ("Name",))
    server.change("Account", "DELETE", ACCOUNT, {"Id": ACCOUNT, "Name": "M"})
    updated, deleted = (m["data"] for m in read(client, 2))
    client.disconnect()
    assert updated["event"]["type"] == "updated"
    assert updated["sobject"] == {"Id": ACCOUNT, "Name": "M"}
    assert deleted["event"]["type"] == "deleted"
    assert deleted["sobject"] == {"Id": ACCOUNT}


def test_a_platform_event_reaches_its_channel(server: StreamingOnlyServer) -> None:
    theirs: list[dict[str, Any]] = []

    async def main() -> None:
        async with Client(TokenAuthenticator(server.url, GOOD_TOKEN)) as client:
            await client.subscribe("/event/Alert__e")
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: server.change("Alert__e", "CREATE", "e00000000000001AAA", {"Level__c": "high"})
            )
            async for message in client:
                theirs.append(message)
                break

    asyncio.run(asyncio.wait_for(main(), 30))
    data = theirs[0]["data"]
    assert data["payload"]["Level__c"] == "high"
    assert "CreatedDate" in data["payload"]
    assert isinstance(data["event"]["replayId"], int)
    assert data["event"]["EventUuid"]
