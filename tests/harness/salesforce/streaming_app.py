"""A minimal app serving only the Streaming API endpoint over a bare change feed, run in a thread, for the
streaming tests that need no org (the bus, the endpoint and the Bayeux client against each other).

Sessions: the token ``good-token`` is valid until :meth:`StreamingOnlyServer.expire_sessions`.
"""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette

from tests.harness.process import free_port
from tests.harness.salesforce.changes import ChangeFeed, RecordChange
from tests.harness.salesforce.cometd import StreamingEndpoint, streaming_routes

GOOD_TOKEN = "good-token"


class StreamingOnlyServer:
    """Owns one uvicorn server thread on 127.0.0.1 serving ``/cometd/<version>`` and the streaming settings."""

    def __init__(self) -> None:
        self.feed = ChangeFeed()
        self._valid = {GOOD_TOKEN}
        self._commits = itertools.count(1)
        self.endpoint: StreamingEndpoint
        self.endpoint, routes = streaming_routes(self.feed, lambda token: token in self._valid)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(Starlette(routes=routes), host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="streaming-test-server", daemon=True)

    def start(self) -> StreamingOnlyServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the streaming test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def expire_sessions(self) -> None:
        self._valid.clear()

    def renew_sessions(self) -> None:
        self._valid.add(GOOD_TOKEN)

    def change(
        self, entity: str, change_type: str, record_id: str, fields: dict[str, Any], changed: tuple[str, ...] = ()
    ) -> None:
        commit = next(self._commits)
        self.feed.publish(
            RecordChange(
                entity=entity,
                change_type=change_type,
                record_ids=(record_id,),
                changed_fields=changed or tuple(fields),
                fields=fields,
                commit_timestamp_ms=int(time.time() * 1000),
                transaction_key=f"tx-{commit}",
                commit_number=commit,
            )
        )
