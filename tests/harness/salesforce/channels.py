"""Custom change event channels (``/data/<Name>__chn``), created as Salesforce documents it, through the Tooling API.

Responsibility: keep the org's custom channels and their members, and answer the two Tooling API calls that define
them (Change Data Capture Developer Guide, "Compose Streams of Change Data Capture Notifications with Custom
Channels"):

- ``POST /services/data/vXX.X/tooling/sobjects/PlatformEventChannel`` with ``{"FullName": "Sales__chn",
  "Metadata": {"channelType": "data", "label": ...}}``;
- ``POST /services/data/vXX.X/tooling/sobjects/PlatformEventChannelMember`` with ``{"FullName":
  "Sales_chn_AccountChangeEvent", "Metadata": {"eventChannel": "Sales__chn", "selectedEntity":
  "AccountChangeEvent"}}``.

Each answers 201 with ``{"id", "success": true, "errors": [], "warnings": [], "infos": []}``, or 400 with
Salesforce's error list. A member's change events are published on its channel as on the standard ones (the
publisher asks :meth:`CustomChannels.of`). Not implemented: ``channelType: event`` (platform event channels),
member ``filterExpression`` (refused by name), and reading, updating or deleting channels and members.

Thread-safety: one lock guards the registry; ``of`` is called on the org's publishing thread.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from tests.harness.salesforce import errors
from tests.harness.salesforce.ids import IdAllocator
from tests.harness.salesforce.responses import json_response

CHANNEL_PREFIX = "0YL"  # PlatformEventChannel ids
MEMBER_PREFIX = "0v8"  # PlatformEventChannelMember ids


class CustomChannels:
    """Custom channel name (``Sales__chn``) -> the change event entities it carries (``AccountChangeEvent``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._members: dict[str, set[str]] = {}
        self.ids = IdAllocator()

    def names(self) -> set[str]:
        with self._lock:
            return set(self._members)

    def add_channel(self, name: str) -> None:
        with self._lock:
            if name in self._members:
                raise errors.ApiError(400, "DUPLICATE_DEVELOPER_NAME", f"There's already a channel named {name}.")
            self._members[name] = set()

    def add_member(self, channel: str, event_name: str) -> None:
        with self._lock:
            members = self._members.get(channel)
            if members is None:
                raise errors.ApiError(
                    400, "FIELD_INTEGRITY_EXCEPTION", f"Event Channel: no channel named {channel}", ["eventChannel"]
                )
            if event_name in members:
                raise errors.ApiError(400, "DUPLICATE_VALUE", f"{event_name} is already a member of {channel}")
            members.add(event_name)

    def of(self, event_name: str) -> list[str]:
        """The custom channels (``/data/Sales__chn``) that carry ``event_name``'s events."""
        with self._lock:
            return [f"/data/{name}" for name, members in self._members.items() if event_name in members]


def tooling_extension(
    channels: CustomChannels, entity_exists: Callable[[str], bool]
) -> Callable[[Request, str, list[str]], Awaitable[Response | None]]:
    """The REST API extension answering the Tooling API calls of the module docstring (None for any other path)."""

    async def handle(request: Request, version: str, parts: list[str]) -> Response | None:
        if parts[:2] != ["tooling", "sobjects"] or len(parts) != 3:
            return None
        kind = parts[2]
        if kind not in ("PlatformEventChannel", "PlatformEventChannelMember"):
            return None
        if request.method != "POST":
            message = f"HTTP Method '{request.method}' not allowed. Allowed are POST"
            raise errors.ApiError(405, "METHOD_NOT_ALLOWED", message)
        try:
            body = await request.json()
        except ValueError:
            raise errors.ApiError(400, "JSON_PARSER_ERROR", "The request body is not JSON") from None
        metadata = body.get("Metadata") if isinstance(body, dict) else None
        full_name = body.get("FullName") if isinstance(body, dict) else None
        if not isinstance(metadata, dict) or not isinstance(full_name, str) or not full_name:
            raise errors.ApiError(400, "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]")
        if kind == "PlatformEventChannel":
            _create_channel(channels, full_name, metadata)
            created = channels.ids.next(CHANNEL_PREFIX)
        else:
            _create_member(channels, entity_exists, metadata)
            created = channels.ids.next(MEMBER_PREFIX)
        return json_response({"id": created, "success": True, "errors": [], "warnings": [], "infos": []}, 201)

    return handle


def _create_channel(channels: CustomChannels, full_name: str, metadata: dict[str, Any]) -> None:
    if not full_name.endswith("__chn") or len(full_name) <= len("__chn"):
        raise errors.ApiError(400, "FIELD_INTEGRITY_EXCEPTION", "A channel's name ends with __chn", ["FullName"])
    if metadata.get("channelType") != "data":
        raise errors.ApiError(
            400,
            "FIELD_INTEGRITY_EXCEPTION",
            f"channelType {metadata.get('channelType')!r}: this test server has change event channels (data) only",
            ["channelType"],
        )
    channels.add_channel(full_name)


def _create_member(channels: CustomChannels, entity_exists: Callable[[str], bool], metadata: dict[str, Any]) -> None:
    if metadata.get("filterExpression"):
        message = "filterExpression: not implemented by this test server"
        raise errors.ApiError(400, "FIELD_INTEGRITY_EXCEPTION", message, ["filterExpression"])
    channel = str(metadata.get("eventChannel") or "")
    selected = str(metadata.get("selectedEntity") or "")
    entity = selected[: -len("ChangeEvent")] if selected.endswith("ChangeEvent") else ""
    if entity.endswith("__"):
        entity += "c"
    if not entity or not entity_exists(entity):
        raise errors.ApiError(
            400, "FIELD_INTEGRITY_EXCEPTION", f"Selected Entity: {selected!r} is not a change event", ["selectedEntity"]
        )
    channels.add_member(channel, selected)
