"""Registers the JDBC connectors and the change-event transform with Hub (entry point ``jdbc`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

try:
    import psycopg  # noqa: F401 (checked here so a missing extra says how to install it)
    import pymysql  # noqa: F401
    import sqlalchemy  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(f"the JDBC connectors need {exc.name}: pip install 'hub[jdbc]'") from exc

from connectors.jdbc.cdc import ExtractNewRecordState, PostgresCdcSourceConnector
from connectors.jdbc.cdc.documents.connector import PostgresDocumentSourceConnector
from connectors.jdbc.sink import JdbcSinkConnector
from connectors.jdbc.source import JdbcSourceConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [JdbcSourceConnector, PostgresCdcSourceConnector, PostgresDocumentSourceConnector, JdbcSinkConnector]


@hookimpl
def hub_register_transforms() -> list[type[Any]]:
    return [ExtractNewRecordState]
