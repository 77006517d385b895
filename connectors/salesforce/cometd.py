"""A Bayeux (CometD) long-polling client for Salesforce's Streaming API, on requests.

Responsibility: one Bayeux session at ``<instance>/cometd/<version>`` — ``handshake``, ``subscribe`` with
Salesforce's replay extension (``ext.replay: {channel: replayId}``; -1 new events, -2 all retained), ``connect``
(one long poll: the data messages that arrived), ``disconnect`` — and the server's refusals as exceptions:

- ``UnknownClientError``: ``403::Unknown client`` or ``advice.reconnect == "handshake"`` (handshake again);
- ``AuthenticationError``: HTTP 401 or ``401::…`` (the session expired: log in again, then handshake);
- ``InvalidReplayIdError``: a subscription's replay id is outside the retention window;
- ``MessageTooLargeError``: an answer longer than ``max_message_bytes`` (Confluent's
  ``connection.max.message.size``); the same events would come again, so it is not retried;
- ``BayeuxError``: any other refusal, with the server's ``error`` text.

The session token comes from ``token()`` at every request, so a re-login is seen at once. The HTTP session keeps
the server's cookies (Salesforce pins a client to a server with one). A ``connect`` waits up to the server's
advised timeout plus a margin. One thread uses a client at a time; ``close`` may be called from another thread
(it cuts a waiting connect short).
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from typing import Any

import requests

log = logging.getLogger(__name__)

DEFAULT_ADVICE_TIMEOUT_MS = 110_000
#: Time past the advised long-poll timeout before the client gives up on an answer.
READ_MARGIN_S = 30.0


class BayeuxError(Exception):
    """The server refused a Bayeux message; ``error`` is its text (e.g. ``403::Unknown client``)."""

    def __init__(self, channel: str, error: str, advice: dict[str, Any] | None = None) -> None:
        super().__init__(f"{channel}: {error}")
        self.channel = channel
        self.error = error
        self.advice = advice or {}


class UnknownClientError(BayeuxError):
    """The server no longer knows this client: handshake again."""


class AuthenticationError(BayeuxError):
    """The session token was refused: log in again, then handshake."""


class InvalidReplayIdError(BayeuxError):
    """A subscription asked for a replay id the channel no longer retains."""


class MessageTooLargeError(BayeuxError):
    """An answer was longer than the client accepts."""


class BayeuxClient:
    """One Bayeux session over long polling (see the module docstring)."""

    def __init__(
        self,
        url: str,
        token: Callable[[], str],
        *,
        connect_timeout_s: float = 30.0,
        verify: bool | str = True,
        max_message_bytes: int | None = None,
    ) -> None:
        self.url = url
        self._token = token
        self._connect_timeout_s = connect_timeout_s
        self._http = requests.Session()
        self._verify = verify  # per request: REQUESTS_CA_BUNDLE would override a session's verify
        self._max_message_bytes = max_message_bytes
        self._ids = itertools.count(1)
        self.client_id: str | None = None
        self.advice_timeout_ms = DEFAULT_ADVICE_TIMEOUT_MS

    def handshake(self) -> None:
        self.client_id = None
        self._http.cookies.clear()
        reply = self._send(
            {
                "channel": "/meta/handshake",
                "version": "1.0",
                "minimumVersion": "1.0",
                "supportedConnectionTypes": ["long-polling"],
                "ext": {"replay": True},
            }
        )[0]
        self.client_id = str(reply["clientId"])
        self._take_advice(reply)

    def subscribe(self, channel: str, replay_id: int) -> None:
        self._send({"channel": "/meta/subscribe", "subscription": channel, "ext": {"replay": {channel: replay_id}}})

    def unsubscribe(self, channel: str) -> None:
        self._send({"channel": "/meta/unsubscribe", "subscription": channel})

    def connect(self) -> list[dict[str, Any]]:
        """One long poll; the data messages (``{"channel", "data"}``) that came with its answer, in order."""
        replies = self._send(
            {"channel": "/meta/connect", "connectionType": "long-polling"},
            read_timeout_s=self.advice_timeout_ms / 1000 + READ_MARGIN_S,
        )
        return [message for message in replies if not str(message.get("channel", "")).startswith("/meta/")]

    def disconnect(self) -> None:
        if self.client_id is None:
            return
        try:
            self._send({"channel": "/meta/disconnect"}, read_timeout_s=self._connect_timeout_s)
        except (BayeuxError, requests.RequestException) as exc:
            log.debug("disconnect: %s", exc)
        finally:
            self.client_id = None

    def close(self) -> None:
        self._http.close()

    def _send(self, message: dict[str, Any], *, read_timeout_s: float | None = None) -> list[dict[str, Any]]:
        message = {**message, "id": str(next(self._ids))}
        if self.client_id is not None and message["channel"] != "/meta/handshake":
            message["clientId"] = self.client_id
        response = self._http.post(
            self.url,
            json=[message],
            headers={"Authorization": f"Bearer {self._token()}"},
            timeout=(self._connect_timeout_s, read_timeout_s or self._connect_timeout_s),
            verify=self._verify,
        )
        channel = message["channel"]
        if self._max_message_bytes is not None and len(response.content) > self._max_message_bytes:
            raise MessageTooLargeError(
                channel,
                f"an answer of {len(response.content)} bytes is larger than connection.max.message.size "
                f"({self._max_message_bytes} bytes); raise it",
            )
        try:
            replies = response.json()
        except ValueError:
            replies = None
        if response.status_code == 401:
            error = _first_error(replies) or "401::Authentication invalid"
            raise AuthenticationError(channel, error)
        if response.status_code != 200 or not isinstance(replies, list):
            raise BayeuxError(channel, f"HTTP {response.status_code}: {response.text[:300]}")
        answer = next((r for r in replies if isinstance(r, dict) and r.get("channel") == channel), None)
        if answer is None:
            raise BayeuxError(channel, "the server's answer has no reply to the message")
        if not answer.get("successful", False):
            self._raise(channel, answer)
        if channel == "/meta/connect":
            self._take_advice(answer)
        return [r for r in replies if isinstance(r, dict)]

    def _raise(self, channel: str, answer: dict[str, Any]) -> None:
        error = str(answer.get("error") or "refused without an error")
        raw_advice = answer.get("advice")
        advice: dict[str, Any] = raw_advice if isinstance(raw_advice, dict) else {}
        failure = str((answer.get("ext") or {}).get("sfdc", {}).get("failureReason", ""))
        if error.startswith("401") or failure.startswith("401"):
            raise AuthenticationError(channel, failure or error, advice)
        if "Unknown client" in error or advice.get("reconnect") == "handshake":
            raise UnknownClientError(channel, error, advice)
        if "replayId" in error and channel == "/meta/subscribe":
            raise InvalidReplayIdError(channel, error, advice)
        raise BayeuxError(channel, error, advice)

    def _take_advice(self, reply: dict[str, Any]) -> None:
        advice = reply.get("advice")
        if isinstance(advice, dict) and isinstance(advice.get("timeout"), int):
            self.advice_timeout_ms = advice["timeout"]


def _first_error(replies: Any) -> str | None:
    if isinstance(replies, list):
        for reply in replies:
            if isinstance(reply, dict) and reply.get("error"):
                failure = (reply.get("ext") or {}).get("sfdc", {}).get("failureReason")
                return str(failure or reply["error"])
    return None
