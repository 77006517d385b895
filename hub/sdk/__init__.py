"""Everything a connector author imports: connector and task API, records, schemas, configs, errors."""

from __future__ import annotations

from hub.sdk.config import (
    HIDDEN,
    NO_DEFAULT,
    ConfigDef,
    ConfigKey,
    ConfigType,
    Importance,
    Password,
    Width,
    config_def,
)
from hub.sdk.connector import (
    Connector,
    ConnectorContext,
    ConnectorTransactionBoundaries,
    ErrantRecordReporter,
    ExactlyOnceSupport,
    OffsetReader,
    PartitionedSinkConnector,
    SinkConnector,
    SinkTask,
    SinkTaskContext,
    SourceConnector,
    SourceTask,
    SourceTaskContext,
    Task,
    TransactionContext,
)
from hub.sdk.converter import Converter, HeaderConverter, SchemaAndValue
from hub.sdk.errors import ConfigError, ConnectError, ConnectorError, DataError, RetriableError
from hub.sdk.plugin import hookimpl
from hub.sdk.records import Header, Headers, SinkRecord, SourceRecord
from hub.sdk.schema import Field, Schema, SchemaError, Type
from hub.sdk.struct import Struct
from hub.sdk.transform import Predicate, Transformation

__all__ = [
    "HIDDEN",
    "NO_DEFAULT",
    "ConfigDef",
    "ConfigError",
    "ConfigKey",
    "ConfigType",
    "ConnectError",
    "Connector",
    "ConnectorContext",
    "ConnectorError",
    "ConnectorTransactionBoundaries",
    "Converter",
    "DataError",
    "ErrantRecordReporter",
    "ExactlyOnceSupport",
    "Field",
    "Header",
    "HeaderConverter",
    "Headers",
    "Importance",
    "OffsetReader",
    "PartitionedSinkConnector",
    "Password",
    "Predicate",
    "RetriableError",
    "Schema",
    "SchemaAndValue",
    "SchemaError",
    "SinkConnector",
    "SinkRecord",
    "SinkTask",
    "SinkTaskContext",
    "SourceConnector",
    "SourceRecord",
    "SourceTask",
    "SourceTaskContext",
    "Struct",
    "Task",
    "TransactionContext",
    "Transformation",
    "Type",
    "Width",
    "config_def",
    "hookimpl",
]
