"""hub.sdk.json_rows: msgspec row types named after schema fields."""

from __future__ import annotations

import msgspec
import pytest

from hub.sdk.json_rows import json_row_type


def test_rows_are_written_as_objects_with_any_field_names_in_order() -> None:
    row_type = json_row_type(["class", "with space", "f0", "ünï"])
    assert (
        msgspec.json.encode(row_type(1, "a", None, True))
        == '{"class":1,"with space":"a","f0":null,"ünï":true}'.encode()
    )


def test_typed_rows_check_their_fields_while_parsing() -> None:
    decode = msgspec.json.Decoder(json_row_type(["id", "name"], [int, str])).decode
    assert msgspec.structs.astuple(decode(b'{"name":"a","id":1,"other":0}')) == (1, "a")
    with pytest.raises(msgspec.ValidationError):
        decode(b'{"id":"1","name":"a"}')
    with pytest.raises(msgspec.ValidationError):
        decode(b'{"id":1}')
