"""Salesforce connector test helpers: connector configs for the harness's Salesforce (the local test server, or a
real org named by ``HUB_TEST_SALESFORCE_*``), a simple-salesforce client to check the org through its API, and the
runtime's plugins with the Salesforce plugin registered even when Hub's entry points predate it."""

from __future__ import annotations

import importlib.metadata
import uuid

import pytest
from simple_salesforce import Salesforce

from connectors.salesforce import plugin as salesforce_plugin
from hub.runtime.plugins import Plugins
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer


def login_config(server: SalesforceServer, grant: str = "PASSWORD") -> dict[str, str]:
    """The options that log a connector in to ``server`` with ``grant``."""
    config = {
        "salesforce.instance": server.url,
        "salesforce.version": server.version,
        "salesforce.grant.type": grant,
        "request.max.retries.time.ms": "20000",
        "hub.salesforce.retry.backoff.ms": "50",
    }
    if server.ca_file:
        config["hub.salesforce.ssl.ca.file"] = server.ca_file
    if grant == "PASSWORD":
        config |= {
            "salesforce.username": server.username,
            "salesforce.password": server.password,
            "salesforce.password.token": server.security_token,
        }
    elif grant == "JWT_BEARER":
        config |= {
            "salesforce.username": server.username,
            "salesforce.consumer.key": server.consumer_key,
            "hub.salesforce.jwt.private.key.path": server.private_key_file or "",
        }
    else:
        config |= {"salesforce.consumer.key": server.consumer_key, "salesforce.consumer.secret": server.consumer_secret}
        if server.control:  # client credentials need a My Domain: any host but login/test, which the server is
            config["salesforce.instance"] = server.url
    return config


@pytest.fixture(scope="session")
def sf(salesforce_server: SalesforceServer) -> Salesforce:
    """simple-salesforce logged in, to arrange and check the org."""
    return client.password_login(salesforce_server)


@pytest.fixture
def marker() -> str:
    """A value unique to one test, to find its records among everyone's."""
    return uuid.uuid4().hex[:12]


def define_object(server: SalesforceServer, name: str, fields: list[dict[str, object]]) -> str:
    """A custom object on the local server (skips on a real org, where it must exist already)."""
    if not server.control:
        pytest.skip(f"needs {name}, which the local test server defines through its control API")
    client.control(server, "POST", "objects", {"name": name, "fields": fields})
    return name


@pytest.fixture
def plugins() -> Plugins:
    registered = any(entry.name == "salesforce" for entry in importlib.metadata.entry_points(group="hub"))
    return Plugins.discover(extra=() if registered else (salesforce_plugin,))
