"""ParquetFormat: Parquet files through pyarrow, one column per field of the records' struct schema.

Types: INT8/16/32/64 → int8/16/32/64, FLOAT32/64 → float/double, BOOLEAN → bool, STRING → string, BYTES →
binary, Decimal → decimal128 (precision from ``connect.decimal.precision``, else 38), Date → date32, Time →
time32[ms], Timestamp → timestamp[ms, UTC], ARRAY → list, MAP → map, STRUCT → struct; optional fields are
nullable. Struct names are kept in the field metadata (``connect.name``) so the source restores them.

Rows are converted to Arrow as they arrive (so a bad value is refused at once, all or nothing) and written in row
groups of exactly ``hub.s3.parquet.row.group.records`` rows: memory per open object is one row group of Arrow
data, and the same records give the same file. The extension names the codec as Confluent's does
(``.snappy.parquet``, ``.zstd.parquet``, ``.gz.parquet``, ``.parquet`` uncompressed).

One thread per writer.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import IO, Any

import pyarrow as pa
import pyarrow.parquet as pq

from connectors.s3.avro_format import PRECISION_PARAMETER
from connectors.s3.buffer import SpillBuffer
from connectors.s3.formats import Format, RecordWriter, struct_reader
from connectors.s3.json_values import Convert
from connectors.s3.settings import FormatSettings
from hub.sdk import Schema, Struct, Type
from hub.sdk.errors import DataError
from hub.sdk.schema import (
    DATE_NAME,
    DECIMAL_NAME,
    TIME_NAME,
    TIMESTAMP_NAME,
    array_schema,
    date_schema,
    decimal_scale,
    decimal_schema,
    map_schema,
    struct_schema,
    time_schema,
    timestamp_schema,
)

CODEC_EXTENSIONS = {"none": "", "snappy": ".snappy", "gzip": ".gz", "zstd": ".zstd", "lz4": ".lz4", "brotli": ".br"}
_NAME_KEY = b"connect.name"
_PRIMITIVES = {
    Type.INT8: pa.int8(),
    Type.INT16: pa.int16(),
    Type.INT32: pa.int32(),
    Type.INT64: pa.int64(),
    Type.FLOAT32: pa.float32(),
    Type.FLOAT64: pa.float64(),
    Type.BOOLEAN: pa.bool_(),
    Type.STRING: pa.string(),
    Type.BYTES: pa.binary(),
}
_FROM_ARROW = {str(arrow): kind for kind, arrow in _PRIMITIVES.items()}


def arrow_type(schema: Schema) -> pa.DataType:
    """The Arrow type of a Connect schema."""
    if schema.name == DECIMAL_NAME:
        return pa.decimal128(int(schema.params.get(PRECISION_PARAMETER, 38)), decimal_scale(schema))
    if schema.name == DATE_NAME:
        return pa.date32()
    if schema.name == TIME_NAME:
        return pa.time32("ms")
    if schema.name == TIMESTAMP_NAME:
        return pa.timestamp("ms", tz="UTC")
    kind = schema.type
    if kind in _PRIMITIVES:
        return _PRIMITIVES[kind]
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        return pa.list_(arrow_field("element", schema.value_schema))
    if kind is Type.MAP:
        assert schema.key_schema is not None
        assert schema.value_schema is not None
        return pa.map_(arrow_type(schema.key_schema), arrow_field("value", schema.value_schema))
    return pa.struct([arrow_field(field.name, field.schema) for field in schema.fields])


def arrow_field(name: str, schema: Schema) -> pa.Field:
    metadata = {_NAME_KEY: schema.name.encode()} if schema.type is Type.STRUCT and schema.name else None
    return pa.field(name, arrow_type(schema), nullable=schema.optional, metadata=metadata)


def _plain(schema: Schema) -> Convert | None:
    """Connect values → what ``pa.array`` takes (structs as dicts, maps as pair lists); None: as they are."""
    kind = schema.type
    if kind is Type.STRUCT:
        names = [field.name for field in schema.fields]
        converters = [(field.index, convert) for field in schema.fields if (convert := _plain(field.schema))]

        def struct(value: Struct | None) -> dict[str, Any] | None:
            if value is None:
                return None
            values = value.raw_values()
            for index, convert in converters:
                if values[index] is not None:
                    values[index] = convert(values[index])
            return dict(zip(names, values, strict=True))

        return struct
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = _plain(schema.value_schema)
        return None if item is None else (lambda value: [None if v is None else item(v) for v in value])
    if kind is Type.MAP:
        assert schema.value_schema is not None
        entry = _plain(schema.value_schema) or (lambda v: v)
        return lambda value: [(k, None if v is None else entry(v)) for k, v in value.items()]
    return None


class _ParquetWriter(RecordWriter):
    def __init__(self, out: SpillBuffer, schema: Schema | None, codec: str, row_group_records: int) -> None:
        if schema is None or schema.type is not Type.STRUCT:
            raise DataError("ParquetFormat needs struct values with a schema (use a converter with schemas)")
        self.out = out
        self.schema = schema
        self.codec = codec
        self.row_group_records = row_group_records
        metadata = {_NAME_KEY: schema.name.encode()} if schema.name else None
        self.arrow_schema = pa.schema([arrow_field(f.name, f.schema) for f in schema.fields], metadata=metadata)
        self.columns: list[tuple[int, pa.DataType, Convert | None, Any]] = [
            (field.index, arrow_type(field.schema), _plain(field.schema), field.schema.default)
            for field in schema.fields
        ]
        self.pending: list[pa.RecordBatch] = []
        self.pending_rows = 0
        self.writer: pq.ParquetWriter | None = None

    def write(self, values: Sequence[Any]) -> None:
        rows = [value.raw_values() for value in values]
        arrays = []
        for index, kind, convert, default in self.columns:
            column = [row[index] for row in rows]
            if default is not None:
                column = [default if item is None else item for item in column]
            if convert is not None:
                column = [None if item is None else convert(item) for item in column]
            arrays.append(pa.array(column, type=kind))
        self.pending.append(pa.RecordBatch.from_arrays(arrays, schema=self.arrow_schema))
        self.pending_rows += len(rows)
        while self.pending_rows >= self.row_group_records:
            self._write_row_group(self.row_group_records)

    def _write_row_group(self, rows: int) -> None:
        table = pa.Table.from_batches(self.pending, schema=self.arrow_schema)
        if self.writer is None:
            compression = None if self.codec == "none" else self.codec
            self.writer = pq.ParquetWriter(self.out, self.arrow_schema, compression=compression)
        self.writer.write_table(table.slice(0, rows), row_group_size=rows)
        rest = table.slice(rows)
        self.pending = rest.to_batches()
        self.pending_rows = rest.num_rows

    def finish(self) -> None:
        if self.pending_rows or self.writer is None:
            self._write_row_group(self.pending_rows)
        assert self.writer is not None
        self.writer.close()


class ParquetFormat(Format):
    needs_schema = True

    def __init__(self, settings: FormatSettings) -> None:
        self.codec = settings.parquet_codec
        self.row_group_records = settings.parquet_row_group_records

    @property
    def extension(self) -> str:
        return CODEC_EXTENSIONS[self.codec] + ".parquet"

    def writer(self, out: SpillBuffer, schema: Schema | None, key: str) -> RecordWriter:
        return _ParquetWriter(out, schema, self.codec, self.row_group_records)

    def read(self, data: IO[bytes]) -> Iterator[tuple[Schema | None, Any]]:
        parquet = pq.ParquetFile(data)
        arrow_schema = parquet.schema_arrow
        name = (arrow_schema.metadata or {}).get(_NAME_KEY)
        schema = struct_schema(
            [(field.name, connect_schema(field)) for field in arrow_schema], name=name.decode() if name else None
        )
        convert = _reader(schema)
        assert convert is not None
        for batch in parquet.iter_batches():
            for row in batch.to_pylist():
                yield schema, convert(row)


def connect_schema(field: pa.Field) -> Schema:
    """The Connect schema of an Arrow field."""
    kind = field.type
    if pa.types.is_decimal(kind):
        schema = decimal_schema(kind.scale)
    elif pa.types.is_date(kind):
        schema = date_schema()
    elif pa.types.is_time(kind):
        schema = time_schema()
    elif pa.types.is_timestamp(kind):
        schema = timestamp_schema()
    elif pa.types.is_map(kind):
        schema = map_schema(connect_schema(kind.key_field), connect_schema(kind.item_field))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        schema = array_schema(connect_schema(kind.value_field))
    elif pa.types.is_struct(kind):
        name = (field.metadata or {}).get(_NAME_KEY)
        schema = struct_schema(
            [(child.name, connect_schema(child)) for child in kind], name=name.decode() if name else None
        )
    elif str(kind) in _FROM_ARROW:
        schema = Schema(_FROM_ARROW[str(kind)])
    elif pa.types.is_large_string(kind):
        schema = Schema(Type.STRING)
    elif pa.types.is_large_binary(kind) or pa.types.is_fixed_size_binary(kind):
        schema = Schema(Type.BYTES)
    else:
        raise DataError(f"Parquet column {field.name!r} of type {kind} has no Connect schema")
    return schema.as_optional() if field.nullable else schema


def _reader(schema: Schema) -> Convert | None:
    """What pyarrow reads → Connect values (dicts as Structs, pair lists as maps)."""
    kind = schema.type
    if kind is Type.STRUCT:
        return struct_reader(schema, _reader)
    if kind is Type.ARRAY:
        assert schema.value_schema is not None
        item = _reader(schema.value_schema)
        return None if item is None else (lambda value: [None if v is None else item(v) for v in value])
    if kind is Type.MAP:
        assert schema.value_schema is not None
        entry = _reader(schema.value_schema) or (lambda v: v)
        return lambda value: {k: None if v is None else entry(v) for k, v in value}
    return None
