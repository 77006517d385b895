"""Fixtures for the test server's faithfulness tests: a logged-in simple-salesforce client (per test: the server is
the session's, and other tests expire every session on it), and a custom object with an external id defined once
per session."""

from __future__ import annotations

import uuid

import pytest
from simple_salesforce import Salesforce

from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer


@pytest.fixture
def sf(salesforce_server: SalesforceServer) -> Salesforce:
    """simple-salesforce logged in with username, password and security token."""
    return client.password_login(salesforce_server)


@pytest.fixture(scope="session")
def invoice_object(salesforce_server: SalesforceServer) -> str:
    """``Invoice__c`` with an external id ``Number__c``, a required ``Amount__c`` and a unique ``Code__c``."""
    if not salesforce_server.control:
        pytest.skip("needs Invoice__c, which the local test server defines through its control API")
    client.control(
        salesforce_server,
        "POST",
        "objects",
        {
            "name": "Invoice__c",
            "fields": [
                {"name": "Number__c", "type": "string", "length": 40, "externalId": True, "unique": True},
                {"name": "Amount__c", "type": "currency", "required": True},
                {"name": "Code__c", "type": "string", "length": 20, "unique": True},
                {"name": "Paid__c", "type": "boolean", "defaultValue": False},
                {"name": "Due__c", "type": "date"},
            ],
        },
    )
    return "Invoice__c"


@pytest.fixture
def marker() -> str:
    """A value unique to one test, to find that test's records among everyone's."""
    return uuid.uuid4().hex[:12]
