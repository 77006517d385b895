"""The connectors' Salesforce session against the harness's Salesforce: each grant logs in through
simple-salesforce, an expired session is renewed, rate limits and 5xx are retried, errors name the server's code."""

from __future__ import annotations

import logging

import pytest

from connectors.salesforce.config import SOBJECT_SINK_CONFIG
from connectors.salesforce.session import (
    SalesforceApiError,
    SalesforceLoginError,
    SalesforceSession,
    SalesforceUnavailableError,
)
from connectors.salesforce.settings import connection_settings
from tests.connectors.salesforce.conftest import login_config
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


def open_session(server: SalesforceServer, grant: str = "PASSWORD", **options: str) -> SalesforceSession:
    config = {**login_config(server, grant), "salesforce.object": "Account", **options}
    return SalesforceSession(connection_settings(config, SOBJECT_SINK_CONFIG)).open()


@pytest.mark.parametrize("grant", ["PASSWORD", "JWT_BEARER", "CLIENT_CREDENTIALS"])
def test_each_grant_logs_in_and_calls_the_rest_api(salesforce_server: SalesforceServer, grant: str) -> None:
    session = open_session(salesforce_server, grant)
    try:
        body = session.request("GET", "sobjects/Account/describe").json()
        assert body["name"] == "Account"
    finally:
        session.close()


def test_latest_resolves_to_the_newest_version_the_org_lists(salesforce_server: SalesforceServer) -> None:
    session = open_session(salesforce_server, **{"salesforce.version": "latest"})
    try:
        listed = session.request("GET", session.instance_url + "/services/data/").json()
        assert session.version == max((v["version"] for v in listed), key=lambda v: tuple(map(int, v.split("."))))
    finally:
        session.close()


def test_the_jwt_key_may_be_given_inline(salesforce_server: SalesforceServer) -> None:
    assert salesforce_server.private_key_file
    with open(salesforce_server.private_key_file) as key_file:
        key = key_file.read()
    options = {"hub.salesforce.jwt.private.key.path": "", "hub.salesforce.jwt.private.key": key}
    session = open_session(salesforce_server, "JWT_BEARER", **options)
    session.close()


def test_a_refused_login_names_the_server_code_and_no_secret(salesforce_server: SalesforceServer) -> None:
    with pytest.raises(SalesforceLoginError) as caught:
        open_session(salesforce_server, **{"salesforce.password": "wrong-password-42"})
    assert "INVALID_LOGIN" in str(caught.value)
    assert "wrong-password-42" not in str(caught.value)
    assert salesforce_server.security_token not in str(caught.value)


def test_an_expired_session_is_renewed_and_the_request_repeated(salesforce_server: SalesforceServer) -> None:
    if not salesforce_server.control:
        pytest.skip("expiring sessions needs the local test server's control API")
    session = open_session(salesforce_server)
    try:
        logins = session.logins
        client.control(salesforce_server, "POST", "sessions/expire")
        assert session.request("GET", "sobjects/Account/describe").json()["name"] == "Account"
        assert session.logins == logins + 1
    finally:
        session.close()


@pytest.mark.parametrize("kind", ["REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE"])
def test_rate_limits_and_unavailability_are_retried(
    salesforce_server: SalesforceServer, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    if not salesforce_server.control:
        pytest.skip("faults need the local test server's control API")
    session = open_session(salesforce_server)
    try:
        client.control(salesforce_server, "POST", "faults", {"kind": kind, "count": 3})
        with caplog.at_level(logging.WARNING):
            assert session.request("GET", "sobjects/Account/describe").json()["name"] == "Account"
        assert len([r for r in caplog.records if "retrying" in r.getMessage()]) == 3
    finally:
        client.control(salesforce_server, "DELETE", "faults")
        session.close()


def test_retries_end_with_a_retriable_error(salesforce_server: SalesforceServer) -> None:
    if not salesforce_server.control:
        pytest.skip("faults need the local test server's control API")
    session = open_session(salesforce_server, **{"request.max.retries.time.ms": "300"})
    try:
        client.control(salesforce_server, "POST", "faults", {"kind": "REQUEST_LIMIT_EXCEEDED", "count": 1000})
        with pytest.raises(SalesforceUnavailableError, match="REQUEST_LIMIT_EXCEEDED"):
            session.request("GET", "sobjects/Account/describe")
    finally:
        client.control(salesforce_server, "DELETE", "faults")
        session.close()


def test_other_errors_carry_the_server_code_and_message(salesforce_server: SalesforceServer) -> None:
    session = open_session(salesforce_server)
    try:
        with pytest.raises(SalesforceApiError) as caught:
            session.request("GET", "query", params={"q": "SELECT Nope FROM"})
        assert caught.value.error_code == "MALFORMED_QUERY"
        assert caught.value.status == 400
    finally:
        session.close()
