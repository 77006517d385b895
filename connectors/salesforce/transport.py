"""The HTTP session the Salesforce connectors and simple-salesforce share: it sends simple-salesforce's requests to
the configured login URL when that URL is not a ``*.salesforce.com`` host.

simple-salesforce builds every URL as ``https://{domain}.salesforce.com/…`` for the login and
``https://{instance}/…`` afterwards. ``InstanceSession`` rewrites the prefixes it is given — the login host to
``salesforce.instance``, and ``https://`` to ``http://`` for an instance reached over plain HTTP (a local stand-in
of the API) — so the same client code talks to a real org and to any host that implements the API. It also applies
the request timeout and the trusted certificate authorities.

Used by one task thread at a time (requests sessions are not guaranteed thread-safe).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import requests

SALESFORCE_SUFFIX = ".salesforce.com"


def login_domain(instance_url: str, client_credentials: bool = False) -> str:
    """The ``domain`` simple-salesforce expects for a login URL: ``login``, ``test`` or ``acme.my`` for
    ``https://acme.my.salesforce.com``; a stand-in name for other hosts, whose requests ``InstanceSession``
    rewrites (client credentials refuse ``login`` and ``test``, so they get another one)."""
    parts = urlsplit(instance_url)
    host = parts.hostname or ""
    if host.endswith(SALESFORCE_SUFFIX) and parts.scheme == "https" and not parts.port:
        return host[: -len(SALESFORCE_SUFFIX)]
    return "hub-instance.my" if client_credentials else "login"


class InstanceSession(requests.Session):
    """A requests session that rewrites URL prefixes and applies a default timeout."""

    def __init__(self, timeout_s: float, ca_file: str = "") -> None:
        super().__init__()
        self.timeout_s = timeout_s
        self.rewrites: list[tuple[str, str]] = []
        self.ca_file = ca_file

    def rewrite(self, prefix: str, replacement: str) -> None:
        """Send requests whose URL starts with ``prefix`` to ``replacement`` + the rest of the URL."""
        if prefix != replacement and (prefix, replacement) not in self.rewrites:
            self.rewrites.append((prefix, replacement))

    def route_login(self, instance_url: str, domain: str) -> None:
        """Route simple-salesforce's login URL for ``domain`` to ``instance_url`` when they differ."""
        self.rewrite(f"https://{domain}{SALESFORCE_SUFFIX}", instance_url.rstrip("/"))

    def route_instance(self, instance_url: str, login_url: str) -> None:
        """An instance host returned by a login over plain HTTP is reached over plain HTTP too."""
        if login_url.startswith("http://") and not instance_url.startswith("http"):
            self.rewrite(f"https://{instance_url}", f"http://{instance_url}")

    def url(self, url: str) -> str:
        for prefix, replacement in self.rewrites:
            if url.startswith(prefix) and (len(url) == len(prefix) or url[len(prefix)] in "/?:"):
                return replacement + url[len(prefix) :]
        return url

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", self.timeout_s)
        if self.ca_file:  # per request: REQUESTS_CA_BUNDLE in the environment would override a session's verify
            kwargs.setdefault("verify", self.ca_file)
        target = self.url(url.decode() if isinstance(url, bytes) else url)
        verb = method.decode() if isinstance(method, bytes) else method
        return super().request(verb, target, *args, **kwargs)
