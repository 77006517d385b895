"""ClientSecurity: how one of Hub's own Kafka connections secures itself, from librdkafka's client settings.

``security.protocol`` (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL), ``sasl.mechanism`` (or librdkafka's
``sasl.mechanisms``: PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), ``sasl.username``/``sasl.password`` (or Kafka's
``sasl.jaas.config`` with ``username=""``/``password=""``), and the ``ssl.*`` settings ``tls.client_context``
reads. The same dict goes to confluent-kafka, so the names are librdkafka's. Other keys are ignored (the dict
holds every client option). Errors name the setting, never a secret.

Immutable; the SSLContext is made once and shared (SSLContext is thread-safe for wrapping sockets).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.log.errors import InvalidConfigError
from hub.log.security.jaas import parse_jaas
from hub.log.security.listeners import MECHANISMS, PROTOCOLS
from hub.log.security.sasl import ClientMechanism, client_mechanism
from hub.log.security.tls import client_context


@dataclass(frozen=True)
class ClientSecurity:
    protocol: str = "PLAINTEXT"
    ssl_context: ssl.SSLContext | None = None
    mechanism: str | None = None
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def uses_sasl(self) -> bool:
        return self.mechanism is not None

    def sasl(self) -> ClientMechanism:
        """A fresh client side of the configured mechanism, for one exchange."""
        assert self.mechanism is not None
        return client_mechanism(self.mechanism, self.username, self.password)


PLAINTEXT = ClientSecurity()


def client_security(config: Mapping[str, object] | None) -> ClientSecurity:
    """The security of a client ``config`` (see the module docstring); PLAINTEXT when it sets none."""
    if not config:
        return PLAINTEXT
    settings = {key: str(value) for key, value in config.items() if value is not None}
    protocol = settings.get("security.protocol", "PLAINTEXT").upper()
    if protocol not in PROTOCOLS:
        raise InvalidConfigError(f"security.protocol must be one of {', '.join(PROTOCOLS)}, got {protocol!r}")
    context = client_context(settings) if protocol in ("SSL", "SASL_SSL") else None
    if protocol not in ("SASL_PLAINTEXT", "SASL_SSL"):
        return ClientSecurity(protocol, context)
    mechanism = (settings.get("sasl.mechanism") or settings.get("sasl.mechanisms") or "").upper()
    if mechanism not in MECHANISMS:
        raise InvalidConfigError(f"sasl.mechanism must be one of {', '.join(MECHANISMS)} for {protocol}")
    username, password = settings.get("sasl.username"), settings.get("sasl.password")
    if (username is None or password is None) and "sasl.jaas.config" in settings:
        credentials = parse_jaas(settings["sasl.jaas.config"], "sasl.jaas.config").credentials()
        if credentials is not None:
            username, password = credentials
    if not username or password is None:
        raise InvalidConfigError(f"{protocol} with {mechanism} needs sasl.username and sasl.password")
    return ClientSecurity(protocol, context, mechanism, username, password)
