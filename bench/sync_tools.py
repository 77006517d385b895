"""The two tools under test in bench/db_to_search.py, each started on the bench's servers and configured as its
documentation says: Hub (``hub start`` with a PostgresCdcSource and an ElasticsearchSink created over REST) and
PGSync (from PyPI, in its own virtual environment under ``.bench/``, with a throwaway ``redis-server``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench.report import stopwatch
from tests.harness.process import ManagedProcess, free_port, port_open
from tests.harness.servers import SqlServer

ROOT = Path(__file__).resolve().parent.parent
PGSYNC_VENV = ROOT / ".bench" / "pgsync-venv"
PGSYNC_VERSION = "7.3.0"
HUB_TABLE = "bench_hub"
PGSYNC_TABLE = "bench_pgsync"
PGSYNC_INDEX = "bench-pgsync"
#: Timeout of one request to the search server, for both tools: noida-db takes longer than the sink's default 3 s
#: for a bulk request on a busy machine, and a timed-out bulk request retried at once only adds to the load.
REQUEST_TIMEOUT_S = 60


def hub_start_argv(data_dir: Path, rest: int, kafka: int, properties: Path) -> list[str]:
    """``hub start`` on 127.0.0.1's ``rest`` and ``kafka`` ports with a worker config file, logging warnings only."""
    return [
        sys.executable,
        "-m",
        "hub.cli",
        "start",
        "--data-dir",
        str(data_dir),
        "--rest-listener",
        f"127.0.0.1:{rest}",
        "--kafka-listener",
        f"127.0.0.1:{kafka}",
        "--config",
        str(properties),
        "--log-level",
        "warning",
    ]


@dataclass(frozen=True)
class SearchServer:
    """Where the indices live: ``kind`` is ``elasticsearch`` (noida-db) or ``opensearch`` (osmem-server)."""

    url: str
    kind: str


@dataclass
class HubRun:
    """``hub start`` in a temporary directory, with the CDC source and the search sink created over REST."""

    server: SqlServer
    search: SearchServer
    work_dir: Path
    schemas: bool = True
    process: ManagedProcess | None = None
    api: httpx.Client | None = None

    @property
    def index(self) -> str:
        return f"bench.public.{HUB_TABLE}"

    def start(self) -> None:
        rest, kafka = free_port(), free_port()
        converters = "true" if self.schemas else "false"
        properties = self.work_dir / "worker.properties"
        properties.write_text(
            "offset.flush.interval.ms=1000\n"
            f"key.converter.schemas.enable={converters}\nvalue.converter.schemas.enable={converters}\n"
            # without schemas a Decimal would travel as base64 bytes; NUMERIC keeps it a JSON number
            + ("" if self.schemas else "value.converter.decimal.format=NUMERIC\n")
        )
        argv = hub_start_argv(self.work_dir / "data", rest, kafka, properties)
        self.process = ManagedProcess("hub start", argv, self.work_dir / "hub.log")
        self.process.start()
        self.api = httpx.Client(base_url=f"http://127.0.0.1:{rest}", timeout=60)
        api = self.api
        self.process.wait_ready(lambda: api.get("/health").status_code == 200, timeout_s=60)

    def create_connectors(self) -> None:
        assert self.api is not None
        slot = f"hub_bench_{uuid.uuid4().hex[:8]}"
        source = {
            "connector.class": "io.debezium.connector.postgresql.PostgresConnector",
            "database.hostname": self.server.host,
            "database.port": str(self.server.port),
            "database.user": self.server.user,
            "database.password": self.server.password,
            "database.dbname": self.server.database,
            "topic.prefix": "bench",
            "table.include.list": f"public\\.{HUB_TABLE}",
            "plugin.name": "pgoutput",
            "slot.name": slot,
            "publication.name": slot,
            "publication.autocreate.mode": "filtered",
            "transforms": "unwrap",
            "transforms.unwrap.type": "io.debezium.transforms.ExtractNewRecordState",
        }
        sink = {
            "connector.class": "io.confluent.connect.elasticsearch.ElasticsearchSinkConnector",
            "topics": self.index,
            "connection.url": self.search.url,
            "connection.type": self.search.kind,
            "behavior.on.null.values": "delete",
            "read.timeout.ms": str(REQUEST_TIMEOUT_S * 1000),
        }
        for name, config in (("bench-cdc", source), ("bench-search", sink)):
            response = self.api.post("/connectors", json={"name": name, "config": config})
            if response.status_code >= 300:
                raise RuntimeError(f"creating {name} failed: {response.status_code} {response.text}")

    def committed(self) -> int:
        """Records whose offsets the sink committed (only past documents the server acknowledged)."""
        assert self.api is not None
        response = self.api.get("/connectors/bench-search/offsets")
        if response.status_code != 200:
            return 0
        return sum(int(entry["offset"]["kafka_offset"]) for entry in response.json()["offsets"])

    def failure(self) -> str | None:
        """The trace of a failed connector or task, if any."""
        assert self.api is not None
        for name in ("bench-cdc", "bench-search"):
            response = self.api.get(f"/connectors/{name}/status")
            if response.status_code != 200:
                continue
            status = response.json()
            for state in [status["connector"], *status.get("tasks", [])]:
                if state.get("state") == "FAILED":
                    return f"{name}: {state.get('trace', '')[-2000:]}"
        return None

    def initial_sync(self, rows: int, stall_s: float = 180) -> float:
        """Seconds from creating the connectors until the sink committed every snapshot record."""
        with stopwatch() as elapsed:
            self.create_connectors()
            progress, moved_at = 0, elapsed()
            for polls in itertools.count():
                if (committed := self.committed()) >= rows:
                    break
                if committed > progress:
                    progress, moved_at = committed, elapsed()
                elif elapsed() - moved_at > stall_s:
                    raise RuntimeError(f"Hub's sink committed nothing for {stall_s:.0f} s, at {committed} of {rows}")
                if polls % 10 == 9 and (failure := self.failure()) is not None:  # statuses cost Hub more: rarely
                    raise RuntimeError(f"a Hub connector failed: {failure}")
                time.sleep(0.5)
            return elapsed()

    def stop(self) -> None:
        if self.api is not None:
            for name in ("bench-search", "bench-cdc"):  # deleting the source drops its slot and publication
                with contextlib.suppress(httpx.HTTPError):
                    self.api.delete(f"/connectors/{name}")
            self.api.close()
            self.api = None
        if self.process is not None:
            self.process.stop(timeout_s=60)
            self.process = None


# ---------------------------------------------------------------------------------------------------------------
# PGSync


class PgsyncUnavailableError(RuntimeError):
    """PGSync could not be set up or run; the message says why."""


def output_tail(result: subprocess.CompletedProcess[str]) -> str:
    return (result.stderr or result.stdout).strip()[-1500:]


def pgsync_venv() -> Path:
    """PGSync's own virtual environment (created and installed on first use), so its pins stay out of Hub's."""
    bin_dir = PGSYNC_VENV / "bin"
    if not (bin_dir / "pgsync").exists():
        steps = [
            [sys.executable, "-m", "venv", "--clear", str(PGSYNC_VENV)],
            [str(bin_dir / "pip"), "install", "-q", f"pgsync=={PGSYNC_VERSION}"],
        ]
        for argv in steps:
            result = subprocess.run(argv, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise PgsyncUnavailableError(
                    f"{' '.join(argv[-2:])} failed: {(result.stderr or result.stdout).strip()[-800:]}"
                )
    return bin_dir


def redis_binary() -> str:
    """``redis-server``, installed from Debian's packages when missing."""
    found = subprocess.run(["bash", "-c", "command -v redis-server"], capture_output=True, text=True, check=False)
    if found.returncode != 0:
        install = subprocess.run(
            ["bash", "-c", "source scripts/bootstrap.sh && apt_install redis-server"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if install.returncode != 0:
            raise PgsyncUnavailableError(f"redis-server could not be installed: {output_tail(install)}")
        found = subprocess.run(["bash", "-c", "command -v redis-server"], capture_output=True, text=True, check=False)
    return found.stdout.strip()


@dataclass
class PgsyncRun:
    """PGSync against the bench's servers: Redis in a temporary directory, the schema file, its commands."""

    server: SqlServer
    search: SearchServer
    work_dir: Path
    bin_dir: Path = field(default_factory=Path)
    env: dict[str, str] = field(default_factory=dict)
    redis: ManagedProcess | None = None
    daemon: ManagedProcess | None = None

    def start(self) -> None:
        self.bin_dir = pgsync_venv()
        port = free_port()
        argv = [
            redis_binary(),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.work_dir),
        ]
        self.redis = ManagedProcess("redis-server", argv, self.work_dir / "redis.log")
        self.redis.start()
        self.redis.wait_ready(lambda: port_open(port), timeout_s=30)
        schema = [{"database": self.server.database, "index": PGSYNC_INDEX, "nodes": {"table": PGSYNC_TABLE}}]
        (self.work_dir / "schema.json").write_text(json.dumps(schema))
        self.env = {
            "PG_HOST": self.server.host,
            "PG_PORT": str(self.server.port),
            "PG_USER": self.server.user,
            "PG_PASSWORD": self.server.password,
            "ELASTICSEARCH_URL": self.search.url,
            "OPENSEARCH": "true" if self.search.kind == "opensearch" else "false",
            "REDIS_HOST": "127.0.0.1",
            "REDIS_PORT": str(port),
            "REDIS_CHECKPOINT": "true",  # the README's advice for production
            "ELASTICSEARCH_TIMEOUT": str(REQUEST_TIMEOUT_S),
            "CHECKPOINT_PATH": str(self.work_dir),
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, command: str, *args: str) -> None:
        argv = [str(self.bin_dir / command), "--config", str(self.work_dir / "schema.json"), *args]
        result = subprocess.run(
            argv, cwd=self.work_dir, env={**os.environ, **self.env}, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise PgsyncUnavailableError(
                f"{command} {' '.join(args)} failed: {(result.stderr or result.stdout).strip()[-1500:]}"
            )

    def start_daemon(self, timeout_s: float = 600) -> None:
        """``pgsync --daemon``; returns once its status line shows it listens for changes."""
        argv = [str(self.bin_dir / "pgsync"), "--config", str(self.work_dir / "schema.json"), "--daemon"]
        log = self.work_dir / "daemon.log"
        self.daemon = ManagedProcess("pgsync --daemon", argv, log, env=self.env, stop_signal=signal.SIGINT)
        self.daemon.start()
        self.daemon.wait_ready(lambda: "Sync " in log.read_text(errors="replace"), timeout_s=timeout_s)

    def stop(self) -> None:
        if self.daemon is not None:
            self.daemon.stop(timeout_s=30)
            self.daemon = None
        if self.redis is not None and (self.work_dir / "schema.json").exists():
            with contextlib.suppress(PgsyncUnavailableError):
                self.run("bootstrap", "--teardown")  # drops its triggers, views and replication slot
        if self.redis is not None:
            self.redis.stop()
            self.redis = None


# --- CPU from /proc ------------------------------------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of the processes and every live process below them (and their reaped children)."""
    tree = _children()
    ticks = os.sysconf("SC_CLK_TCK")
    total, todo, seen = 0.0, list(pids), set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(v) for v in fields[11:15]) / ticks  # utime, stime, cutime, cstime
        todo += tree.get(pid, [])
    return total
