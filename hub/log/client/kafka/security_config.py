"""Kafka's client security settings (the Java client's names, as Kafka Connect workers take them) as librdkafka's.

A worker config written for Kafka Connect carries ``security.protocol``, ``sasl.mechanism``, ``sasl.jaas.config``
and ``ssl.truststore.*`` / ``ssl.keystore.*``; confluent-kafka (librdkafka) names most of these differently and has
no JAAS. ``client_security(config)`` returns the librdkafka settings for them, which both the confluent-kafka clients
and Hub's own protocol connection take. librdkafka's own names are accepted as they are. A setting that cannot be
carried over (a JKS store, a login module other than PLAIN or SCRAM) raises SecurityConfigError naming it; no
message ever contains a password.

Pure functions; thread-safe.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

from hub.log.client.errors import ClientError

PROTOCOLS: Final = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS: Final = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")

#: librdkafka's names, passed through unchanged.
_NATIVE: Final = frozenset(
    {
        "sasl.username",
        "sasl.password",
        "ssl.ca.location",
        "ssl.ca.pem",
        "ssl.certificate.location",
        "ssl.certificate.pem",
        "ssl.key.location",
        "ssl.key.pem",
        "ssl.key.password",
        "ssl.cipher.suites",
        "ssl.endpoint.identification.algorithm",
        "enable.ssl.certificate.verification",
    }
)

#: Java names that only describe the JVM's TLS machinery; librdkafka has nothing to set for them.
_JVM_ONLY: Final = frozenset(
    {"ssl.protocol", "ssl.keymanager.algorithm", "ssl.trustmanager.algorithm", "ssl.secure.random.implementation"}
)

_LOGIN_MODULES: Final = {
    "org.apache.kafka.common.security.plain.PlainLoginModule": ("PLAIN",),
    "org.apache.kafka.common.security.scram.ScramLoginModule": ("SCRAM-SHA-256", "SCRAM-SHA-512"),
}

_JAAS: Final = re.compile(
    r"^\s*(?P<module>[\w.$]+)\s+(?P<flag>required|requisite|sufficient|optional)(?P<options>.*?);?\s*$", re.S
)
_OPTION: Final = re.compile(r'\s*([\w.\-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s";]+))')


class SecurityConfigError(ClientError):
    """A client security setting Hub cannot use; the message names the setting."""


def parse_jaas(text: str, setting: str = "sasl.jaas.config") -> tuple[str, dict[str, str]]:
    """``(login module, options)`` of a one-entry JAAS configuration as Kafka's ``sasl.jaas.config`` holds it,
    e.g. ``…ScramLoginModule required username="alice" password="secret";``."""
    found = _JAAS.match(text)
    if found is None:
        raise SecurityConfigError(f"{setting}: not a JAAS entry ('<LoginModule class> required name=\"value\" …;')")
    options: dict[str, str] = {}
    rest = found["options"]
    position = 0
    while position < len(rest.rstrip()):
        option = _OPTION.match(rest, position)
        if option is None:
            raise SecurityConfigError(f"{setting}: cannot read the options after {found['module']}")
        quoted, bare = option[2], option[3]
        options[option[1]] = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        position = option.end()
    return found["module"], options


def client_security(config: Mapping[str, str]) -> dict[str, str]:
    """The librdkafka settings for the security settings in ``config`` (other keys are ignored)."""
    out: dict[str, str] = {}
    protocol = config.get("security.protocol", "").strip().upper()
    if protocol:
        if protocol not in PROTOCOLS:
            raise SecurityConfigError(f"security.protocol: {protocol!r} is not one of {', '.join(PROTOCOLS)}")
        out["security.protocol"] = protocol
    mechanism = config.get("sasl.mechanism", "").strip().upper()
    if mechanism:
        if mechanism not in MECHANISMS:
            raise SecurityConfigError(
                f"sasl.mechanism: {mechanism!r} is not supported; Hub's clients speak {', '.join(MECHANISMS)}"
            )
        out["sasl.mechanism"] = mechanism
    for key, value in config.items():
        if key in _NATIVE:
            out[key] = value
        elif key in _JVM_ONLY or key in ("security.protocol", "sasl.mechanism"):
            continue
        elif key == "sasl.jaas.config":
            out.update(_jaas_credentials(value, mechanism))
        elif key.startswith(("ssl.truststore.", "ssl.keystore.")):
            continue  # read below, each store as one
        elif key.startswith(("ssl.", "sasl.")):
            raise SecurityConfigError(f"{key}: not a client security setting Hub can pass to its Kafka clients")
    out.update(_truststore(config))
    out.update(_keystore(config))
    if out.get("ssl.endpoint.identification.algorithm") == "":
        out["ssl.endpoint.identification.algorithm"] = "none"  # Kafka's empty value turns the check off
    return out


def _jaas_credentials(text: str, mechanism: str) -> dict[str, str]:
    module, options = parse_jaas(text)
    mechanisms = _LOGIN_MODULES.get(module)
    if mechanisms is None:
        raise SecurityConfigError(
            f"sasl.jaas.config: login module {module} is not supported; use PlainLoginModule or ScramLoginModule"
        )
    if mechanism and mechanism not in mechanisms:
        raise SecurityConfigError(f"sasl.jaas.config: {module} does not do sasl.mechanism {mechanism}")
    missing = [name for name in ("username", "password") if name not in options]
    if missing:
        raise SecurityConfigError(f"sasl.jaas.config: {module} needs {' and '.join(missing)}")
    return {"sasl.username": options["username"], "sasl.password": options["password"]}


def _store_type(config: Mapping[str, str], store: str, default: str) -> str:
    kind = config.get(f"ssl.{store}.type", default).strip().upper()
    if kind == "JKS":
        raise SecurityConfigError(
            f"ssl.{store}.type: JKS stores are Java's own format; convert with keytool to PKCS12 or PEM"
        )
    if kind not in ("PEM", "PKCS12"):
        raise SecurityConfigError(f"ssl.{store}.type: {kind!r} is not PEM or PKCS12")
    return kind


def _truststore(config: Mapping[str, str]) -> dict[str, str]:
    if "ssl.truststore.certificates" in config:
        return {"ssl.ca.pem": config["ssl.truststore.certificates"]}
    location = config.get("ssl.truststore.location")
    if not location:
        return {}
    if _store_type(config, "truststore", "PEM") != "PEM":
        raise SecurityConfigError("ssl.truststore.type: librdkafka reads trusted certificates from PEM files only")
    return {"ssl.ca.location": location}


def _keystore(config: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    if "ssl.keystore.certificate.chain" in config:
        out["ssl.certificate.pem"] = config["ssl.keystore.certificate.chain"]
    if "ssl.keystore.key" in config:
        out["ssl.key.pem"] = config["ssl.keystore.key"]
    location = config.get("ssl.keystore.location")
    if location:
        if _store_type(config, "keystore", "PKCS12") == "PEM":
            # One PEM file holds the key and its certificate chain; librdkafka reads each part from it.
            out.update({"ssl.certificate.location": location, "ssl.key.location": location})
        else:
            out["ssl.keystore.location"] = location
            if "ssl.keystore.password" in config:
                out["ssl.keystore.password"] = config["ssl.keystore.password"]
    return out
