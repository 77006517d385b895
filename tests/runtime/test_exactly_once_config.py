"""Exactly-once source options: the worker's exactly.once.source.support and the preflight checks of a source
connector's exactly.once.support and transaction.boundary, with Connect's messages."""

from __future__ import annotations

import pytest

from hub.runtime.connector_config import parse_common, validate
from hub.runtime.exactly_once_config import Boundary, ExactlyOnceSettings, SourceSupport, task_transactional_id
from hub.runtime.plugins import Plugins
from hub.runtime.worker_config import WorkerConfig
from hub.sdk.errors import ConfigError
from tests.runtime.exactly_once_connectors import PLUGIN, RefusingSourceConnector

REQUIRED_NEEDS_WORKER = "This worker does not have exactly-once source support enabled."
UNSUPPORTED = "The connector does not support exactly-once semantics with the provided configuration."
NO_BOUNDARIES = (
    "The connector does not support connector-defined transaction boundaries with the given configuration. "
    "Please reconfigure it to use a different transaction boundary definition."
)


@pytest.fixture(scope="module")
def plugins() -> Plugins:
    return Plugins.discover(extra=[PLUGIN])


def _problems(plugins: Plugins, exactly_once: bool = True, **config: str) -> dict[str, list[str]]:
    return validate(plugins, {"name": "c", **config}, exactly_once=exactly_once).problems


def test_worker_support_defaults_to_disabled_and_takes_connects_three_values() -> None:
    assert WorkerConfig.parse({}).exactly_once_source is SourceSupport.DISABLED
    for value in ("disabled", "preparing", "enabled"):
        assert WorkerConfig.parse({"exactly.once.source.support": value}).exactly_once_source == value
    with pytest.raises(ConfigError) as raised:
        WorkerConfig.parse({"exactly.once.source.support": "on"})
    assert "exactly.once.source.support" in raised.value.errors


def test_worker_support_cannot_be_enabled_with_offsets_in_a_file() -> None:
    with pytest.raises(ConfigError, match=r"offset\.storage\.file\.filename"):
        WorkerConfig.parse({"exactly.once.source.support": "enabled", "offset.storage.file.filename": "/tmp/o"})
    WorkerConfig.parse({"exactly.once.source.support": "preparing", "offset.storage.file.filename": "/tmp/o"})


def test_required_is_accepted_for_a_supporting_connector_on_an_enabled_worker(plugins: Plugins) -> None:
    assert _problems(plugins, **{"connector.class": "Datagen", "topic": "t", "exactly.once.support": "required"}) == {}
    assert _problems(plugins, **{"connector.class": "Datagen", "topic": "t", "exactly.once.support": "REQUESTED"}) == {}


def test_required_on_a_worker_without_support_is_refused(plugins: Plugins) -> None:
    problems = _problems(
        plugins, False, **{"connector.class": "Datagen", "topic": "t", "exactly.once.support": "required"}
    )
    assert problems == {"exactly.once.support": [REQUIRED_NEEDS_WORKER]}


def test_required_with_a_connector_that_does_not_say_is_refused_with_connects_message(plugins: Plugins) -> None:
    problems = _problems(plugins, **{"connector.class": "SilentSourceConnector", "exactly.once.support": "required"})
    (message,) = problems["exactly.once.support"]
    assert message.startswith("The connector does not implement the API required for preflight validation")
    assert 'the value "requested" for this property' in message


def test_required_with_an_unsupporting_connector_is_refused(plugins: Plugins) -> None:
    config = {"connector.class": "RefusingSourceConnector", "exactly.once.support": "required"}
    assert _problems(plugins, **config) == {"exactly.once.support": [UNSUPPORTED]}
    assert _problems(plugins, **config, refuse="false") == {}
    assert _problems(plugins, False, **config) == {"exactly.once.support": [REQUIRED_NEEDS_WORKER, UNSUPPORTED]}


def test_requested_never_asks_the_connector(plugins: Plugins) -> None:
    assert _problems(plugins, **{"connector.class": "RaisingSourceConnector"}) == {}


def test_a_connector_raising_in_preflight_is_reported_on_the_option(plugins: Plugins) -> None:
    problems = _problems(
        plugins,
        **{
            "connector.class": "RaisingSourceConnector",
            "exactly.once.support": "required",
            "transaction.boundary": "connector",
        },
    )
    assert problems == {
        "exactly.once.support": ["An unexpected error occurred during validation: boom"],
        "transaction.boundary": [
            "An unexpected error occurred during validation; please see the worker logs for more details."
        ],
    }


def test_connector_boundaries_need_a_connector_that_defines_them(plugins: Plugins) -> None:
    config = {"connector.class": "RefusingSourceConnector", "transaction.boundary": "connector"}
    assert _problems(plugins, **config) == {"transaction.boundary": [NO_BOUNDARIES]}
    assert _problems(plugins, False, **config) == {"transaction.boundary": [NO_BOUNDARIES]}  # as Connect: any worker
    assert _problems(plugins, **config, refuse="false") == {}
    assert _problems(plugins, **{"connector.class": "Datagen", "topic": "t", "transaction.boundary": "connector"}) == {}


def test_bad_values_are_refused_by_the_options_themselves(plugins: Plugins) -> None:
    problems = _problems(
        plugins,
        **{
            "connector.class": "RefusingSourceConnector",
            "exactly.once.support": "always",
            "transaction.boundary": "never",
            "transaction.boundary.interval.ms": "-1",
        },
    )
    assert set(problems) == {"exactly.once.support", "transaction.boundary", "transaction.boundary.interval.ms"}
    assert all(UNSUPPORTED not in m and NO_BOUNDARIES not in m for ms in problems.values() for m in ms)


def test_sinks_do_not_take_the_source_options(plugins: Plugins) -> None:
    response = validate(
        plugins, {"name": "s", "connector.class": "FileStreamSink", "topics": "t", "exactly.once.support": "required"}
    )
    assert response.problems == {}
    assert any("exactly.once.support" in warning for warning in response.warnings)


def test_settings_are_typed_with_connects_defaults() -> None:
    typed = parse_common(RefusingSourceConnector, {"name": "c", "connector.class": "x"})
    assert ExactlyOnceSettings.of(typed) == ExactlyOnceSettings(False, Boundary.POLL, None)
    typed = parse_common(
        RefusingSourceConnector,
        {
            "exactly.once.support": "Required",
            "transaction.boundary": "INTERVAL",
            "transaction.boundary.interval.ms": "5",
        },
    )
    assert ExactlyOnceSettings.of(typed) == ExactlyOnceSettings(True, Boundary.INTERVAL, 5)


def test_task_transactional_ids_are_named_as_connect_names_them() -> None:
    assert task_transactional_id("connect-cluster", "orders", 3) == "connect-cluster-orders-3"


def test_a_per_connector_offsets_topic_is_refused_with_the_reason(plugins: Plugins) -> None:
    problems = _problems(plugins, **{"connector.class": "Datagen", "topic": "t", "offsets.storage.topic": "o"})
    assert "worker's offset.storage.topic" in problems["offsets.storage.topic"][0]
