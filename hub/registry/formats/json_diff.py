"""JSON Schema compatibility as Confluent's registry decides it (its strict rules), over schema documents.

``incompatibilities(original, update)`` lists why a reader validating with ``update`` could refuse data valid
under ``original``. Breaking, as in Confluent's ``SchemaDiff``: a type changed or narrowed; a bound added or
tightened (maxLength, minLength, pattern, maximum, minimum, exclusive bounds, multipleOf, maxItems, minItems,
maxProperties, minProperties, uniqueItems); an enum narrowed or added, a const changed; a required property
added without a default; a property added to an open content model (one that allowed any other property)
unless its schema accepts anything, or removed from a closed one; additional properties or items narrowed or
removed; a union (anyOf/oneOf) narrowed, an intersection (allOf) extended, the kind of combination changed; a
``not`` extended; ``dependentRequired``, ``dependencies``, ``dependentSchemas``, ``propertyNames``, ``contains``
or a ``patternProperties`` pattern added or changed (tuples: ``items`` lists of draft-07, ``prefixItems``). Widening
any of these is compatible, as are titles, descriptions, defaults and ids.

References (``$ref``) are followed — within a document by JSON pointer, to a referenced schema by its name or
``$id`` — and a pair of schemas already being compared is taken as compatible, which ends recursive schemas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hub.registry.formats.json_schema import JsonSchema

_ANY = frozenset({"null", "boolean", "object", "array", "number", "string", "integer"})
_COMBINERS = ("anyOf", "oneOf", "allOf")
# bound keyword -> True when a larger value is looser
_BOUNDS = {
    "maxLength": True,
    "minLength": False,
    "maximum": True,
    "minimum": False,
    "exclusiveMaximum": True,
    "exclusiveMinimum": False,
    "maxItems": True,
    "minItems": False,
    "maxProperties": True,
    "minProperties": False,
    "maxContains": True,
    "minContains": False,
}


class _Document:
    """A schema document with the documents it may reference, to follow ``$ref``."""

    def __init__(self, schema: JsonSchema) -> None:
        self.root = schema.document
        self.others = schema.dependencies

    def resolve(self, node: Any, root: Any, seen: int = 0) -> tuple[Any, Any]:
        """``node`` with its ``$ref`` followed (and the document it lives in)."""
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 64:
            target, _, pointer = node["$ref"].partition("#")
            document = root if not target else self.others.get(target)
            if document is None:
                return {}, root
            root, node, seen = document, _pointer(document, pointer), seen + 1
        return node, root


def _pointer(document: Any, pointer: str) -> Any:
    node = document
    for part in [p for p in pointer.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return {}
    return node


class _Diff:
    def __init__(self, original: _Document, update: _Document) -> None:
        self.original = original
        self.update = update
        self._active: set[tuple[int, int]] = set()

    def compare(self, path: str, old: Any, new: Any, old_root: Any, new_root: Any) -> list[str]:
        old, old_root = self.original.resolve(old, old_root)
        new, new_root = self.update.resolve(new, new_root)
        pair = (id(old), id(new))
        if pair in self._active:
            return []
        self._active.add(pair)
        try:
            return self._compare(path, old, new, old_root, new_root)
        finally:
            self._active.discard(pair)

    def _compare(self, path: str, old: Any, new: Any, old_root: Any, new_root: Any) -> list[str]:
        if new is True or new == {} or old is False:
            return []
        if new is False:
            return [_error("TYPE_CHANGED", path, "the new schema accepts nothing")]
        if old is True:
            old = {}

        def sub(where: str, a: Any, b: Any) -> list[str]:
            return self.compare(where, a, b, old_root, new_root)

        combined = self._combined(path, old, new, sub)
        if combined is not None:
            return combined
        found: list[str] = []
        old_types, new_types = _types(old), _types(new)
        if not old_types <= _widen(new_types):
            found.append(_error("TYPE_CHANGED", path, f"type {_show(old_types)} became {_show(new_types)}"))
            return found
        for keyword, looser_is_larger in _BOUNDS.items():
            found += _bound(path, keyword, old.get(keyword), new.get(keyword), looser_is_larger)
        if "pattern" in new and new.get("pattern") != old.get("pattern"):
            found.append(_error("PATTERN_ADDED", path, f"pattern {new['pattern']!r} now applies"))
        if "multipleOf" in new and not _divides(new["multipleOf"], old.get("multipleOf")):
            found.append(_error("MULTIPLE_OF_CHANGED", path, f"values must now be multiples of {new['multipleOf']}"))
        if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
            found.append(_error("UNIQUE_ITEMS_ADDED", path, "items must now be unique"))
        if "enum" in new and not (isinstance(old.get("enum"), list) and all(v in new["enum"] for v in old["enum"])):
            found.append(_error("ENUM_ARRAY_NARROWED", path, "the enum no longer holds every value it held"))
        if "const" in new and old.get("const", object()) != new["const"]:
            found.append(_error("CONST_CHANGED", path, "the const changed"))
        if "not" in new:
            if "not" not in old:
                found.append(_error("NOT_TYPE_EXTENDED", path, "a 'not' was added"))
            elif old["not"] != new["not"] and sub(f"{path}/not", new["not"], old["not"]):
                # the new 'not' must exclude no more than the old one did: the old one reads all it accepts
                found.append(_error("NOT_TYPE_EXTENDED", path, "the 'not' schema excludes more"))
        found += self._object(path, old, new, sub)
        found += self._array(path, old, new, sub)
        found += self._constraints(path, old, new, sub)
        return found

    def _combined(
        self, path: str, old: dict[str, Any], new: dict[str, Any], sub: Callable[..., list[str]]
    ) -> list[str] | None:
        old_kind = next((k for k in _COMBINERS if k in old), None)
        new_kind = next((k for k in _COMBINERS if k in new), None)
        if old_kind is None and new_kind is None:
            return None
        if old_kind is None:
            assert new_kind is not None
            options = new[new_kind]
            union = new_kind in ("anyOf", "oneOf") or len(options) == 1
            if union and any(not sub(f"{path}/{new_kind}/{i}", old, option) for i, option in enumerate(options)):
                return []
            return [_error("TYPE_CHANGED", path, f"the schema became a {new_kind} that does not accept it")]
        if new_kind is None:
            options = old[old_kind]
            product = old_kind == "allOf" or len(options) == 1
            if product and any(not sub(f"{path}/{old_kind}/{i}", option, new) for i, option in enumerate(options)):
                return []
            return [_error("TYPE_CHANGED", path, f"a {old_kind} became a schema that does not accept it")]
        if old_kind != new_kind and {old_kind, new_kind} != {"anyOf", "oneOf"}:
            return [_error("COMBINED_TYPE_CHANGED", path, f"{old_kind} became {new_kind}")]
        found: list[str] = []
        if new_kind == "allOf":
            for j, option in enumerate(new[new_kind]):
                if all(sub(f"{path}/allOf/{j}", before, option) for before in old[old_kind]):
                    found.append(_error("PRODUCT_TYPE_EXTENDED", f"{path}/allOf/{j}", "the allOf requires more"))
        else:
            for i, before in enumerate(old[old_kind]):
                if all(sub(f"{path}/{new_kind}/{i}", before, option) for option in new[new_kind]):
                    found.append(_error("SUM_TYPE_NARROWED", f"{path}/{old_kind}/{i}", "an alternative is gone"))
        return found

    def _object(self, path: str, old: dict[str, Any], new: dict[str, Any], sub: Callable[..., list[str]]) -> list[str]:
        found: list[str] = []
        old_props, new_props = old.get("properties") or {}, new.get("properties") or {}
        required = set(new.get("required") or ()) - set(old.get("required") or ())
        for name in sorted(required):
            if not (isinstance(new_props.get(name), dict) and "default" in new_props[name]):
                found.append(
                    _error("REQUIRED_ATTRIBUTE_ADDED", f"{path}/required", f"property {name!r} is now required")
                )
        old_extra, new_extra = old.get("additionalProperties", True), new.get("additionalProperties", True)
        for name in sorted(set(old_props) | set(new_props)):
            where = f"{path}/properties/{name}"
            if name in old_props and name in new_props:
                found += sub(where, old_props[name], new_props[name])
            elif name in new_props:  # added: old data may hold the property under the old model's other rules
                if old_extra is False:
                    continue
                if sub(where, {} if old_extra is True else old_extra, new_props[name]):
                    found.append(_error("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", where, f"property {name!r} was added"))
            else:  # removed: the new model's other rules now apply to it
                if old_props[name] is False or new_extra is True:
                    continue
                if new_extra is False or sub(where, old_props[name], new_extra):
                    found.append(
                        _error("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", where, f"property {name!r} was removed")
                    )
        narrowed = new_extra is not True and old_extra is not False
        if narrowed and (
            new_extra is False or sub(f"{path}/additionalProperties", {} if old_extra is True else old_extra, new_extra)
        ):
            found.append(
                _error(
                    "ADDITIONAL_PROPERTIES_NARROWED",
                    f"{path}/additionalProperties",
                    "fewer other properties are allowed",
                )
            )
        return found

    def _array(self, path: str, old: dict[str, Any], new: dict[str, Any], sub: Callable[..., list[str]]) -> list[str]:
        tuple_key = "prefixItems" if "prefixItems" in old or "prefixItems" in new else "items"
        old_items, new_items = old.get(tuple_key, True), new.get(tuple_key, True)
        if isinstance(old_items, list) or isinstance(new_items, list):  # tuples: items (draft-07) or prefixItems
            before = old_items if isinstance(old_items, list) else []
            after = new_items if isinstance(new_items, list) else []
            rest_key = "items" if tuple_key == "prefixItems" else "additionalItems"
            found = []
            for i in range(min(len(before), len(after))):
                found += sub(f"{path}/{tuple_key}/{i}", before[i], after[i])
            if len(after) > len(before) and old.get(rest_key, True) is not False:
                found.append(
                    _error("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", f"{path}/{tuple_key}", "tuple items were added")
                )
            return found
        return sub(f"{path}/items", {} if old_items is True else old_items, new_items)

    def _constraints(
        self, path: str, old: dict[str, Any], new: dict[str, Any], sub: Callable[..., list[str]]
    ) -> list[str]:
        """Keywords that only restrict: one the new schema adds, or changes, may refuse what the old accepted."""
        found = []
        for keyword in ("dependentRequired", "dependencies", "dependentSchemas", "propertyNames", "contains"):
            if keyword in new and new[keyword] != old.get(keyword):
                found.append(_error(f"{_upper(keyword)}_CHANGED", f"{path}/{keyword}", f"{keyword} now restricts more"))
        old_patterns, new_patterns = old.get("patternProperties") or {}, new.get("patternProperties") or {}
        for pattern in new_patterns:
            where = f"{path}/patternProperties/{pattern}"
            if pattern not in old_patterns:
                found.append(
                    _error("PATTERN_PROPERTY_ADDED", where, f"properties matching {pattern!r} are constrained")
                )
            else:
                found += sub(where, old_patterns[pattern], new_patterns[pattern])
        return found


def _types(schema: dict[str, Any]) -> frozenset[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return frozenset({declared})
    if isinstance(declared, list):
        return frozenset(t for t in declared if isinstance(t, str))
    return _ANY


def _widen(types: frozenset[str]) -> frozenset[str]:
    return types | {"integer"} if "number" in types else types


def _show(types: frozenset[str]) -> str:
    return "any" if types == _ANY else "/".join(sorted(types))


def _bound(path: str, keyword: str, old: Any, new: Any, looser_is_larger: bool) -> list[str]:
    if not isinstance(new, int | float) or isinstance(new, bool):
        return []
    if not isinstance(old, int | float) or isinstance(old, bool):
        return [_error(f"{_upper(keyword)}_ADDED", path, f"{keyword} {new} now applies")]
    tighter = new < old if looser_is_larger else new > old
    change = "DECREASED" if looser_is_larger else "INCREASED"
    return [_error(f"{_upper(keyword)}_{change}", path, f"{keyword} went from {old} to {new}")] if tighter else []


def _divides(new: Any, old: Any) -> bool:
    """Every multiple of ``old`` is a multiple of ``new``."""
    if not isinstance(old, int | float) or not isinstance(new, int | float) or new == 0:
        return False
    ratio = old / new
    return abs(ratio - round(ratio)) < 1e-9


def _upper(keyword: str) -> str:
    return "".join("_" + c if c.isupper() else c.upper() for c in keyword)


def _error(kind: str, path: str, detail: str) -> str:
    return f"{{errorType:'{kind}', description:'{detail}', location:'{path or '#/'}'}}"


def incompatibilities(original: JsonSchema, update: JsonSchema) -> list[str]:
    """Why ``update`` could refuse data valid under ``original``, as Confluent's rules say; empty when it cannot."""
    diff = _Diff(_Document(original), _Document(update))
    return diff.compare("#", original.document, update.document, original.document, update.document)
