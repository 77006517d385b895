"""Fetches the pages of a completed Bulk API 2.0 query job ahead of the thread that turns them into records.

``PagesAhead(bulk, job_id, first_locator, page_rows, depth)`` runs a two-stage pipeline on two threads: the
*requester* asks for the pages in order, from ``first_locator`` to the last, each request going out as soon as the
previous answer's headers (which carry the next ``Sforce-Locator``) have arrived; the *reader* takes each answer's
body and parses it. So the server builds page N+1 while page N's body is read and parsed, and the task thread
converts the page before. At most one answer waits unread and ``depth`` parsed pages wait to be taken (memory: the
task's page, the reader's, ``depth`` waiting, and one answer in the socket buffers). ``take(locator)`` returns the
page at ``locator`` — it must be the next one in order — re-raising what fetching it raised.

The session is shared with the task thread: only the requester calls ``session.request`` while pages are fetched
ahead (the task thread converts rows and takes pages; the reader only reads bodies, each answer holding its own
connection), so one thread at a time makes requests. ``close`` stops both threads (they end at their next request
or within a second) and closes an answer left unread; thread-safe.
"""

from __future__ import annotations

import queue
import threading
from typing import TypeVar

from connectors.salesforce.bulk2 import Bulk2, Page, PendingPage
from hub.sdk.errors import RetriableError
from hub.sdk.switching import prompt_switching

_WAIT_S = 0.5
T = TypeVar("T")


class PagesAhead:
    """Pages of one query job, fetched in order ahead of their use."""

    def __init__(self, bulk: Bulk2, job_id: str, first_locator: str, page_rows: int, depth: int = 1) -> None:
        self.bulk = bulk
        self.job_id = job_id
        self.page_rows = page_rows
        self.next_locator = first_locator
        self._opened: queue.Queue[tuple[str, PendingPage | BaseException]] = queue.Queue(maxsize=1)
        self._ready: queue.Queue[tuple[str, Page | BaseException]] = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._threads = [
            threading.Thread(target=target, name=f"salesforce-pages-{job_id}-{role}", daemon=True)
            for role, target in (("request", self._request), ("read", self._read))
        ]
        for thread in self._threads:
            thread.start()

    def _put(self, into: queue.Queue[T], item: T) -> bool:
        """Puts ``item`` once there is room; False when closed first."""
        while not self._closed.is_set():
            try:
                into.put(item, timeout=_WAIT_S)
                return True
            except queue.Full:
                continue
        return False

    def _request(self) -> None:
        locator: str | None = self.next_locator
        with prompt_switching():
            while locator is not None and not self._closed.is_set():
                item: PendingPage | BaseException
                try:
                    item = self.bulk.open_results_page(self.job_id, locator, self.page_rows)
                except BaseException as exc:  # handed on to the task thread, which raises it
                    item = exc
                if not self._put(self._opened, (locator, item)):
                    if isinstance(item, PendingPage):
                        item.close()
                    return
                if isinstance(item, BaseException):
                    return
                locator = item.next_locator

    def _read(self) -> None:
        with prompt_switching():
            while not self._closed.is_set():
                try:
                    locator, opened = self._opened.get(timeout=_WAIT_S)
                except queue.Empty:
                    continue
                item: Page | BaseException
                if isinstance(opened, BaseException):
                    item = opened
                else:
                    try:
                        item = opened.read()
                    except BaseException as exc:
                        item = exc
                if not self._put(self._ready, (locator, item)) or isinstance(item, BaseException):
                    break
                if item.next_locator is None:
                    return
            self._drop_unread()

    def _drop_unread(self) -> None:
        while True:
            try:
                _, opened = self._opened.get_nowait()
            except queue.Empty:
                return
            if isinstance(opened, PendingPage):
                opened.close()

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
