"""The Streaming API wired to an org: its change feed, sessions, objects, SOQL and retention setting.

``streaming_routes_for(org)`` builds the bus (whose retention window is the org's ``streaming_retention_ms``, the
setting ``PUT /_harness/streaming`` changes), subscribes the publisher to ``org.feed``, and returns the routes
``build_app`` adds: ``/cometd/<version>`` and the streaming part of the control API. A PushTopic's WHERE clause is
evaluated by the server's SOQL module; channels are checked against the org's objects.

Thread-safety: see bus.py and cometd.py; the publisher runs on the org's publishing thread, under the org's lock,
so the SOQL lookups it makes re-enter that lock on the same thread.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import BaseRoute

from tests.harness.salesforce import soql
from tests.harness.salesforce.bus import EventBus, RetentionWindow
from tests.harness.salesforce.cometd import StreamingEndpoint
from tests.harness.salesforce.errors import ApiError
from tests.harness.salesforce.publisher import StreamingPublisher


class OrgRetentionWindow(RetentionWindow):
    """The retention window kept in the org's settings."""

    def __init__(self, org: Any) -> None:
        super().__init__()
        self._org = org

    def get(self) -> int:
        return int(self._org.streaming_retention_ms)

    def set(self, retention_ms: int) -> None:
        self._org.streaming_retention_ms = retention_ms


def streaming_routes_for(org: Any) -> tuple[StreamingEndpoint, list[BaseRoute]]:
    """The Streaming API of ``org`` (see the module docstring)."""

    def matches(query: str, record: dict[str, Any]) -> bool:
        try:
            return bool(soql.parse(query, org.find_type).matches(record))
        except ApiError:
            return False

    def entity_exists(name: str) -> bool:
        return org.find_type(name) is not None

    bus = EventBus(window=OrgRetentionWindow(org))
    publisher = StreamingPublisher(bus, matches=matches)
    org.feed.subscribe(publisher.on_change)
    endpoint = StreamingEndpoint(bus, publisher, org.sessions.valid, entity_exists=entity_exists)
    return endpoint, endpoint.routes()
