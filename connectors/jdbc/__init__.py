"""JDBC connectors: three connectors around one shared core.

- ``source/``: JdbcSource, polling tables or a query into topics (Confluent's JDBC source connector);
- ``sink/``: JdbcSink, writing topics to tables (Confluent's JDBC sink connector);
- ``cdc/``: PostgresCdcSource, PostgreSQL change data capture through a replication slot (Debezium's PostgreSQL
  connector), and the ExtractNewRecordState transform for its change events;
- the core they share: ``connection`` (``connection.*`` options, JDBC URLs to SQLAlchemy engines, retries),
  ``sql_types`` (Connect schemas as column types, record values as bound values) and ``column_schemas`` (column
  types as Connect schemas, row values converted to them).

The connector packages import the core, never each other; ``plugin`` registers them with Hub.
"""
