"""The SCRAM credential store keeps salted credentials only, derives them as RFC 5802 does (checked against
scramp, an independent implementation), persists atomically and refuses a newer format."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
import scramp

from hub.log.error_codes import ErrorCode
from hub.log.security.scram_credentials import (
    ScramCredentialStore,
    check_credential,
    credential_from_salted_password,
    new_credential,
    salted_password,
)


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_derived_keys_agree_with_scramp(mechanism: str) -> None:
    salt = b"0123456789abcdef"
    salted = salted_password(mechanism, "s3cret", salt, 4096)
    ours = credential_from_salted_password(mechanism, salt, salted, 4096)
    theirs = scramp.ScramMechanism(mechanism).make_auth_info("s3cret", iteration_count=4096, salt=salt)
    assert (ours.salt, ours.stored_key, ours.server_key, ours.iterations) == theirs


def test_a_credential_made_here_authenticates_a_scramp_client() -> None:
    credential = new_credential("SCRAM-SHA-256", "pw", 4096)
    mechanism = scramp.ScramMechanism("SCRAM-SHA-256")
    auth_info = (credential.salt, credential.stored_key, credential.server_key, credential.iterations)
    server = mechanism.make_server(lambda _user: auth_info)
    client = scramp.ScramClient(["SCRAM-SHA-256"], "alice", "pw")
    server.set_client_first(client.get_client_first())
    client.set_server_first(server.get_server_first())
    server.set_client_final(client.get_client_final())  # raises when the proof is wrong
    client.set_server_final(server.get_server_final())


def test_check_credential_gives_kafkas_errors() -> None:
    assert check_credential("alice", "SCRAM-SHA-512", 4096) is None
    assert check_credential("alice", "SCRAM-SHA-512", 16384) is None
    assert check_credential("", "SCRAM-SHA-512", 4096)[0] == ErrorCode.UNACCEPTABLE_CREDENTIAL  # type: ignore[index]
    assert check_credential("alice", "PLAIN", 4096)[0] == ErrorCode.UNSUPPORTED_SASL_MECHANISM  # type: ignore[index]
    assert check_credential("alice", "SCRAM-SHA-256", 4095)[0] == ErrorCode.UNACCEPTABLE_CREDENTIAL  # type: ignore[index]
    assert check_credential("alice", "SCRAM-SHA-256", 16385)[0] == ErrorCode.UNACCEPTABLE_CREDENTIAL  # type: ignore[index]


def test_the_store_persists_salted_credentials_only(tmp_path: Path) -> None:
    store = ScramCredentialStore.in_directory(tmp_path)
    sha256, sha512 = new_credential("SCRAM-SHA-256", "hunter2"), new_credential("SCRAM-SHA-512", "hunter2")
    store.alter([], [("alice", sha256), ("alice", sha512), ("bob", sha512)])
    reopened = ScramCredentialStore.in_directory(tmp_path)
    assert reopened.lookup("alice", "SCRAM-SHA-256") == sha256
    assert reopened.lookup("bob", "SCRAM-SHA-512") == sha512
    assert reopened.lookup("bob", "SCRAM-SHA-256") is None
    assert reopened.lookup("carol", "SCRAM-SHA-256") is None
    path = tmp_path / "scram-credentials.json"
    assert "hunter2" not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    reopened.alter([("alice", "SCRAM-SHA-256"), ("bob", "SCRAM-SHA-512")], [])
    assert sorted(ScramCredentialStore.in_directory(tmp_path).users()) == ["alice"]
    assert json.loads(path.read_text())["version"] == 1


def test_a_newer_or_damaged_file_is_refused_without_showing_its_content(tmp_path: Path) -> None:
    path = tmp_path / "scram-credentials.json"
    path.write_text('{"version": 2, "users": {}}')
    with pytest.raises(ValueError, match="newer"):
        ScramCredentialStore(path)
    path.write_text('{"version": 1, "users": {"alice": {"SCRAM-SHA-256": {"salt": "c2VjcmV0"}}}}')
    with pytest.raises(ValueError, match="bad SCRAM credential") as info:
        ScramCredentialStore(path)
    assert "c2VjcmV0" not in str(info.value)
