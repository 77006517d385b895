"""confluent-kafka errors as the client interface's errors (both backends raise the same kinds)."""

from __future__ import annotations

import logging
from typing import Any

from hub.log.client.errors import ClientError, ClientTimeoutError, RetriableClientError, error_for

#: librdkafka's own log lines go to Python logging under this logger (its levels mapped by confluent-kafka).
LIBRDKAFKA_LOG = logging.getLogger("hub.log.client.kafka")

INSTALL_HINT = "the Kafka client backend needs confluent-kafka: pip install 'hub[kafka]'"


def import_confluent() -> Any:
    """The confluent_kafka module, or a ClientError with the install command."""
    try:
        import confluent_kafka
        import confluent_kafka.admin  # a submodule, loaded on demand
    except ImportError:
        raise ClientError(INSTALL_HINT) from None
    return confluent_kafka


def translate(exc: BaseException, what: str) -> ClientError:
    """The client error for an exception raised by confluent-kafka while doing ``what``."""
    confluent = import_confluent()
    if isinstance(exc, ClientError):
        return exc
    error = exc.args[0] if isinstance(exc, confluent.KafkaException) and exc.args else None
    if isinstance(error, confluent.KafkaError):
        code = error.code()
        if code >= 0:
            found = error_for(code, what)
            if found is not None:
                return type(found)(f"{what}: {error.str()}", error_code=code)
        if code == confluent.KafkaError._TIMED_OUT:
            return ClientTimeoutError(f"{what}: {error.str()}")
        if error.retriable():
            return RetriableClientError(f"{what}: {error.str()}")
        return ClientError(f"{what}: {error.str()}")
    return ClientError(f"{what}: {exc}")
