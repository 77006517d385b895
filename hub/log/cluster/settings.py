"""The cluster's settings (Kafka's names, as given with ``-o key=value``) turned into its parts.

Zero configuration (no ``controller.quorum.voters``) means a store of one node: ``cluster_configured`` is False
and none of these parts runs. ``controller.quorum.password`` (Hub's own setting) authenticates and encrypts the
quorum's traffic; without it the quorum port must be reachable by the cluster's nodes only (see
docs/replication.md, "Metadata quorum").

Pure functions; thread-safe.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from hub.log.cluster.controller import BrokerLifecycle, QuorumController
from hub.log.cluster.quorum import MetadataQuorum

DEFAULTS: Final[Mapping[str, str]] = {
    "broker.heartbeat.interval.ms": "500",
    "broker.session.timeout.ms": "2000",
    "unclean.leader.election.enable": "false",
    "auto.leader.rebalance.enable": "true",
    "leader.imbalance.check.interval.seconds": "300",
    "leader.imbalance.per.broker.percentage": "10",
    "default.replication.factor": "1",
}


def _get(settings: Mapping[str, str], name: str) -> str:
    return str(settings.get(name, DEFAULTS.get(name, "")))


def _flag(settings: Mapping[str, str], name: str) -> bool:
    return _get(settings, name).strip().lower() == "true"


def cluster_configured(settings: Mapping[str, str]) -> bool:
    return bool(str(settings.get("controller.quorum.voters", "")).strip())


def quorum_from_settings(data_dir: str | Path, settings: Mapping[str, str]) -> MetadataQuorum:
    """The node's (unstarted) quorum member from ``node.id``, ``controller.quorum.voters`` and friends."""
    if "node.id" not in settings:
        raise ValueError("node.id is required with controller.quorum.voters")
    return MetadataQuorum(
        int(settings["node.id"]),
        str(settings["controller.quorum.voters"]),
        data_dir,
        password=settings.get("controller.quorum.password") or None,
        unclean_leader_election=_flag(settings, "unclean.leader.election.enable"),
        default_replication_factor=int(_get(settings, "default.replication.factor")),
    )


def controller_from_settings(quorum: MetadataQuorum, settings: Mapping[str, str]) -> QuorumController:
    return QuorumController(
        quorum,
        session_timeout_ms=int(_get(settings, "broker.session.timeout.ms")),
        auto_leader_rebalance=_flag(settings, "auto.leader.rebalance.enable"),
        imbalance_check_interval_s=float(_get(settings, "leader.imbalance.check.interval.seconds")),
        imbalance_percentage=int(_get(settings, "leader.imbalance.per.broker.percentage")),
    )


def lifecycle_from_settings(
    quorum: MetadataQuorum, host: str, port: int, settings: Mapping[str, str]
) -> BrokerLifecycle:
    """The broker lifecycle; ``host``/``port`` are the advertised listener's (``advertised.listeners``)."""
    return BrokerLifecycle(
        quorum,
        host,
        port,
        rack=settings.get("broker.rack") or None,
        heartbeat_interval_ms=int(_get(settings, "broker.heartbeat.interval.ms")),
    )
