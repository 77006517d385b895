"""The SASL exchange on the wire, as Kafka's broker runs it: what is allowed before authentication, v0 and v1
handshakes, refused mechanisms and passwords, the exchange timeout, session lifetimes and re-authentication, and
Hub's own client connection (KafkaConnection) over TLS and SASL."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hub.log.client.errors import ClientError
from hub.log.client.kafka import KafkaClients
from hub.log.client.kafka.connection import AuthenticationError, KafkaConnection
from hub.log.client.types import GroupProtocol, NewTopic, TopicPartition
from hub.log.error_codes import ErrorCode
from hub.log.security.contracts import ANONYMOUS
from hub.log.server.context import RequestContext
from tests.log.security.conftest import HOST, REAUTH_MS, SecuredListeners
from tests.log.server.raw_kafka import RawKafkaConnection

pytestmark = pytest.mark.integration

METADATA_V1 = (3, 1, {"topics": []})


def closed_by_server(connection: RawKafkaConnection) -> bool:
    """Whether the server closes the connection (the next read sees the end), rather than answering."""
    try:
        data = connection.socket.recv(1)
    except (ConnectionResetError, TimeoutError):
        return False
    return data == b""


def sasl_plain(connection: RawKafkaConnection, user: str, password: str, version: int = 1) -> dict[str, Any]:
    handshake = connection.request(17, version, {"mechanism": "PLAIN"})
    assert handshake["error_code"] == ErrorCode.NONE
    return connection.request(36, 1, {"auth_bytes": f"\x00{user}\x00{password}".encode()})


def test_api_versions_is_answered_before_authentication_and_advertises_the_sasl_apis(
    secured: SecuredListeners,
) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        answer = connection.request(18, 3, {"client_software_name": "raw", "client_software_version": "1"})
        ranges = {key["api_key"]: (key["min_version"], key["max_version"]) for key in answer["api_keys"]}
        assert ranges[17] == (0, 1)
        assert ranges[36] == (0, 2)
        assert sasl_plain(connection, "alice", "alice-secret")["error_code"] == ErrorCode.NONE
        assert connection.request(*METADATA_V1)["brokers"]


def test_a_request_before_authentication_closes_the_connection(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        connection.socket.sendall(_frame(*METADATA_V1))
        assert closed_by_server(connection)


def test_a_request_between_handshake_and_authenticate_closes_the_connection(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        assert connection.request(17, 1, {"mechanism": "PLAIN"})["error_code"] == ErrorCode.NONE
        connection.socket.sendall(_frame(18, 0, {}))
        assert closed_by_server(connection)


def test_an_unsupported_mechanism_is_refused_with_the_enabled_list_then_closed(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        answer = connection.request(17, 1, {"mechanism": "GSSAPI"})
        assert answer["error_code"] == ErrorCode.UNSUPPORTED_SASL_MECHANISM
        assert answer["mechanisms"] == ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]
        assert closed_by_server(connection)


def test_a_wrong_password_gets_kafkas_message_then_the_connection_closes(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        answer = sasl_plain(connection, "alice", "wrong")
        assert answer["error_code"] == ErrorCode.SASL_AUTHENTICATION_FAILED
        assert answer["error_message"] == "Authentication failed: Invalid username or password"
        assert "wrong" not in answer["error_message"]
        assert closed_by_server(connection)


def test_a_v0_handshake_is_followed_by_bare_tokens(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        assert connection.request(17, 0, {"mechanism": "PLAIN"})["error_code"] == ErrorCode.NONE
        token = b"\x00alice\x00alice-secret"
        connection.socket.sendall(len(token).to_bytes(4, "big") + token)
        assert connection.read_frame() == b""
        assert connection.request(*METADATA_V1)["brokers"]


def test_without_a_session_lifetime_a_second_handshake_is_an_illegal_state(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
        assert sasl_plain(connection, "alice", "alice-secret")["session_lifetime_ms"] == 0
        assert connection.request(17, 1, {"mechanism": "PLAIN"})["error_code"] == ErrorCode.ILLEGAL_SASL_STATE
        assert connection.request(*METADATA_V1)["brokers"]


def test_a_sasl_handshake_on_a_listener_without_sasl_is_an_illegal_state(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("PLAINTEXT")) as connection:
        answer = connection.request(17, 1, {"mechanism": "PLAIN"})
        assert answer["error_code"] == ErrorCode.ILLEGAL_SASL_STATE
        assert connection.request(*METADATA_V1)["brokers"]


def test_a_stalled_exchange_is_closed_while_other_clients_go_on(secured: SecuredListeners) -> None:
    with RawKafkaConnection(HOST, secured.port("STALL")) as stalled:
        assert stalled.request(17, 1, {"mechanism": "PLAIN"})["error_code"] == ErrorCode.NONE
        with RawKafkaConnection(HOST, secured.port("STALL")) as other:
            assert sasl_plain(other, "alice", "alice-secret")["error_code"] == ErrorCode.NONE
            assert other.request(*METADATA_V1)["brokers"]
        assert closed_by_server(stalled)  # the socket's own timeout is 10 s, the listener's 0.7 s


def test_a_session_lifetime_is_given_and_an_expired_session_is_closed_on_its_next_request(
    secured: SecuredListeners,
) -> None:
    with RawKafkaConnection(HOST, secured.port("REAUTH")) as connection:
        answer = sasl_plain(connection, "alice", "alice-secret")
        assert answer["session_lifetime_ms"] == REAUTH_MS
        assert connection.request(*METADATA_V1)["brokers"]
        time.sleep(REAUTH_MS / 1000 + 0.2)
        connection.socket.sendall(_frame(*METADATA_V1))
        assert closed_by_server(connection)


def test_re_authentication_on_the_live_connection_keeps_it_and_may_not_change_the_principal(
    secured: SecuredListeners,
) -> None:
    with RawKafkaConnection(HOST, secured.port("REAUTH")) as connection:
        assert sasl_plain(connection, "alice", "alice-secret")["error_code"] == ErrorCode.NONE
        assert sasl_plain(connection, "alice", "alice-secret")["session_lifetime_ms"] == REAUTH_MS
        assert connection.request(*METADATA_V1)["brokers"]
        # within a second of the last one a handshake is no re-authentication, as in Kafka
        assert connection.request(17, 1, {"mechanism": "PLAIN"})["error_code"] == ErrorCode.ILLEGAL_SASL_STATE
        time.sleep(1.0)
        answer = sasl_plain(connection, "admin", "admin-secret")
        assert answer["error_code"] == ErrorCode.SASL_AUTHENTICATION_FAILED
        assert (
            answer["error_message"] == "Cannot change principals during re-authentication from User:alice: User:admin"
        )
        assert closed_by_server(connection)


@pytest.fixture
def principals(secured: SecuredListeners) -> Iterator[dict[str, tuple[str, str, str]]]:
    """What Metadata requests' connections say about themselves, by listener: (principal, listener, protocol)."""
    seen: dict[str, tuple[str, str, str]] = {}
    originals = {name: handlers.routes[3] for name, handlers in secured.server._handlers.items()}

    def recorder(name: str) -> Any:
        async def metadata(ctx: RequestContext, body: dict[str, Any]) -> Any:
            state = ctx.connection
            seen[name] = (state.principal, state.listener, state.security_protocol)
            return await originals[name](ctx, body)

        return metadata

    for name, handlers in secured.server._handlers.items():
        handlers.routes[3] = recorder(name)
    yield seen
    for name, handlers in secured.server._handlers.items():
        handlers.routes[3] = originals[name]


def test_connections_carry_their_principal_listener_and_protocol(
    secured: SecuredListeners, principals: dict[str, tuple[str, str, str]]
) -> None:
    ca = str(secured.certificates.ca.pem)
    client = secured.certificates.client
    plain = KafkaConnection(HOST, secured.port("PLAINTEXT"))
    scram = KafkaConnection(
        HOST,
        secured.port("SASL_SSL"),
        security={
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": ca,
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "scram-user",
            "sasl.password": "scram-secret",
        },
    )
    mtls = KafkaConnection(
        HOST,
        secured.port("MTLS"),
        security={
            "security.protocol": "SSL",
            "ssl.ca.location": ca,
            "ssl.certificate.location": str(client.certificate),
            "ssl.key.location": str(client.key),
        },
    )
    for connection in (plain, scram, mtls):
        try:
            assert connection.request(3, 1, {"topics": []})["brokers"]
        finally:
            connection.close()
    assert principals["PLAINTEXT"] == (ANONYMOUS, "PLAINTEXT", "PLAINTEXT")
    assert principals["SASL_SSL"] == ("User:scram-user", "SASL_SSL", "SASL_SSL")
    assert principals["MTLS"] == ("User:CN=client-one,O=Hub", "MTLS", "SSL")


def test_metadata_advertises_the_listener_the_client_connected_to(secured: SecuredListeners) -> None:
    for listener in ("PLAINTEXT", "SASL_PLAINTEXT"):
        with RawKafkaConnection(HOST, secured.port(listener)) as connection:
            if listener != "PLAINTEXT":
                sasl_plain(connection, "alice", "alice-secret")
            [broker] = connection.request(*METADATA_V1)["brokers"]
            assert (broker["host"], broker["port"]) == (HOST, secured.port(listener))


def test_hubs_connection_re_authenticates_before_its_session_expires(secured: SecuredListeners) -> None:
    connection = KafkaConnection(
        HOST,
        secured.port("REAUTH"),
        security={
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.username": "scram-user",
            "sasl.password": "scram-secret",
        },
    )
    try:
        assert connection.request(3, 1, {"topics": []})["brokers"]
        first = connection._socket
        for _ in range(2):  # past a session lifetime, on the one socket
            time.sleep(REAUTH_MS / 1000 * 0.9)
            assert connection.request(3, 1, {"topics": []})["brokers"]
        assert connection._socket is first
    finally:
        connection.close()


def test_hubs_connection_reports_a_refused_password_with_kafkas_message(secured: SecuredListeners) -> None:
    connection = KafkaConnection(
        HOST,
        secured.port("SASL_SSL"),
        security={
            "security.protocol": "SASL_SSL",
            "ssl.ca.location": str(secured.certificates.ca.pem),
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "scram-user",
            "sasl.password": "not-the-secret",
        },
    )
    with pytest.raises(AuthenticationError) as refused:
        connection.request(3, 1, {"topics": []})
    assert "invalid credentials with SASL mechanism SCRAM-SHA-512" in str(refused.value)
    assert "not-the-secret" not in str(refused.value)


def test_hubs_connection_refuses_a_server_certificate_it_does_not_trust(secured: SecuredListeners) -> None:
    connection = KafkaConnection(
        HOST,
        secured.port("SSL"),
        security={"security.protocol": "SSL", "ssl.ca.location": str(secured.certificates.untrusted_ca.pem)},
    )
    with pytest.raises(ClientError, match="refused"):
        connection.request(3, 1, {"topics": []})


def test_a_listener_requiring_client_certificates_refuses_an_untrusted_or_missing_one(
    secured: SecuredListeners,
) -> None:
    stranger = secured.certificates.untrusted_client
    for certificate in (stranger, None):
        context = ssl.create_default_context(cafile=str(secured.certificates.ca.pem))
        if certificate is not None:
            context.load_cert_chain(str(certificate.certificate), str(certificate.key))
        with socket.create_connection((HOST, secured.port("MTLS")), timeout=10) as raw:
            assert not _tls_metadata_answered(context, raw)


def test_many_concurrent_exchanges_all_authenticate(secured: SecuredListeners) -> None:
    failures: list[BaseException] = []

    def login(index: int) -> None:
        try:
            with RawKafkaConnection(HOST, secured.port("SASL_PLAINTEXT")) as connection:
                assert sasl_plain(connection, "alice", "alice-secret")["error_code"] == ErrorCode.NONE
                assert connection.request(*METADATA_V1)["brokers"]
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=login, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert failures == []


def _tls_metadata_answered(context: ssl.SSLContext, raw: socket.socket) -> bool:
    try:
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(_frame(*METADATA_V1))
            return len(tls.recv(4)) == 4  # TLS 1.3 reports the server's refusal at the first read
    except (ssl.SSLError, ConnectionError):
        return False


def _frame(api_key: int, version: int, body: dict[str, Any]) -> bytes:
    from hub.log.protocol import encode_request

    return encode_request(api_key, version, 99, "raw-test", body)


def test_hubs_kafka_clients_work_over_sasl_ssl_with_one_options_dict(secured: SecuredListeners) -> None:
    options = {
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(secured.certificates.ca.pem),
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "scram-user",
        "sasl.password": "scram-secret",
    }
    clients = KafkaClients(secured.bootstrap("SASL_SSL"), options)
    member = clients.group_member("secured-workers", "connect")
    try:
        joined = member.join([GroupProtocol("sessioned", b"worker-a")], timeout_s=30)
        assert joined.is_leader
        assert member.sync({joined.member_id: b"assignment"}, timeout_s=30) == b"assignment"
        # The admin's own-protocol calls (groups of any protocol, log sizes) take the same settings.
        with clients.admin() as admin:
            admin.create_topics([NewTopic("secured-sizes", 1)], if_not_exists=True)
            with clients.producer() as producer:
                producer.send("secured-sizes", key=None, value=b"x" * 500, partition=0)
                producer.flush(30)
            listed = {group.group_id: group for group in admin.list_groups()}
            assert listed["secured-workers"].protocol_type == "connect"
            described = admin.describe_groups(["secured-workers"])["secured-workers"]
            assert [m.member_id for m in described.members] == [joined.member_id]
            size = admin.log_sizes([TopicPartition("secured-sizes", 0)])[TopicPartition("secured-sizes", 0)]
            assert size is not None
            assert size > 500
    finally:
        member.close()
