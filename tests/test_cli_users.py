"""`hub users …`: SCRAM users through a running listener's admin API, or written into a stopped store's data
directory; the password never shows in output, logs or files."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from click.testing import CliRunner

from hub.cli import cli, main
from hub.log.security.scram_credentials import ScramCredentialStore, credential_from_salted_password, salted_password
from hub.log.store import TopicStore
from tests.harness.hub import HubServer

PASSWORD = "correct-horse-battery"


@pytest.fixture
def password_file(tmp_path: Path) -> Path:
    path = tmp_path / "password"
    path.write_text(PASSWORD + "\n")
    return path


def _listed(capsys: pytest.CaptureFixture[str], *target: str) -> dict[str, dict[str, int]]:
    capsys.readouterr()
    assert main(["users", "list", "--json", *target]) == 0
    listed: dict[str, dict[str, int]] = json.loads(capsys.readouterr().out)
    return listed


def test_offline_add_list_delete_in_a_data_dir(
    tmp_path: Path, password_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data-dir", str(tmp_path / "data")]
    assert main(["users", "add", "admin", "--password-file", str(password_file), *data]) == 0
    args = ["users", "add", "admin", "--mechanism", "SCRAM-SHA-256", "--iterations", "4096"]
    assert main([*args, "--password-file", str(password_file), *data]) == 0
    assert _listed(capsys, *data) == {"admin": {"SCRAM-SHA-256": 4096, "SCRAM-SHA-512": 8192}}
    stored = ScramCredentialStore.in_directory(tmp_path / "data").lookup("admin", "SCRAM-SHA-256")
    assert stored is not None
    salted = salted_password("SCRAM-SHA-256", PASSWORD, stored.salt, 4096)
    assert stored == credential_from_salted_password("SCRAM-SHA-256", stored.salt, salted, 4096)
    assert main(["users", "delete", "admin", "--mechanism", "SCRAM-SHA-256", *data]) == 0
    assert main(["users", "delete", "admin", "--mechanism", "SCRAM-SHA-256", *data]) == 1
    assert "no SCRAM-SHA-256 credential" in capsys.readouterr().err
    assert _listed(capsys, *data) == {"admin": {"SCRAM-SHA-512": 8192}}
    for path in (tmp_path / "data").iterdir():
        assert PASSWORD not in path.read_text(errors="replace")


def test_a_running_store_is_refused_offline(
    tmp_path: Path, password_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = TopicStore(tmp_path / "data")
    store.open()
    try:
        args = ["users", "add", "u", "--password-file", str(password_file), "--data-dir", str(tmp_path / "data")]
        assert main(args) == 1
        assert "in use by a running store" in capsys.readouterr().err
    finally:
        store.close()


def test_the_prompt_does_not_echo_and_bad_input_is_refused(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data-dir", str(tmp_path / "data")]
    result = runner.invoke(cli, ["users", "add", "alice", *data], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    assert ScramCredentialStore.in_directory(tmp_path / "data").lookup("alice", "SCRAM-SHA-512") is not None
    mismatch = runner.invoke(cli, ["users", "add", "bob", *data], input="one\ntwo\none\none\n")
    assert "do not match" in mismatch.output
    too_few = runner.invoke(cli, ["users", "add", "bob", "--iterations", "100", *data], input="x\nx\n")
    assert too_few.exit_code == 2


@pytest.mark.integration
def test_online_add_list_delete_through_the_listener(
    hub_server: HubServer, password_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    user = f"cli-{uuid.uuid4().hex[:6]}"
    target = ["--bootstrap-servers", hub_server.bootstrap]
    assert main(["users", "add", user, "--password-file", str(password_file), *target]) == 0
    assert _listed(capsys, *target)[user] == {"SCRAM-SHA-512": 8192}
    stored = ScramCredentialStore.in_directory(hub_server.data_dir).lookup(user, "SCRAM-SHA-512")
    assert stored is not None
    salted = salted_password("SCRAM-SHA-512", PASSWORD, stored.salt, 8192)
    assert stored == credential_from_salted_password("SCRAM-SHA-512", stored.salt, salted, 8192)
    assert main(["users", "delete", user, "--mechanism", "SCRAM-SHA-256", *target]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert main(["users", "delete", user, *target]) == 0
    assert user not in _listed(capsys, *target)
    assert PASSWORD not in hub_server.log_path.read_text(errors="replace")
