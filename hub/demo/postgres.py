"""A throwaway PostgreSQL cluster from Debian's packages, configured for logical decoding (``wal_level=logical``).

initdb and the server run as the unprivileged ``postgres`` user when started as root (PostgreSQL refuses to run as
root), with the data directory and socket in a fresh temporary directory owned by that user. Authentication is
``trust`` on 127.0.0.1: any password is accepted for the ``postgres`` superuser.
"""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
import time
from pathlib import Path

from hub.demo.process import ServerUnavailableError, free_port, require_binary, run_checked
from hub.demo.servers import ORIGIN_LOCAL, SqlServer

PG_ROOT = Path("/usr/lib/postgresql")
INSTALL_HINT = "install PostgreSQL: apt-get install postgresql (the test suite also needs postgresql-15-wal2json)"


def pg_bin() -> Path:
    """The ``bin`` directory of the newest PostgreSQL installed from Debian's packages (15 on bookworm)."""
    installed = [path.parent for path in PG_ROOT.glob("*/bin/initdb") if path.parent.parent.name.isdigit()]
    if not installed:
        raise ServerUnavailableError(f"no PostgreSQL server under {PG_ROOT}; {INSTALL_HINT}")
    return max(installed, key=lambda path: int(path.parent.name))


def _as_postgres(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise ServerUnavailableError(f"running as root but there is no 'postgres' user; {INSTALL_HINT}") from None
    return [require_binary("runuser", "install util-linux"), "-u", "postgres", "--", *argv]


class LocalPostgres:
    """Owns one cluster: ``start()`` runs initdb and pg_ctl start; ``stop()`` stops it, removes its files.

    With ``wal2json`` (the test suite's default) the wal2json output plugin must be installed too."""

    def __init__(self, *, wal2json: bool = True) -> None:
        self.wal2json = wal2json
        self.data_dir: Path | None = None
        self.bin_dir: Path | None = None
        self.port = 0

    def start(self) -> SqlServer:
        self.bin_dir = bin_dir = pg_bin()
        initdb = require_binary(str(bin_dir / "initdb"), INSTALL_HINT)
        pg_ctl = require_binary(str(bin_dir / "pg_ctl"), INSTALL_HINT)
        if self.wal2json and not (bin_dir.parent / "lib" / "wal2json.so").exists():
            raise ServerUnavailableError(
                f"wal2json output plugin missing; apt-get install postgresql-{bin_dir.parent.name}-wal2json"
            )
        began = time.monotonic()
        self.data_dir = Path(tempfile.mkdtemp(prefix="hub-pg-"))
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
        if self.data_dir is None or self.bin_dir is None:
            return
        pg_ctl = str(self.bin_dir / "pg_ctl")
        pgdata = self.data_dir / "data"
        try:
            if (pgdata / "postmaster.pid").exists():  # not after a failed start: that error is the one to see
                run_checked(
                    _as_postgres([pg_ctl, "-D", str(pgdata), "-m", "immediate", "-w", "stop"]),
                    "pg_ctl stop",
                    timeout_s=30,
                )
        finally:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
