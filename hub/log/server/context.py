"""What the Kafka listener's request handlers are given: the server's identity, one request's context and what
the server keeps about a client connection between its requests. Requests and responses are the protocol codec's
plain dicts (``Body``).

Plain data; a ConnectionState belongs to one connection, used from the event loop only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hub.log.protocol import RequestHeader
from hub.log.security.contracts import ANONYMOUS

Body = dict[str, Any]

#: Where the group coordinator is now: ``(node_id, host, port)``, or None while no node is (no leader of the
#: ``__consumer_offsets`` partition). Called on the event loop; it must answer at once.
CoordinatorNode = Callable[[], tuple[int, str, int] | None]


@dataclass(frozen=True)
class ServerIdentity:
    """How the server describes itself in Metadata and FindCoordinator."""

    host: str
    port: int
    cluster_id: str
    node_id: int = 0


@dataclass
class ConnectionState:
    """What the server remembers about one client connection between its requests."""

    #: Where the next Fetch starts reading among the partitions it names (see ``RequestHandlers.fetch``).
    fetch_start: int = 0
    #: Whether the client has gone (closed or reset the connection); a long poll gives up early when it has.
    closed: Callable[[], bool] = lambda: False
    #: What the client said it is in ApiVersions v3+ (``client_software_name``/``_version``), for log lines.
    client_software: tuple[str, str] | None = None
    #: Who the client is: ``User:<name>`` after SASL or from its TLS certificate, else ANONYMOUS.
    principal: str = ANONYMOUS
    #: The name of the listener it connected to (``PLAINTEXT``, ``SASL_SSL``… or a custom name).
    listener: str = "PLAINTEXT"
    #: That listener's security protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL.
    security_protocol: str = "PLAINTEXT"


@dataclass
class RequestContext:
    """One request: its header, the client's address and its connection's state."""

    header: RequestHeader
    client_host: str
    connection: ConnectionState = field(default_factory=ConnectionState)
