"""What the streaming source tests share: connector options for a test server, fresh objects and PushTopics."""

from __future__ import annotations

import uuid

from simple_salesforce import Salesforce

from tests.connectors.salesforce.conftest import login_config
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer


def connection_options(server: SalesforceServer) -> dict[str, str]:
    """The options that log a connector in to ``server`` with username, password and security token."""
    return login_config(server)


def fresh_object(server: SalesforceServer, suffix: str = "__c") -> str:
    """A new custom object (``__c``) or platform event (``__e``) with a text field ``Note__c``, for one test."""
    name = "T" + uuid.uuid4().hex[:10] + suffix
    client.control(server, "POST", "objects", {"name": name, "fields": [{"name": "Note__c", "type": "string"}]})
    return name


def create_pushtopic(sf: Salesforce, server: SalesforceServer, name: str, sobject: str) -> None:
    sf.PushTopic.create(
        {
            "Name": name,
            "Query": f"SELECT Id, Name, Note__c FROM {sobject}",
            "ApiVersion": float(server.version),
            "NotifyForFields": "All",
        }
    )


def streaming_settings(server: SalesforceServer, **settings: object) -> None:
    """Change the test server's streaming settings (``gap_next``, ``overflow_threshold``, ``drop_clients``, …)."""
    client.control(server, "POST", "streaming/settings", settings)
