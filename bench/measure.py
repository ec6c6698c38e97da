"""Small measuring helpers shared by the benchmarks."""

from __future__ import annotations

import gzip
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Run:
    """One command, measured.

    ``largest_process`` is GNU time's "maximum resident set size" of the command: the largest
    peak of any one process in its tree (the kernel's figure, from wait4).  ``peaks`` are each
    process's own peak (VmHWM), sampled every 50 ms, for saying which process that was; forked
    workers count the pages they share with their parent, as GNU time does.
    """

    wall: float
    cpu: float  # user + system of the command and every process it started
    largest_process: int  # bytes
    peaks: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (role, bytes)
    stderr: str = ""
    system: float = 0.0  # the part of ``cpu`` spent in the kernel

    def largest(self, role: str) -> int:
        """The largest peak of the main process (``main``) or of the others (``child``)."""
        return max((peak for pid, (name, peak) in self.peaks.items() if (name == "main") == (role == "main")), default=0)

    def largest_child(self) -> str:
        """Which process below the command peaked highest (its program's name)."""
        children = [(peak, name) for name, peak in self.peaks.values() if name != "main"]
        return max(children)[1] if children else ""


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                parent = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children.get(current, []))
    return found


def _status(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(key):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    """A process's program and, for Python, its module or script (``python -m kite.search``)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            words = cmdline.read().decode(errors="replace").split("\0")
    except OSError:
        return "child"
    program = os.path.basename(words[0]) if words and words[0] else "child"
    if program.startswith("python") and len(words) > 1:
        return " ".join([program] + words[1:3 if words[1] == "-m" else 2])
    return program


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes (from /proc)."""
    return sum(_status(current, "VmRSS:") for current in descendants(pid))


def measure(command: list[str], **kwargs) -> Run:
    """Run ``command`` to the end; raise SystemExit with its stderr if it fails."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, **kwargs)
    peaks: dict[int, tuple[str, int]] = {}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in descendants(process.pid):
                # The name seen first: an exiting process shows an empty command line.
                role = peaks[pid][0] if pid in peaks else "main" if pid == process.pid else _name(pid)
                peaks[pid] = (role, max(peaks.get(pid, (role, 0))[1], _status(pid, "VmHWM:")))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stderr = bytearray()
    reader = threading.Thread(target=lambda: stderr.extend(process.stderr.read()), daemon=True)
    reader.start()
    # wait4 rather than Popen.wait: it hands back the kernel's accounting of the whole tree.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    reader.join()
    text = stderr.decode(errors="replace")
    if process.returncode != 0:
        raise SystemExit(f"{command[:4]} 失败：\n{text[-2000:]}")
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024, peaks, text, usage.ru_stime)


def run_measured(command: list[str], **kwargs) -> int:
    """Run ``command``; return the peak memory of its largest process (GNU time's figure)."""
    return measure(command, **kwargs).largest_process


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file() and not path.is_symlink())


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=6))
