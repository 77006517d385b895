"""PROTOBUF schemas: ``.proto`` text compiled by protobuf's own compiler (protoc, from grpcio-tools), or a
base64-encoded ``FileDescriptorProto`` (what confluent-kafka's Python serializer registers).

Either way the schema becomes a ``FileDescriptorProto`` with its imports: referenced schemas are given to protoc
under the import path the referencing schema uses (as ``.proto`` files, or as a descriptor set when they are
descriptors); google/protobuf's well-known types come with protoc. protoc runs in a short child process (about
40 ms), so its diagnostics come back on that process's stderr and go into the error message, and nothing of it
touches this process's file descriptors. The kept text is the one given (stripped); ``serialized()`` is the
descriptor in base64, which Confluent's clients ask for with ``format=serialized``. Compatibility:
``hub.registry.formats.protobuf_diff``.
"""

from __future__ import annotations

import base64
import binascii
import importlib
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.message import DecodeError

from hub.registry.formats import ParsedSchema, SchemaParseError

MAIN_FILE = "schema.proto"
PROTOC_TIMEOUT_S = 30.0


class ProtobufSchema:
    """A compiled Protobuf schema: its file descriptor and those of its imports. Immutable."""

    schema_type = "PROTOBUF"

    def __init__(
        self,
        text: str,
        file: descriptor_pb2.FileDescriptorProto,
        imports: dict[str, descriptor_pb2.FileDescriptorProto],
    ):
        self._text = text
        self.file = file
        self.imports = imports  # import path -> descriptor, transitively

    @classmethod
    def parse(cls, text: str, dependencies: Sequence[tuple[str, str]] = ()) -> ProtobufSchema:
        stripped = text.strip()
        given = _descriptor(stripped)
        if given is not None and not dependencies and not _imports_beyond_builtins(given):
            return cls(stripped, given, {})
        files = _compile(stripped, given, dependencies)
        main = files.pop(MAIN_FILE)
        return cls(stripped, main, files)

    def canonical(self) -> str:
        return self._text

    def normalized(self) -> str:
        copy = descriptor_pb2.FileDescriptorProto()
        copy.CopyFrom(self.file)
        copy.ClearField("name")
        copy.ClearField("source_code_info")
        return base64.b64encode(copy.SerializeToString(deterministic=True)).decode()

    def serialized(self) -> str:
        """The file descriptor, base64-encoded (Confluent's ``format=serialized``)."""
        return base64.b64encode(self.file.SerializeToString(deterministic=True)).decode()

    def read_errors(self, writer: ParsedSchema) -> list[str]:
        from hub.registry.formats.protobuf_diff import incompatibilities

        if not isinstance(writer, ProtobufSchema):
            return [f"Incompatible schema type: {writer.schema_type} cannot be read as PROTOBUF"]
        return incompatibilities(writer, self)


def _descriptor(text: str) -> descriptor_pb2.FileDescriptorProto | None:
    """The FileDescriptorProto that ``text`` encodes in base64, or None when it is not one (then: .proto text)."""
    if not text or any(c.isspace() or c in "{};" for c in text):
        return None
    try:
        raw = base64.b64decode(text, validate=True)
        file = descriptor_pb2.FileDescriptorProto.FromString(raw)
    except (binascii.Error, ValueError, DecodeError):
        return None
    return file if file.message_type or file.enum_type or file.package or file.syntax else None


def _imports_beyond_builtins(file: descriptor_pb2.FileDescriptorProto) -> bool:
    return any(not dep.startswith(BUILTIN_PREFIXES) for dep in file.dependency)


#: Imports Confluent's clients take for granted (they never register them as references).
BUILTIN_PREFIXES = ("google/protobuf/", "google/type/", "confluent/")
#: Python modules that hold the descriptors of built-in imports beyond protoc's own google/protobuf ones:
#: googleapis-common-protos (google/type) and confluent-kafka's schema registry package (confluent/...).
_BUILTIN_MODULES: dict[str, Callable[[str], str]] = {
    "google/type/": lambda name: "google.type." + Path(name).stem + "_pb2",
    "confluent/meta.proto": lambda name: "confluent_kafka.schema_registry.confluent.meta_pb2",
    "confluent/types/decimal.proto": lambda name: "confluent_kafka.schema_registry.confluent.types.decimal_pb2",
}
#: Finds the import paths of .proto text, only to supply built-ins protoc lacks (protoc parses the text itself).
_IMPORT = re.compile(r'\bimport\s+(?:public\s+|weak\s+)?"([^"]+)"')


def _builtin(name: str) -> descriptor_pb2.FileDescriptorProto | None:
    """The descriptor of a built-in import (see ``_BUILTIN_MODULES``) when its Python module is installed."""
    module = next((make(name) for prefix, make in _BUILTIN_MODULES.items() if name.startswith(prefix)), None)
    if module is None:
        return None
    try:
        importlib.import_module(module)
        found = descriptor_pool.Default().FindFileByName(name)
    except (ImportError, KeyError):
        return None
    file = descriptor_pb2.FileDescriptorProto()
    found.CopyToProto(file)
    return file


def _compile(
    text: str, given: descriptor_pb2.FileDescriptorProto | None, dependencies: Sequence[tuple[str, str]]
) -> dict[str, descriptor_pb2.FileDescriptorProto]:
    """Every file protoc makes of the schema and its dependencies, by import path (the schema: MAIN_FILE)."""
    import grpc_tools

    well_known = Path(grpc_tools.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory(prefix="hub-protoc-") as work:
        root = Path(work)
        sources = root / "src"
        descriptors = descriptor_pb2.FileDescriptorSet()
        for name, dependency in dependencies:
            _place(sources, descriptors, name, dependency)
        # the imports it names that no reference gives: built-ins beyond protoc's own, where installed
        imports = set(given.dependency) if given is not None else set(_IMPORT.findall(text))
        for name in sorted(imports - {name for name, _ in dependencies}):
            if not name.startswith("google/protobuf/") and (builtin := _builtin(name)) is not None:
                descriptors.file.append(builtin)
        target = MAIN_FILE
        if given is not None:
            given.name = MAIN_FILE
            descriptors.file.append(given)
        else:
            _write(sources, MAIN_FILE, text)
        argv = [f"-I{sources}", f"-I{well_known}", f"--descriptor_set_out={root / 'out.pb'}", "--include_imports"]
        if descriptors.file:
            (root / "in.pb").write_bytes(descriptors.SerializeToString())
            argv.append(f"--descriptor_set_in={root / 'in.pb'}")
        sources.mkdir(exist_ok=True)
        _run_protoc([*argv, target], cwd=root)
        produced = descriptor_pb2.FileDescriptorSet.FromString((root / "out.pb").read_bytes())
    return {file.name: file for file in produced.file}


def _place(sources: Path, descriptors: descriptor_pb2.FileDescriptorSet, name: str, text: str) -> None:
    if ".." in Path(name).parts or Path(name).is_absolute():
        raise SchemaParseError(f"reference name {name!r} is not a relative import path")
    file = _descriptor(text.strip())
    if file is None:
        _write(sources, name, text)
    else:
        file.name = name
        descriptors.file.append(file)


def _write(sources: Path, name: str, text: str) -> None:
    path = sources / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _run_protoc(arguments: list[str], *, cwd: Path) -> None:
    import grpc_tools

    site = str(Path(grpc_tools.__file__).parent.parent)
    # -I -S: a bare interpreter that imports only the compiler extension, for a start in tens of milliseconds.
    program = (
        "import sys; sys.path.insert(0, sys.argv[1]); from grpc_tools import _protoc_compiler as c; "
        "sys.exit(c.run_main([b'protoc', *(a.encode() for a in sys.argv[2:])]))"
    )
    try:
        done = subprocess.run(
            [sys.executable, "-I", "-S", "-c", program, site, *arguments],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=PROTOC_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as exc:
        raise SchemaParseError(f"protoc did not finish within {PROTOC_TIMEOUT_S:g} s") from exc
    if done.returncode != 0:
        message = " ".join(line.strip() for line in done.stderr.splitlines() if line.strip())
        raise SchemaParseError(message.replace(str(cwd / "src") + "/", "") or f"protoc failed ({done.returncode})")
