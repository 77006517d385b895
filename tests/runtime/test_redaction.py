"""The registry that replaces resolved values by their references in messages and log records."""

from __future__ import annotations

import logging

import pytest

from hub.runtime.redaction import SECRETS, SecretRedactor


def test_values_are_replaced_whole_stripped_and_escaped_by_their_references() -> None:
    redactor = SecretRedactor()
    redactor.register("hunter2-secret\n", "${dir:/s:pw}")
    redactor.register(
        "jdbc:postgresql://db/shop?password=hunter2-secret\n", "jdbc:postgresql://db/shop?password=${dir:/s:pw}"
    )
    assert redactor.redact("bad value 'hunter2-secret\\n' here") == "bad value '${dir:/s:pw}' here"
    assert redactor.redact("cannot log in with hunter2-secret.") == "cannot log in with ${dir:/s:pw}."
    assert redactor.redact("xhunter2-secret is another word") == "xhunter2-secret is another word"
    assert redactor.redact("url jdbc:postgresql://db/shop?password=hunter2-secret") == (
        "url jdbc:postgresql://db/shop?password=${dir:/s:pw}"
    )


def test_short_values_are_replaced_only_where_quoted() -> None:
    redactor = SecretRedactor()
    redactor.register("42", "${env:N}")
    assert redactor.redact("line 42: Invalid value '42'") == "line 42: Invalid value '${env:N}'"
    assert redactor.redact("unchanged") == "unchanged"


def test_log_records_of_any_logger_are_redacted_with_their_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    SECRETS.register("resolved-marker-31d7", "${env:HUB_TEST_REDACTION}")
    log = logging.getLogger("some.connector.driver")
    try:
        raise ConnectionError("refused for resolved-marker-31d7")
    except ConnectionError as exc:
        log.error("connecting with %s failed", "resolved-marker-31d7", exc_info=exc)
    assert "resolved-marker-31d7" not in caplog.text
    assert "connecting with ${env:HUB_TEST_REDACTION} failed" in caplog.text
    assert "ConnectionError: refused for ${env:HUB_TEST_REDACTION}" in caplog.text
