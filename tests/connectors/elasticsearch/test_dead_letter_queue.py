"""Records the Elasticsearch sink cannot write, as Confluent's connector handles them: each goes to the dead letter
queue first (when there is one), then ``behavior.on.malformed.documents`` / ``drop.invalid.message`` decide whether
the task goes on; a version conflict is logged and reported, and the task goes on."""

from __future__ import annotations

import time
from concurrent.futures import Future

import pytest

from connectors.elasticsearch.sink import ElasticsearchSinkConnector
from hub.log.client.types import ConsumerRecord
from hub.sdk import ErrantRecordReporter, SinkRecord, SinkTask
from hub.sdk.errors import ConnectorError
from hub.sdk.testing import MemorySinkContext
from tests.connectors.conftest import Runtime, wait_for
from tests.connectors.elasticsearch.proxy import FaultProxy
from tests.connectors.elasticsearch.test_sink import SCHEMALESS, Search, sink_config, topic_name, wait_documents
from tests.harness.servers import HttpServer

pytestmark = pytest.mark.integration

STRING_KEYS = {"key.converter": "org.apache.kafka.connect.storage.StringConverter"}


@pytest.fixture(params=["elasticsearch", "opensearch"])
def search(request: pytest.FixtureRequest) -> Search:
    server: HttpServer = request.getfixturevalue(f"{request.param}_server")
    return Search(request.param, server)


def dead_letters(topic: str) -> dict[str, str]:
    return {
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": topic,
        "errors.deadletterqueue.topic.replication.factor": "1",
        "errors.deadletterqueue.context.headers.enable": "true",
    }


def strict_index(search: Search, index: str) -> None:
    """An index whose mapping refuses a ``qty`` that is not a number."""
    search.client.indices.create(index=index, body={"mappings": {"properties": {"qty": {"type": "integer"}}}})


def the_dead_letter(runtime: Runtime, dlq: str) -> ConsumerRecord:
    """The one record of ``dlq``, once the runtime has created the topic and written it."""

    def created() -> bool:
        with runtime.clients.admin() as admin:
            return dlq in admin.list_topics()

    wait_for(created, what=f"topic {dlq}")
    letters: list[ConsumerRecord] = []

    def arrived() -> bool:
        letters[:] = runtime.read_topic(dlq)
        return bool(letters)

    wait_for(arrived, what=f"a record in {dlq}")
    [letter] = letters
    return letter


def committed(runtime: Runtime, name: str) -> int | None:
    offsets = runtime.herder.offsets(name)
    return offsets[0]["offset"]["kafka_offset"] if offsets else None


def task_state(runtime: Runtime, name: str) -> str:
    return str(runtime.herder.connector_status(name)["tasks"][0]["state"])


@pytest.mark.parametrize("behavior", ["warn", "ignore"])
def test_a_malformed_document_goes_to_the_dead_letter_queue_and_the_rest_is_written(
    runtime: Runtime, search: Search, behavior: str
) -> None:
    topic, dlq = topic_name("malformed"), topic_name("dlq")
    strict_index(search, topic)
    options = {**SCHEMALESS, "key.ignore": "true", "behavior.on.malformed.documents": behavior, **dead_letters(dlq)}
    runtime.create("es", sink_config(search, topic, **options))
    runtime.produce(topic, [(None, b'{"qty": 1}'), (None, b'{"qty": "many"}'), (None, b'{"qty": 3}')])
    wait_documents(search, topic, {f"{topic}+0+0": {"qty": 1}, f"{topic}+0+2": {"qty": 3}})
    letter = the_dead_letter(runtime, dlq)
    assert letter.value == b'{"qty": "many"}'
    headers = dict(letter.headers)
    assert (headers["__connect.errors.topic"], headers["__connect.errors.offset"]) == (topic.encode(), b"1")
    assert b"qty" in headers["__connect.errors.exception.message"]
    wait_for(lambda: committed(runtime, "es") == 3, what="offsets committed past the malformed document")
    assert task_state(runtime, "es") == "RUNNING"


def test_a_malformed_document_with_fail_goes_to_the_dead_letter_queue_and_fails_the_task(
    runtime: Runtime, search: Search
) -> None:
    topic, dlq = topic_name("malformed"), topic_name("dlq")
    strict_index(search, topic)
    runtime.create("es", sink_config(search, topic, **{**SCHEMALESS, "key.ignore": "true", **dead_letters(dlq)}))
    runtime.produce(topic, [(None, b'{"qty": 1}'), (None, b'{"qty": "many"}')])
    trace = runtime.wait_state("es", "FAILED")["tasks"][0]["trace"]
    for part in (f"{topic}+0+1", "qty", "behavior.on.malformed.documents=FAIL", "sent to the dead letter queue"):
        assert part in trace
    assert the_dead_letter(runtime, dlq).value == b'{"qty": "many"}'
    assert (committed(runtime, "es") or 0) <= 1, "the offset moved past the document that failed the task"


@pytest.mark.parametrize("drop", [True, False])
def test_a_record_that_cannot_become_a_document_goes_to_the_dead_letter_queue(
    runtime: Runtime, search: Search, drop: bool
) -> None:
    topic, dlq = topic_name("invalid"), topic_name("dlq")
    options = {**SCHEMALESS, **STRING_KEYS, "drop.invalid.message": str(drop).lower(), **dead_letters(dlq)}
    runtime.create("es", sink_config(search, topic, **options))
    runtime.produce(topic, [(b"1", b'{"id": 1}'), (b"2", b'"not an object"'), (b"3", b'{"id": 3}')])
    assert the_dead_letter(runtime, dlq).value == b'"not an object"'
    if drop:
        wait_documents(search, topic, {"1": {"id": 1}, "3": {"id": 3}})
        wait_for(lambda: committed(runtime, "es") == 3, what="offsets committed past the dropped record")
        assert task_state(runtime, "es") == "RUNNING"
    else:
        trace = runtime.wait_state("es", "FAILED")["tasks"][0]["trace"]
        assert f"{topic}-0@1" in trace
        assert "drop.invalid.message=false" in trace


@pytest.mark.parametrize("with_dlq", [True, False])
def test_a_version_conflict_is_reported_and_the_task_goes_on(
    runtime: Runtime, search: Search, with_dlq: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("WARNING", logger="connectors.elasticsearch")
    proxy = FaultProxy(search.url)
    try:
        topic, dlq = topic_name("conflict"), topic_name("dlq")
        options = {**SCHEMALESS, **STRING_KEYS, "write.method": "upsert", **(dead_letters(dlq) if with_dlq else {})}
        config = sink_config(search, topic, **options)
        config["connection.url"] = proxy.url
        runtime.create("es", config)
        runtime.wait_running("es")
        proxy.conflict_bulk(1)
        runtime.produce(topic, [(b"k1", b'{"a": 1}')])
        wait_for(lambda: "version conflict" in caplog.text, what="the conflict logged")
        if with_dlq:
            letter = the_dead_letter(runtime, dlq)
            assert letter.value == b'{"a": 1}'
            assert b"version_conflict_engine_exception" in dict(letter.headers)["__connect.errors.exception.message"]
        runtime.produce(topic, [(b"k2", b'{"b": 2}')])
        wait_documents(search, topic, {"k2": {"b": 2}})
        wait_for(lambda: committed(runtime, "es") == 2, what="offsets committed past the conflict")
        assert task_state(runtime, "es") == "RUNNING"
    finally:
        proxy.close()


def test_without_a_dead_letter_queue_a_refused_document_fails_the_task(runtime: Runtime, search: Search) -> None:
    """errors.tolerance=all alone gives no reporter: a refusal with FAIL still stops the task, losing nothing."""
    topic = topic_name("strict")
    strict_index(search, topic)
    options = {**SCHEMALESS, "key.ignore": "true", "errors.tolerance": "all"}
    runtime.create("es", sink_config(search, topic, **options))
    runtime.produce(topic, [(None, b'{"qty": "many"}')])
    runtime.wait_state("es", "FAILED")
    assert committed(runtime, "es") in (None, 0)


def test_a_dead_letter_queue_without_tolerance_fails_the_task_at_the_first_report(
    runtime: Runtime, search: Search
) -> None:
    """errors.tolerance=none (the default) allows no error, reported ones included: the task fails, naming it."""
    topic, dlq = topic_name("strict"), topic_name("dlq")
    strict_index(search, topic)
    options = {**SCHEMALESS, "key.ignore": "true", "behavior.on.malformed.documents": "warn", **dead_letters(dlq)}
    runtime.create("es", sink_config(search, topic, **{**options, "errors.tolerance": "none"}))
    runtime.produce(topic, [(None, b'{"qty": "many"}')])
    trace = runtime.wait_state("es", "FAILED")["tasks"][0]["trace"]
    assert f"{topic}+0+0" in trace
    assert "tolerance" in trace
    assert committed(runtime, "es") in (None, 0)


class RefusingReporter(ErrantRecordReporter):
    """A dead letter queue that takes nothing, as the runtime's reporter under errors.tolerance=none."""

    def report(self, record: SinkRecord, error: BaseException) -> Future[None]:
        refused: Future[None] = Future()
        refused.set_exception(RuntimeError("tolerance exceeded in error handler"))
        return refused


class ContextWithReporter(MemorySinkContext):
    @property
    def errant_record_reporter(self) -> ErrantRecordReporter | None:
        return RefusingReporter()


def commit_until_answered(task: SinkTask, tp: tuple[str, int]) -> None:
    """Commits as the runtime does while the server has not answered yet (nothing is committed meanwhile)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert task.pre_commit({tp: 1}) == {tp: 0}
        time.sleep(0.05)


def test_a_report_the_dead_letter_queue_refuses_during_a_commit_fails_the_task(search: Search) -> None:
    """Found by pre_commit, the refusal must still fail the task (the runtime only logs other errors there)."""
    topic = topic_name("strict")
    strict_index(search, topic)
    config = {**sink_config(search, topic, **{"behavior.on.malformed.documents": "warn"}), "name": "es"}
    task = ElasticsearchSinkConnector().task_class()()
    task.initialize(ContextWithReporter(config, {(topic, 0)}))
    task.start(config)
    try:
        task.put([SinkRecord(topic, {"qty": "many"}, key="1", kafka_partition=0, kafka_offset=0)])
        with pytest.raises(ConnectorError, match="tolerance exceeded"):
            commit_until_answered(task, (topic, 0))
    finally:
        task.stop()
