"""JdbcSink: topics written to tables.

``config`` (options and typed settings) → ``rows`` (which columns a record writes) → ``tables`` (reflect, create,
evolve) → ``writer`` (one chunk per transaction, each dialect's upsert) with PostgreSQL's ``COPY`` fast path in
``postgres_copy`` and ``copy_forms``; ``connector`` holds the connector and its task.
"""

from connectors.jdbc.sink.connector import JdbcSinkConnector, JdbcSinkTask

__all__ = ["JdbcSinkConnector", "JdbcSinkTask"]
