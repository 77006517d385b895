"""Kafka Connect's built-in converters: JSON (with Connect's envelope), String and ByteArray."""

from __future__ import annotations

from hub.runtime.converters.bytes import ByteArrayConverter
from hub.runtime.converters.json import JsonConverter
from hub.runtime.converters.string import StringConverter

__all__ = ["ByteArrayConverter", "JsonConverter", "StringConverter"]
