"""Converters that write and read through a schema registry, as Confluent's: AvroConverter, ProtobufConverter and
JsonSchemaConverter, with Confluent's wire format (a zero byte and the schema's 4-byte id before the data).

The registry client (confluent-kafka) and fastavro are imported when a converter is configured or used, never at
``import hub``; they come with ``pip install 'hub[registry]'``.
"""

from __future__ import annotations

from hub.runtime.converters.schema_registry.avro import AvroConverter
from hub.runtime.converters.schema_registry.json_schema import JsonSchemaConverter
from hub.runtime.converters.schema_registry.protobuf import ProtobufConverter

__all__ = ["AvroConverter", "JsonSchemaConverter", "ProtobufConverter"]
