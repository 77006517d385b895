"""Compatibility levels: which earlier versions a new schema is checked against, and in which direction.

- ``BACKWARD``: the new schema reads data written with the latest version; ``FORWARD``: the latest version reads
  data written with the new schema; ``FULL``: both. The ``_TRANSITIVE`` levels check against every live version
  of the subject, not only the latest; ``NONE`` checks nothing.

What "reads" means is the format's own rule (``ParsedSchema.read_errors``). ``previous`` is oldest first, soft
deleted versions left out, as Confluent's registry checks.
"""

from __future__ import annotations

from collections.abc import Sequence

from hub.registry.formats import ParsedSchema

LEVELS = (
    "NONE",
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
)
DEFAULT_LEVEL = "BACKWARD"


def check(level: str, new: ParsedSchema, previous: Sequence[ParsedSchema]) -> list[str]:
    """Why ``new`` breaks ``level`` against ``previous`` (oldest first); empty when compatible."""
    if level == "NONE" or not previous:
        return []
    against = previous if level.endswith("_TRANSITIVE") else previous[-1:]
    base = level.removesuffix("_TRANSITIVE")
    errors: list[str] = []
    for old in reversed(against):  # newest first: the likeliest to explain a refusal
        if new.schema_type != old.schema_type:
            errors.append(f"Incompatible schema type: {new.schema_type} after {old.schema_type}")
            continue
        if base in ("BACKWARD", "FULL"):
            errors.extend(new.read_errors(old))
        if base in ("FORWARD", "FULL"):
            errors.extend(old.read_errors(new))
    return errors
