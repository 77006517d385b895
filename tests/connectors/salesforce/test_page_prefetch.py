"""Pages of a query job fetched ahead: in order, the next request out before the previous body is read, a failure
handed to the task thread, and nothing left running after close."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from connectors.salesforce.bulk2 import Page
from connectors.salesforce.page_prefetch import PagesAhead
from hub.sdk.errors import RetriableError

WAIT_S = 10


class FakeOpened:
    """An answer whose headers arrived: the body is read only when ``read`` is called, and its reading waits until
    the next page has been asked for (a fetcher that reads before asking for the next page would wait in vain)."""

    def __init__(self, bulk: FakeBulk, locator: str, following: str | None, fail: bool = False) -> None:
        self.bulk, self.locator, self.next_locator, self.fail = bulk, locator, following, fail
        self.closed = False

    def read(self) -> Page:
        if self.next_locator is not None:
            self.bulk.requested[self.next_locator].wait(WAIT_S)
        self.bulk.log.append(f"read {self.locator}")
        if self.fail:
            raise ConnectionError(f"the body of {self.locator} was cut")
        return Page(["Id"], [[self.locator]], self.next_locator)

    def close(self) -> None:
        self.closed = True


class FakeBulk:
    """Three pages, p1 → p2 → p3."""

    def __init__(self, fail_body: str = "") -> None:
        self.log: list[str] = []
        self.fail_body = fail_body
        self.requested = {locator: threading.Event() for locator in ("p1", "p2", "p3")}

    def open_results_page(self, job_id: str, locator: str | None, max_records: int) -> Any:
        self.log.append(f"request {locator}")
        self.requested[str(locator)].set()
        following = {"p1": "p2", "p2": "p3"}.get(str(locator))
        return FakeOpened(self, str(locator), following, fail=locator == self.fail_body)


def test_pages_come_in_order_and_each_request_goes_out_before_the_previous_body_is_read() -> None:
    bulk = FakeBulk()
    ahead = PagesAhead(bulk, "job", "p1", 10)  # type: ignore[arg-type]
    try:
        assert ahead.take("p1").rows == [["p1"]]
        assert ahead.take("p2").rows == [["p2"]]
        assert ahead.take("p3").next_locator is None
    finally:
        ahead.close()
    assert bulk.log.index("request p2") < bulk.log.index("read p1")
    assert bulk.log.index("request p3") < bulk.log.index("read p2")


def test_a_body_that_fails_is_raised_in_the_task_thread_and_stops_the_fetching() -> None:
    bulk = FakeBulk(fail_body="p2")
    ahead = PagesAhead(bulk, "job", "p1", 10)  # type: ignore[arg-type]
    try:
        assert ahead.take("p1").rows == [["p1"]]
        with pytest.raises(ConnectionError, match="p2 was cut"):
            ahead.take("p2")
        with pytest.raises(RetriableError):
            ahead.take("p2")
    finally:
        ahead.close()
