"""simple-salesforce pointed at a :class:`SalesforceServer`: the test side's way in, for every grant.

simple-salesforce builds its login URLs as ``https://{domain}.salesforce.com``; against the local server a
``requests`` adapter sends those requests to the server's URL instead (nothing else is changed), and the session
trusts the server's CA. Against a real org nothing is redirected and the domain comes from the login URL.
"""

from __future__ import annotations

import json
import urllib.request
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from simple_salesforce import Salesforce

from tests.harness.salesforce.harness import SalesforceServer

LOCAL_DOMAIN = "hub-test.my"  # client credentials need a My Domain (simple-salesforce refuses login/test)


class LoginRedirect(HTTPAdapter):
    """Sends ``https://*.salesforce.com/...`` to ``base_url`` with the same path and query, and verifies the server
    with ``ca_file`` (set here because ``REQUESTS_CA_BUNDLE`` would override a session's ``verify``)."""

    def __init__(self, base_url: str, ca_file: str | None) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/")
        self.ca_file = ca_file

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        parts = urlsplit(request.url or "")
        if (parts.hostname or "").endswith(".salesforce.com"):
            request.url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        if self.ca_file and (request.url or "").startswith(self.base_url):
            kwargs["verify"] = self.ca_file
        return super().send(request, *args, **kwargs)


def http_session(server: SalesforceServer) -> requests.Session:
    session = requests.Session()
    if server.control:
        session.mount("https://", LoginRedirect(server.url, server.ca_file))
    return session


def domain(server: SalesforceServer, *, my_domain: bool = False) -> str:
    if server.control:
        return LOCAL_DOMAIN if my_domain else "login"
    host = urlsplit(server.url).hostname or ""
    return host.removesuffix(".salesforce.com")


def password_login(server: SalesforceServer) -> Salesforce:
    """Username + password + security token (the SOAP partner API's login)."""
    return Salesforce(
        username=server.username,
        password=server.password,
        security_token=server.security_token,
        domain=domain(server),
        version=server.version,
        session=http_session(server),
    )


def jwt_login(server: SalesforceServer) -> Salesforce:
    """The OAuth 2.0 JWT bearer grant, signed with the connected app's private key."""
    return Salesforce(
        username=server.username,
        consumer_key=server.consumer_key,
        privatekey_file=server.private_key_file,
        domain=domain(server),
        version=server.version,
        session=http_session(server),
    )


def client_credentials_login(server: SalesforceServer) -> Salesforce:
    """The OAuth 2.0 client credentials grant (needs a My Domain)."""
    return Salesforce(
        consumer_key=server.consumer_key,
        consumer_secret=server.consumer_secret,
        domain=domain(server, my_domain=True),
        version=server.version,
        session=http_session(server),
    )


def control(server: SalesforceServer, method: str, path: str, body: Any = None) -> Any:
    """Call the test server's ``/_harness/`` control API (only the local server has one)."""
    if not server.control:
        raise RuntimeError("this Salesforce has no /_harness/ control API (a real org)")
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{server.url}/_harness/{path.lstrip('/')}",
        data=data,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10, context=server.ssl_context()) as response:
        return json.loads(response.read() or b"null")
