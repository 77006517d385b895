"""The test server's Streaming API, driven only by real clients: simple-salesforce changes records, publishes
platform events and creates PushTopics through the REST API; aiosfstream (on aiocometd) subscribes through
``/cometd/<version>`` with the session simple-salesforce logged in with."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiosfstream_ng.auth import AuthenticatorBase
from aiosfstream_ng.client import Client
from aiosfstream_ng.replay import ReplayMarker, ReplayOption
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from tests.harness.salesforce import client as harness_client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration

WAIT_S = 30


class SessionAuthenticator(AuthenticatorBase):
    """aiosfstream's authenticator with simple-salesforce's session (the local server has no password grant)."""

    def __init__(self, sf: Salesforce) -> None:
        super().__init__()
        self._sf = sf

    async def _authenticate(self) -> tuple[int, dict[str, Any]]:
        return 200, {
            "access_token": self._sf.session_id,
            "token_type": "Bearer",
            "instance_url": f"https://{self._sf.sf_instance}",
        }


def stream(
    server: SalesforceServer, sf: Salesforce, channel: str, count: int, act: Any, replay: Any = ReplayOption.NEW_EVENTS
) -> list[dict[str, Any]]:
    """Subscribe with aiosfstream, run ``act()`` (blocking calls, on a thread), return the first ``count`` events."""

    async def main() -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        subscriber = Client(SessionAuthenticator(sf), replay=replay)
        subscriber.ssl = server.ssl_context()  # aiocometd's option; aiosfstream does not pass it on
        async with subscriber:
            await subscriber.subscribe(channel)
            await asyncio.get_running_loop().run_in_executor(None, act)
            async for message in subscriber:
                messages.append(message)
                if len(messages) == count:
                    break
        return messages

    return asyncio.run(asyncio.wait_for(main(), WAIT_S))


def test_change_events_follow_a_record_through_create_update_delete_and_undelete(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    created: dict[str, Any] = {}

    def act() -> None:
        created.update(sf.Account.create({"Name": f"acme {marker}"}))
        sf.Account.update(created["id"], {"Name": f"acme corp {marker}"})
        sf.Account.delete(created["id"])
        harness_client.control(salesforce_server, "POST", "undelete", {"ids": [created["id"]]})

    events = stream(salesforce_server, sf, "/data/AccountChangeEvent", 4, act)
    headers = [e["data"]["payload"]["ChangeEventHeader"] for e in events]
    assert [h["changeType"] for h in headers] == ["CREATE", "UPDATE", "DELETE", "UNDELETE"]
    assert all(h["recordIds"] == [created["id"]] and h["entityName"] == "Account" for h in headers)
    create, update, delete, undelete = (e["data"]["payload"] for e in events)
    assert create["Name"] == f"acme {marker}"
    assert "Name" in update["ChangeEventHeader"]["changedFields"]
    assert update["Name"] == f"acme corp {marker}"
    assert set(delete) == {"ChangeEventHeader"}
    assert undelete["Name"] == f"acme corp {marker}"
    replay_ids = [e["data"]["event"]["replayId"] for e in events]
    assert replay_ids == sorted(replay_ids)


def test_the_change_events_channel_carries_every_object(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    def act() -> None:
        sf.Contact.create({"LastName": f"c {marker}"})
        sf.Lead.create({"LastName": f"l {marker}", "Company": "x"})

    events = stream(salesforce_server, sf, "/data/ChangeEvents", 2, act)
    assert [e["data"]["payload"]["ChangeEventHeader"]["entityName"] for e in events] == ["Contact", "Lead"]


def test_a_custom_channel_created_through_the_tooling_api_carries_its_members_only(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    channel = f"Sales{marker}__chn"
    created = sf.toolingexecute(
        "sobjects/PlatformEventChannel",
        method="POST",
        data={"FullName": channel, "Metadata": {"channelType": "data", "label": "Sales"}},
    )
    assert created["success"] is True
    assert created["id"].startswith("0YL")
    assert created["errors"] == []
    member = {
        "FullName": f"Sales{marker}_chn_LeadChangeEvent",
        "Metadata": {"eventChannel": channel, "selectedEntity": "LeadChangeEvent"},
    }
    assert sf.toolingexecute("sobjects/PlatformEventChannelMember", method="POST", data=member)["success"] is True

    def act() -> None:
        sf.Contact.create({"LastName": f"c {marker}"})  # not a member: not on the channel
        sf.Lead.create({"LastName": f"l {marker}", "Company": "x"})

    (event,) = stream(salesforce_server, sf, f"/data/{channel}", 1, act)
    assert event["channel"] == f"/data/{channel}"
    assert event["data"]["payload"]["ChangeEventHeader"]["entityName"] == "Lead"
    assert event["data"]["payload"]["LastName"] == f"l {marker}"


def test_custom_channel_definitions_are_checked(sf: Salesforce, marker: str) -> None:
    bad_type = {"FullName": f"E{marker}__chn", "Metadata": {"channelType": "event", "label": "E"}}
    with pytest.raises(SalesforceMalformedRequest, match="channelType"):
        sf.toolingexecute("sobjects/PlatformEventChannel", method="POST", data=bad_type)
    no_channel = {
        "FullName": f"Missing{marker}_chn_LeadChangeEvent",
        "Metadata": {"eventChannel": f"Missing{marker}__chn", "selectedEntity": "LeadChangeEvent"},
    }
    with pytest.raises(SalesforceMalformedRequest, match="no channel named"):
        sf.toolingexecute("sobjects/PlatformEventChannelMember", method="POST", data=no_channel)


def test_a_pushtopic_created_through_rest_notifies_matching_records(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    name = f"Big{marker}"[:25]
    sf.PushTopic.create(
        {
            "Name": name,
            "Query": "SELECT Id, Name, AnnualRevenue FROM Account WHERE AnnualRevenue > 1000",
            "ApiVersion": float(salesforce_server.version),
            "NotifyForFields": "Referenced",
        }
    )

    def act() -> None:
        sf.Account.create({"Name": f"small {marker}", "AnnualRevenue": 10})
        sf.Account.create({"Name": f"big {marker}", "AnnualRevenue": 5000})

    (event,) = stream(salesforce_server, sf, f"/topic/{name}", 1, act)
    assert event["data"]["event"]["type"] == "created"
    assert event["data"]["sobject"]["Name"] == f"big {marker}"
    assert set(event["data"]["sobject"]) == {"Id", "Name", "AnnualRevenue"}


def test_a_platform_event_published_through_rest_is_delivered(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    if not salesforce_server.control:
        pytest.skip("defines Alert__e through the local test server's control API")
    harness_client.control(
        salesforce_server, "POST", "objects", {"name": "Alert__e", "fields": [{"name": "Level__c", "type": "string"}]}
    )
    (event,) = stream(
        salesforce_server, sf, "/event/Alert__e", 1, lambda: sf.Alert__e.create({"Level__c": f"high {marker}"})
    )
    assert event["data"]["payload"]["Level__c"] == f"high {marker}"
    assert event["data"]["payload"]["CreatedDate"]
    assert event["data"]["event"]["EventUuid"]


def test_events_older_than_the_retention_window_cannot_be_replayed(
    salesforce_server: SalesforceServer, sf: Salesforce, marker: str
) -> None:
    if not salesforce_server.control:
        pytest.skip("shortens the retention window through the local test server's control API")
    (first,) = stream(
        salesforce_server, sf, "/data/OpportunityChangeEvent", 1,
        lambda: sf.Opportunity.create({"Name": f"o {marker}", "StageName": "Prospecting", "CloseDate": "2030-01-01"}),
    )  # fmt: skip
    sf.Opportunity.create({"Name": f"p {marker}", "StageName": "Prospecting", "CloseDate": "2030-01-01"})
    harness_client.control(salesforce_server, "PUT", "streaming", {"retentionMs": 0})
    try:
        stale = {"/data/OpportunityChangeEvent": ReplayMarker("", first["data"]["event"]["replayId"])}
        with pytest.raises(Exception, match="you provided was invalid"):
            stream(salesforce_server, sf, "/data/OpportunityChangeEvent", 1, lambda: None, replay=stale)
    finally:
        harness_client.control(salesforce_server, "PUT", "streaming", {"retentionMs": 72 * 3600 * 1000})
