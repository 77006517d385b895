"""Registers the connector with Hub: the entry point ``csv`` of the group ``hub`` names this module."""

from __future__ import annotations

from typing import Any

from hub.sdk import hookimpl
from hub_csv_source.connector import CsvSourceConnector


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [CsvSourceConnector]
