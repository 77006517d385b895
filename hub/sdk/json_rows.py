"""Row types for writing (and reading) JSON objects with msgspec, for converters and formats that handle many
records of one struct schema.

An instance of a row type is encoded by msgspec as a JSON object with the schema's field names as keys, in field
order, without building a dict per record; with field types given, msgspec's decoder checks them while parsing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import msgspec


def json_row_type(names: Sequence[str], types: Sequence[Any] | None = None) -> type[msgspec.Struct]:
    """A msgspec Struct type read and written as a JSON object with these keys, in this order (of these types when
    given). Its attributes are f0, f1, … renamed in JSON, so any field name works (keywords, spaces, …)."""
    attributes = [f"f{index}" for index in range(len(names))]
    fields = attributes if types is None else list(zip(attributes, types, strict=True))
    return msgspec.defstruct("Row", fields, rename=dict(zip(attributes, names, strict=True)))
