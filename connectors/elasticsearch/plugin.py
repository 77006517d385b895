"""Registers the search-index sink with Hub (entry point ``elasticsearch`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

from connectors.elasticsearch.sink import ElasticsearchSinkConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [ElasticsearchSinkConnector]
