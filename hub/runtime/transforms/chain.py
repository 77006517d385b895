"""TransformationChain: a connector's ``transforms`` and ``predicates`` options turned into configured plugins,
applied in order to each record, with Kafka Connect's semantics.

Options (Connect's syntax)::

    transforms=route,mask
    transforms.route.type=RegexRouter                      # a Hub name or Connect's class name
    transforms.route.regex=…                               # the transform's own options
    transforms.route.predicate=isOrders                    # optional
    transforms.route.negate=true                           # optional, default false
    predicates=isOrders
    predicates.isOrders.type=TopicNameMatches
    predicates.isOrders.pattern=orders-.*

A transform applies when it has no predicate, or when ``negate`` XOR ``predicate.test(record)``. A transform
returning None drops the record and ends the chain. Problems in the options raise one ConfigError listing every
one, keyed by the option. An instance is used by one task thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hub.runtime.options import prefixed
from hub.sdk.errors import ConfigError, DataError
from hub.sdk.transform import Predicate, R, Transformation


@dataclass(frozen=True)
class _Stage:
    alias: str
    transform: Transformation
    predicate: Predicate | None
    negate: bool


def _aliases(value: str | None) -> list[str]:
    return [alias.strip() for alias in (value or "").split(",") if alias.strip()]


class TransformationChain:
    """The configured transforms of one connector (see the module docstring)."""

    def __init__(self, stages: list[_Stage]) -> None:
        self.stages = stages

    @classmethod
    def from_config(
        cls,
        config: Mapping[str, str],
        transforms: Mapping[str, type[Transformation]],
        predicates: Mapping[str, type[Predicate]],
    ) -> TransformationChain:
        """Build from connector options, looking types up in the given name → class tables."""
        problems: dict[str, list[str]] = {}
        configured_predicates: dict[str, Predicate] = {}
        for alias in _aliases(config.get("predicates")):
            plugin = cls._make(f"predicates.{alias}", config, predicates, problems)
            if plugin is not None:
                configured_predicates[alias] = plugin
        stages: list[_Stage] = []
        for alias in _aliases(config.get("transforms")):
            prefix = f"transforms.{alias}"
            transform = cls._make(prefix, config, transforms, problems, reserved=("predicate", "negate"))
            predicate_alias = config.get(f"{prefix}.predicate")
            predicate = configured_predicates.get(predicate_alias or "")
            if predicate_alias and predicate is None and f"predicates.{predicate_alias}.type" not in problems:
                problems.setdefault(f"{prefix}.predicate", []).append(
                    f"predicate {predicate_alias!r} is not listed in 'predicates'"
                )
            negate = str(config.get(f"{prefix}.negate", "false")).strip().lower()
            if negate not in ("true", "false"):
                problems.setdefault(f"{prefix}.negate", []).append(f"expected true or false, got {negate!r}")
            if transform is not None:
                stages.append(_Stage(alias, transform, predicate, negate == "true"))
        if problems:
            raise ConfigError(problems)
        return cls(stages)

    @staticmethod
    def _make(
        prefix: str,
        config: Mapping[str, str],
        table: Mapping[str, type[Any]],
        problems: dict[str, list[str]],
        reserved: tuple[str, ...] = (),
    ) -> Any:
        type_name = config.get(f"{prefix}.type")
        if not type_name:
            problems.setdefault(f"{prefix}.type", []).append(f"Missing required configuration '{prefix}.type'")
            return None
        kind = table.get(type_name.strip())
        if kind is None:
            problems.setdefault(f"{prefix}.type", []).append(f"unknown type {type_name!r}")
            return None
        plugin = kind()
        options = {k: v for k, v in prefixed(config, prefix + ".").items() if k != "type" and k not in reserved}
        try:
            plugin.configure(options)
        except ConfigError as exc:
            for key, messages in exc.errors.items():
                problems.setdefault(f"{prefix}.{key}" if key else prefix, []).extend(messages)
            return None
        return plugin

    def apply(self, record: R) -> R | None:
        """The record after every stage that applies, or None when a stage dropped it."""
        current: R | None = record
        for stage in self.stages:
            assert current is not None
            if stage.predicate is not None and stage.predicate.test(current) == stage.negate:
                continue
            try:
                current = stage.transform.apply(current)
            except DataError:
                raise
            except Exception as exc:
                raise DataError(f"transform {stage.alias!r} failed: {exc}") from exc
            if current is None:
                return None
        return current

    def close(self) -> None:
        for stage in self.stages:
            stage.transform.close()
            if stage.predicate is not None:
                stage.predicate.close()
