"""Registers the quickstart connectors with Hub (entry point ``file`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

from connectors.file.datagen import DatagenConnector
from connectors.file.sink import FileStreamSinkConnector
from connectors.file.source import FileStreamSourceConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [FileStreamSourceConnector, FileStreamSinkConnector, DatagenConnector]
