"""The registry's model over an in-memory log: ids, versions, references, soft and hard deletes, modes and
configs, with Confluent's error codes; and the records it writes, in Confluent's key and value formats, replayed
into a second registry."""

from __future__ import annotations

import json
from collections.abc import Callable

import orjson
import pytest

from hub.registry import errors
from hub.registry.records import Reference
from hub.registry.requests import SchemaRequest
from hub.registry.service import SchemaRegistry
from hub.runtime.stores.key_value_log import KeyValueLog, MemoryLog, RecordCallback


class SharedLog(MemoryLog):
    """A MemoryLog whose records a later registry replays: the log of one test, as a topic would be."""

    def __init__(self, records: dict[bytes, bytes], callback: RecordCallback) -> None:
        super().__init__(callback)
        self.records = records


@pytest.fixture
def records() -> dict[bytes, bytes]:
    return {}


@pytest.fixture
def make(records: dict[bytes, bytes]) -> Callable[[], SchemaRegistry]:
    def build() -> SchemaRegistry:
        def log(callback: RecordCallback) -> KeyValueLog:
            return SharedLog(records, callback)

        registry = SchemaRegistry(log)
        registry.start()
        return registry

    return build


@pytest.fixture
def registry(make: Callable[[], SchemaRegistry]) -> SchemaRegistry:
    return make()


def _avro(name: str, *fields: str) -> SchemaRequest:
    schema = {"type": "record", "name": name, "fields": [{"name": f, "type": "string"} for f in fields]}
    return SchemaRequest(json.dumps(schema))


def _code(call: Callable[[], object]) -> int:
    with pytest.raises(errors.RegistryError) as refused:
        call()
    return refused.value.error_code


def test_ids_are_unique_and_shared_by_the_same_schema(registry: SchemaRegistry) -> None:
    first = registry.register("a", _avro("A", "x"))
    other = registry.register("b", _avro("B", "y"))
    same = registry.register("c", _avro("A", "x"))

    assert (first.id, other.id, same.id) == (1, 2, 1)
    assert (first.version, same.version) == (1, 1)
    assert [r.subject for r in registry.id_versions(1)] == ["a", "c"]


def test_records_use_confluents_key_and_value_formats(registry: SchemaRegistry, records: dict[bytes, bytes]) -> None:
    registry.register("orders-value", _avro("Order", "id"))
    registry.set_compatibility("orders-value", "full")
    registry.set_mode(None, "READONLY")

    decoded = {bytes(k): orjson.loads(v) for k, v in records.items()}
    key = orjson.dumps({"keytype": "SCHEMA", "subject": "orders-value", "version": 1, "magic": 1})
    assert key in decoded
    assert decoded[key] == {
        "subject": "orders-value",
        "version": 1,
        "id": 1,
        "schema": '{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}',
        "deleted": False,
    }
    config = orjson.dumps({"keytype": "CONFIG", "subject": "orders-value", "magic": 0})
    assert decoded[config] == {"subject": "orders-value", "compatibilityLevel": "FULL"}
    assert decoded[orjson.dumps({"keytype": "MODE", "magic": 0})] == {"mode": "READONLY"}


def test_a_second_registry_replays_the_same_state(registry: SchemaRegistry, make: Callable[[], SchemaRegistry]) -> None:
    registry.register("s", _avro("A", "x"))
    registry.set_compatibility(None, "NONE")
    registry.register("s", _avro("Z", "q"))
    registry.delete_version("s", 1, permanent=False)

    again = make()

    assert again.versions("s") == [2]
    assert again.versions("s", deleted=True) == [1, 2]
    assert again.compatibility(None) == "NONE"
    assert again.register("t", _avro("New", "n")).id == 3  # ids go on from the highest one replayed


def test_records_written_by_confluents_registry_are_read(
    make: Callable[[], SchemaRegistry], records: dict[bytes, bytes]
) -> None:
    records[b'{"keytype":"SCHEMA","subject":"legacy","version":1,"magic":1}'] = (
        b'{"subject":"legacy","version":1,"id":7,"schemaType":"JSON","schema":"{\\"type\\":\\"string\\"}",'
        b'"deleted":false,"md5":"ignored"}'
    )
    records[b'{"keytype":"CONFIG","magic":0}'] = b'{"compatibilityLevel":"FORWARD"}'
    records[b'{"keytype":"NOOP","magic":0}'] = b"null"

    registry = make()

    assert registry.schema_by_id(7).schema_type == "JSON"
    assert registry.compatibility(None) == "FORWARD"


def test_soft_then_hard_delete_of_a_subject(registry: SchemaRegistry) -> None:
    registry.register("s", _avro("A", "x"))

    assert _code(lambda: registry.delete_subject("s", permanent=True)) == errors.SUBJECT_NOT_SOFT_DELETED
    assert registry.delete_subject("s", permanent=False) == [1]
    assert _code(lambda: registry.versions("s")) == errors.SUBJECT_NOT_FOUND
    assert _code(lambda: registry.delete_subject("s", permanent=False)) == errors.SUBJECT_SOFT_DELETED
    assert registry.schema_by_id(1).subject == "s"  # a soft deleted schema is still found by id
    assert registry.delete_subject("s", permanent=True) == [1]
    assert _code(lambda: registry.schema_by_id(1)) == errors.SCHEMA_NOT_FOUND
    assert _code(lambda: registry.delete_subject("s", permanent=False)) == errors.SUBJECT_NOT_FOUND


def test_soft_then_hard_delete_of_a_version(registry: SchemaRegistry) -> None:
    registry.set_compatibility(None, "NONE")
    registry.register("s", _avro("A", "x"))
    registry.register("s", _avro("B", "y"))

    assert _code(lambda: registry.delete_version("s", 1, permanent=True)) == errors.VERSION_NOT_SOFT_DELETED
    assert registry.delete_version("s", 1, permanent=False) == 1
    assert _code(lambda: registry.delete_version("s", 1, permanent=False)) == errors.VERSION_SOFT_DELETED
    assert _code(lambda: registry.version("s", 1)) == errors.VERSION_NOT_FOUND
    assert registry.version("s", 1, deleted=True).deleted
    assert registry.delete_version("s", 1, permanent=True) == 1
    assert _code(lambda: registry.delete_version("s", 9, permanent=False)) == errors.VERSION_NOT_FOUND
    assert registry.register("s", _avro("C", "z")).version == 3  # versions are never reused


def test_avro_references_resolve_and_protect_what_they_reference(registry: SchemaRegistry) -> None:
    address = registry.register("address", _avro("Address", "street"))
    user = json.dumps({"type": "record", "name": "User", "fields": [{"name": "home", "type": "Address"}]})
    request = SchemaRequest(user, references=(Reference("Address", "address", -1),))

    registered = registry.register("user", request)

    assert registered.references == (Reference("Address", "address", 1),)  # "latest" is pinned
    assert registry.referenced_by("address", 1) == [registered.id]
    assert _code(lambda: registry.delete_subject("address", permanent=False)) == errors.REFERENCE_EXISTS
    assert registry.lookup("user", request, normalize=False, deleted=False).id == registered.id
    assert address.id != registered.id


def test_an_unknown_reference_or_an_unparsable_schema_is_invalid(registry: SchemaRegistry) -> None:
    missing = SchemaRequest(
        '{"type":"record","name":"U","fields":[{"name":"a","type":"A"}]}', references=(Reference("A", "nowhere", 1),)
    )

    assert _code(lambda: registry.register("u", missing)) == errors.INVALID_SCHEMA
    assert _code(lambda: registry.register("u", SchemaRequest('{"type": "recrd"}'))) == errors.INVALID_SCHEMA
    assert _code(lambda: registry.register("u", SchemaRequest("message {", "PROTOBUF"))) == errors.INVALID_SCHEMA
    assert _code(lambda: registry.register("u", SchemaRequest('{"type": 5}', "JSON"))) == errors.INVALID_SCHEMA
    assert registry.subjects() == []


def test_protobuf_and_json_references(registry: SchemaRegistry) -> None:
    registry.register(
        "money.proto", SchemaRequest('syntax = "proto3"; package lib; message Money { int64 cents = 1; }', "PROTOBUF")
    )
    order = 'syntax = "proto3"; import "money.proto"; message Order { lib.Money price = 1; }'
    assert (
        registry.register("orders", SchemaRequest(order, "PROTOBUF", (Reference("money.proto", "money.proto", 1),))).id
        == 2
    )

    registry.register(
        "address.json", SchemaRequest('{"type":"object","properties":{"city":{"type":"string"}}}', "JSON")
    )
    person = '{"type":"object","properties":{"home":{"$ref":"address.json"}}}'
    assert (
        registry.register("people", SchemaRequest(person, "JSON", (Reference("address.json", "address.json", 1),))).id
        == 4
    )


def test_lookup_answers_the_version_or_40403(registry: SchemaRegistry) -> None:
    registry.register("s", _avro("A", "x"))
    spaced = SchemaRequest('{ "type": "record", "name": "A", "fields": [ {"name": "x", "type": "string"} ] }')

    assert registry.lookup("s", spaced, normalize=False, deleted=False).version == 1
    assert (
        _code(lambda: registry.lookup("s", _avro("B", "y"), normalize=False, deleted=False)) == errors.SCHEMA_NOT_FOUND
    )
    assert _code(lambda: registry.lookup("nope", spaced, normalize=False, deleted=False)) == errors.SUBJECT_NOT_FOUND


def test_read_only_mode_refuses_writes_and_import_mode_takes_ids(registry: SchemaRegistry) -> None:
    registry.set_mode("frozen", "READONLY")
    assert _code(lambda: registry.register("frozen", _avro("A", "x"))) == errors.OPERATION_NOT_PERMITTED
    assert (
        _code(lambda: registry.register("s", SchemaRequest(_avro("A", "x").schema, id=40)))
        == errors.OPERATION_NOT_PERMITTED
    )

    registry.set_mode(None, "IMPORT")
    imported = registry.register("s", SchemaRequest(_avro("A", "x").schema, id=40, version=3))
    clash = SchemaRequest(_avro("B", "y").schema, id=40, version=4)

    assert (imported.id, imported.version) == (40, 3)
    assert _code(lambda: registry.register("s", clash)) == errors.ID_DOES_NOT_MATCH
    registry.set_mode(None, "READWRITE")
    assert registry.register("t", _avro("C", "z")).id == 41


def test_import_mode_needs_force_while_subjects_exist(registry: SchemaRegistry) -> None:
    registry.register("s", _avro("A", "x"))

    assert _code(lambda: registry.set_mode(None, "IMPORT")) == errors.OPERATION_NOT_PERMITTED
    assert registry.set_mode(None, "IMPORT", force=True) == "IMPORT"


def test_configs_and_modes_per_subject(registry: SchemaRegistry) -> None:
    assert registry.compatibility(None, fallback=True) == "BACKWARD"
    assert registry.compatibility("s") is None
    assert registry.set_compatibility("s", "forward_transitive") == "FORWARD_TRANSITIVE"
    assert registry.compatibility("s") == "FORWARD_TRANSITIVE"
    assert registry.delete_compatibility("s") == "FORWARD_TRANSITIVE"
    assert _code(lambda: registry.delete_compatibility("s")) == errors.SUBJECT_COMPATIBILITY_NOT_CONFIGURED
    assert _code(lambda: registry.set_compatibility(None, "SIDEWAYS")) == errors.INVALID_COMPATIBILITY_LEVEL
    assert _code(lambda: registry.set_mode(None, "WRITEONLY")) == errors.INVALID_MODE
    assert _code(lambda: registry.delete_mode("s")) == errors.SUBJECT_MODE_NOT_CONFIGURED
    assert registry.mode("s", fallback=True) == "READWRITE"


def test_compatibility_test_against_a_version_and_against_the_level(registry: SchemaRegistry) -> None:
    registry.register("s", _avro("A", "x"))

    assert registry.test_compatibility("s", None, _avro("A", "x", "y"), all_versions=False) != []
    assert registry.test_compatibility("s", 1, _avro("A", "x"), all_versions=True) == []
    assert (
        _code(lambda: registry.test_compatibility("s", 5, _avro("A"), all_versions=False)) == errors.VERSION_NOT_FOUND
    )
    assert (
        _code(lambda: registry.test_compatibility("nope", 1, _avro("A"), all_versions=False))
        == errors.SUBJECT_NOT_FOUND
    )


def test_invalid_subject_names_are_refused(registry: SchemaRegistry) -> None:
    assert _code(lambda: registry.register("bad\nname", _avro("A", "x"))) == errors.INVALID_SUBJECT


def test_a_write_gate_that_refuses_stops_every_write(
    make: Callable[[], SchemaRegistry], records: dict[bytes, bytes]
) -> None:
    class NotHereError(Exception):
        pass

    def refuse() -> None:
        raise NotHereError

    registry = SchemaRegistry(lambda callback: SharedLog(records, callback), gate=refuse)
    registry.start()

    with pytest.raises(NotHereError):
        registry.register("s", _avro("A", "x"))
    with pytest.raises(NotHereError):
        registry.set_compatibility(None, "NONE")
    assert records == {}


def test_a_reference_to_latest_follows_the_latest_version(registry: SchemaRegistry) -> None:
    registry.set_compatibility(None, "NONE")
    registry.register("money", SchemaRequest('{"type": "fixed", "name": "Money", "size": 8}'))
    user = SchemaRequest(
        '{"type": "record", "name": "Wallet", "fields": [{"name": "m", "type": "Money"}]}',
        references=(Reference("Money", "money", -1),),
    )
    assert registry.register("wallet", user).references == (Reference("Money", "money", 1),)

    registry.register("money", SchemaRequest('{"type": "fixed", "name": "Money", "size": 16}'))

    assert registry.register("wallet", user).references == (Reference("Money", "money", 2),)
