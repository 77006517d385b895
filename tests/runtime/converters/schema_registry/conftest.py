"""Each test gets its own in-memory registry (``mock://<test name>``), shared by the converters it configures and
the confluent-kafka serializers it builds (confluent-kafka's mock client; a real registry is in the end-to-end
tests); ``shop`` is an application's Protobuf module, compiled by protoc for the session."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("confluent_kafka.schema_registry")
pytest.importorskip("fastavro")


@pytest.fixture
def registry_url(request: pytest.FixtureRequest) -> str:
    return f"mock://{request.node.nodeid}"


@pytest.fixture
def registry(registry_url: str) -> Any:
    from hub.runtime.converters.schema_registry.registry_access import registry_client

    return registry_client({"url": registry_url})


SHOP_PROTO = """
syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
message Order {
  int64 id = 1;
  string name = 2;
  double amount = 3;
  repeated string tags = 4;
  Inner inner = 5;
  google.protobuf.Timestamp at = 6;
  map<string, int64> counts = 7;
  Status status = 8;
  oneof choice { string text = 9; int32 number = 10; }
  sint64 delta = 11;
  message Inner { int32 a = 1; }
  enum Status { NEW = 0; DONE = 1; }
}
"""


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The application's generated module for SHOP_PROTO (protoc through grpcio-tools)."""
    protoc = pytest.importorskip("grpc_tools.protoc")

    directory: Path = tmp_path_factory.mktemp("proto")
    (directory / "hub_test_shop.proto").write_text(SHOP_PROTO)
    include = str(Path(protoc.__file__).parent / "_proto")
    assert (
        protoc.main(["protoc", f"-I{directory}", f"-I{include}", f"--python_out={directory}", "hub_test_shop.proto"])
        == 0
    )
    sys.path.insert(0, str(directory))
    try:
        yield importlib.import_module("hub_test_shop_pb2")
    finally:
        sys.path.remove(str(directory))
