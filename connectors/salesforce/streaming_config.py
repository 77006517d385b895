"""Options and typed settings of the three Streaming API sources (CDC, PushTopic, platform events).

Confluent's names and defaults: ``salesforce.cdc.name`` (``AccountChangeEvent``, ``Employee__ChangeEvent``,
``ChangeEvents`` or a custom channel ``X__chn``), ``salesforce.push.topic.name`` with ``salesforce.object``,
``salesforce.push.topic.create`` and ``salesforce.push.topic.notify.{create,update,delete,undelete}``,
``salesforce.platform.event.name`` (``Name__e``), ``salesforce.initial.start`` (``latest``: new events only, or
``all``: every retained event) and ``kafka.topic`` (``${_ObjectType}`` in it is replaced by the record's sObject).
Hub's own: ``hub.salesforce.replay.invalid`` — what to do when the stored replay id is older than the retention
window: ``fail`` (default: the task fails with Salesforce's message), ``all`` or ``latest``.

Immutable; safe to share between threads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from connectors.salesforce.config import OBJECTS, SOURCE, connection_config
from connectors.salesforce.settings import ConnectionSettings, Problems
from hub.sdk import ConfigDef, ConfigType, Importance
from hub.sdk.errors import ConfigError

STREAMING = "Streaming"
_CSFLE_REASON = "client-side field level encryption is not implemented; Hub writes the fields as Salesforce sends them"


def _csfle_problem(value: Any) -> str | None:
    return f"not supported: {_CSFLE_REASON}" if value else None


def _streaming_config() -> ConfigDef:
    return (
        connection_config()
        .define(
            "kafka.topic",
            ConfigType.STRING,
            doc="The topic to write to; ${_ObjectType} in it is replaced by the record's sObject name.",
            importance=Importance.HIGH,
            non_empty=True,
            group=SOURCE,
        )
        .define(
            "salesforce.initial.start",
            ConfigType.STRING,
            "latest",
            "Where a connector with no stored replay id starts: latest (events published from now on) or all "
            "(every event Salesforce still retains).",
            choices=("latest", "all"),
            case_insensitive_choices=True,
            group=STREAMING,
        )
        .define(
            "hub.salesforce.replay.invalid",
            ConfigType.STRING,
            "fail",
            "When the stored replay id is older than Salesforce's retention window: fail (the task fails with "
            "Salesforce's message; events were lost), all (resubscribe with every retained event) or latest.",
            choices=("fail", "all", "latest"),
            case_insensitive_choices=True,
            group=STREAMING,
        )
        .define(
            "hub.salesforce.batch.max.events",
            ConfigType.INT,
            1_000,
            "Most events turned into records per poll.",
            minimum=1,
            group=STREAMING,
        )
        .define(
            "csfle.enabled",
            ConfigType.BOOLEAN,
            False,
            "Confluent's client-side field level encryption; only false is accepted.",
            validator=_csfle_problem,
            group=STREAMING,
        )
        .unsupported("csfle.onFailure", _CSFLE_REASON)
    )


CDC_SOURCE_CONFIG = (
    _streaming_config()
    .define(
        "salesforce.cdc.name",
        ConfigType.STRING,
        doc="The change event channel: AccountChangeEvent, Employee__ChangeEvent (custom objects), ChangeEvents "
        "(every selected object) or a custom channel such as Sales__chn.",
        importance=Importance.HIGH,
        non_empty=True,
        group=STREAMING,
    )
    .define(
        "hub.salesforce.cdc.record",
        ConfigType.STRING,
        "event",
        "event: each change as Salesforce sends it (changed fields, ChangeEventHeader, _EventType); row: each changed "
        "record as it is now, read through the REST API (one call per event), and a tombstone for a deleted one — "
        "for a table kept equal to the object by an upserting sink.",
        choices=("event", "row"),
        case_insensitive_choices=True,
        group=STREAMING,
    )
)

PUSHTOPIC_SOURCE_CONFIG = (
    _streaming_config()
    .define(
        "salesforce.object",
        ConfigType.STRING,
        doc="The sObject the PushTopic follows.",
        importance=Importance.HIGH,
        non_empty=True,
        group=OBJECTS,
    )
    .define(
        "salesforce.push.topic.name",
        ConfigType.STRING,
        doc="The PushTopic's name; created (selecting every field of salesforce.object) when it does not exist.",
        importance=Importance.HIGH,
        non_empty=True,
        group=STREAMING,
    )
    .define(
        "salesforce.push.topic.create",
        ConfigType.BOOLEAN,
        True,
        "Create the PushTopic when it does not exist; false: a missing PushTopic fails the connector.",
        group=STREAMING,
    )
    .define("salesforce.push.topic.notify.create", ConfigType.BOOLEAN, True, "Created records.", group=STREAMING)
    .define("salesforce.push.topic.notify.update", ConfigType.BOOLEAN, True, "Updated records.", group=STREAMING)
    .define("salesforce.push.topic.notify.delete", ConfigType.BOOLEAN, True, "Deleted records.", group=STREAMING)
    .define("salesforce.push.topic.notify.undelete", ConfigType.BOOLEAN, True, "Undeleted records.", group=STREAMING)
)

PLATFORM_EVENT_SOURCE_CONFIG = _streaming_config().define(
    "salesforce.platform.event.name",
    ConfigType.STRING,
    doc="The platform event, e.g. UserLogout__e.",
    importance=Importance.HIGH,
    non_empty=True,
    group=STREAMING,
)


@dataclass(frozen=True)
class StreamingSettings:
    """What every streaming source needs, typed; ``values`` keeps the parsed options for the connector's own."""

    connection: ConnectionSettings
    topic: str
    initial_replay_id: int  # -1 (latest) or -2 (all)
    on_invalid_replay: str
    batch_max_events: int
    values: Mapping[str, Any]

    @classmethod
    def parse(cls, config: Mapping[str, Any], definition: ConfigDef) -> StreamingSettings:
        values = definition.parse(config)
        problems: Problems = {}
        connection = ConnectionSettings.from_values(values, problems)
        event = values.get("salesforce.platform.event.name")
        if event is not None and not str(event).endswith("__e"):
            problems.setdefault("salesforce.platform.event.name", []).append(f"{event!r} does not end with __e")
        cdc = values.get("salesforce.cdc.name")
        if cdc is not None and not (str(cdc).endswith(("ChangeEvent", "ChangeEvents", "__chn"))):
            problems.setdefault("salesforce.cdc.name", []).append(
                f"{cdc!r} is not a change event channel (…ChangeEvent, ChangeEvents or …__chn)"
            )
        if problems:
            raise ConfigError(problems)
        return cls(
            connection=connection,
            topic=values["kafka.topic"],
            initial_replay_id=-2 if str(values["salesforce.initial.start"]).lower() == "all" else -1,
            on_invalid_replay=str(values["hub.salesforce.replay.invalid"]).lower(),
            batch_max_events=values["hub.salesforce.batch.max.events"],
            values=values,
        )

    def topic_for(self, sobject: str) -> str:
        return self.topic.replace("${_ObjectType}", sobject)
