"""A throwaway PostgreSQL 15 cluster from Debian's packages, configured for logical decoding.

initdb and the server run as the unprivileged ``postgres`` user when the suite runs as root (PostgreSQL
refuses to run as root), with the data directory and socket in a fresh temporary directory owned by that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

from tests.harness.process import ServerUnavailableError, free_port, require_binary, run_checked
from tests.harness.servers import ORIGIN_LOCAL, SqlServer

PG_BIN = Path("/usr/lib/postgresql/15/bin")
INSTALL_HINT = "install PostgreSQL 15: apt-get install postgresql-15 postgresql-15-wal2json (scripts/test does it)"


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailableError(f"running as root but there is no 'postgres' user; {INSTALL_HINT}") from None
    return [require_binary("runuser", "install util-linux"), "-u", "postgres", "--", *argv]


class LocalPostgres:
    """Owns one cluster: ``start()`` runs initdb and pg_ctl start; ``stop()`` stops it, removes its files."""

    def __init__(self) -> None:
        self.data_dir: Path | None = None
        self.port = 0

    def start(self) -> SqlServer:
        initdb = require_binary(str(PG_BIN / "initdb"), INSTALL_HINT)
        pg_ctl = require_binary(str(PG_BIN / "pg_ctl"), INSTALL_HINT)
        if not (PG_BIN.parent / "lib" / "wal2json.so").exists():
            raise ServerUnavailableError(f"wal2json output plugin missing; {INSTALL_HINT}")
        began = time.monotonic()
        self.data_dir = Path(tempfile.mkdtemp(prefix="hub-test-pg-"))
        if os.geteuid() == 0:
            shutil.chown(self.data_dir, "postgres", "postgres")
        pgdata = self.data_dir / "data"
        run_checked(
            _as_postgres([initdb, "-D", str(pgdata), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]),
            "initdb",
        )
        self.port = free_port()
        options = " ".join(
            [
                f"-p {self.port}",
                "-c listen_addresses=127.0.0.1",
                f"-k {self.data_dir}",
                "-c wal_level=logical",
                "-c max_replication_slots=40",
                "-c max_wal_senders=10",
                "-c fsync=off",
                "-c full_page_writes=off",
            ]
        )
        run_checked(
            _as_postgres(
                [
                    pg_ctl,
                    "-D",
                    str(pgdata),
                    "-w",
                    "-t",
                    "60",
                    "-l",
                    str(self.data_dir / "server.log"),
                    "-o",
                    options,
                    "start",
                ]
            ),
            "pg_ctl start",
        )
        return SqlServer(
            dialect="postgresql",
            host="127.0.0.1",
            port=self.port,
            user="postgres",
            password="",
            database="postgres",
            origin=ORIGIN_LOCAL,
            startup_s=time.monotonic() - began,
        )

    def stop(self) -> None:
        if self.data_dir is None:
            return
        pg_ctl = str(PG_BIN / "pg_ctl")
        try:
            run_checked(
                _as_postgres([pg_ctl, "-D", str(self.data_dir / "data"), "-m", "immediate", "-w", "stop"]),
                "pg_ctl stop",
                timeout_s=30,
            )
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
