"""Forwarding a write this worker cannot do to the worker that can: Connect's two hops (``forward=true`` to the
leader, then ``forward=false``), with the request's body and only the headers the leader needs.

Workers of one cluster talk to each other over their own certificates, so the leader's is not verified. The
blocking HTTP call runs on Starlette's thread pool; nothing here keeps state between requests.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.parse
import urllib.request

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from hub.rest.errors import error_response
from hub.runtime.herder import NotLeaderError
from hub.runtime.request_signing import ALGORITHM_HEADER, SIGNATURE_HEADER

_UNVERIFIED = ssl._create_unverified_context()
_FORWARDED_HEADERS = ("content-type", "authorization", "accept", SIGNATURE_HEADER.lower(), ALGORITHM_HEADER.lower())
#: Headers of the leader's answer passed back to the client.
_ANSWERED_HEADERS = ("content-type", "location")


async def forward(request: Request, error: NotLeaderError) -> Response:
    """Send ``request`` to the worker ``error`` names and answer what it answers; 409 when no leader is known or
    the second hop failed too."""
    hop = request.query_params.get("forward")
    if error.url is None or hop == "false":
        return error_response(
            409,
            "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was "
            "underway. Retry in a few seconds.",
            retry_after_s=2,
        )
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "forward"]
    query.append(("forward", "false" if hop == "true" else "true"))
    url = error.url.rstrip("/") + request.url.path + "?" + urllib.parse.urlencode(query)
    body = getattr(request.state, "raw_body", None)
    headers = {k: v for k, v in request.headers.items() if k.lower() in _FORWARDED_HEADERS}

    def send() -> tuple[int, bytes, dict[str, str]]:
        outgoing = urllib.request.Request(url, data=body, method=request.method, headers=headers)
        try:
            with urllib.request.urlopen(outgoing, timeout=60, context=_UNVERIFIED) as answer:
                return answer.status, answer.read(), dict(answer.headers)
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), dict(exc.headers)

    try:
        status, payload, answer_headers = await run_in_threadpool(send)
    except OSError as exc:
        return error_response(409, f"Cannot complete request: the leader {error.url} did not answer ({exc}). Retry.")
    kept = {k: v for k, v in answer_headers.items() if k.lower() in _ANSWERED_HEADERS}
    return Response(payload, status_code=status, headers=kept)
