"""TLS contexts from Kafka's ``ssl.*`` settings (server side) and librdkafka's (client side), and the principal a
client certificate names.

Server: the key store is a PEM file holding the private key and certificate chain (``ssl.keystore.type=PEM``, the
key optionally encrypted with ``ssl.key.password``), a PKCS12 file (``PKCS12``, read with ``cryptography``,
``ssl.keystore.password``), or the PEM text of ``ssl.keystore.certificate.chain`` and ``ssl.keystore.key``. The
trust store (which client certificates are accepted) is a PEM or PKCS12 file or ``ssl.truststore.certificates``.
``ssl.client.auth`` is none, requested or required. ``ssl.enabled.protocols`` limits the TLS versions,
``ssl.cipher.suites`` takes OpenSSL cipher names (TLS 1.2; TLS 1.3's suites are not configurable in Python).

Key material held in memory is written to a private temporary directory only for the moment ``load_cert_chain``
reads it (the ssl module takes files only). Errors name the setting, never a secret. Thread-safe.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from hub.log.errors import InvalidConfigError

_VERSIONS = {
    "TLSV1.2": ssl.TLSVersion.TLSv1_2,
    "TLSV1.3": ssl.TLSVersion.TLSv1_3,
    "TLSV1.1": ssl.TLSVersion.TLSv1_1,
    "TLSV1": ssl.TLSVersion.TLSv1,
}
_CLIENT_AUTH = {"none": ssl.CERT_NONE, "requested": ssl.CERT_OPTIONAL, "required": ssl.CERT_REQUIRED}


def server_context(settings: Mapping[str, str], listener: str) -> ssl.SSLContext:
    """The SSLContext of a TLS listener from its ``ssl.*`` settings (see the module docstring)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    _versions(context, settings, listener)
    certificate, key, password = _keystore(settings, listener)
    with _files(certificate, key) as (cert_file, key_file):
        try:
            context.load_cert_chain(cert_file, key_file, password=password)
        except (ssl.SSLError, ValueError) as exc:
            raise InvalidConfigError(
                f"listener {listener}: the key store does not hold a usable key and certificate chain "
                f"(check ssl.keystore.* and ssl.key.password): {exc.__class__.__name__}"
            ) from None
    auth = (settings.get("ssl.client.auth") or "none").lower()
    if auth not in _CLIENT_AUTH:
        raise InvalidConfigError(f"listener {listener}: ssl.client.auth must be none, requested or required")
    context.verify_mode = _CLIENT_AUTH[auth]
    _trust(context, settings, listener, required=auth != "none")
    rules = (settings.get("ssl.principal.mapping.rules") or "DEFAULT").strip()
    if rules != "DEFAULT":
        raise InvalidConfigError(f"listener {listener}: ssl.principal.mapping.rules supports only DEFAULT")
    return context


def client_context(config: Mapping[str, str], where: str = "client") -> ssl.SSLContext:
    """The SSLContext of a client from librdkafka's settings: ``ssl.ca.location``/``ssl.ca.pem`` (else the system's
    trust), ``ssl.certificate.location``/``ssl.key.location`` (or ``.pem``), ``ssl.key.password`` and
    ``ssl.endpoint.identification.algorithm`` (https, the default, checks the host name; none does not)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        if config.get("ssl.ca.location") or config.get("ssl.ca.pem"):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.load_verify_locations(cafile=config.get("ssl.ca.location") or None, cadata=config.get("ssl.ca.pem"))
    except (OSError, ssl.SSLError) as exc:
        raise InvalidConfigError(f"{where}: cannot read ssl.ca.location/ssl.ca.pem: {exc.__class__.__name__}") from None
    certificate = config.get("ssl.certificate.pem") or _read(config.get("ssl.certificate.location"), where)
    key = config.get("ssl.key.pem") or _read(config.get("ssl.key.location"), where)
    if certificate and key:
        with _files(certificate, key) as (cert_file, key_file):
            try:
                context.load_cert_chain(cert_file, key_file, password=config.get("ssl.key.password") or None)
            except (ssl.SSLError, ValueError) as exc:
                raise InvalidConfigError(
                    f"{where}: ssl.certificate.*/ssl.key.* do not hold a usable key and certificate: "
                    f"{exc.__class__.__name__}"
                ) from None
    algorithm = (config.get("ssl.endpoint.identification.algorithm") or "https").lower()
    if algorithm not in ("https", "none"):
        raise InvalidConfigError(f"{where}: ssl.endpoint.identification.algorithm must be https or none")
    context.check_hostname = algorithm == "https"
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def certificate_principal(der: bytes | None) -> str | None:
    """``User:<subject>`` of a client certificate, Kafka's DEFAULT mapping (the RFC 2253 form of the subject)."""
    if not der:
        return None
    from cryptography import x509

    return "User:" + x509.load_der_x509_certificate(der).subject.rfc4514_string()


def _versions(context: ssl.SSLContext, settings: Mapping[str, str], listener: str) -> None:
    text = settings.get("ssl.enabled.protocols") or "TLSv1.2,TLSv1.3"
    wanted = [part.strip().upper() for part in text.split(",") if part.strip()]
    unknown = [name for name in wanted if name not in _VERSIONS]
    if unknown or not wanted:
        raise InvalidConfigError(
            f"listener {listener}: ssl.enabled.protocols must list TLSv1.2 and/or TLSv1.3, got {text!r}"
        )
    versions = sorted(_VERSIONS[name] for name in wanted)
    context.minimum_version, context.maximum_version = versions[0], versions[-1]
    suites = settings.get("ssl.cipher.suites")
    if suites:
        try:
            context.set_ciphers(":".join(part.strip() for part in suites.split(",") if part.strip()))
        except ssl.SSLError:
            raise InvalidConfigError(
                f"listener {listener}: ssl.cipher.suites names no cipher OpenSSL knows ({suites!r})"
            ) from None


def _keystore(settings: Mapping[str, str], listener: str) -> tuple[str, str, str | None]:
    """(certificate chain PEM, private key PEM, key password) of a listener's key store."""
    chain, key = settings.get("ssl.keystore.certificate.chain"), settings.get("ssl.keystore.key")
    if chain or key:
        if not (chain and key):
            raise InvalidConfigError(
                f"listener {listener}: set both ssl.keystore.certificate.chain and ssl.keystore.key"
            )
        return chain, key, settings.get("ssl.key.password") or None
    location = settings.get("ssl.keystore.location", "")
    kind = (settings.get("ssl.keystore.type") or "PEM").upper()
    if kind == "PEM":
        text = _read(location, f"listener {listener}: ssl.keystore.location") or ""
        return text, text, settings.get("ssl.key.password") or None
    if kind == "PKCS12":
        from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, Encoding, PrivateFormat
        from cryptography.hazmat.primitives.serialization.pkcs12 import load_key_and_certificates

        password = settings.get("ssl.keystore.password") or ""
        try:
            private, certificate, extra = load_key_and_certificates(
                Path(location).read_bytes(), password.encode() or None
            )
        except OSError as exc:
            raise InvalidConfigError(
                f"listener {listener}: cannot read ssl.keystore.location: {exc.strerror}"
            ) from None
        except ValueError:
            raise InvalidConfigError(
                f"listener {listener}: ssl.keystore.location is not a PKCS12 file this ssl.keystore.password opens"
            ) from None
        if private is None or certificate is None:
            raise InvalidConfigError(f"listener {listener}: the PKCS12 key store holds no key and certificate")
        secret = os.urandom(16).hex()
        pem_key = private.private_bytes(
            Encoding.PEM, PrivateFormat.PKCS8, BestAvailableEncryption(secret.encode())
        ).decode()
        pem_chain = "".join(c.public_bytes(Encoding.PEM).decode() for c in [certificate, *(extra or [])])
        return pem_chain, pem_key, secret
    raise InvalidConfigError(f"listener {listener}: ssl.keystore.type must be PEM or PKCS12")


def _trust(context: ssl.SSLContext, settings: Mapping[str, str], listener: str, *, required: bool) -> None:
    location, certificates = settings.get("ssl.truststore.location"), settings.get("ssl.truststore.certificates")
    kind = (settings.get("ssl.truststore.type") or "PEM").upper()
    if not (location or certificates):
        if required:
            raise InvalidConfigError(
                f"listener {listener}: ssl.client.auth needs ssl.truststore.location (or ssl.truststore.certificates)"
            )
        return
    cadata = certificates or ""
    if location:
        if kind == "PEM":
            cadata += _read(location, f"listener {listener}: ssl.truststore.location") or ""
        elif kind == "PKCS12":
            from cryptography.hazmat.primitives.serialization import Encoding
            from cryptography.hazmat.primitives.serialization.pkcs12 import load_pkcs12

            password = settings.get("ssl.truststore.password") or ""
            try:
                store = load_pkcs12(Path(location).read_bytes(), password.encode() or None)
            except (OSError, ValueError):
                raise InvalidConfigError(
                    f"listener {listener}: ssl.truststore.location is not a PKCS12 file this password opens"
                ) from None
            found = [*store.additional_certs, *([store.cert] if store.cert else [])]
            cadata += "".join(c.certificate.public_bytes(Encoding.PEM).decode() for c in found)
        else:
            raise InvalidConfigError(f"listener {listener}: ssl.truststore.type must be PEM or PKCS12")
    try:
        context.load_verify_locations(cadata=cadata)
    except (ssl.SSLError, ValueError):
        raise InvalidConfigError(f"listener {listener}: the trust store holds no PEM certificate") from None


def _read(location: str | None, setting: str) -> str | None:
    if not location:
        return None
    try:
        return Path(location).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidConfigError(
            f"{setting}: cannot read {location}: {getattr(exc, 'strerror', None) or exc}"
        ) from None


@contextlib.contextmanager
def _files(certificate: str, key: str) -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="hub-tls-") as directory:
        cert_file, key_file = Path(directory, "chain.pem"), Path(directory, "key.pem")
        for path, text in ((cert_file, certificate), (key_file, key)):
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(text)
        yield str(cert_file), str(key_file)
