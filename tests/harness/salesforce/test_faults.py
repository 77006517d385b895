"""Faults the control API arms, as simple-salesforce meets them: expired sessions, REQUEST_LIMIT_EXCEEDED, 503, the
daily request allowance. Only the local server has a control API."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession, SalesforceGeneralError, SalesforceRefusedRequest

from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


@pytest.fixture
def local(salesforce_server: SalesforceServer) -> Iterator[SalesforceServer]:
    if not salesforce_server.control:
        pytest.skip("arming faults needs the local test server's control API")
    yield salesforce_server
    client.control(salesforce_server, "DELETE", "faults")
    client.control(salesforce_server, "PUT", "limits", {"dailyApiRequests": 15000, "used": 0})


def test_expired_sessions_are_invalid_session_id_and_a_login_client_logs_in_again(local: SalesforceServer) -> None:
    sf = client.password_login(local)
    direct = Salesforce(
        session_id=sf.session_id, instance_url=f"https://{sf.sf_instance}", session=client.http_session(local)
    )
    assert direct.query("SELECT Id FROM Account LIMIT 1")["done"] is True
    old = sf.session_id
    assert client.control(local, "POST", "sessions/expire")["expired"] >= 1
    with pytest.raises(SalesforceExpiredSession) as failure:
        direct.query("SELECT Id FROM Account LIMIT 1")
    assert failure.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    assert sf.query("SELECT Id FROM Account LIMIT 1")["done"] is True
    assert sf.session_id != old


def test_request_limit_exceeded_for_the_next_requests(local: SalesforceServer, sf: Salesforce) -> None:
    client.control(local, "POST", "faults", {"kind": "REQUEST_LIMIT_EXCEEDED", "count": 2})
    for _ in range(2):
        with pytest.raises(SalesforceRefusedRequest) as failure:
            sf.query("SELECT Id FROM Account LIMIT 1")
        assert failure.value.status == 403
        assert failure.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]
    assert sf.query("SELECT Id FROM Account LIMIT 1")["done"] is True


def test_server_unavailable_reaches_bulk_requests_too(local: SalesforceServer, sf: Salesforce) -> None:
    client.control(
        local, "POST", "faults", {"kind": "SERVER_UNAVAILABLE", "count": 1, "pathPrefix": "/services/data/v59.0/jobs/"}
    )
    assert sf.query("SELECT Id FROM Account LIMIT 1")["done"] is True
    with pytest.raises(SalesforceGeneralError) as failure:
        sf.bulk2.Account._client.create_job("query", query="SELECT Id FROM Account")
    assert failure.value.status == 503
    assert failure.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"


def test_daily_allowance_is_reported_and_enforced(local: SalesforceServer, sf: Salesforce) -> None:
    client.control(local, "PUT", "limits", {"dailyApiRequests": 100, "used": 97})
    sf.query("SELECT Id FROM Account LIMIT 1")
    assert sf.api_usage["api-usage"].used == 98
    assert sf.api_usage["api-usage"].total == 100
    assert sf.limits()["DailyApiRequests"] == {"Max": 100, "Remaining": 1}
    sf.query("SELECT Id FROM Account LIMIT 1")
    with pytest.raises(SalesforceRefusedRequest) as failure:
        sf.query("SELECT Id FROM Account LIMIT 1")
    assert failure.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"


def test_control_api_names_a_bad_definition(local: SalesforceServer) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as failure:
        client.control(local, "POST", "objects", {"name": "Bad__c", "fields": [{"name": "X__c", "type": "money"}]})
    assert failure.value.code == 400
    assert "unknown type 'money'" in failure.value.read().decode()
