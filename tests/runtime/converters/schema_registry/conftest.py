"""Each test gets its own in-memory registry (``mock://<test name>``), shared by the converters it configures and
the confluent-kafka serializers it builds (confluent-kafka's mock client; a real registry is in the end-to-end
tests)."""

from __future__ import annotations

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
