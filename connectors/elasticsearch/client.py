"""The search server behind one small interface: Elasticsearch through the official ``elasticsearch`` client, or
OpenSearch through ``opensearch-py`` (``connection.type``). Client-side retries are off: the sink retries itself,
per document, so that ordering per id holds.

Errors are sorted in two kinds: ``UnavailableError`` (connection refused or lost, timeouts, 429, 5xx: worth another
try) and ConnectorError (anything else: a bad URL, refused credentials, a request the server rejects).

The elasticsearch client's major version must match the server's (client 8 for Elasticsearch 8, client 9 for 9):
a server that refuses the client's API version gets an error saying which client to install.
"""

from __future__ import annotations

import logging
from typing import Any

from connectors.elasticsearch.config import Settings
from hub.sdk.errors import ConnectorError

log = logging.getLogger(__name__)


#: What the writer reads of a bulk answer (the server leaves the rest out).
BULK_FIELDS = "errors,items.*.status,items.*.error,items.*.result"


class UnavailableError(Exception):
    """The server cannot take the request now; another try may succeed. ``timed_out``: no answer in time (the
    server may still be working on it)."""

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class SearchClient:
    """Bulk writes, index and data stream creation against one cluster; safe to share between threads."""

    def __init__(self, settings: Settings, pool_size: int) -> None:
        self.settings = settings
        self.kind = settings.connection_type
        self._pool_size = pool_size
        self._client: Any = self._make()

    def _make(self) -> Any:
        s = self.settings
        common: dict[str, Any] = {
            "http_compress": s.compression,
            "verify_certs": s.verify,
            "max_retries": 0,
            "retry_on_timeout": False,
            "request_timeout": s.read_timeout_s,
        }
        if s.ca_file:
            common["ca_certs"] = s.ca_file
        if self.kind == "opensearch":
            from opensearchpy import OpenSearch

            if s.username:
                common["http_auth"] = (s.username, s.password or "")
            if s.api_key:
                common.setdefault("headers", {})["Authorization"] = f"ApiKey {s.api_key}"
            del common["request_timeout"]
            return OpenSearch(hosts=list(s.urls), pool_maxsize=self._pool_size, timeout=s.read_timeout_s, **common)
        from elasticsearch import Elasticsearch

        credentials: dict[str, Any] = {}
        if s.api_key:
            credentials["api_key"] = s.api_key
        elif s.username:
            credentials["basic_auth"] = (s.username, s.password or "")
        return Elasticsearch(list(s.urls), connections_per_node=self._pool_size, **credentials, **common)

    def connect(self) -> dict[str, Any]:
        """The server's version info; checks the server answers and the credentials are accepted."""
        try:
            return dict(self._call(self._client.info))
        except ConnectorError as exc:
            if self.kind == "elasticsearch" and "media_type_header_exception" in str(exc):
                from importlib.metadata import version

                raise ConnectorError(
                    f"{', '.join(self.settings.urls)} refuses the API version of the elasticsearch client "
                    f"{version('elasticsearch')}: install the client of the server's major version, e.g. "
                    "pip install 'elasticsearch>=8.12,<9' for an Elasticsearch 8 cluster"
                ) from exc
            raise

    def bulk(self, body: bytes, timeout_s: float) -> dict[str, Any]:
        """One bulk request of NDJSON ``body`` waiting ``timeout_s`` for the answer; the answer with its ``items``."""
        extra = {"pipeline": self.settings.pipeline} if self.settings.pipeline else {}
        if self.kind == "opensearch":
            return dict(
                self._call(self._client.bulk, body=body, request_timeout=timeout_s, filter_path=BULK_FIELDS, **extra)
            )
        bulk = self._client.options(request_timeout=timeout_s).bulk
        return dict(self._call(bulk, operations=body, filter_path=BULK_FIELDS, **extra))

    def index_exists(self, name: str) -> bool:
        return bool(self._call(self._client.indices.exists, index=name))

    def create_index(self, name: str, mappings: dict[str, Any] | None) -> None:
        """Creates the index (with mappings when given); one that appeared meanwhile is fine."""
        try:
            if self.kind == "opensearch":
                self._call(self._client.indices.create, index=name, body={"mappings": mappings} if mappings else {})
            else:
                self._call(self._client.indices.create, index=name, mappings=mappings)
        except ConnectorError as exc:
            if "resource_already_exists_exception" not in str(exc):
                raise

    def put_mapping(self, name: str, mappings: dict[str, Any]) -> None:
        """Adds fields to an index's mapping (fields already mapped another way are an error of the server's)."""
        if self.kind == "opensearch":
            self._call(self._client.indices.put_mapping, index=name, body=mappings)
        else:
            self._call(self._client.indices.put_mapping, index=name, properties=mappings.get("properties", {}))

    def close(self) -> None:
        self._client.close()

    def _call(self, method: Any, **kwargs: Any) -> Any:
        try:
            response = method(**kwargs)
        except Exception as exc:
            raise _classify(exc, self.settings.urls) from exc
        return getattr(response, "body", response)


def _status(exc: Exception) -> int | None:
    meta = getattr(exc, "meta", None)
    status = getattr(meta, "status", None) if meta is not None else getattr(exc, "status_code", None)
    return status if isinstance(status, int) else None


def _classify(exc: Exception, urls: tuple[str, ...]) -> Exception:
    status = _status(exc)
    name = type(exc).__name__
    if status is None and ("Connection" in name or "Timeout" in name):
        return UnavailableError(f"{', '.join(urls)} unreachable: {exc}", timed_out="Timeout" in name)
    if status is not None and (status == 429 or status >= 500):
        return UnavailableError(f"{', '.join(urls)} answered {status}: {exc}")
    if status in (401, 403):
        return ConnectorError(f"{', '.join(urls)} refused the credentials ({status}): {exc}")
    return ConnectorError(f"{', '.join(urls)}: {exc}")
