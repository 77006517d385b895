"""Connector versions from the installed distributions: what the plugin listing shows for every plugin."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

from hub.runtime.plugins import Plugins
from hub.sdk import connector


def test_listing_the_plugins_reads_the_installed_distributions_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Reading them costs a third of a second or more; once per plugin, GET /connector-plugins took many seconds.
    reads: list[None] = []
    real = importlib.metadata.packages_distributions

    def counted() -> Any:
        reads.append(None)
        return real()

    monkeypatch.setattr(importlib.metadata, "packages_distributions", counted)
    connector._distributions_by_package.cache_clear()
    plugins = Plugins.discover()
    listed = plugins.infos() + plugins.infos()
    assert len(reads) == 1
    assert {info.class_name: info.version for info in listed}["connectors.file.datagen.DatagenConnector"] != "unknown"
