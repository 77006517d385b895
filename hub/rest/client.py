"""RestClient: calls a Hub (or Kafka Connect) REST API; errors carry the server's message."""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class RestError(Exception):
    """The server answered with an error (``status`` 0: it could not be reached)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class _RetryLaterError(Exception):
    def __init__(self, seconds: int, error: RestError) -> None:
        super().__init__(str(error))
        self.seconds = seconds
        self.error = error


class RestClient:
    """A thin JSON client; ``user:password`` or a bearer token authenticates when the server asks."""

    def __init__(
        self,
        url: str,
        *,
        user: str | None = None,
        token: str | None = None,
        insecure: bool = False,
        timeout_s: float = 90,
        retry_for_s: float = 60,
    ) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Accept": "application/json"}
        if user:
            self._headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
        elif token:
            self._headers["Authorization"] = f"Bearer {token}"
        self._context = ssl._create_unverified_context() if insecure else None
        self._timeout_s = timeout_s
        self._retry_for_s = retry_for_s

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        """The decoded JSON answer (None for an empty one); RestError for 4xx/5xx and unreachable servers.

        An answer with a Retry-After header (a worker without a leader during a rebalance) is asked again after
        that many seconds, for up to ``retry_for_s``.
        """
        deadline = time.monotonic() + self._retry_for_s
        while True:
            try:
                return self._call_once(method, path, body, query)
            except _RetryLaterError as later:
                if time.monotonic() + later.seconds > deadline:
                    raise later.error from None
                time.sleep(later.seconds)

    def _call_once(self, method: str, path: str, body: Any, query: dict[str, str] | None) -> Any:
        url = self.url + urllib.parse.quote(path, safe="/") + (f"?{urllib.parse.urlencode(query)}" if query else "")
        data = None if body is None else json.dumps(body).encode()
        headers = dict(self._headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self._timeout_s, context=self._context) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode(errors="replace")
            try:
                message = json.loads(text).get("message", text)
            except (ValueError, AttributeError):
                message = text or exc.reason
            error = RestError(exc.code, f"{message} (HTTP {exc.code})")
            retry_after = exc.headers.get("Retry-After") if exc.headers else None
            if retry_after and retry_after.isdigit():
                raise _RetryLaterError(int(retry_after), error) from None
            raise error from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise RestError(0, f"cannot reach {self.url}: {reason}") from None
        return json.loads(payload) if payload else None
