"""A throwaway PostgreSQL server for the tests and benchmarks: Debian's binaries, a temporary folder.

The server refuses to run as root, so when the tests run as root (as CI does) it
runs as the ``postgres`` user through ``runuser``.  It listens on 127.0.0.1 on a
free port and on a socket in its own folder, trusts local connections, and is
always stopped and deleted by ``stop`` (the fixtures call it even when tests fail).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import psycopg

from kite.ports import free_port

SUPERUSER = "kite_test"


def _binaries() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    raise RuntimeError("没有找到 PostgreSQL（pg_ctl）：请以 root 运行 make install，或 apt-get install postgresql")


class PostgresServer:
    def __init__(self, settings: dict[str, str] | None = None):
        self.bin = _binaries()
        self.root = Path(tempfile.mkdtemp(prefix="kite-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        # timezone: initdb takes the machine's, and SQL a test runs with a date in it ('2026-10-01') must
        # mean the same instant on every machine.
        self.settings = {"listen_addresses": "127.0.0.1", "unix_socket_directories": str(self.root),
                         "max_connections": "200", "shared_buffers": "32MB", "timezone": "UTC", **(settings or {})}
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._run_as:
            shutil.chown(self.root, "postgres", "postgres")
        self._pg("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8")

    def _pg(self, program: str, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([*self._run_as, str(self.bin / program), *arguments],
                              capture_output=True, text=True, check=check, cwd=self.root)

    def start(self) -> None:
        """Start (again); on a new free port the first time, on the same port after."""
        for _ in range(5):
            port = self.port or free_port()
            options = " ".join(f"-c {key}={value}" for key, value in {**self.settings, "port": str(port)}.items())
            result = self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "60",
                              "start", check=False)
            if result.returncode == 0:
                self.port = port
                return
            if self.port:  # a restart must keep its port: the endpoint's URL names it
                break
        raise RuntimeError(f"PostgreSQL 没有启动：{result.stderr}\n{self.log.read_text() if self.log.exists() else ''}")

    def stop(self, mode: str = "fast") -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def destroy(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.url(), autocommit=True)

    def create_database(self, name: str) -> str:
        with self.admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        with self.admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def rename_database(self, name: str, new_name: str) -> None:
        with self.admin() as connection:
            connection.execute(f'ALTER DATABASE "{name}" RENAME TO "{new_name}"')

    def dump(self, database: str) -> str:
        """The database as pg_dump writes it: schema and rows."""
        result = subprocess.run([str(self.bin / "pg_dump"), "--no-owner", self.url(database)],
                                capture_output=True, text=True, check=True)
        # pg_dump brackets its output with a random \restrict key; the rest is what is stored.
        return "".join(line for line in result.stdout.splitlines(keepends=True)
                       if not line.startswith(("\\restrict ", "\\unrestrict ")))
