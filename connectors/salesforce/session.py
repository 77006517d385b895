"""A logged-in Salesforce session: login through simple-salesforce, REST calls with re-login and retries.

``SalesforceSession.open()`` logs in with the configured grant — username + password + security token (the SOAP
``login`` simple-salesforce performs), the OAuth 2.0 JWT bearer grant, or client credentials — and resolves
``salesforce.version=latest`` from the org's version list. ``request()`` then calls the instance:

- 401 with ``INVALID_SESSION_ID`` (an expired or revoked session): log in again and repeat the request, once;
- 403 ``REQUEST_LIMIT_EXCEEDED``, any 5xx, a timeout or a broken connection: repeat with waits doubling from
  ``hub.salesforce.retry.backoff.ms`` (at most 10 s) until ``request.max.retries.time.ms`` is spent, then raise
  ``SalesforceUnavailableError`` (a RetriableError: the runtime polls or redelivers again later);
- any other error: ``SalesforceApiError`` (a ConnectorError) with the server's errorCode and message.

No message, log line or exception this module produces contains a password, token, secret or private key: every
text taken from a failure passes through ``scrub``, which blanks any secret value it finds.

One session per task; ``request`` may be called from one thread at a time, ``close`` from any.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any

import requests
from simple_salesforce.api import DEFAULT_API_VERSION, Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import SalesforceLogin

from connectors.salesforce.settings import ConnectionSettings
from connectors.salesforce.transport import InstanceSession, login_domain
from hub.sdk.errors import ConnectorError, RetriableError

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 10.0


class SalesforceApiError(ConnectorError):
    """Salesforce refused a request: ``status``, the first ``error_code`` and the server's ``message``."""

    def __init__(self, status: int, error_code: str, message: str, what: str) -> None:
        self.status = status
        self.error_code = error_code
        self.server_message = message
        super().__init__(f"{what}: HTTP {status} {error_code}: {message}")


class SalesforceUnavailableError(RetriableError):
    """Salesforce stayed unavailable (rate limit, 5xx, network) for ``request.max.retries.time.ms``."""


class SalesforceLoginError(ConnectorError):
    """The login was refused or could not be made."""


def error_of(response: requests.Response) -> tuple[str, str]:
    """The errorCode and message of a Salesforce error body (REST list, OAuth object or plain text)."""
    try:
        body = response.json()
    except ValueError:
        return str(response.status_code), response.text[:500]
    if isinstance(body, list) and body and isinstance(body[0], Mapping):
        return str(body[0].get("errorCode", response.status_code)), str(body[0].get("message", ""))
    if isinstance(body, Mapping):
        if "error" in body:
            return str(body["error"]), str(body.get("error_description", ""))
        if "errorCode" in body:
            return str(body["errorCode"]), str(body.get("message", ""))
    return str(response.status_code), response.text[:500]


class SalesforceSession:
    """An org session for one task (see the module docstring)."""

    def __init__(self, settings: ConnectionSettings, stopped: threading.Event | None = None) -> None:
        self.settings = settings
        self.stopped = stopped or threading.Event()
        self._lock = threading.Lock()
        self._http: InstanceSession | None = None
        self._token = ""
        self._instance = ""  # host[:port] the login returned
        self.version = settings.version
        self.logins = 0

    # --- login ---------------------------------------------------------------------------------------------------

    def open(self) -> SalesforceSession:
        """Log in and resolve the API version; SalesforceLoginError or SalesforceUnavailableError on failure."""
        self._http = InstanceSession(self.settings.timeout_ms / 1000, self.settings.ca_file)
        self._call_with_retries(self.login, "log in")
        if self.version == "latest":
            self.version = self._latest_version()
        return self

    @property
    def http(self) -> InstanceSession:
        if self._http is None:
            raise RuntimeError("the Salesforce session is not open")
        return self._http

    def login(self) -> None:
        """Log in (again) with the configured grant through simple-salesforce."""
        settings = self.settings
        client_credentials = settings.grant_type == "CLIENT_CREDENTIALS"
        domain = login_domain(settings.instance_url, client_credentials)
        http = self.http
        http.route_login(settings.instance_url, domain)
        version = DEFAULT_API_VERSION if self.version == "latest" else self.version
        arguments: dict[str, Any] = {"domain": domain, "session": http, "sf_version": version}
        if settings.grant_type == "PASSWORD":
            arguments.update(
                username=settings.username,
                password=settings.password.value,
                security_token=settings.security_token.value,
            )
        elif settings.grant_type == "JWT_BEARER":
            arguments.update(username=settings.username, consumer_key=settings.consumer_key)
            if settings.private_key_path:
                arguments["privatekey_file"] = settings.private_key_path
            else:
                arguments["privatekey"] = settings.private_key.value
        else:
            arguments.update(consumer_key=settings.consumer_key, consumer_secret=settings.consumer_secret.value)
        try:
            token, instance = SalesforceLogin(**arguments)
        except SalesforceAuthenticationFailed as exc:
            raise SalesforceLoginError(
                self.scrub(f"login to {settings.where} refused: {exc.code}: {exc.message}")
            ) from None
        except (requests.ConnectionError, requests.Timeout):
            raise
        except Exception as exc:  # a bad key, an unreadable key file, an unexpected answer
            raise SalesforceLoginError(
                self.scrub(f"login to {settings.where} failed: {type(exc).__name__}: {exc}")
            ) from None
        with self._lock:
            self._token, self._instance = token, instance
            self.logins += 1
        http.route_instance(instance, settings.instance_url)
        log.info("logged in to %s (instance %s)", settings.where, instance)

    def _latest_version(self) -> str:
        response = self.request("GET", self.instance_url + "/services/data/")
        versions = [str(item.get("version")) for item in response.json() if isinstance(item, Mapping)]
        usable = [v for v in versions if v.replace(".", "", 1).isdigit()]
        if not usable:
            raise ConnectorError(f"{self.instance_url}/services/data/ lists no API version")
        return max(usable, key=lambda v: tuple(int(part) for part in v.split(".")))

    # --- what callers use ------------------------------------------------------------------------------------------

    @property
    def instance_url(self) -> str:
        """``https://host`` (or ``http://`` for a plain-HTTP stand-in) of the org's instance."""
        return self.http.url(f"https://{self._instance}")

    @property
    def access_token(self) -> str:
        """The session id / OAuth access token (for clients that authenticate themselves, e.g. CometD)."""
        return self._token

    def data_url(self, path: str = "") -> str:
        """The REST URL of ``path`` under ``/services/data/vXX.X/``."""
        return f"{self.instance_url}/services/data/v{self.version}/{path.lstrip('/')}"

    def client(self) -> Salesforce:
        """A simple-salesforce client on this session's login and HTTP session (no re-login of its own)."""
        return Salesforce(session_id=self._token, instance=self._instance, version=self.version, session=self.http)

    def request(
        self,
        method: str,
        url: str,
        *,
        ok: Iterable[int] = (200, 201, 204),
        what: str = "",
        **kwargs: Any,
    ) -> requests.Response:
        """Call ``url`` (absolute, or a path under the REST data URL) with re-login and retries; the response
        when its status is in ``ok``, else SalesforceApiError / SalesforceUnavailableError."""
        target = url if url.startswith("http") else self.data_url(url)
        accepted = tuple(ok)
        label = what or f"{method} {target.split('?', 1)[0]}"
        relogged = False

        def attempt() -> requests.Response:
            nonlocal relogged
            headers = dict(kwargs.pop("headers", None) or {})
            headers["Authorization"] = f"Bearer {self._token}"
            response = self.http.request(method, target, headers=headers, **kwargs)
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            if response.status_code in accepted:
                return response
            code, message = error_of(response)
            if response.status_code == 401 and code == "INVALID_SESSION_ID" and not relogged:
                relogged = True
                log.info("the Salesforce session expired (%s); logging in again", self.scrub(message))
                self.login()
                return attempt()
            if response.status_code >= 500 or code == "REQUEST_LIMIT_EXCEEDED":
                raise _TransientError(f"HTTP {response.status_code} {code}: {self.scrub(message)}")
            raise SalesforceApiError(response.status_code, code, self.scrub(message), label)

        response: requests.Response = self._call_with_retries(attempt, label)
        return response

    def _call_with_retries(self, call: Any, what: str) -> Any:
        deadline = time.monotonic() + self.settings.retry_time_ms / 1000
        backoff = self.settings.retry_backoff_ms / 1000
        attempts = 0
        while True:
            attempts += 1
            try:
                return call()
            except requests.exceptions.SSLError as exc:
                raise ConnectorError(f"{what}: TLS with Salesforce failed: {self.scrub(str(exc))}") from None
            except (_TransientError, requests.ConnectionError, requests.Timeout) as exc:
                reason = self.scrub(str(exc))
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.stopped.is_set():
                    raise SalesforceUnavailableError(
                        f"{what}: Salesforce unavailable after {attempts} attempts: {reason}"
                    ) from None
                wait = min(backoff, remaining, MAX_BACKOFF_S)
                log.warning("%s: %s; retrying in %.1f s", what, reason, wait)
                self.stopped.wait(wait)
                backoff = min(max(backoff * 2, 0.05), MAX_BACKOFF_S)

    def scrub(self, text: str) -> str:
        """``text`` with every secret of the settings and the session token blanked."""
        settings = self.settings
        secrets = [
            settings.password.value,
            settings.security_token.value,
            settings.password.value + settings.security_token.value,
            settings.consumer_secret.value,
            settings.private_key.value,
            self._token,
        ]
        for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
            text = text.replace(secret, "[hidden]")
        return text

    def close(self) -> None:
        self.stopped.set()
        if self._http is not None:
            self._http.close()


class _TransientError(Exception):
    """A retriable answer (rate limit, 5xx)."""
