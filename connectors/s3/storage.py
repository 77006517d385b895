"""S3Bucket: one bucket through boto3, with Confluent's retry options and errors that name the bucket and endpoint.

Every request is retried on transient failures — connection errors, timeouts, throttling, 5xx — up to
``s3.part.retries`` times, waiting ``s3.retry.backoff.ms`` doubled each time (at most 20 s), the wait cut short
when the task stops. What is still failing then becomes a RetriableError (the runtime redelivers and Hub tries
again later); permanent failures become ConnectorError at once, with a message saying what to fix:

- the bucket does not exist → ``bucket 'B' does not exist at ENDPOINT``;
- credentials refused or missing permissions → ``access denied to bucket 'B' at ENDPOINT …``;
- no credentials anywhere → a hint about ``aws.access.key.id`` and boto3's chain;
- ``open()`` (task start) checks the bucket, and an endpoint that cannot be reached fails the task there.

Third-party endpoints (``store.url``) get checksums only where S3 requires them, which S3-compatible stores
accept; AWS gets boto3's defaults. The boto3 client is thread-safe; the upload thread and the task thread share it.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import IO, Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    HTTPClientError,
    NoCredentialsError,
    PartialCredentialsError,
)

from connectors.s3.buffer import read_chunks
from connectors.s3.settings import StoreSettings
from hub.sdk.errors import ConnectError, ConnectorError, RetriableError

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_BACKOFF_MS = 20_000
TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "OperationAborted",
        "500",
        "502",
        "503",
        "504",
    }
)
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "403",
        "Forbidden",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AllAccessDisabled",
        "InvalidToken",
        "ExpiredToken",
        "AccountProblem",
    }
)
MISSING_CODES = frozenset({"NoSuchBucket"})


def client_config(settings: StoreSettings, pool_size: int = 10) -> Config:
    """The botocore config of Hub's S3 clients (retries are Hub's, not botocore's)."""
    options: dict[str, Any] = {
        "region_name": settings.region,
        "retries": {"total_max_attempts": 1},
        "s3": {"addressing_style": "path" if settings.path_style else "auto"},
        "connect_timeout": 10,
        "read_timeout": 60,
        "max_pool_connections": pool_size,
    }
    if settings.endpoint_url:
        options["request_checksum_calculation"] = "when_required"
        options["response_checksum_validation"] = "when_required"
    return Config(**options)


class S3Bucket:
    """Requests to one bucket (see the module docstring). Thread-safe once opened."""

    def __init__(self, settings: StoreSettings, stopped: threading.Event) -> None:
        self.settings = settings
        self.stopped = stopped
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise RuntimeError("the bucket is not open")
        return self._client

    def open(self) -> None:
        """Make the client and check that the bucket exists and answers."""
        settings = self.settings
        try:
            self._client = boto3.session.Session().client(
                "s3",
                endpoint_url=settings.endpoint_url,
                aws_access_key_id=settings.access_key_id,
                aws_secret_access_key=settings.secret_access_key,
                config=client_config(settings),
            )
        except (BotoCoreError, ValueError) as exc:
            raise ConnectorError(f"cannot use S3 endpoint {settings.endpoint_url or 'AWS'}: {exc}") from exc
        try:
            self.call("checking the bucket", lambda: self.client.head_bucket(Bucket=settings.bucket), head=True)
        except RetriableError as exc:
            raise ConnectorError(str(exc)) from exc

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    # --- requests ----------------------------------------------------------------------------------------------

    def call(self, what: str, request: Callable[[], T], *, head: bool = False) -> T:
        """Run ``request``, retrying transient failures; errors as described in the module docstring."""
        settings = self.settings
        attempt = 0
        while True:
            try:
                return request()
            except (ClientError, BotoCoreError) as exc:
                if not _transient(exc):
                    raise self._failure(what, exc, head) from exc
                if attempt >= settings.retries or self.stopped.is_set():
                    raise self._failure(what, exc, head) from exc
                wait_ms = min(settings.retry_backoff_ms * 2**attempt, MAX_BACKOFF_MS)
                attempt += 1
                log.warning(
                    "S3 %s failed (%s); retry %d of %d in %d ms",
                    what,
                    _describe(exc),
                    attempt,
                    settings.retries,
                    wait_ms,
                )
                self.stopped.wait(wait_ms / 1000)

    def _failure(self, what: str, exc: Exception, head: bool) -> ConnectError:
        where = self.settings.where
        code = _code(exc)
        if code in MISSING_CODES or (head and code in ("404", "NotFound")):
            return ConnectorError(
                f"bucket '{self.settings.bucket}' does not exist at {self.settings.endpoint_url or 'AWS S3'} ({what})"
            )
        if code in DENIED_CODES:
            return ConnectorError(
                f"access denied to {where} while {what}: {_describe(exc)}; check "
                "aws.access.key.id / aws.secret.access.key and the bucket's policy"
            )
        if isinstance(exc, NoCredentialsError | PartialCredentialsError):
            return ConnectorError(
                f"no AWS credentials for {where}: set aws.access.key.id and "
                "aws.secret.access.key, or boto3's chain (environment, profile, role)"
            )
        if _transient(exc):
            return RetriableError(
                f"S3 unavailable for {where} while {what} after {self.settings.retries} retries: {_describe(exc)}"
            )
        return ConnectorError(f"S3 refused {what} on {where}: {_describe(exc)}")

    def put_object(self, key: str, body: bytes | bytearray, extra: Mapping[str, str]) -> None:
        bucket = self.settings.bucket

        def put() -> None:
            self.client.put_object(Bucket=bucket, Key=key, Body=body, **extra)

        self.call(f"writing {key}", put)

    def create_multipart_upload(self, key: str, extra: Mapping[str, str]) -> str:
        bucket = self.settings.bucket
        answer = self.call(
            f"starting {key}", lambda: self.client.create_multipart_upload(Bucket=bucket, Key=key, **extra)
        )
        return str(answer["UploadId"])

    def upload_part(self, key: str, upload_id: str, number: int, body: bytes | bytearray) -> str:
        bucket = self.settings.bucket
        answer = self.call(
            f"writing part {number} of {key}",
            lambda: self.client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body),
        )
        return str(answer["ETag"])

    def complete_multipart_upload(self, key: str, upload_id: str, etags: list[str]) -> None:
        bucket = self.settings.bucket
        parts = {"Parts": [{"PartNumber": number, "ETag": etag} for number, etag in enumerate(etags, 1)]}
        self.call(
            f"completing {key}",
            lambda: self.client.complete_multipart_upload(
                Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload=parts
            ),
        )

    def abort_multipart_upload(self, key: str, upload_id: str) -> None:
        """Best effort: a failed abort only leaves invisible parts (a lifecycle rule removes them)."""
        try:
            self.client.abort_multipart_upload(Bucket=self.settings.bucket, Key=key, UploadId=upload_id)
        except (ClientError, BotoCoreError) as exc:
            log.warning("could not abort the upload of %s: %s", key, _describe(exc))

    def list_keys(self, prefix: str) -> list[str]:
        """Every object name under ``prefix``, in S3's (lexicographic) order."""
        bucket = self.settings.bucket

        def listing() -> list[str]:
            pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            return [item["Key"] for page in pages for item in page.get("Contents", ())]

        return self.call(f"listing {prefix or 'the bucket'}", listing)

    def download(self, key: str, memory_bytes: int) -> IO[bytes]:
        """The object's bytes in a seekable file: in memory up to ``memory_bytes``, then on disk."""
        bucket = self.settings.bucket

        def fetch() -> IO[bytes]:
            body = self.client.get_object(Bucket=bucket, Key=key)["Body"]
            spooled = tempfile.SpooledTemporaryFile(max_size=memory_bytes, prefix="hub-s3-")  # noqa: SIM115
            try:
                for chunk in read_chunks(body):
                    spooled.write(chunk)
            except BaseException:
                spooled.close()
                raise
            finally:
                body.close()
            spooled.seek(0)
            return spooled

        return self.call(f"reading {key}", fetch)


#: Timeouts of the bucket check at validation, in seconds.
CHECK_TIMEOUT_S = 5


def check_bucket(settings: StoreSettings) -> dict[str, list[str]]:
    """Problems reaching the bucket, once, with short timeouts, on the option to fix: a missing bucket on
    ``s3.bucket.name``, refused credentials on ``aws.secret.access.key`` (none found: ``aws.access.key.id``), an
    endpoint that does not answer on ``store.url`` (``s3.region`` for AWS)."""
    quick = client_config(replace(settings, retries=0), pool_size=1).merge(
        Config(connect_timeout=CHECK_TIMEOUT_S, read_timeout=CHECK_TIMEOUT_S)
    )
    endpoint = "store.url" if settings.endpoint_url else "s3.region"
    try:
        client = boto3.session.Session().client(
            "s3",
            endpoint_url=settings.endpoint_url,
            aws_access_key_id=settings.access_key_id,
            aws_secret_access_key=settings.secret_access_key,
            config=quick,
        )
    except (BotoCoreError, ValueError) as exc:
        return {endpoint: [f"cannot use S3 endpoint {settings.endpoint_url or 'AWS'}: {exc}"]}
    try:
        client.head_bucket(Bucket=settings.bucket)
    except (ClientError, BotoCoreError) as exc:
        code = _code(exc)
        if code in MISSING_CODES or code in ("404", "NotFound"):
            key = "s3.bucket.name"
            message = f"bucket '{settings.bucket}' does not exist at {settings.endpoint_url or 'AWS S3'}"
        elif code in DENIED_CODES:  # a HEAD answer has no body: S3 does not say which key it refused
            key, message = "aws.secret.access.key", f"access denied to {settings.where}: {_describe(exc)}"
        elif isinstance(exc, NoCredentialsError | PartialCredentialsError):
            key, message = "aws.access.key.id", f"no AWS credentials for {settings.where}: {exc}"
        else:
            key, message = endpoint, f"cannot reach {settings.where}: {_describe(exc)}"
        return {key: [message]}
    finally:
        client.close()
    return {}


def _code(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code or str(status or "")
    return ""


def _transient(exc: Exception) -> bool:
    if isinstance(exc, HTTPClientError | ConnectionError):
        return True
    if isinstance(exc, ClientError):
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return _code(exc) in TRANSIENT_CODES or int(status) >= 500
    return False


def _describe(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = error.get("Message") or ""
        return f"{error.get('Code') or status} (HTTP {status}){': ' + message if message else ''}"
    return str(exc)
