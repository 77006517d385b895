"""Fetches the pages of a completed Bulk API 2.0 query job ahead of the thread that turns them into records.

``PagesAhead(bulk, job_id, first_locator, page_rows, depth)`` starts one thread that requests the pages in order,
from ``first_locator`` to the last, and keeps at most ``depth`` of them waiting (so the server builds the next
pages while the task thread converts rows, and memory holds at most ``depth`` + 1 pages). ``take(locator)``
returns the page at ``locator`` — it must be the next one in order — re-raising what fetching it raised.

The session is shared with the task thread: the task thread makes no request while pages are fetched ahead (it
converts rows and takes pages), so one thread at a time uses it. ``close`` stops the thread (it ends at its next
request or within a second); thread-safe.
"""

from __future__ import annotations

import queue
import threading

from connectors.salesforce.bulk2 import Bulk2, Page
from hub.sdk.errors import RetriableError
from hub.sdk.switching import prompt_switching

_WAIT_S = 0.5


class PagesAhead:
    """Pages of one query job, fetched in order ahead of their use."""

    def __init__(self, bulk: Bulk2, job_id: str, first_locator: str, page_rows: int, depth: int = 2) -> None:
        self.bulk = bulk
        self.job_id = job_id
        self.page_rows = page_rows
        self.next_locator = first_locator
        self._ready: queue.Queue[tuple[str, Page | BaseException]] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(first_locator,), name=f"salesforce-pages-{job_id}", daemon=True
        )
        self._thread.start()

    def _run(self, locator: str | None) -> None:
        with prompt_switching():
            while locator is not None and not self._closed.is_set():
                item: Page | BaseException
                try:
                    item = self.bulk.results_page(self.job_id, locator, self.page_rows)
                except BaseException as exc:  # handed to the task thread, which raises it
                    item = exc
                while not self._closed.is_set():
                    try:
                        self._ready.put((locator, item), timeout=_WAIT_S)
                        break
                    except queue.Full:
                        continue
                if isinstance(item, BaseException):
                    return
                locator = item.next_locator

    def take(self, locator: str) -> Page:
        """The page at ``locator`` (the next in order); what fetching it raised; RetriableError once closed."""
        if locator != self.next_locator:
            raise ValueError(f"page {locator!r} asked for, {self.next_locator!r} is next")
        while not self._closed.is_set():
            try:
                fetched, item = self._ready.get(timeout=_WAIT_S)
            except queue.Empty:
                continue
            if isinstance(item, BaseException):
                self._closed.set()
                raise item
            if fetched != locator:  # cannot happen while pages are taken in order; never hand out a wrong page
                raise RuntimeError(f"page {fetched!r} fetched where {locator!r} was next")
            self.next_locator = item.next_locator or ""
            return item
        raise RetriableError(f"stopped while fetching the results of query job {self.job_id}")

    def close(self) -> None:
        self._closed.set()
