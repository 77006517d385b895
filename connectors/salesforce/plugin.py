"""Registers the Salesforce connectors with Hub (entry point ``salesforce`` in the group ``hub``)."""

from __future__ import annotations

from typing import Any

try:
    import simple_salesforce  # noqa: F401 (checked here so a missing extra says how to install it)
except ImportError as exc:  # pragma: no cover - depends on the installation
    raise ImportError(f"the Salesforce connectors need {exc.name}: pip install 'hub[salesforce]'") from exc

from connectors.salesforce.bulk_source import SalesforceBulkApiSourceConnector
from connectors.salesforce.cdc_source import SalesforceCdcSourceConnector
from connectors.salesforce.event_sources import (
    SalesforcePlatformEventSourceConnector,
    SalesforcePushTopicSourceConnector,
)
from connectors.salesforce.sobject_sink import SalesforceSObjectSinkConnector
from hub.sdk import hookimpl


@hookimpl
def hub_register_connectors() -> list[type[Any]]:
    return [
        SalesforceBulkApiSourceConnector,
        SalesforceSObjectSinkConnector,
        SalesforceCdcSourceConnector,
        SalesforcePushTopicSourceConnector,
        SalesforcePlatformEventSourceConnector,
    ]
