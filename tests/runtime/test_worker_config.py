"""Worker options: the store clients' security settings."""

from __future__ import annotations

import pytest

from hub.runtime.worker_config import WorkerConfig
from hub.sdk.errors import ConfigError


def test_security_settings_are_taken_and_kept_for_the_store_clients() -> None:
    raw = {
        "security.protocol": "sasl_ssl",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.jaas.config": "org.apache.kafka.common.security.scram.ScramLoginModule required username=a password=b;",
        "ssl.truststore.location": "/ca.pem",
    }
    config = WorkerConfig.parse(raw)
    assert config.raw["sasl.mechanism"] == "SCRAM-SHA-256"
    assert config.prefixed("ssl.") == {"truststore.location": "/ca.pem"}


def test_an_unknown_security_protocol_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match=r"security\.protocol"):
        WorkerConfig.parse({"security.protocol": "TLS"})
