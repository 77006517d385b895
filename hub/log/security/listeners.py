"""The Kafka listener's transport settings, read from broker properties with Kafka's names.

``listeners`` (``PLAINTEXT://127.0.0.1:9092,SASL_SSL://127.0.0.1:9093``) names the listeners served at once;
``listener.security.protocol.map`` gives each name its security protocol (PLAINTEXT, SSL, SASL_PLAINTEXT,
SASL_SSL; by default a name that is a protocol maps to itself); ``advertised.listeners`` what Metadata tells the
clients of each. A listener's ``ssl.*``, ``sasl.*`` and ``connections.max.reauth.ms`` settings are read from
``listener.name.<name>.<key>`` first, then ``<key>``, as Kafka does; PLAIN users come from the JAAS text in
``listener.name.<name>.plain.sasl.jaas.config`` (or ``sasl.jaas.config``). With no ``listeners`` property the
node serves one PLAINTEXT listener at the address it was given, as before.

Every problem is an InvalidConfigError naming the setting; no value of a password or key setting is ever quoted.
Immutable results; thread-safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from hub.log.errors import InvalidConfigError
from hub.log.security.jaas import PLAIN_LOGIN_MODULE, SCRAM_LOGIN_MODULE, JaasEntry, parse_jaas

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
DEFAULT_SASL_TIMEOUT_MS = 30_000

#: Settings a listener reads with the ``listener.name.<name>.`` prefix first.
LISTENER_KEYS = frozenset(
    {
        "ssl.keystore.location",
        "ssl.keystore.type",
        "ssl.keystore.password",
        "ssl.key.password",
        "ssl.keystore.certificate.chain",
        "ssl.keystore.key",
        "ssl.truststore.location",
        "ssl.truststore.type",
        "ssl.truststore.password",
        "ssl.truststore.certificates",
        "ssl.client.auth",
        "ssl.principal.mapping.rules",
        "ssl.enabled.protocols",
        "ssl.cipher.suites",
        "ssl.endpoint.identification.algorithm",
        "sasl.enabled.mechanisms",
        "sasl.jaas.config",
        "connections.max.reauth.ms",
        "sasl.server.authentication.timeout.ms",
    }
)
SECURITY_KEYS = LISTENER_KEYS | {
    "listeners",
    "listener.security.protocol.map",
    "inter.broker.listener.name",
    "security.inter.broker.protocol",
    "sasl.mechanism.inter.broker.protocol",
}
#: Settings whose values are secrets: never quoted.
SECRET_KEYS = frozenset(
    {"ssl.keystore.password", "ssl.key.password", "ssl.keystore.key", "ssl.truststore.password", "sasl.jaas.config"}
)
_ENDPOINT = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)://(\[[0-9a-fA-F:]+\]|[^:\s/]*):(\d+)$")
_PREFIX = re.compile(r"^listener\.name\.([a-z0-9_]+)\.(.+)$")
_MECHANISM_JAAS = re.compile(r"^(plain|scram-sha-256|scram-sha-512)\.sasl\.jaas\.config$")


def is_security_property(key: str) -> bool:
    """Whether ``key`` is one of the transport settings read here (node_config leaves them to this module)."""
    return key in SECURITY_KEYS or key.startswith("listener.name.")


@dataclass(frozen=True)
class ListenerSettings:
    """One listener: where it binds, its protocol, what it advertises and its TLS and SASL settings."""

    name: str
    host: str
    port: int
    protocol: str
    advertised: tuple[str, int] | None = None
    ssl: Mapping[str, str] = field(default_factory=dict, repr=False)  # the ssl.* settings that apply to it
    mechanisms: tuple[str, ...] = ()
    plain_users: Mapping[str, str] = field(default_factory=dict, repr=False)
    max_reauth_ms: int = 0
    sasl_timeout_ms: int = DEFAULT_SASL_TIMEOUT_MS
    jaas: Mapping[str, JaasEntry] = field(default_factory=dict, repr=False)  # by mechanism

    @property
    def uses_ssl(self) -> bool:
        return self.protocol in ("SSL", "SASL_SSL")

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in ("SASL_PLAINTEXT", "SASL_SSL")

    @property
    def authenticates(self) -> bool:
        """Whether every client of this listener proves who it is (SASL, or a required client certificate)."""
        return self.uses_sasl or (self.uses_ssl and (self.ssl.get("ssl.client.auth") or "").lower() == "required")


@dataclass(frozen=True)
class ListenerConfig:
    """All listeners, and which one the brokers of a cluster talk to each other on."""

    listeners: tuple[ListenerSettings, ...]
    inter_broker: str
    inter_broker_mechanism: str | None = None

    def listener(self, name: str) -> ListenerSettings:
        return next(listener for listener in self.listeners if listener.name == name)

    def inter_broker_client(self) -> dict[str, str]:
        """The client settings (librdkafka's names) a broker connects to the others' inter-broker listener with:
        its protocol, the listener's trust store, and for SASL the mechanism and the JAAS ``username``/``password``
        of ``listener.name.<l>.<mechanism>.sasl.jaas.config`` (Kafka's inter-broker credentials)."""
        listener = self.listener(self.inter_broker)
        client = {"security.protocol": listener.protocol}
        if listener.uses_ssl:
            client.update(client_ssl(listener.ssl))
        if listener.uses_sasl:
            mechanism = self.inter_broker_mechanism
            if mechanism is None:
                if len(listener.mechanisms) != 1:
                    raise InvalidConfigError(
                        f"set sasl.mechanism.inter.broker.protocol: listener {listener.name} enables "
                        f"{', '.join(listener.mechanisms)}"
                    )
                mechanism = listener.mechanisms[0]
            entry = listener.jaas.get(mechanism)
            credentials = entry.credentials() if entry is not None else None
            if credentials is None:
                raise InvalidConfigError(
                    f"listener.name.{listener.name.lower()}.{mechanism.lower()}.sasl.jaas.config must give the "
                    "username and password the brokers log in to each other with"
                )
            client.update(
                {"sasl.mechanism": mechanism, "sasl.username": credentials[0], "sasl.password": credentials[1]}
            )
        return client


def client_ssl(ssl: Mapping[str, str]) -> dict[str, str]:
    """A listener's trust and key material as a client's settings (librdkafka's names), for inter-broker links."""
    client: dict[str, str] = {}
    if ssl.get("ssl.truststore.location"):
        client["ssl.ca.location"] = ssl["ssl.truststore.location"]
    if ssl.get("ssl.truststore.certificates"):
        client["ssl.ca.pem"] = ssl["ssl.truststore.certificates"]
    if (ssl.get("ssl.keystore.type") or "PEM").upper() == "PEM" and ssl.get("ssl.keystore.location"):
        client["ssl.certificate.location"] = ssl["ssl.keystore.location"]
        client["ssl.key.location"] = ssl["ssl.keystore.location"]
    if ssl.get("ssl.keystore.certificate.chain") and ssl.get("ssl.keystore.key"):
        client["ssl.certificate.pem"] = ssl["ssl.keystore.certificate.chain"]
        client["ssl.key.pem"] = ssl["ssl.keystore.key"]
    if ssl.get("ssl.key.password"):
        client["ssl.key.password"] = ssl["ssl.key.password"]
    if "ssl.endpoint.identification.algorithm" in ssl:
        client["ssl.endpoint.identification.algorithm"] = ssl["ssl.endpoint.identification.algorithm"] or "none"
    return client


def parse_endpoints(text: str, setting: str) -> list[tuple[str, str, int]]:
    """``NAME://host:port,…`` as (name, host, port); an empty host stays empty (all interfaces to bind)."""
    endpoints: list[tuple[str, str, int]] = []
    for entry in (part.strip() for part in text.split(",") if part.strip()):
        match = _ENDPOINT.match(entry)
        if match is None:
            raise InvalidConfigError(f"{setting} entry {entry!r} is not of the form NAME://HOST:PORT")
        port = int(match[3])
        if not 0 <= port < 65536:
            raise InvalidConfigError(f"{setting} entry {entry!r}: port out of range")
        endpoints.append((match[1].upper(), match[2].strip("[]"), port))
    names = [name for name, _, _ in endpoints]
    for name in names:
        if names.count(name) > 1:
            raise InvalidConfigError(f"{setting} names listener {name} twice")
    if not endpoints:
        raise InvalidConfigError(f"{setting} names no listener")
    return endpoints


def listener_config(properties: Mapping[str, str], default: tuple[str, int]) -> ListenerConfig:
    """The listeners of broker ``properties``; one PLAINTEXT listener at ``default`` when ``listeners`` is unset."""
    given = {key: value.strip() for key, value in properties.items() if is_security_property(key)}
    if "listeners" not in given:
        if given:
            raise InvalidConfigError(
                f"{sorted(given)[0]} needs listeners to be set (e.g. listeners=SASL_SSL://127.0.0.1:9093)"
            )
        return ListenerConfig((ListenerSettings("PLAINTEXT", default[0], default[1], "PLAINTEXT"),), "PLAINTEXT")
    endpoints = parse_endpoints(given["listeners"], "listeners")
    protocols = _protocol_map(given.get("listener.security.protocol.map"))
    advertised = {}
    if properties.get("advertised.listeners", "").strip():
        for name, host, port in parse_endpoints(properties["advertised.listeners"], "advertised.listeners"):
            if name not in {listener for listener, _, _ in endpoints}:
                raise InvalidConfigError(f"advertised.listeners names {name}, which is not among listeners")
            if not host:
                raise InvalidConfigError(f"advertised.listeners entry for {name} must name a host")
            advertised[name] = (host, port)
    names = {name.lower() for name, _, _ in endpoints}
    for key in given:
        prefixed = _PREFIX.match(key)
        if key.startswith("listener.name.") and (
            prefixed is None
            or prefixed[1] not in names
            or not (prefixed[2] in LISTENER_KEYS or _MECHANISM_JAAS.match(prefixed[2]))
        ):
            raise InvalidConfigError(f"unknown listener setting {key!r} (listener names: {', '.join(sorted(names))})")
    listeners = []
    for name, host, port in endpoints:
        protocol = protocols.get(name)
        if protocol is None:
            raise InvalidConfigError(f"listener.security.protocol.map gives no security protocol for listener {name}")
        listeners.append(_listener(given, name, host, port, protocol, advertised.get(name)))
    return ListenerConfig(tuple(listeners), *_inter_broker(given, listeners))


def _protocol_map(text: str | None) -> dict[str, str]:
    protocols = {protocol: protocol for protocol in PROTOCOLS}
    if not text:
        return protocols
    protocols = {}
    for entry in (part.strip() for part in text.split(",") if part.strip()):
        name, _, protocol = entry.partition(":")
        if protocol.upper() not in PROTOCOLS:
            raise InvalidConfigError(
                f"listener.security.protocol.map entry {entry!r}: the protocol must be one of {', '.join(PROTOCOLS)}"
            )
        protocols[name.strip().upper()] = protocol.upper()
    return protocols


def _listener(
    given: Mapping[str, str], name: str, host: str, port: int, protocol: str, advertised: tuple[str, int] | None
) -> ListenerSettings:
    prefix = f"listener.name.{name.lower()}."

    def get(key: str) -> str | None:
        return given.get(prefix + key, given.get(key))

    def setting(key: str) -> str:
        return prefix + key if prefix + key in given else key

    ssl = {key: value for key in LISTENER_KEYS if key.startswith("ssl.") and (value := get(key)) is not None}
    if protocol in ("SSL", "SASL_SSL") and not (
        ssl.get("ssl.keystore.location") or ssl.get("ssl.keystore.certificate.chain")
    ):
        raise InvalidConfigError(
            f"listener {name} ({protocol}) needs ssl.keystore.location or {prefix}ssl.keystore.location (or "
            "ssl.keystore.certificate.chain and ssl.keystore.key)"
        )
    reauth = _milliseconds(get("connections.max.reauth.ms"), setting("connections.max.reauth.ms"), 0)
    timeout = _milliseconds(
        get("sasl.server.authentication.timeout.ms"),
        setting("sasl.server.authentication.timeout.ms"),
        DEFAULT_SASL_TIMEOUT_MS,
    )
    if timeout == 0:
        raise InvalidConfigError(f"{setting('sasl.server.authentication.timeout.ms')} must be positive")
    if protocol not in ("SASL_PLAINTEXT", "SASL_SSL"):
        return ListenerSettings(name, host, port, protocol, advertised, ssl)
    enabled = get("sasl.enabled.mechanisms")
    if not enabled:
        raise InvalidConfigError(
            f"listener {name} ({protocol}) needs sasl.enabled.mechanisms (Hub offers {', '.join(MECHANISMS)})"
        )
    mechanisms = tuple(dict.fromkeys(part.strip().upper() for part in enabled.split(",") if part.strip()))
    for mechanism in mechanisms:
        if mechanism not in MECHANISMS:
            raise InvalidConfigError(
                f"{setting('sasl.enabled.mechanisms')}: {mechanism} is not offered (Hub offers {', '.join(MECHANISMS)})"
            )
    jaas: dict[str, JaasEntry] = {}
    for mechanism in mechanisms:
        key = next(
            (k for k in (f"{prefix}{mechanism.lower()}.sasl.jaas.config", f"{prefix}sasl.jaas.config") if k in given),
            "sasl.jaas.config",
        )
        if key in given:
            entry = parse_jaas(given[key], key)
            expected = PLAIN_LOGIN_MODULE if mechanism == "PLAIN" else SCRAM_LOGIN_MODULE
            if entry.login_module == expected:
                jaas[mechanism] = entry
            elif key != "sasl.jaas.config" and key != f"{prefix}sasl.jaas.config":
                raise InvalidConfigError(f"{key} must use {expected}")
    users: dict[str, str] = {}
    if "PLAIN" in mechanisms:
        plain = jaas.get("PLAIN")
        users = plain.users() if plain is not None else {}
        if not users:
            raise InvalidConfigError(
                f"listener {name} enables PLAIN but {prefix}plain.sasl.jaas.config gives no user "
                f'({PLAIN_LOGIN_MODULE} required user_NAME="PASSWORD";)'
            )
    return ListenerSettings(name, host, port, protocol, advertised, ssl, mechanisms, users, reauth, timeout, jaas)


def _inter_broker(given: Mapping[str, str], listeners: list[ListenerSettings]) -> tuple[str, str | None]:
    if "inter.broker.listener.name" in given and "security.inter.broker.protocol" in given:
        raise InvalidConfigError("set inter.broker.listener.name or security.inter.broker.protocol, not both")
    wanted = given.get("inter.broker.listener.name") or given.get("security.inter.broker.protocol")
    if wanted:
        wanted = wanted.upper()
        if wanted not in {listener.name for listener in listeners}:
            key = (
                "inter.broker.listener.name"
                if "inter.broker.listener.name" in given
                else "security.inter.broker.protocol"
            )
            raise InvalidConfigError(f"{key} names {wanted}, which is not among listeners")
    name = wanted or listeners[0].name
    mechanism = given.get("sasl.mechanism.inter.broker.protocol")
    if mechanism:
        mechanism = mechanism.upper()
        listener = next(listener for listener in listeners if listener.name == name)
        if listener.uses_sasl and mechanism not in listener.mechanisms:
            raise InvalidConfigError(
                f"sasl.mechanism.inter.broker.protocol {mechanism} is not enabled on listener {name}"
            )
    return name, mechanism or None


def _milliseconds(value: str | None, setting: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidConfigError(f"{setting} must be a whole number of milliseconds, got {value!r}") from None
    if number < 0:
        raise InvalidConfigError(f"{setting} must not be negative")
    return number
