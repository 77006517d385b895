"""The hub.sdk.testing conformance suites, run against the S3 server of the harness."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest

from connectors.s3.sink import S3SinkConnector
from connectors.s3.source import S3SourceConnector
from hub.sdk.testing import SinkConnectorConformance, SourceConnectorConformance
from tests.connectors.s3.conftest import new_bucket, objects, s3_client, store_config
from tests.harness.servers import S3Server

pytestmark = pytest.mark.integration


class TestS3SinkConformance(SinkConnectorConformance):
    connector_class = S3SinkConnector

    @pytest.fixture(autouse=True)
    def _server(self, s3_server: S3Server) -> None:
        self.server = s3_server

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {**store_config(self.server, new_bucket(self.server)), "format.class": "JsonFormat", "flush.size": "5"}

    def read_output(self, config: dict[str, str]) -> Collection[Any]:
        found = objects(self.server, config["s3.bucket.name"])
        return [json.loads(line) for data in found.values() for line in data.splitlines()]


class TestS3SourceConformance(SourceConnectorConformance):
    connector_class = S3SourceConnector

    @pytest.fixture(autouse=True)
    def _server(self, s3_server: S3Server) -> None:
        self.server = s3_server
        self.written = 0

    def config(self, tmp_path: Path) -> dict[str, str]:
        return {
            **store_config(self.server, new_bucket(self.server)),
            "format.class": "JsonFormat",
            "s3.poll.interval.ms": "100",
        }

    def add_input(self, config: dict[str, str], count: int) -> None:
        """One object as the sink names them, holding the next ``count`` records."""
        lines = "".join(json.dumps(f"record-{self.written + n}") + "\n" for n in range(count))
        key = f"topics/restored/partition=0/restored+0+{self.written:010d}.json"
        s3_client(self.server).put_object(Bucket=config["s3.bucket.name"], Key=key, Body=lines.encode())
        self.written += count
