"""Generate hub/log/protocol/messages.py from Apache Kafka's message definition files.

Usage::

    python scripts/gen_protocol.py [--check] [SPEC_DIR [OUTPUT_FILE]]

SPEC_DIR (default: scripts/kafka-message-specs, the definitions the committed module is built from) holds Kafka's
``*.json`` message definitions (JSON with ``//`` comments). Every file in it is translated; nothing else is read.
OUTPUT_FILE defaults to hub/log/protocol/messages.py. ``--check`` writes nothing and exits 1 when the file differs
from what the definitions give. The output is a Python module of plain data (dicts, tuples, ints, strings):
field names in snake_case, types, version ranges, nullable versions, tags, defaults and nested structs. Descriptions
and comments of the definition files are not carried over. The output depends only on the input files, so running
the script twice gives identical bytes.

A struct type defined in a message's ``commonStructs`` is inlined (with its fields) wherever a field uses it.
Version ranges become ``(low, high)`` tuples, ``"N+"`` becoming ``(N, 32767)``; ``"none"`` becomes ``None``.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = ROOT / "scripts" / "kafka-message-specs"
MESSAGES = ROOT / "hub" / "log" / "protocol" / "messages.py"
MAX_VERSION = 32767

_PRIMITIVES = {"bool", "int8", "int16", "uint16", "int32", "uint32", "int64", "float64", "uuid", "string", "bytes"}
_ZERO_UUID = "00000000-0000-0000-0000-000000000000"


def strip_comments(text: str) -> str:
    """Remove ``//`` comments outside string literals."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif c == "/" and text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        else:
            out.append(c)
        i += 1
    return "".join(out)


def snake_case(name: str) -> str:
    """``PartitionIndex`` -> ``partition_index``, ``SASLAuthBytes`` -> ``sasl_auth_bytes``."""
    s = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", "_", name)
    return s.lower()


def parse_versions(spec: str | None) -> tuple[int, int] | None:
    if spec is None or spec == "none":
        return None
    spec = spec.strip()
    if spec.endswith("+"):
        return (int(spec[:-1]), MAX_VERSION)
    if "-" in spec:
        low, high = spec.split("-")
        return (int(low), int(high))
    return (int(spec), int(spec))


def _default(field: dict[str, Any], type_name: str) -> Any:
    raw = field.get("default")
    if type_name.startswith("[]"):
        return None if raw == "null" else ()
    if type_name in ("int8", "int16", "uint16", "int32", "uint32", "int64"):
        return 0 if raw is None else int(str(raw), 0)
    if type_name == "float64":
        return 0.0 if raw is None else float(raw)
    if type_name == "bool":
        return raw in (True, "true")
    if type_name == "string":
        return None if raw == "null" else ("" if raw is None else str(raw))
    if type_name == "bytes":
        return None if raw == "null" else b""
    if type_name == "records":
        return None
    if type_name == "uuid":
        return _ZERO_UUID
    raise ValueError(f"no default rule for type {type_name!r}")


def convert_field(field: dict[str, Any], where: str, common: dict[str, Any] | None = None) -> dict[str, Any]:
    """One field; a struct type without inline fields is taken from the message's ``commonStructs`` (inlined)."""
    common = common or {}
    name = field["name"]
    type_name = field["type"]
    out: dict[str, Any] = {"name": snake_case(name)}
    is_array = type_name.startswith("[]")
    element = type_name[2:] if is_array else type_name
    if element in _PRIMITIVES or element == "records":
        if "fields" in field:
            raise ValueError(f"{where}.{name}: primitive type {type_name} with nested fields")
        out["type"] = type_name
    else:
        if "fields" not in field:
            if element not in common:
                raise ValueError(f"{where}.{name}: struct {type_name} has no inline fields and no commonStructs entry")
            field = {**field, "fields": common[element]["fields"]}
        if is_array and element == "records":
            raise ValueError(f"{where}.{name}: arrays of records are not a Kafka type")
        out["type"] = "[]struct" if is_array else "struct"
        out["struct"] = element
    versions = parse_versions(field["versions"])
    if versions is None:
        raise ValueError(f"{where}.{name}: field without versions")
    out["versions"] = versions
    nullable = parse_versions(field.get("nullableVersions"))
    if nullable is not None:
        out["nullable_versions"] = nullable
    if "tag" in field:
        out["tag"] = int(field["tag"])
        out["tagged_versions"] = parse_versions(field.get("taggedVersions")) or versions
    if "flexibleVersions" in field:
        out["flexible_versions"] = parse_versions(field["flexibleVersions"])
    if out["type"] == "struct":
        if field.get("default") not in (None, "null"):
            raise ValueError(f"{where}.{name}: struct default {field['default']!r} unsupported")
        if field.get("default") == "null":
            out["default"] = None
    else:
        out["default"] = _default(field, type_name)
    if "fields" in field:
        out["fields"] = tuple(convert_field(f, f"{where}.{name}", common) for f in field["fields"])
    return out


def convert_message(spec: dict[str, Any], source: str) -> dict[str, Any]:
    common = {struct["name"]: struct for struct in spec.get("commonStructs", ())}
    out: dict[str, Any] = {"name": spec["name"], "kind": spec["type"]}
    if "apiKey" in spec:
        out["api_key"] = int(spec["apiKey"])
    out["valid_versions"] = parse_versions(spec["validVersions"])
    out["flexible_versions"] = parse_versions(spec.get("flexibleVersions", "none"))
    if "deprecatedVersions" in spec:
        out["deprecated_versions"] = parse_versions(spec["deprecatedVersions"])
    if spec.get("latestVersionUnstable"):
        out["latest_version_unstable"] = True
    out["fields"] = tuple(convert_field(f, spec["name"], common) for f in spec["fields"])
    return out


def load_specs(spec_dir: Path) -> list[dict[str, Any]]:
    messages = []
    for path in sorted(spec_dir.glob("*.json")):
        spec = json.loads(strip_comments(path.read_text(encoding="utf-8")))
        messages.append(convert_message(spec, path.name))
    if not messages:
        raise SystemExit(f"no *.json message definitions in {spec_dir}")
    return messages


def build_tables(messages: list[dict[str, Any]]) -> tuple[dict[int, Any], dict[str, Any], dict[str, Any]]:
    apis: dict[int, dict[str, Any]] = {}
    data: dict[str, Any] = {}
    headers: dict[str, Any] = {}
    for message in messages:
        kind = message["kind"]
        if kind in ("request", "response"):
            key = message["api_key"]
            api_name = message["name"][: -len(kind)] if message["name"].lower().endswith(kind) else message["name"]
            entry = apis.setdefault(key, {"name": api_name, "api_key": key})
            entry[kind] = message
        elif kind == "data":
            data[message["name"]] = message
        elif kind == "header":
            headers[message["name"]] = message
        else:
            raise ValueError(f"{message['name']}: unknown message type {kind!r}")
    for key, entry in apis.items():
        if "request" not in entry or "response" not in entry:
            raise ValueError(f"api key {key}: needs both a request and a response definition")
        request = entry["request"]
        entry["valid_versions"] = request["valid_versions"]
        entry["flexible_versions"] = request["flexible_versions"]
        if "deprecated_versions" in request:
            entry["deprecated_versions"] = request["deprecated_versions"]
        # Keep a stable key order: summary first, then the two schemas.
        entry_order = ["name", "api_key", "valid_versions", "deprecated_versions", "flexible_versions"]
        apis[key] = {k: entry[k] for k in [*entry_order, "request", "response"] if k in entry}
    return dict(sorted(apis.items())), dict(sorted(data.items())), dict(sorted(headers.items()))


def render(value: Any, indent: int = 0, width: int = 116) -> str:
    """Python literal for ``value``, one line when it fits, else one item per line."""
    flat = repr(value) if not isinstance(value, (dict, tuple, list)) else _render_flat(value)
    if len(flat) + indent <= width or not isinstance(value, (dict, tuple, list)):
        return flat
    pad = " " * (indent + 4)
    if isinstance(value, dict):
        items = [f"{pad}{k!r}: {render(v, indent + 4, width)}," for k, v in value.items()]
        return "{\n" + "\n".join(items) + "\n" + " " * indent + "}"
    items = [f"{pad}{render(v, indent + 4, width)}," for v in value]
    open_, close = ("(", ")") if isinstance(value, tuple) else ("[", "]")
    return open_ + "\n" + "\n".join(items) + "\n" + " " * indent + close


def _render_flat(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_render_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, tuple):
        inner = ", ".join(_render_flat(v) for v in value)
        return "(" + inner + ("," if len(value) == 1 else "") + ")"
    if isinstance(value, list):
        return "[" + ", ".join(_render_flat(v) for v in value) + "]"
    return repr(value)


def generate(spec_dir: Path) -> str:
    apis, data, headers = build_tables(load_specs(spec_dir))
    lines = [
        "# GENERATED by scripts/gen_protocol.py from Apache Kafka's message definitions. Do not edit by hand.",
        '"""Kafka protocol message schemas as plain data (generated; see docs/protocol-codec.md).',
        "",
        "APIS maps an API key to its name, version ranges and request/response schemas; DATA holds the schemas of",
        "payloads carried inside other messages (consumer protocol); HEADERS the request and response headers.",
        'Version ranges are (low, high) tuples, high = 32767 for "and later"; None means no versions.',
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Any, Final",
        "",
        f"APIS: Final[dict[int, dict[str, Any]]] = {render(apis)}",
        "",
        f"DATA: Final[dict[str, dict[str, Any]]] = {render(data)}",
        "",
        f"HEADERS: Final[dict[str, dict[str, Any]]] = {render(headers)}",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if OUTPUT_FILE is not up to date")
    parser.add_argument("spec_dir", type=Path, nargs="?", default=SPEC_DIR, help="directory of *.json definitions")
    parser.add_argument("output", type=Path, nargs="?", default=MESSAGES, help="module to write")
    args = parser.parse_args(argv)
    if not args.spec_dir.is_dir():
        parser.error(f"not a directory: {args.spec_dir}")
    source = generate(args.spec_dir)
    if args.check:
        if args.output.is_file() and args.output.read_text(encoding="utf-8") == source:
            return 0
        print(f"{args.output} is not what {args.spec_dir} gives: run scripts/gen_protocol.py", file=sys.stderr)
        return 1
    args.output.write_text(source, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
