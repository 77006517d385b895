"""Helpers for Connect-style string option maps."""

from __future__ import annotations

from collections.abc import Mapping


def prefixed(config: Mapping[str, str], prefix: str) -> dict[str, str]:
    """The keys under ``prefix``, with the prefix removed (``key.converter.schemas.enable`` → ``schemas.enable``)."""
    return {key[len(prefix) :]: value for key, value in config.items() if key.startswith(prefix)}
