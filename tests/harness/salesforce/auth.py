"""Logins: the SOAP partner API's ``login`` (username, password + security token) at ``/services/Soap/u/<version>``
and the OAuth 2.0 token endpoint ``/services/oauth2/token`` (JWT bearer, client credentials and username-password
grants), answered as Salesforce answers them, faults and error JSON included.

Responsibility: check credentials against the org's :class:`Credentials` and issue a session id from its
:class:`SessionStore`. The instance URL returned is the URL the request came in on, so clients continue against
this server. Secrets are compared, never echoed or logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

import jwt
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.harness.salesforce.org import Org

SOAP_FAULT = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope \
xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="urn:fault.partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>sf:{code}</faultcode>\
<faultstring>{code}: {message}</faultstring><detail><sf:{kind} xsi:type="sf:{kind}"><sf:exceptionCode>{code}\
</sf:exceptionCode><sf:exceptionMessage>{message}</sf:exceptionMessage></sf:{kind}></detail></soapenv:Fault>\
</soapenv:Body></soapenv:Envelope>"""

SOAP_LOGIN = """<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope \
xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="urn:partner.soap.sforce.com" \
xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>\
<metadataServerUrl>{base}/services/Soap/m/{version}/{org15}</metadataServerUrl><passwordExpired>false\
</passwordExpired><sandbox>false</sandbox><serverUrl>{base}/services/Soap/u/{version}/{org15}</serverUrl>\
<sessionId>{session}</sessionId><userId>{user}</userId><userInfo><accessibilityMode>false</accessibilityMode>\
<currencySymbol>$</currencySymbol><orgAttachmentFileSizeLimit>5242880</orgAttachmentFileSizeLimit>\
<orgDefaultCurrencyIsoCode>USD</orgDefaultCurrencyIsoCode><orgDisallowHtmlAttachments>false\
</orgDisallowHtmlAttachments><orgHasPersonAccounts>false</orgHasPersonAccounts><organizationId>{org}\
</organizationId><organizationMultiCurrency>false</organizationMultiCurrency><organizationName>Hub Test Org\
</organizationName><profileId>00e5g000000AAAAAA2</profileId><roleId xsi:nil="true"/><sessionSecondsValid>7200\
</sessionSecondsValid><userDefaultCurrencyIsoCode xsi:nil="true"/><userEmail>{username}</userEmail>\
<userFullName>Hub Test</userFullName><userId>{user}</userId><userLanguage>en_US</userLanguage><userLocale>en_US\
</userLocale><userName>{username}</userName><userTimeZone>America/Los_Angeles</userTimeZone><userType>Standard\
</userType><userUiSkin>Theme3</userUiSkin></userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>"""

INVALID_LOGIN = "Invalid username, password, security token; or user locked out."


def base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def soap_fault(code: str, message: str, kind: str = "LoginFault", status: int = 500) -> Response:
    body = SOAP_FAULT.format(code=code, message=escape(message), kind=kind)
    return Response(body, status_code=status, media_type="text/xml;charset=UTF-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


async def soap_login(org: Org, request: Request) -> Response:
    """``POST /services/Soap/u/<version>`` with a partner-API ``login`` envelope."""
    version = request.path_params["version"]
    try:
        root = ET.fromstring(await request.body())
    except ET.ParseError:
        return soap_fault(
            "INVALID_SOAP_HEADER", "the request is not a well-formed SOAP envelope", "UnexpectedErrorFault"
        )
    login = next((element for element in root.iter() if _local(element.tag) == "login"), None)
    if login is None:
        return soap_fault("INVALID_OPERATION", "only the login operation is supported here", "UnexpectedErrorFault")
    values = {_local(child.tag): child.text or "" for child in login}
    credentials = org.credentials
    expected = credentials.password + credentials.security_token
    if not (
        hmac.compare_digest(values.get("username", ""), credentials.username)
        and hmac.compare_digest(values.get("password", ""), expected)
    ):
        return soap_fault("INVALID_LOGIN", INVALID_LOGIN)
    body = SOAP_LOGIN.format(
        base=base_url(request),
        version=version,
        org=org.org_id,
        org15=org.org_id[:15],
        session=org.sessions.issue(),
        user=org.user_id,
        username=escape(credentials.username),
    )
    return Response(body, media_type="text/xml;charset=UTF-8")


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=status)


def token_response(org: Org, request: Request, *, grant: str) -> Response:
    """The token answer: the JWT bearer grant's has no ``issued_at``/``signature``; the others have both."""
    token = org.sessions.issue()
    base = base_url(request)
    identity = f"{base}/id/{org.org_id}/{org.user_id}"
    body: dict[str, Any] = {"access_token": token}
    if grant != "jwt":
        issued_at = str(int(time.time() * 1000))
        digest = hmac.new(org.credentials.consumer_secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
        body["signature"] = base64.b64encode(digest.digest()).decode()
    body.update(scope="api", instance_url=base, id=identity, token_type="Bearer")
    if grant != "jwt":
        body["issued_at"] = issued_at
    return JSONResponse(body)


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            key, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
            return key, secret
        except (ValueError, UnicodeDecodeError):
            return "", ""
    return form.get("client_id", ""), form.get("client_secret", "")


async def oauth_token(org: Org, request: Request) -> Response:
    """``POST /services/oauth2/token``: the grants ``jwt-bearer``, ``client_credentials`` and ``password``."""
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
    grant = form.get("grant_type", "")
    credentials = org.credentials
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        return _jwt_bearer(org, request, form.get("assertion", ""))
    if grant == "client_credentials":
        key, secret = _client_credentials(request, form)
        if not (
            hmac.compare_digest(key, credentials.consumer_key)
            and hmac.compare_digest(secret, credentials.consumer_secret)
        ):
            return oauth_error("invalid_client", "invalid client credentials")
        return token_response(org, request, grant="other")
    if grant == "password":
        key, secret = _client_credentials(request, form)
        if not hmac.compare_digest(key, credentials.consumer_key):
            return oauth_error("invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(secret, credentials.consumer_secret):
            return oauth_error("invalid_client", "invalid client credentials")
        password_ok = form.get("password", "") in {
            credentials.password + credentials.security_token,
            credentials.password,
        }
        if form.get("username", "") != credentials.username or not password_ok:
            return oauth_error("invalid_grant", "authentication failure")
        return token_response(org, request, grant="other")
    if not grant:
        return oauth_error("invalid_request", "grant type not supported")
    return oauth_error("unsupported_grant_type", "grant type not supported")


def _jwt_bearer(org: Org, request: Request, assertion: str) -> Response:
    credentials = org.credentials
    try:
        claims = jwt.decode(assertion, options={"verify_signature": False})
    except jwt.PyJWTError:
        return oauth_error("invalid_grant", "invalid assertion")
    if claims.get("iss") != credentials.consumer_key:
        return oauth_error("invalid_client_id", "client identifier invalid")
    if credentials.jwt_public_key_pem is None:
        return oauth_error("invalid_grant", "invalid assertion")
    audiences = {"https://login.salesforce.com", "https://test.salesforce.com", base_url(request)}
    try:
        claims = jwt.decode(
            assertion,
            _verifying_key(credentials.jwt_public_key_pem),
            algorithms=["RS256"],
            options={"verify_aud": False, "require": ["exp"]},
        )
    except jwt.ExpiredSignatureError:
        return oauth_error("invalid_grant", "expired authorization code")
    except jwt.PyJWTError:
        return oauth_error("invalid_grant", "invalid assertion")
    audience = claims.get("aud")
    if (audience if isinstance(audience, str) else "") not in audiences:
        return oauth_error("invalid_grant", "audience is invalid")
    if claims.get("sub") != credentials.username:
        return oauth_error("invalid_grant", "user hasn't approved this consumer")
    return token_response(org, request, grant="jwt")


def _verifying_key(pem: str) -> Any:
    """A public key from a PEM public key or certificate (a connected app holds the certificate)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    data = pem.encode()
    if b"BEGIN CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)
