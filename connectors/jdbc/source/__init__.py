"""JdbcSource: tables (or a custom query) copied into topics by polling; ``querier`` reads one table per mode."""

from connectors.jdbc.source.connector import JdbcSourceConnector, JdbcSourceTask

__all__ = ["JdbcSourceConnector", "JdbcSourceTask"]
