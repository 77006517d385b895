"""``hub demo``: start a throwaway PostgreSQL (``wal_level=logical``) and Elasticsearch-API server, print the
``export`` lines that point the quickstart's connector configs at them, and keep them running until SIGTERM or
Ctrl-C, then stop both and remove their data.

The exports matter in the shell that starts Hub: ``${env:…}`` references in connector configs are resolved in the
Hub server's environment, not in the shell that submits the configs.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

from hub.demo.postgres import LocalPostgres
from hub.demo.process import ServerUnavailableError
from hub.demo.search import LocalSearch

#: Any password works (trust authentication); the quickstart's configs still need one to resolve.
PASSWORD = "postgres"
#: How often the search server's process is checked while the demo runs.
CHECK_EVERY_S = 1.0


@contextmanager
def _stop_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT while the block runs (the previous handlers are put back after)."""
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def serve_demo(echo: Callable[[str], None]) -> None:
    """Start both servers, print where they are, wait for SIGTERM/SIGINT, stop them and remove their files.

    Must run on the main thread (it installs signal handlers). A server that cannot start, or one that exits while
    running, raises ServerUnavailableError (the other is stopped and every file removed first).
    """
    with _stop_signals() as stop, ExitStack() as cleanup:
        postgres = LocalPostgres(wal2json=False)
        cleanup.callback(postgres.stop)
        database = postgres.start()
        search = LocalSearch()
        cleanup.callback(search.stop)
        index = search.start()
        version = postgres.bin_dir.parent.name if postgres.bin_dir else ""
        for line in (
            f"PostgreSQL {version} (wal_level=logical) on {database.host}:{database.port}, data in {postgres.data_dir}",
            f"Elasticsearch API (noida-db) on {index.url}, data in {search.base_dir}",
            "",
            "Run these in the shell that will start Hub, before starting it: the ${env:...} references of connector",
            "configs are resolved in the Hub server's environment.",
            "",
            f"export PGHOST={database.host} PGPORT={database.port} PGUSER={database.user} PGPASSWORD={PASSWORD} "
            f"PGDATABASE={database.database}",
            f"export ELASTICSEARCH_URL={index.url}",
            "",
            f"Stop with Ctrl-C or `kill {os.getpid()}`: both servers stop and their data is removed.",
        ):
            echo(line)
        while not stop.wait(CHECK_EVERY_S):
            process = search.process.process if search.process else None
            if process is not None and process.poll() is not None:
                raise ServerUnavailableError(f"noida-db exited with code {process.returncode}")
        echo("stopping the demo servers")
