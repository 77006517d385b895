"""PostgresCdcSource and the ExtractNewRecordState transform for its change events (Debezium's names)."""

from connectors.jdbc.cdc.connector import PostgresCdcSourceConnector, PostgresCdcSourceTask
from connectors.jdbc.cdc.unwrap import ExtractNewRecordState

__all__ = ["ExtractNewRecordState", "PostgresCdcSourceConnector", "PostgresCdcSourceTask"]
