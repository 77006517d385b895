"""Starting the test server as its own process, and where a test finds it (or a real org).

:class:`LocalSalesforce` makes a CA and a server certificate for 127.0.0.1 (the server speaks HTTPS, as Salesforce
does), an RSA key pair for the connected app's JWT bearer grant and a credentials file, then runs
``python -m tests.harness.salesforce`` on a free port. :class:`SalesforceServer` describes the result — or a real
org named by ``HUB_TEST_SALESFORCE_*`` variables (:meth:`SalesforceServer.from_env`).
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.harness.process import LocalServer, ManagedProcess, free_port
from tests.harness.salesforce.sessions import Credentials
from tests.harness.servers import ORIGIN_ENV, ORIGIN_LOCAL
from tests.harness.tls_material import CertificateAuthority

ROOT = Path(__file__).resolve().parents[3]
DEFAULT_VERSION = "59.0"
ENV_PREFIX = "HUB_TEST_SALESFORCE_"


@dataclass(frozen=True)
class SalesforceServer:
    """A Salesforce API endpoint and the credentials of one API user and one connected app.

    ``url`` is the login URL (``https://login.salesforce.com``, a My Domain, or the local server); ``ca_file`` is the
    CA bundle that verifies it (None: the system's); ``control`` says whether the ``/_harness/`` API exists.
    """

    url: str
    username: str
    password: str
    security_token: str
    consumer_key: str
    consumer_secret: str
    private_key_file: str | None
    ca_file: str | None
    origin: str
    version: str = DEFAULT_VERSION
    control: bool = False
    startup_s: float = 0.0
    log_file: str | None = None  # the local server's output (for a failing test's report: fixtures.attach_log)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> SalesforceServer:
        """A real org: ``HUB_TEST_SALESFORCE_URL`` (login URL) with ``_USERNAME``, ``_PASSWORD``,
        ``_SECURITY_TOKEN``, ``_CONSUMER_KEY``, ``_CONSUMER_SECRET``, ``_PRIVATE_KEY_FILE`` and ``_VERSION``."""
        env = dict(os.environ if environ is None else environ)

        def get(name: str, default: str = "") -> str:
            return env.get(ENV_PREFIX + name, default)

        url = get("URL").rstrip("/")
        if not url.startswith("https://"):
            raise ValueError(f"{ENV_PREFIX}URL must be an https:// login URL, got {url!r}")
        return cls(
            url=url,
            username=get("USERNAME"),
            password=get("PASSWORD"),
            security_token=get("SECURITY_TOKEN"),
            consumer_key=get("CONSUMER_KEY"),
            consumer_secret=get("CONSUMER_SECRET"),
            private_key_file=get("PRIVATE_KEY_FILE") or None,
            ca_file=None,
            origin=ORIGIN_ENV,
            version=get("VERSION", DEFAULT_VERSION),
        )

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)


class LocalSalesforce(LocalServer):
    """Owns one test-server process on 127.0.0.1 and its certificates and keys."""

    prefix = "hub-test-salesforce-"

    def start(self) -> SalesforceServer:
        began = time.monotonic()
        base = self.make_base_dir()
        authority = CertificateAuthority(base)
        issued = authority.issue("server", "127.0.0.1", server=True)
        private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        key_file = base / "jwt-private-key.pem"
        key_file.write_bytes(
            private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
        public_file = base / "jwt-public-key.pem"
        public_file.write_bytes(
            private_key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        credentials = Credentials()
        config = base / "credentials.json"
        config.write_text(
            json.dumps(
                {
                    "username": credentials.username,
                    "password": credentials.password,
                    "securityToken": credentials.security_token,
                    "consumerKey": credentials.consumer_key,
                    "consumerSecret": credentials.consumer_secret,
                    "jwtPublicKeyFile": str(public_file),
                }
            )
        )
        port = free_port()
        server = SalesforceServer(
            url=f"https://127.0.0.1:{port}",
            username=credentials.username,
            password=credentials.password,
            security_token=credentials.security_token,
            consumer_key=credentials.consumer_key,
            consumer_secret=credentials.consumer_secret,
            private_key_file=str(key_file),
            ca_file=str(authority.pem),
            origin=ORIGIN_LOCAL,
            control=True,
            log_file=str(base / "server.log"),
        )
        argv = [
            sys.executable,
            "-m",
            "tests.harness.salesforce",
            "--port",
            str(port),
            "--certfile",
            str(issued.certificate),
            "--keyfile",
            str(issued.key),
            "--config",
            str(config),
        ]
        python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        self.process = ManagedProcess(
            "salesforce test server", argv, base / "server.log", env={"PYTHONPATH": python_path}
        )
        self.process.start()
        context = server.ssl_context()
        health = f"{server.url}/_harness/health"
        self.process.wait_ready(
            lambda: urllib.request.urlopen(health, timeout=1, context=context).status == 200, timeout_s=60
        )
        return SalesforceServer(**{**server.__dict__, "startup_s": time.monotonic() - began})
