"""A throwaway MariaDB server from Debian's packages, for the MySQL dialect.

The data directory is a fresh temporary directory; as root the server drops to the ``mysql`` user. A ``hub``
user (password ``hub``) with all rights on database ``hub`` is created over the server's Unix socket.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from tests.harness.process import (
    ManagedProcess,
    ServerUnavailableError,
    free_port,
    require_binary,
    run_checked,
)
from tests.harness.servers import ORIGIN_LOCAL, SqlServer

INSTALL_HINT = "install MariaDB: apt-get install mariadb-server (scripts/test does it)"


class LocalMariaDb:
    """Owns one server: ``start()`` initialises and starts it, ``stop()`` stops it and removes its files."""

    def __init__(self) -> None:
        self.base_dir: Path | None = None
        self.process: ManagedProcess | None = None

    def start(self) -> SqlServer:
        import pymysql

        install_db = require_binary("mariadb-install-db", INSTALL_HINT)
        server = require_binary("/usr/sbin/mariadbd", INSTALL_HINT)
        began = time.monotonic()
        self.base_dir = Path(tempfile.mkdtemp(prefix="hub-test-mariadb-"))
        data_dir = self.base_dir / "data"
        # A private tmpdir: the bootstrap's temporary tables in the shared /tmp were seen vanishing under a
        # parallel run ("Could not remove temporary table ... error: 2", then "Unknown table 'mysql.tmp_user_sys'").
        tmp_dir = self.base_dir / "tmp"
        tmp_dir.mkdir()
        socket_path = self.base_dir / "mysqld.sock"
        user_args = ["--user=mysql"] if os.geteuid() == 0 else []
        if os.geteuid() == 0:
            for owned in (self.base_dir, tmp_dir):
                shutil.chown(owned, "mysql", "mysql")
        run_checked(
            [
                install_db,
                "--no-defaults",
                f"--datadir={data_dir}",
                f"--tmpdir={tmp_dir}",
                *user_args,
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            "mariadb-install-db",
        )
        port = free_port()
        self.process = ManagedProcess(
            "mariadb",
            [
                server,
                "--no-defaults",
                f"--datadir={data_dir}",
                f"--tmpdir={tmp_dir}",
                f"--socket={socket_path}",
                f"--port={port}",
                "--bind-address=127.0.0.1",
                f"--pid-file={self.base_dir / 'mysqld.pid'}",
                "--skip-name-resolve",
                "--innodb-flush-log-at-trx-commit=2",
                "--skip-log-bin",
                *user_args,
            ],
            self.base_dir / "server.log.txt",
        )
        self.process.start()
        self.process.wait_ready(socket_path.exists, timeout_s=60)

        def accepts_root() -> bool:
            pymysql.connect(unix_socket=str(socket_path), user="root").close()
            return True

        self.process.wait_ready(accepts_root, timeout_s=60)
        connection = pymysql.connect(unix_socket=str(socket_path), user="root", autocommit=True)
        try:
            with connection.cursor() as cursor:
                cursor.execute("CREATE DATABASE IF NOT EXISTS hub")
                cursor.execute("CREATE USER IF NOT EXISTS 'hub'@'%' IDENTIFIED BY 'hub'")
                cursor.execute("GRANT ALL PRIVILEGES ON *.* TO 'hub'@'%'")
        finally:
            connection.close()
        if self.process.process is None or self.process.process.poll() is not None:
            raise ServerUnavailableError(f"mariadb exited after start:\n{self.process.log_tail()}")
        return SqlServer(
            dialect="mysql",
            host="127.0.0.1",
            port=port,
            user="hub",
            password="hub",
            database="hub",
            origin=ORIGIN_LOCAL,
            startup_s=time.monotonic() - began,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout_s=30)
            self.process = None
        if self.base_dir is not None:
            shutil.rmtree(self.base_dir, ignore_errors=True)
            self.base_dir = None
