"""The console's routes: its page and vendored assets under ``/ui``, and the JSON API under ``/ui/api`` that the
page calls for what Connect's REST API does not show (the principal and its role, topics and their messages,
test records, sink groups' lag, dead-letter queues and re-sending their records, connector configs with secrets
hidden, and the charts' history).

The API is authenticated and authorized by ``hub.rest.auth_middleware`` like every other route (a read-only
principal is refused every write with 403); the page only hides the buttons it would be refused anyway.
Store calls go through a ``StoreView`` (``hub.runtime.store_browser.StoreBrowser``, which the CLI makes: this
package may not reach the store itself) on the thread pool; it raises the herder's NotFoundError and
BadRequestError, answered 404 and 400. Handlers keep no state of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import Route

from hub.rest.auth_middleware import PRINCIPAL_KEY
from hub.rest.errors import HttpError
from hub.rest.routes.params import BodyReader, call, json_response, string_map
from hub.rest.ui.history import History
from hub.rest.ui.secrets import MASK, mask_config, unmask_config
from hub.runtime.herder import Herder

STATIC = Path(__file__).parent / "static"


class StoreView(Protocol):
    """What the console reads and writes of the store (hub.runtime.store_browser.StoreBrowser)."""

    def topics(self, *, internal: bool = False) -> list[dict[str, Any]]: ...

    def topic(self, name: str) -> dict[str, Any]: ...

    def messages(
        self, topic: str, partition: int, *, offset: int | None = None, timestamp: int | None = None, limit: int = 50
    ) -> list[dict[str, Any]]: ...

    def produce(
        self, topic: str, *, key: str | None, value: str | None, headers: Mapping[str, str], partition: int | None
    ) -> dict[str, Any]: ...

    def group_lag(self, group: str, topics: Sequence[str]) -> list[dict[str, Any]]: ...

    def groups(self) -> list[dict[str, Any]]: ...

    def cluster(self, worker_group: str | None = None) -> dict[str, Any]: ...

    def resend(self, dlq_topic: str, partition: int, offsets: Sequence[int]) -> list[dict[str, Any]]: ...


_TYPES = {".js": "text/javascript", ".css": "text/css", ".html": "text/html", ".txt": "text/plain"}


def routes(herder: Herder, store: StoreView | None, history: History, body: BodyReader) -> list[Route]:
    """The console's routes over ``herder`` and (when the worker has one) the store's ``store``."""

    def browser() -> StoreView:
        if store is None:
            raise HttpError(404, "this worker has no store to browse")
        return store

    async def browse(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await call(function, *args, **kwargs)

    async def page(request: Request) -> Response:
        if request.url.path == "/ui/":
            return RedirectResponse("/ui", status_code=308)
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def asset(request: Request) -> Response:
        path = (STATIC / request.path_params["file"]).resolve()
        if not path.is_relative_to(STATIC.resolve()) or not path.is_file() or path.suffix not in _TYPES:
            raise HttpError(404, f"HTTP 404 Not Found: {request.url.path}")
        return FileResponse(path, media_type=_TYPES[path.suffix])

    async def whoami(request: Request) -> Response:
        principal = request.scope.get(PRINCIPAL_KEY)
        if principal is None:
            return json_response({"name": None, "role": "admin", "may_write": True})
        return json_response({"name": principal.name, "role": principal.role, "may_write": principal.may("POST")})

    async def topics(request: Request) -> Response:
        internal = request.query_params.get("internal", "false").lower() == "true"
        return json_response(await browse(browser().topics, internal=internal))

    async def topic(request: Request) -> Response:
        return json_response(await browse(browser().topic, request.path_params["topic"]))

    async def messages(request: Request) -> Response:
        query = request.query_params
        found = await browse(
            browser().messages,
            request.path_params["topic"],
            _int(query.get("partition", "0"), "partition"),
            offset=_int(query["offset"], "offset") if query.get("offset") else None,
            timestamp=_int(query["timestamp"], "timestamp") if query.get("timestamp") else None,
            limit=_int(query.get("limit", "50"), "limit"),
        )
        return json_response(found)

    async def produce(request: Request) -> Response:
        document = await body(request)
        if not isinstance(document, dict):
            raise HttpError(400, "the body must be a JSON object with key, value, headers and partition")
        key, value, partition = document.get("key"), document.get("value"), document.get("partition")
        if not all(v is None or isinstance(v, str) for v in (key, value)):
            raise HttpError(400, "key and value must be strings or null")
        if partition is not None:
            partition = _integral(partition)
            if partition is None:
                raise HttpError(400, "partition must be an integer or null")
        headers = string_map(document.get("headers") or {}, "headers")
        written = await browse(
            browser().produce, request.path_params["topic"], key=key, value=value, headers=headers, partition=partition
        )
        return json_response(written, 201)

    async def groups(request: Request) -> Response:
        return json_response(await call(_groups, herder, browser()))

    async def overview(request: Request) -> Response:
        return json_response(await call(_overview, herder, store))

    async def dead_letter_queues(request: Request) -> Response:
        return json_response(await call(_dead_letter_queues, herder))

    async def resend(request: Request) -> Response:
        document = await body(request)
        partition = _integral(document.get("partition")) if isinstance(document, dict) else None
        given = document.get("offsets") if isinstance(document, dict) else None
        offsets = [_integral(o) for o in given] if isinstance(given, list) else None
        if not _is_int(partition) or offsets is None or not all(_is_int(o) for o in offsets):
            raise HttpError(400, "the body must be {'partition': N, 'offsets': [N, ...]}")
        sent = await browse(browser().resend, request.path_params["topic"], partition, offsets)
        return json_response({"resent": sent})

    async def get_config(request: Request) -> Response:
        info = await call(herder.connector_info, request.path_params["name"])
        return json_response(await call(mask_config, herder, info.config))

    async def put_config(request: Request) -> Response:
        name = request.path_params["name"]
        config = string_map(await body(request), "the connector config")
        stored = (await call(herder.connector_info, name)).config
        merged = await call(unmask_config, herder, config, stored)
        _, info = await call(herder.put_connector_config, name, merged, allow_replace=True)
        return json_response({"name": info.name, "config": await call(mask_config, herder, info.config)})

    async def history_series(request: Request) -> Response:
        return json_response(await call(history.series))

    return [
        Route("/ui", page, methods=["GET"]),
        Route("/ui/", page, methods=["GET"]),
        Route("/ui/static/{file:path}", asset, methods=["GET"]),
        Route("/ui/api/whoami", whoami, methods=["GET"]),
        Route("/ui/api/topics", topics, methods=["GET"]),
        Route("/ui/api/topics/{topic:str}", topic, methods=["GET"]),
        Route("/ui/api/topics/{topic:str}/messages", messages, methods=["GET"]),
        Route("/ui/api/topics/{topic:str}/messages", produce, methods=["POST"]),
        Route("/ui/api/groups", groups, methods=["GET"]),
        Route("/ui/api/overview", overview, methods=["GET"]),
        Route("/ui/api/dlq", dead_letter_queues, methods=["GET"]),
        Route("/ui/api/dlq/{topic:str}/resend", resend, methods=["POST"]),
        Route("/ui/api/connectors/{name:str}/config", get_config, methods=["GET"]),
        Route("/ui/api/connectors/{name:str}/config", put_config, methods=["PUT"]),
        Route("/ui/api/history", history_series, methods=["GET"]),
    ]


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _integral(value: Any) -> int | None:
    """A JSON integer (``3``, or ``3.0``, which JSON Schema counts as one too) as an int; None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def _int(raw: str, name: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise HttpError(400, f"query parameter {name} must be an integer, not {raw!r}") from None
    if value < 0:
        raise HttpError(400, f"query parameter {name} must not be negative")
    return value


def _sinks(herder: Herder) -> list[tuple[str, dict[str, str]]]:
    """Every sink connector with its config (a connector deleted meanwhile is skipped)."""
    found = []
    for name in herder.connectors():
        try:
            info = herder.connector_info(name)
        except Exception:  # deleted between the two calls
            continue
        if info.type == "sink":
            found.append((name, info.config))
    return found


def _groups(herder: Herder, store: StoreView) -> list[dict[str, Any]]:
    """Every group the store knows with its members, assignments and lag per partition; a sink connector's
    ``connect-NAME`` group also names its connector and tasks, and shows the lag of each of its topics' partitions
    (all of a partition's records before the sink has committed any)."""
    groups = {g["group"]: g for g in store.groups()}
    for name, config in _sinks(herder):
        topics = [t.strip() for t in config.get("topics", "").split(",") if t.strip()]
        try:
            status = herder.connector_status(name)
        except Exception:  # deleted meanwhile
            continue
        group_id = f"connect-{name}"
        group = groups.setdefault(group_id, {"group": group_id, "state": "Empty", "protocol_type": "", "members": []})
        owner = {(a["topic"], a["partition"]): m["member_id"] for m in group["members"] for a in m["assignment"]}
        partitions = [
            {**p, "member": owner.get((p["topic"], p["partition"]))} for p in store.group_lag(group_id, topics)
        ]
        group.update(
            connector=name,
            topics=topics,
            tasks=[
                {"task": t.get("id"), "worker_id": t.get("worker_id"), "state": t.get("state")}
                for t in status.get("tasks", [])
            ],
            partitions=partitions,
            lag=sum(p["lag"] for p in partitions),
        )
    return [groups[group_id] for group_id in sorted(groups)]


def _overview(herder: Herder, store: StoreView | None) -> dict[str, Any]:
    """The workers (each with the connectors and tasks it runs, this one included even when idle) and, when this
    worker has a store, its nodes and the worker group (a distributed worker's ``group.id``)."""
    workers: dict[str, dict[str, int]] = {}
    worker = getattr(herder, "worker", None)
    if worker is not None:
        workers[worker.worker_id] = {"connectors": 0, "tasks": 0}
    for name in herder.connectors():
        try:
            status = herder.connector_status(name)
        except Exception:  # deleted meanwhile
            continue
        owner = status["connector"].get("worker_id")
        if owner:
            workers.setdefault(owner, {"connectors": 0, "tasks": 0})["connectors"] += 1
        for task in status.get("tasks", []):
            if task.get("worker_id"):
                workers.setdefault(task["worker_id"], {"connectors": 0, "tasks": 0})["tasks"] += 1
    found: dict[str, Any] = {"workers": [{"worker_id": w, **counts} for w, counts in sorted(workers.items())]}
    if store is not None:
        distributed = getattr(herder, "rebalances", None) is not None
        config = getattr(herder, "config", None)
        group = str(config["group.id"]) if distributed and config is not None else None
        found.update(store.cluster(group))
    return found


def _dead_letter_queues(herder: Herder) -> list[dict[str, str]]:
    return [
        {"connector": name, "topic": config["errors.deadletterqueue.topic.name"]}
        for name, config in _sinks(herder)
        if config.get("errors.deadletterqueue.topic.name")
    ]


__all__ = ["MASK", "STATIC", "StoreView", "routes"]
