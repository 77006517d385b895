"""The conformance suite for the three Streaming API sources, against the Salesforce test server: each test gets a
fresh object (or platform event) so the retained events it replays are its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.cdc_source import SalesforceCdcSourceConnector
from connectors.salesforce.event_sources import (
    SalesforcePlatformEventSourceConnector,
    SalesforcePushTopicSourceConnector,
)
from hub.sdk.testing import SourceConnectorConformance
from tests.connectors.salesforce.streaming_support import connection_options, create_pushtopic, fresh_object
from tests.harness.salesforce import client
from tests.harness.salesforce.harness import SalesforceServer

pytestmark = pytest.mark.integration


class _StreamingConformance(SourceConnectorConformance):
    @pytest.fixture(autouse=True)
    def _server(self, salesforce_server: SalesforceServer) -> None:
        if not salesforce_server.control:
            pytest.skip("creates objects through the local test server's control API")
        self.server = salesforce_server
        self.sf = client.password_login(salesforce_server)

    def base(self) -> dict[str, str]:
        return {**connection_options(self.server), "kafka.topic": "salesforce", "salesforce.initial.start": "all"}

    def create(self, sobject: str, count: int) -> None:
        for n in range(count):
            getattr(self.sf, sobject).create({"Name": f"r{n}", "Note__c": f"n{n}"})


class TestCdcSource(_StreamingConformance):
    connector_class = SalesforceCdcSourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        sobject = fresh_object(self.server)
        return {**self.base(), "salesforce.cdc.name": sobject[: -len("c")] + "ChangeEvent"}

    def add_input(self, config: dict[str, str], count: int) -> None:
        self.create(config["salesforce.cdc.name"][: -len("ChangeEvent")] + "c", count)

    def record_id(self, record: Any) -> Any:
        return record.value["Id"]


class TestPushTopicSource(_StreamingConformance):
    connector_class = SalesforcePushTopicSourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        sobject = fresh_object(self.server)
        name = "PT" + sobject[1:9]
        create_pushtopic(self.sf, self.server, name, sobject)
        return {**self.base(), "salesforce.object": sobject, "salesforce.push.topic.name": name}

    def add_input(self, config: dict[str, str], count: int) -> None:
        self.create(config["salesforce.object"], count)

    def record_id(self, record: Any) -> Any:
        return record.value["Id"]


class TestPlatformEventSource(_StreamingConformance):
    connector_class = SalesforcePlatformEventSourceConnector

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {**self.base(), "salesforce.platform.event.name": fresh_object(self.server, "__e")}

    def add_input(self, config: dict[str, str], count: int) -> None:
        event = getattr(self.sf, config["salesforce.platform.event.name"])
        for n in range(count):
            event.create({"Note__c": f"n{n}"})

    def record_id(self, record: Any) -> Any:
        return record.value["EventUuid"]
