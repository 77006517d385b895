"""An Elasticsearch server of another major version than the client refuses its requests: the task says which
client to install.

The server here is a stand-in answering only what the check needs: Elasticsearch 8 itself cannot run on this
machine, and noida-db accepts either header.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.elasticsearch.client import SearchClient
from connectors.elasticsearch.config import parse
from hub.sdk.errors import ConnectorError


class _Elasticsearch8(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        accept = self.headers.get("Accept", "")
        if "compatible-with=8" not in accept:
            status, body = (
                400,
                {"error": {"type": "media_type_header_exception", "reason": "Invalid media-type"}, "status": 400},
            )
        else:
            status, body = 200, {"version": {"number": "8.15.3"}, "tagline": "You Know, for Search"}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Elastic-Product", "Elasticsearch")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Elasticsearch8)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_server_of_another_major_version_names_the_client_to_install(server: str) -> None:
    client = SearchClient(parse({"connection.url": server}), 1)
    with pytest.raises(ConnectorError, match=r"elasticsearch>=8\.12,<9"):
        client.connect()
    client.close()
