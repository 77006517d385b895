"""Registers the S3 connectors with Hub (entry point ``s3`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

try:
    import boto3  # noqa: F401 (checked here so a missing extra says how to install it)
    import fastavro  # noqa: F401
    import pyarrow  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(f"the S3 connectors need {exc.name}: pip install 'hub[s3]'") from exc

from connectors.s3.sink import S3SinkConnector
from connectors.s3.source import S3SourceConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [S3SinkConnector, S3SourceConnector]
