"""Protobuf compatibility as Confluent's registry decides it, over file descriptors.

``incompatibilities(original, update)`` lists the differences between two schemas that Confluent counts as
breaking a reader of ``update`` given data written with ``original``: PACKAGE_CHANGED, MESSAGE_REMOVED,
FIELD_KIND_CHANGED (scalar, message and map are kinds; an enum counts as a scalar), FIELD_SCALAR_KIND_CHANGED
(scalars change only within protobuf's wire-compatible groups: int32/int64/uint32/uint64/bool and enums;
sint32/sint64; string/bytes; fixed32/sfixed32; fixed64/sfixed64; float; double), FIELD_NAMED_TYPE_CHANGED (a
message field whose type has another name, or whose type changed incompatibly), FIELD_NUMERIC_LABEL_CHANGED
(a numeric field turned repeated or back), REQUIRED_FIELD_ADDED, REQUIRED_FIELD_REMOVED, ONEOF_FIELD_REMOVED,
MULTIPLE_FIELDS_MOVED_TO_ONEOF and FIELD_MOVED_TO_EXISTING_ONEOF. Everything else — fields, messages, enums and
enum constants added or removed, renamed fields, string/bytes becoming repeated, new oneofs — is compatible.
Fields are matched by number, messages and enums by name, as Confluent's ``SchemaDiff`` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from google.protobuf.descriptor_pb2 import DescriptorProto, FieldDescriptorProto

if TYPE_CHECKING:
    from hub.registry.formats.protobuf import ProtobufSchema

F = FieldDescriptorProto
_SCALAR_GROUPS = {
    F.TYPE_INT32: "GENERAL_NUMBER",
    F.TYPE_INT64: "GENERAL_NUMBER",
    F.TYPE_UINT32: "GENERAL_NUMBER",
    F.TYPE_UINT64: "GENERAL_NUMBER",
    F.TYPE_BOOL: "GENERAL_NUMBER",
    F.TYPE_ENUM: "GENERAL_NUMBER",
    F.TYPE_SINT32: "SIGNED_NUMBER",
    F.TYPE_SINT64: "SIGNED_NUMBER",
    F.TYPE_STRING: "STRING_OR_BYTES",
    F.TYPE_BYTES: "STRING_OR_BYTES",
    F.TYPE_FIXED32: "FIXED32",
    F.TYPE_SFIXED32: "FIXED32",
    F.TYPE_FIXED64: "FIXED64",
    F.TYPE_SFIXED64: "FIXED64",
    F.TYPE_FLOAT: "FLOAT",
    F.TYPE_DOUBLE: "DOUBLE",
}


class _Side:
    """One schema: its package and every message by full name (without the leading dot), its imports' too."""

    def __init__(self, schema: ProtobufSchema) -> None:
        self.package = schema.file.package
        self.messages: dict[str, DescriptorProto] = {}
        for file in [schema.file, *schema.imports.values()]:
            self._collect(file.package, file.message_type)

    def _collect(self, scope: str, messages: Iterable[DescriptorProto]) -> None:
        for message in messages:
            name = f"{scope}.{message.name}" if scope else message.name
            self.messages[name] = message
            self._collect(name, message.nested_type)

    def message(self, type_name: str) -> DescriptorProto | None:
        return self.messages.get(type_name.lstrip("."))

    def map_entry(self, field: FieldDescriptorProto) -> DescriptorProto | None:
        if field.type != F.TYPE_MESSAGE or field.label != F.LABEL_REPEATED:
            return None
        entry = self.message(field.type_name)
        return entry if entry is not None and entry.options.map_entry else None


class _Diff:
    def __init__(self, original: _Side, update: _Side) -> None:
        self.original = original
        self.update = update
        self.found: list[str] = []
        self._visited: set[tuple[str, str]] = set()

    def add(self, kind: str, path: str, detail: str) -> None:
        self.found.append(f"{{errorType:'{kind}', description:'{detail}', location:'{path}'}}")

    def types(
        self, path: str, original: Iterable[DescriptorProto], update: Iterable[DescriptorProto], scope: tuple[str, str]
    ) -> None:
        updated = {m.name: m for m in update if not m.options.map_entry}
        for message in original:
            if message.options.map_entry:
                continue
            counterpart = updated.get(message.name)
            where = f"{path}/{message.name}"
            if counterpart is None:
                self.add("MESSAGE_REMOVED", where, f"The message {message.name} was removed")
            else:
                self.message(where, message, counterpart, (f"{scope[0]}.{message.name}", f"{scope[1]}.{message.name}"))

    def message(self, path: str, original: DescriptorProto, update: DescriptorProto, names: tuple[str, str]) -> None:
        if names in self._visited:
            return
        self._visited.add(names)
        before = {f.number: f for f in original.field}
        after = {f.number: f for f in update.field}
        oneof_before = {f.number: original.oneof_decl[f.oneof_index].name for f in original.field if _in_oneof(f)}
        oneof_after = {f.number: update.oneof_decl[f.oneof_index].name for f in update.field if _in_oneof(f)}
        self._oneof_moves(path, update, before, oneof_before, oneof_after)
        surviving_oneofs = {oneof_before[n] for n in oneof_before if n in after}
        for number in sorted(set(before) | set(after)):
            old, new = before.get(number), after.get(number)
            where = f"{path}/{number}"
            if new is None:
                assert old is not None
                if number in oneof_before:
                    if (
                        oneof_before[number] in {o.name for o in update.oneof_decl}
                        or oneof_before[number] in surviving_oneofs
                    ):
                        self.add("ONEOF_FIELD_REMOVED", where, f"The oneof field {old.name} was removed")
                elif old.label == F.LABEL_REQUIRED:
                    self.add("REQUIRED_FIELD_REMOVED", where, f"The required field {old.name} was removed")
            elif old is None:
                if new.label == F.LABEL_REQUIRED and number not in oneof_after:
                    self.add("REQUIRED_FIELD_ADDED", where, f"The required field {new.name} was added")
            else:
                self.field(where, old, new)
        self.types(path, original.nested_type, update.nested_type, names)

    def _oneof_moves(
        self,
        path: str,
        update: DescriptorProto,
        before: dict[int, FieldDescriptorProto],
        oneof_before: dict[int, str],
        oneof_after: dict[int, str],
    ) -> None:
        for index, oneof in enumerate(update.oneof_decl):
            members = [f for f in update.field if _in_oneof(f) and f.oneof_index == index]
            origins = set()
            moved_in = 0
            for field in members:
                if field.number in oneof_before:
                    origins.add("oneof:" + oneof_before[field.number])
                elif field.number in before:
                    origins.add(f"field:{field.number}")
                    moved_in += 1
            if len(origins) > 1:
                kind = "MULTIPLE_FIELDS_MOVED_TO_ONEOF" if moved_in > 1 else "FIELD_MOVED_TO_EXISTING_ONEOF"
                self.add(
                    kind, f"{path}/{oneof.name}", f"Fields that were independent are now in the oneof {oneof.name}"
                )

    def field(self, path: str, old: FieldDescriptorProto, new: FieldDescriptorProto) -> None:
        old_entry, new_entry = self.original.map_entry(old), self.update.map_entry(new)
        if (old_entry is None) != (new_entry is None):
            self.add("FIELD_KIND_CHANGED", path, f"The field {new.name} changed between a map and a non-map")
            return
        if old_entry is not None and new_entry is not None:
            for old_part, new_part in zip(old_entry.field, new_entry.field, strict=False):
                self.kinds(path, old_part, new_part, labels=False)
            return
        self.kinds(path, old, new, labels=True)

    def kinds(self, path: str, old: FieldDescriptorProto, new: FieldDescriptorProto, *, labels: bool) -> None:
        old_kind, new_kind = _kind(old), _kind(new)
        if old_kind != new_kind:
            self.add("FIELD_KIND_CHANGED", path, f"The field {new.name} changed kind from {old_kind} to {new_kind}")
            return
        if old_kind == "SCALAR":
            old_group, new_group = _SCALAR_GROUPS[old.type], _SCALAR_GROUPS[new.type]
            if old_group != new_group:
                self.add("FIELD_SCALAR_KIND_CHANGED", path, f"The field {new.name} changed type incompatibly")
            elif labels and old_group != "STRING_OR_BYTES" and _repeated(old) != _repeated(new):
                self.add("FIELD_NUMERIC_LABEL_CHANGED", path, f"The numeric field {new.name} changed label")
            return
        old_name, new_name = old.type_name.lstrip("."), new.type_name.lstrip(".")
        old_local = _local(old_name, self.original.package)
        new_local = _local(new_name, self.update.package)
        if old_local != new_local:
            self.add(
                "FIELD_NAMED_TYPE_CHANGED", path, f"The field {new.name} changed type from {old_local} to {new_local}"
            )
            return
        old_message, new_message = self.original.message(old_name), self.update.message(new_name)
        if old_message is None or new_message is None:
            return
        count = len(self.found)
        self.message(f"{path}/{new_local}", old_message, new_message, (old_name, new_name))
        if len(self.found) > count:
            self.add(
                "FIELD_NAMED_TYPE_CHANGED", path, f"The type {new_local} of the field {new.name} changed incompatibly"
            )


def _in_oneof(field: FieldDescriptorProto) -> bool:
    return field.HasField("oneof_index") and not field.proto3_optional


def _repeated(field: FieldDescriptorProto) -> bool:
    return bool(field.label == F.LABEL_REPEATED)


def _kind(field: FieldDescriptorProto) -> str:
    return "MESSAGE" if field.type in (F.TYPE_MESSAGE, F.TYPE_GROUP) else "SCALAR"


def _local(name: str, package: str) -> str:
    return name[len(package) + 1 :] if package and name.startswith(package + ".") else name


def incompatibilities(original: ProtobufSchema, update: ProtobufSchema) -> list[str]:
    """Why ``update`` cannot read what ``original`` wrote, as Confluent's rules say; empty when it can."""
    diff = _Diff(_Side(original), _Side(update))
    if original.file.package != update.file.package:
        diff.add(
            "PACKAGE_CHANGED", "#/", f"The package changed from {original.file.package!r} to {update.file.package!r}"
        )
    diff.types("#", original.file.message_type, update.file.message_type, (original.file.package, update.file.package))
    return diff.found
