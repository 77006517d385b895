"""Sample messages built from the generated schema data: non-default values for every field present in a version.

``sample(fields, version, flexible)`` returns the message to encode; ``expected(...)`` the dict the decoder must
return for it (the sample plus every absent field at its default, computed here independently of the codec).
"""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

_INT_BITS = {"int8": 8, "int16": 16, "int32": 32, "int64": 64}
_UINT_BITS = {"uint16": 16, "uint32": 32}


def _in(version: int, versions: tuple[int, int] | None) -> bool:
    return versions is not None and versions[0] <= version <= versions[1]


def _seed(path: str) -> int:
    return zlib.crc32(path.encode())


def _scalar(type_name: str, default: Any, path: str) -> Any:
    seed = _seed(path)
    if type_name in _INT_BITS:
        bits = _INT_BITS[type_name]
        value = seed % (1 << (bits - 1)) - (1 << (bits - 2))
        return value if value != default else value + 1
    if type_name in _UINT_BITS:
        value = seed % (1 << _UINT_BITS[type_name])
        return value if value != default else value + 1
    if type_name == "float64":
        return seed / 7.0
    if type_name == "bool":
        return not default
    if type_name == "uuid":
        return uuid.UUID(int=seed * 7919 + 1)
    if type_name == "string":
        return f"{path.rsplit('.', 1)[-1]}-é{seed % 1000}"
    if type_name == "bytes":
        return bytes([seed % 256, 0, 255]) * 3
    if type_name == "records":
        # Large enough to be passed through as its own part by encode_to_parts.
        return bytes(range(256)) * 5
    raise AssertionError(f"no sample rule for {type_name}")


def _value(spec: Mapping[str, Any], version: int, path: str, item: int) -> Any:
    type_name = spec["type"]
    nullable = _in(version, spec.get("nullable_versions"))
    # Every third nullable field is null, so null paths are exercised too.
    if nullable and _seed(path) % 3 == 0:
        return None
    if type_name == "struct":
        return sample(spec["fields"], version, path)
    if type_name == "[]struct":
        return [sample(spec["fields"], version, f"{path}[{i}]") for i in range(2)]
    if type_name.startswith("[]"):
        return [_scalar(type_name[2:], None, f"{path}[{i}]") for i in range(3)]
    return _scalar(type_name, spec["default"], path)


def sample(fields: Sequence[Mapping[str, Any]], version: int, path: str = "") -> dict[str, Any]:
    """Non-default values for the fields present in ``version``."""
    return {
        spec["name"]: _value(spec, version, f"{path}.{spec['name']}", 0)
        for spec in fields
        if _in(version, spec["versions"])
    }


def default_value(spec: Mapping[str, Any]) -> Any:
    type_name = spec["type"]
    if type_name == "struct":
        return {f["name"]: default_value(f) for f in spec["fields"]}
    if type_name.startswith("[]"):
        return None if spec["default"] is None else []
    if type_name == "uuid":
        return uuid.UUID(int=0)
    return spec["default"]


def expected(fields: Sequence[Mapping[str, Any]], version: int, message: Mapping[str, Any]) -> dict[str, Any]:
    """What decoding the encoding of ``message`` must give: present fields as given, absent ones at default."""
    out: dict[str, Any] = {}
    for spec in fields:
        name = spec["name"]
        if not _in(version, spec["versions"]) or name not in message:
            out[name] = default_value(spec)
            continue
        value = message[name]
        if spec["type"] == "struct" and value is not None:
            value = expected(spec["fields"], version, value)
        elif spec["type"] == "[]struct" and value is not None:
            value = [expected(spec["fields"], version, v) for v in value]
        out[name] = value
    return out
