"""``python build.py attend`` as a real process on loopback, for the tests that need one:
kill -9, several instances on one database, backups taken while it runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from helpers import REPO, free_port

class AttendProcess:
    """The endpoint in its own process; the database is given as production gives it, in KITE_DB."""

    def __init__(self, config: Path, db: str, *, env: dict[str, str] | None = None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # A file, not a pipe: a pipe nobody reads would stall the endpoint once it filled up.
        self._output = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, str(REPO / "build.py"), "attend", "-f", str(config), "--port", str(self.port)],
            stdout=self._output, stderr=subprocess.STDOUT,
            env={**os.environ, "KITE_DB": db, **(env or {})},
        )

    def output(self) -> str:
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def wait_until_serving(self, timeout: float = 30) -> "AttendProcess":
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"attend exited with {self.process.returncode}: {self.output()}")
            try:
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError("attend did not answer /health in time")
            time.sleep(0.05)

    def kill(self) -> None:
        """kill -9: no chance to flush or close anything."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._output.close()
