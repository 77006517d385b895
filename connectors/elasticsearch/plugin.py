"""Registers the search-index sink with Hub (entry point ``elasticsearch`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

try:
    import elasticsearch  # noqa: F401 (checked here so a missing extra says how to install it)
    import opensearchpy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(f"the Elasticsearch sink needs {exc.name}: pip install 'hub[elasticsearch]'") from exc

from connectors.elasticsearch.sink import ElasticsearchSinkConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [ElasticsearchSinkConnector]
