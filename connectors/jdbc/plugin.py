"""Registers the JDBC connectors with Hub (entry point ``jdbc`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

from connectors.jdbc.source import JdbcSourceConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [JdbcSourceConnector]
