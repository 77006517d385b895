"""Stopping the REST server over TLS: a request in flight is answered in full, and an idle keep-alive connection
is closed with our close_notify without waiting for the client's answer, so a client that holds an idle
connection (as every pooled HTTP client does) cannot hold the server's stop, nor `hub start`'s exit on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from hub.rest.server import RestServer
from tests.harness.tls_material import CertificateAuthority
from tests.rest.conftest import start_hub

pytestmark = pytest.mark.integration

# Only a safety net for a server that never lets go: before the fix, asyncio held each idle TLS connection for
# 30 s waiting for the client's close_notify.
NEVER_S = 20.0
BODY = "x" * 1_000_000


@dataclass
class Gate:
    entered: threading.Event
    release: threading.Event


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[CertificateAuthority, Path, Path]:
    ca = CertificateAuthority(tmp_path_factory.mktemp("rest-tls"))
    issued = ca.issue("rest", "localhost", server=True)
    return ca, issued.certificate, issued.key


@pytest.fixture
def served(tls: tuple[CertificateAuthority, Path, Path]) -> Iterator[tuple[RestServer, Gate]]:
    """A TLS server whose ``/slow`` answers (``BODY``) once the gate is released."""
    gate = Gate(threading.Event(), threading.Event())

    async def slow(request: Request) -> PlainTextResponse:
        gate.entered.set()
        await asyncio.to_thread(gate.release.wait, NEVER_S)
        return PlainTextResponse(BODY)

    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok")), Route("/slow", slow)])
    server = RestServer(app, "127.0.0.1", 0, certfile=tls[1], keyfile=tls[2])
    server.start()
    try:
        yield server, gate
    finally:
        gate.release.set()
        server.stop()


def _trusting(ca: CertificateAuthority) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(ca.pem))


class _SilentTlsClient:
    """A TLS client over a raw socket that writes only what a test asks: it never answers the server's
    close_notify, as an idle pooled connection does not."""

    def __init__(self, port: int, ca: Path) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=NEVER_S)
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = ssl.create_default_context(cafile=str(ca)).wrap_bio(
            self.incoming, self.outgoing, server_hostname="localhost"
        )
        self._call(self.tls.do_handshake)

    def _flush(self) -> None:
        if data := self.outgoing.read():
            self.sock.sendall(data)

    def _call(self, operation: object) -> bytes:
        while True:
            try:
                return operation()  # type: ignore[operator,no-any-return]
            except ssl.SSLWantReadError:
                self._flush()
                data = self.sock.recv(65536)
                if not data:
                    raise ConnectionError("the server closed the connection") from None
                self.incoming.write(data)

    def get(self, path: str) -> bytes:
        self.tls.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        self._flush()
        response = b""
        while b"\r\n\r\n" not in response or not response.endswith(b"ok"):
            response += self._call(lambda: self.tls.read(65536))
        return response

    def read_until_tcp_end(self) -> bytes:
        """Every byte the server sends until it closes the TCP connection; nothing is written meanwhile."""
        received = b""
        while data := self.sock.recv(65536):
            received += data
        return received

    def close(self) -> None:
        self.sock.close()


def test_stop_closes_an_idle_tls_connection_without_waiting_for_the_client(
    served: tuple[RestServer, Gate], tls: tuple[CertificateAuthority, Path, Path]
) -> None:
    server, _ = served
    client = _SilentTlsClient(server.port, tls[0].pem)
    try:
        assert client.get("/").startswith(b"HTTP/1.1 200")
        stopping = threading.Thread(target=server.stop)
        stopping.start()
        # The server ends the TCP connection while this client has not written a byte since its request.
        client.incoming.write(client.read_until_tcp_end())
        # What arrived was the server's close_notify: a clean end of the TLS stream, not a want-more-data.
        assert client.tls.read(1) == b""
        stopping.join(NEVER_S)
        assert not stopping.is_alive()
    finally:
        client.close()


def test_stop_answers_a_request_in_flight_in_full(
    served: tuple[RestServer, Gate], tls: tuple[CertificateAuthority, Path, Path]
) -> None:
    server, gate = served
    with httpx.Client(base_url=f"https://localhost:{server.port}", verify=_trusting(tls[0]), timeout=NEVER_S) as client:
        assert client.get("/").text == "ok"  # an idle keep-alive connection beside the one in flight
        answers: list[httpx.Response] = []
        with httpx.Client(base_url=f"https://localhost:{server.port}", verify=_trusting(tls[0]), timeout=NEVER_S) as c:
            in_flight = threading.Thread(target=lambda: answers.append(c.get("/slow")))
            in_flight.start()
            assert gate.entered.wait(NEVER_S)
            stopping = threading.Thread(target=server.stop)
            stopping.start()
            gate.release.set()
            in_flight.join(NEVER_S)
            stopping.join(NEVER_S)
    assert not stopping.is_alive()
    assert [(a.status_code, a.text == BODY) for a in answers] == [(200, True)]


def test_hub_start_over_tls_exits_on_sigterm_while_a_client_holds_an_idle_connection(
    tmp_path: Path, tls: tuple[CertificateAuthority, Path, Path]
) -> None:
    ca, cert, key = tls
    hub = start_hub(tmp_path, config=f"rest.ssl.cert.file={cert}\nrest.ssl.key.file={key}\n", scheme="https")
    try:
        with httpx.Client(base_url=hub.url, verify=_trusting(ca), timeout=NEVER_S) as client:
            assert client.get("/connectors").json() == []  # its connection stays open, idle, in the pool
            hub.process.send_signal(signal.SIGTERM)
            assert hub.process.wait(NEVER_S) == 0, hub.log_path.read_text()[-3000:]
    finally:
        if hub.process.poll() is None:
            hub.process.kill()
            hub.process.wait()


def test_on_stop_runs_once_the_server_no_longer_serves() -> None:
    seen: list[bool] = []
    app = Starlette(routes=[Route("/", lambda request: PlainTextResponse("ok"))])
    server: RestServer | None = None

    def stopped() -> None:
        assert server is not None
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5)
        seen.append(True)

    server = RestServer(app, "127.0.0.1", 0, on_stop=stopped)
    server.start()
    assert httpx.get(f"http://127.0.0.1:{server.port}/", timeout=5).text == "ok"
    server.stop()
    assert seen == [True]
