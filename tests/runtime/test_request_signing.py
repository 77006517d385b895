"""Signing and checking internal requests (KIP-507): Connect's headers and answers, keys that never show."""

from __future__ import annotations

import base64

import pytest

from hub.runtime.herder import BadRequestError, ForbiddenError, UnavailableError
from hub.runtime.request_signing import (
    ALGORITHM_HEADER,
    SIGNATURE_HEADER,
    RequestSignature,
    SessionKey,
    signature_headers,
    verify,
)
from hub.runtime.stores.configs import ConfigListener, ConfigStore
from hub.runtime.stores.key_value_log import MemoryLog

BODY = b'[{"topic": "t"}]'
KEY = SessionKey(bytes(range(32)), "HmacSHA256", 1_700_000_000_000)


def _received(headers: dict[str, str], body: bytes = BODY) -> RequestSignature | None:
    return RequestSignature.from_headers(headers, body)


def test_a_signed_body_verifies_under_its_key_only() -> None:
    headers = signature_headers(KEY, "HmacSHA256", BODY)
    assert set(headers) == {SIGNATURE_HEADER, ALGORITHM_HEADER}
    assert headers[ALGORITHM_HEADER] == "HmacSHA256"
    # RFC 4231-style HMAC-SHA256: 32 bytes, base64
    assert len(base64.b64decode(headers[SIGNATURE_HEADER])) == 32
    verify(_received(headers), KEY, ["HmacSHA256"])
    other = SessionKey(bytes(32), "HmacSHA256", 0)
    with pytest.raises(ForbiddenError, match="invalid signature"):
        verify(_received(headers), other, ["HmacSHA256"])
    with pytest.raises(ForbiddenError):
        verify(_received(headers, BODY + b" "), KEY, ["HmacSHA256"])


@pytest.mark.parametrize("algorithm", ["HmacSHA1", "HmacSHA384", "HmacSHA512"])
def test_every_allowed_algorithm_signs_and_verifies(algorithm: str) -> None:
    key = SessionKey.generate(algorithm, None, 0)
    verify(_received(signature_headers(key, algorithm, BODY)), key, [algorithm])


def test_connects_answers_for_missing_unknown_garbled_and_early_signatures() -> None:
    with pytest.raises(BadRequestError, match=r"^Internal request missing required signature$"):
        verify(_received({}), KEY, ["HmacSHA256"])
    assert _received({SIGNATURE_HEADER: "AAAA"}) is None  # both headers or none
    with pytest.raises(BadRequestError, match="HmacSHA512"):
        verify(_received(signature_headers(KEY, "HmacSHA512", BODY)), KEY, ["HmacSHA256"])
    with pytest.raises(BadRequestError, match="not base64"):
        _received({SIGNATURE_HEADER: "***", ALGORITHM_HEADER: "HmacSHA256"})
    with pytest.raises(UnavailableError, match="session key"):
        verify(_received(signature_headers(KEY, "HmacSHA256", BODY)), None, ["HmacSHA256"])
    unknown = {SIGNATURE_HEADER: "AAAA", ALGORITHM_HEADER: "MD5"}
    with pytest.raises(ForbiddenError):
        verify(_received(unknown), KEY, ["MD5"])  # never raises KeyError, whatever the config allows


def test_keys_have_connects_record_format_and_never_show_in_their_repr() -> None:
    generated = SessionKey.generate("HmacSHA256", None, 5)
    assert len(generated.key) == 32
    assert len(SessionKey.generate("HmacSHA256", 512, 5).key) == 64
    record = generated.to_record()
    assert set(record) == {"key", "algorithm", "creation-timestamp"}
    assert SessionKey.from_record(record) == generated
    assert record["key"] not in repr(generated)
    assert generated.key.hex() not in repr(generated)
    for bad in (
        {},
        {"key": 1, "algorithm": "HmacSHA256", "creation-timestamp": 1},
        {"key": "%%%", "algorithm": "HmacSHA256", "creation-timestamp": 1},
        {"key": "", "algorithm": "HmacSHA256", "creation-timestamp": 1},
    ):
        with pytest.raises(ValueError, match="session key"):
            SessionKey.from_record(bad)


def test_the_config_store_keeps_the_latest_session_key_and_tells_its_listeners() -> None:
    heard: list[str] = []

    class Listener(ConfigListener):
        def on_session_key(self) -> None:
            heard.append("key")

    store = ConfigStore(MemoryLog)
    store.add_listener(Listener())
    store.start()
    store.put_session_key(KEY.to_record())
    newer = SessionKey(bytes(32), "HmacSHA256", KEY.created_ms + 1)
    store.put_session_key(newer.to_record())
    assert heard == ["key", "key"]
    assert store.snapshot().session_key == newer.to_record()
