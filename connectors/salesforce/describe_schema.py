"""Connect schemas from an sObject's describe, and Salesforce's JSON values converted to them.

Responsibility: map each describe field type to a Connect schema — id, reference, string, picklist, textarea,
email, phone, url, combobox, encryptedstring, multipicklist, base64, anyType → STRING; boolean → BOOLEAN; int →
INT32; long → INT64; double, currency, percent → FLOAT64; date → Date; datetime → Timestamp; time → Time — and
convert the values events carry (ISO-8601 text for dates and times) to them. Compound fields (address, location)
are left out, as their parts are fields of their own. Every field is optional: change events carry only the
fields that changed.

Immutable functions; safe from any thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from hub.sdk.errors import DataError
from hub.sdk.schema import (
    OPTIONAL_BOOLEAN_SCHEMA,
    OPTIONAL_FLOAT64_SCHEMA,
    OPTIONAL_INT32_SCHEMA,
    OPTIONAL_INT64_SCHEMA,
    OPTIONAL_STRING_SCHEMA,
    Schema,
    date_schema,
    time_schema,
    timestamp_schema,
)

SCHEMA_PREFIX = "io.confluent.salesforce."
COMPOUND_TYPES = frozenset({"address", "location"})
_TYPES: dict[str, Schema] = {
    "boolean": OPTIONAL_BOOLEAN_SCHEMA,
    "int": OPTIONAL_INT32_SCHEMA,
    "long": OPTIONAL_INT64_SCHEMA,
    "double": OPTIONAL_FLOAT64_SCHEMA,
    "currency": OPTIONAL_FLOAT64_SCHEMA,
    "percent": OPTIONAL_FLOAT64_SCHEMA,
    "date": date_schema(optional=True),
    "datetime": timestamp_schema(optional=True),
    "time": time_schema(optional=True),
}


def field_schemas(describe: Mapping[str, Any], only: Iterable[str] | None = None) -> list[tuple[str, Schema]]:
    """``(name, schema)`` of every field of a describe result (or of those named in ``only``), in its order."""
    wanted = {name.lower() for name in only} if only is not None else None
    fields = []
    for field in describe.get("fields", []):
        kind = str(field.get("type", "string"))
        name = str(field["name"])
        if kind in COMPOUND_TYPES or (wanted is not None and name.lower() not in wanted):
            continue
        fields.append((name, _TYPES.get(kind, OPTIONAL_STRING_SCHEMA)))
    return fields


def parse_datetime(value: Any) -> dt.datetime:
    """An ISO-8601 datetime as Salesforce writes it (``…Z``, ``…+0000``) or epoch milliseconds, in UTC."""
    if isinstance(value, int):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # +0000 → +00:00
        text = text[:-2] + ":" + text[-2:]
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def convert(schema: Schema, value: Any, where: str) -> Any:
    """A JSON value of an event as the Connect value of ``schema``; DataError naming ``where`` when it cannot be."""
    if value is None:
        return None
    try:
        if schema.name == date_schema().name:
            return dt.date.fromisoformat(str(value)[:10])
        if schema.name == timestamp_schema().name:
            return parse_datetime(value)
        if schema.name == time_schema().name:
            return dt.time.fromisoformat(str(value).rstrip("Z"))
        kind = schema.type.value
        if kind == "boolean":
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if kind in ("int32", "int64"):
            return int(value)
        if kind == "double":
            return float(value)
        return value if isinstance(value, str) else str(value)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{where}: {value!r} is not a valid {schema.name or schema.type.value}: {exc}") from None
