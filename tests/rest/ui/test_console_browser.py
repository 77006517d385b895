"""The web console in a real browser (headless Chromium through Selenium) against a `hub start` with REST
authentication: creating a connector through the form (a validation error shown next to its field), seeing it
RUNNING with progress, browsing its topic's messages and producing one, pausing and resuming, a consumer group's
lag falling, a plain consumer group shown with its member and lag, re-sending a dead-letter record, and a
read-only user seeing no actions (and refused anyway).

Every view is screenshotted into the run's output (``console-screenshots``; with ``HUB_CONSOLE_DOCS_SCREENSHOTS``
set they are copied to docs/images/console/), each checked non-blank, and axe-core finds no serious violation in
it. The tests run in order over one hub and one browser session.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.rest.conftest import HubStart, start_hub, stop_hub
from tests.rest.ui import browser
from tests.rest.ui.browser import screenshot, serious_violations, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ADMIN = ("ops", "s3cret")
VIEWER = ("viewer", "look")
DOCS_IMAGES = Path(__file__).parents[3] / "docs" / "images" / "console"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubStart]:
    browser.require()
    work = tmp_path_factory.mktemp("console")
    users = [
        {"name": ADMIN[0], "password_sha256": hashlib.sha256(ADMIN[1].encode()).hexdigest(), "role": "admin"},
        {"name": VIEWER[0], "password_sha256": hashlib.sha256(VIEWER[1].encode()).hexdigest(), "role": "read-only"},
    ]
    (work / "credentials.json").write_text(json.dumps({"users": users}))
    (work / "lines.txt").write_text('hello\n{"order": 17, "items": ["tea", "milk"]}\n')
    # Connectors name their files by env references, so no page (nor screenshot) shows where the test runs.
    os.environ["CONSOLE_LINES_FILE"] = str(work / "lines.txt")
    os.environ["CONSOLE_ORDERS_FILE"] = str(work / "orders.out")
    try:
        started = start_hub(work, config=f"rest.auth.file={work / 'credentials.json'}\n", auth=ADMIN)
    finally:
        del os.environ["CONSOLE_LINES_FILE"], os.environ["CONSOLE_ORDERS_FILE"]
    yield started
    stop_hub(started)


@pytest.fixture(scope="module")
def api(hub: HubStart) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hub.url, timeout=30, auth=ADMIN) as client:
        yield client


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("console-screenshots")


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    browser.require()
    chromium = browser.chromium()
    try:
        yield chromium
    finally:
        chromium.quit()


def _css(driver: Any, selector: str) -> Any:
    return driver.find_element("css selector", selector)


def _all(driver: Any, selector: str) -> list[Any]:
    return driver.find_elements("css selector", selector)


def _text(driver: Any, selector: str) -> str:
    """The visible text of the first element ``selector`` matches, read in one step (views re-render)."""
    script = "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : '';"
    return str(driver.execute_script(script, selector))


def _sign_in(driver: Any, hub: HubStart, user: tuple[str, str]) -> None:
    driver.get(hub.url + "/ui")
    driver.execute_script("sessionStorage.clear()")
    driver.refresh()
    wait_for(driver, lambda d: _all(d, "#login-user"), "the sign-in form")
    _css(driver, "#login-user").send_keys(user[0])
    _css(driver, "#login-password").send_keys(user[1])
    _css(driver, "#login button").click()
    wait_for(driver, lambda d: _text(d, "#who").startswith(user[0]), "the signed-in user")


def _go(driver: Any, hub: HubStart, route: str, ready: str) -> None:
    driver.get(f"{hub.url}/ui#/{route}")
    wait_for(driver, lambda d: _all(d, ready), f"{ready} on #/{route}")


def _check_view(driver: Any, shots: Path, name: str) -> None:
    """Screenshot the view (non-blank) and check axe-core finds nothing serious in it."""
    path = screenshot(driver, shots / f"{name}.png")
    if os.environ.get("HUB_CONSOLE_DOCS_SCREENSHOTS"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS_IMAGES / path.name)
    assert serious_violations(driver) == [], name


def test_sign_in(driver: Any, hub: HubStart, shots: Path) -> None:
    _sign_in(driver, hub, ADMIN)
    wait_for(driver, lambda d: _all(d, "#chart-rate canvas") and _all(d, "#chart-lag canvas"), "the charts")
    assert _text(driver, "#count-connectors") == "0"


def test_create_connector_through_the_form(driver: Any, hub: HubStart, shots: Path) -> None:
    _go(driver, hub, "new", "#plugin")
    from selenium.webdriver.support.ui import Select

    plugin = Select(_css(driver, "#plugin"))
    source = next(
        o.get_attribute("value")
        for o in plugin.options
        if o.get_attribute("value").endswith("FileStreamSourceConnector")
    )
    plugin.select_by_value(source)
    wait_for(driver, lambda d: _all(d, "#field-file") and _all(d, "#field-topic"), "the plugin's fields")
    _css(driver, "#field-name").send_keys("lines")
    _css(driver, "#field-file").send_keys("${env:CONSOLE_LINES_FILE}")
    # topic is left empty: the validation says so next to the field, and only there
    error = wait_for(driver, lambda d: _text(d, "#error-topic"), "a validation error next to topic")
    assert "topic" in error.lower() or "value" in error.lower(), error
    assert _text(driver, "#error-file") == ""
    _check_view(driver, shots, "new-connector")
    _css(driver, "#field-topic").send_keys("lines-topic")
    wait_for(driver, lambda d: _text(d, "#error-topic") == "", "the error cleared once topic is set")
    _css(driver, "#create").click()
    wait_for(driver, lambda d: "RUNNING" in _text(d, "#connector-state"), "the connector RUNNING")
    wait_for(driver, lambda d: "records" in _text(d, "#tasks .progress"), "the task's progress", timeout_s=60)
    assert "2 records" in _text(driver, "#tasks .progress")
    _check_view(driver, shots, "connector")


def test_browse_the_topic_and_produce(driver: Any, hub: HubStart, shots: Path, api: httpx.Client) -> None:
    _go(driver, hub, "topics", "#topics")
    assert "lines-topic" in _text(driver, "#topics")
    row = driver.find_element("xpath", "//table[@id='topics']//tr[td/a[text()='lines-topic']]")
    assert row.find_element("css selector", ".size").text.endswith(("B", "KiB")), row.text  # a size, not "unknown"
    _go(driver, hub, "topics/lines-topic", "#message-list")
    assert _text(driver, "#topic-size").endswith(("B", "KiB"))
    listed = _text(driver, "#message-list")
    assert '"payload": "hello"' in listed, listed  # JsonConverter's envelope, pretty-printed
    assert "order" in listed, listed
    _css(driver, "#produce-key").send_keys("k1")
    _css(driver, "#produce-value").send_keys('{"test": true}')
    _css(driver, "#produce button").click()
    wait_for(driver, lambda d: "offset 2" in _text(d, "#toast"), "the produced record's offset")
    _css(driver, "#browse-offset").send_keys("2")
    _css(driver, "#browse button").click()
    wait_for(driver, lambda d: '"test": true' in _text(d, "#message-list"), "the produced record, pretty-printed")
    _check_view(driver, shots, "topic")


def test_pause_and_resume(driver: Any, hub: HubStart, shots: Path, api: httpx.Client) -> None:
    _go(driver, hub, "connectors/lines", "#action-pause")
    _css(driver, "#action-pause").click()
    wait_for(driver, lambda d: "PAUSED" in _text(d, "#connector-state"), "the connector PAUSED")
    assert api.get("/connectors/lines/status").json()["connector"]["state"] == "PAUSED"
    _css(driver, "#action-resume").click()
    wait_for(driver, lambda d: "RUNNING" in _text(d, "#connector-state"), "the connector RUNNING again")
    _go(driver, hub, "connectors", "#connectors")
    assert "lines" in _text(driver, "#connectors")
    _check_view(driver, shots, "connectors")


def test_consumer_group_lag_falls(driver: Any, hub: HubStart, shots: Path, api: httpx.Client) -> None:
    config = {
        "connector.class": "FileStreamSink",
        "topics": "orders",
        "file": "${env:CONSOLE_ORDERS_FILE}",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        "errors.tolerance": "all",
        "errors.deadletterqueue.topic.name": "orders-dlq",
        "errors.deadletterqueue.context.headers.enable": "true",
        "errors.deadletterqueue.topic.replication.factor": "1",
    }
    assert api.post("/ui/api/topics/orders/messages", json={"value": "x"}).status_code == 404  # not created
    created = api.post("/connectors", json={"name": "orders-sink", "config": config, "initial_state": "PAUSED"})
    assert created.status_code == 201, created.text
    _create_topic(api, hub, "orders")
    for n in range(20):
        assert api.post("/ui/api/topics/orders/messages", json={"value": json.dumps({"n": n})}).status_code == 201
    _go(driver, hub, "groups", "#lag-connect-orders-sink")
    wait_for(driver, lambda d: _text(d, "#lag-connect-orders-sink") == "20", "a lag of 20 while paused")
    _check_view(driver, shots, "groups")
    assert api.put("/connectors/orders-sink/resume").status_code == 202
    wait_for(driver, lambda d: _text(d, "#lag-connect-orders-sink") == "0", "the lag falling to 0", timeout_s=60)


def test_a_plain_consumer_group_shows_its_member_and_lag(
    driver: Any, hub: HubStart, shots: Path, api: httpx.Client
) -> None:
    from confluent_kafka import Consumer, TopicPartition

    end = _end(api, "orders")
    consumer = Consumer(
        {
            "bootstrap.servers": hub.kafka,
            "group.id": "plain-readers",
            "client.id": "console-test-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe(["orders"])
        wait_for(driver, lambda d: consumer.poll(0.5) is not None, "the consumer reading a record")
        consumer.commit(offsets=[TopicPartition("orders", 0, 5)], asynchronous=False)
        _go(driver, hub, "groups", "#lag-plain-readers")
        wait_for(driver, lambda d: _text(d, "#lag-plain-readers") == str(end - 5), f"a lag of {end - 5}")
        driver.execute_script("arguments[0].scrollIntoView()", _css(driver, 'section[data-group="plain-readers"]'))
        section = _text(driver, 'section[data-group="plain-readers"]')
        assert "console-test-reader" in section, section
        assert "orders-0" in section, section  # the member's assignment
        assert "Stable" in section, section
        _check_view(driver, shots, "groups")
    finally:
        consumer.close()


def test_resend_a_dead_letter_record(driver: Any, hub: HubStart, shots: Path, api: httpx.Client) -> None:
    assert api.post("/ui/api/topics/orders/messages", json={"value": "not json"}).status_code == 201
    _go(driver, hub, "dlq", "#main h1")
    wait_for(driver, lambda d: "orders-dlq" in _text(d, "#main ul"), "the sink's dead-letter queue")
    before = _end(api, "orders")
    _wait_dlq_record(api)
    _go(driver, hub, "dlq/orders-dlq", "#dlq-list .pick")
    listed = _text(driver, "#dlq-list")
    assert "not json" in listed, listed
    assert "__connect.errors.topic" in listed, listed
    _css(driver, "#dlq-list .pick").click()
    _check_view(driver, shots, "dead-letter-queue")
    _css(driver, "#resend").click()
    wait_for(driver, lambda d: "Re-sent 1 record" in _text(d, "#toast"), "the re-send confirmed")
    assert _end(api, "orders") == before + 1
    last = api.get("/ui/api/topics/orders/messages", params={"offset": before}).json()[0]
    assert last["value"] == "not json"
    assert not any(k.startswith("__connect.errors.") for k, _ in last["headers"])


def test_overview_charts(driver: Any, hub: HubStart, shots: Path) -> None:
    _go(driver, hub, "", "#chart-rate canvas")
    assert _text(driver, "#count-connectors") == "2"
    assert _text(driver, "#count-workers") == "1"  # `hub start`'s worker, the one member of its group
    assert _text(driver, "#count-nodes") == "1"
    assert hub.url in _text(driver, "#workers")
    legend = _text(driver, "#chart-lag .u-legend")
    assert "lines" in legend, legend
    assert "orders-sink" in legend, legend
    _check_view(driver, shots, "overview")


def test_read_only_user_sees_no_actions(driver: Any, hub: HubStart, shots: Path) -> None:
    _sign_in(driver, hub, VIEWER)
    _go(driver, hub, "connectors/lines", "#tasks")
    wait_for(driver, lambda d: _all(d, "#config-json"), "the connector's config")
    assert _all(driver, "#actions button") == []
    assert _all(driver, "#save-config") == []
    assert not _css(driver, "#nav-new").is_displayed()
    _go(driver, hub, "topics/lines-topic", "#message-list")
    assert _all(driver, "#produce") == []
    _check_view(driver, shots, "read-only-topic")
    with httpx.Client(base_url=hub.url, timeout=30, auth=VIEWER) as viewer:
        assert viewer.put("/connectors/lines/pause").status_code == 403
        assert viewer.post("/ui/api/topics/lines-topic/messages", json={"value": "x"}).status_code == 403
        assert viewer.post("/ui/api/dlq/orders-dlq/resend", json={"partition": 0, "offsets": [0]}).status_code == 403


def test_secrets_are_hidden_and_kept(api: httpx.Client, hub: HubStart) -> None:
    config = {"connector.class": "FileStreamSource", "file": str(hub.work_dir / "lines.txt"), "topic": "s-topic"}
    assert api.put("/connectors/secretive/config", json={**config, "db.password": "hunter22"}).status_code == 201
    shown = api.get("/ui/api/connectors/secretive/config").json()
    assert shown["config"]["db.password"] == "********"
    assert "hunter22" not in json.dumps(shown)
    edited = {**shown["config"], "topic": "s-topic-2"}
    assert api.put("/ui/api/connectors/secretive/config", json=edited).status_code == 200
    stored = api.get("/connectors/secretive/config").json()
    assert stored["db.password"] == "hunter22"
    assert stored["topic"] == "s-topic-2"


def _create_topic(api: httpx.Client, hub: HubStart, name: str) -> None:
    """Create a topic through the Kafka listener (the console produces only to topics that exist)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    admin = KafkaAdminClient(bootstrap_servers=hub.kafka, request_timeout_ms=10_000)
    try:
        admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1)])
    finally:
        admin.close()
    assert api.get(f"/ui/api/topics/{name}").status_code == 200


def _end(api: httpx.Client, topic: str) -> int:
    return int(api.get(f"/ui/api/topics/{topic}").json()["partitions"][0]["latest"])


def _wait_dlq_record(api: httpx.Client) -> None:
    import time

    deadline = time.monotonic() + 30
    while api.get("/ui/api/topics/orders-dlq").status_code == 404 or _end(api, "orders-dlq") == 0:
        assert time.monotonic() < deadline, "the failed record never reached the dead-letter queue"
        time.sleep(0.2)
