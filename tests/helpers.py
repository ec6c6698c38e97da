"""What tests share besides fixtures: the repository's path, tiny hubs on disk, phone sizes.

Tests import these names from here; ``conftest.py`` holds only fixtures.
"""

from __future__ import annotations

import os
import shutil
import textwrap
import time
from pathlib import Path

from kite.ports import free_port  # noqa: F401  (one helper for tests, benchmarks and the preview)

REPO = Path(__file__).resolve().parent.parent

CONFIG = """\
site_name: 测试云课堂
site_url: https://example.org/hub/
attendance:
  endpoint: https://example.org/checkin
branches:
  - name: 驻宁流动党员联合党委
    branches: [鼓韵堂党支部, 栖息栈党支部]
podcast:
  author: 海安市委组织部
  image: cover.png
"""


class HubFolder:
    """A hub on disk that a test fills file by file."""

    def __init__(self, root: Path):
        self.root = root
        self.config = root / "site_config.yml"

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def lesson(self, name: str, front: str, body: str = "正文。\n") -> Path:
        return self.write(f"lessons/{name}.md", f"---\n{textwrap.dedent(front).strip()}\n---\n{body}")

    def episode(self, name: str, front: str, body: str = "文字稿。\n") -> Path:
        return self.write(f"content/episodes/{name}.md", f"---\n{textwrap.dedent(front).strip()}\n---\n{body}")

    def announcement(self, name: str, front: str, body: str = "活动说明。\n") -> Path:
        return self.write(f"content/announcements/{name}.md", f"---\n{textwrap.dedent(front).strip()}\n---\n{body}")

    def media(self, name: str, data: bytes) -> Path:
        path = self.root / "content/media" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path

    def configure(self, **changes: str) -> None:
        """Replace top-level lines of the config, e.g. ``configure(timezone="Asia/Dubai")``."""
        lines = [line for line in self.config.read_text(encoding="utf-8").splitlines()
                 if line.split(":", 1)[0] not in changes]
        lines += [f"{key}: {value}" for key, value in changes.items()]
        self.config.write_text("\n".join(lines) + "\n", encoding="utf-8")


def wait_for(condition, timeout: float = 15.0, what: str = "condition", ignore: tuple[type[BaseException], ...] = ()):
    """Poll ``condition`` until it returns something true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except ignore:
            value = None
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def chromium_path() -> str:
    for candidate in (os.environ.get("KITE_CHROMIUM"), "chromium", "chromium-browser", "google-chrome-stable", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    raise RuntimeError("没有找到 Chromium：请运行 make install，或设置 KITE_CHROMIUM")


CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def kept_text(page, url: str) -> str:
    """The page as the worker keeps it, or '' when it keeps none."""
    return page.evaluate("""async (url) => {
      for (const name of await caches.keys()) {
        if (!name.endsWith(":pages")) continue;
        const response = await (await caches.open(name)).match(url);
        if (response) return response.text();
      }
      return "";
    }""", url)


def logged_pagefind(folder: Path, monkeypatch) -> Path:
    """Make Kite run Pagefind through a script that logs each run, then runs the real one; return
    the log (read it with ``pagefind_runs``)."""
    import pagefind_bin_extended

    real = Path(pagefind_bin_extended.__file__).parent / "pagefind_extended"
    log = folder / "pagefind-runs.log"
    wrapper = folder / "pagefind-logged.sh"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> {log}\nexec {real} "$@"\n', encoding="utf-8")
    wrapper.chmod(0o755)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", str(wrapper))
    return log


def pagefind_runs(log: Path) -> list[str]:
    """The index parts Pagefind made since the log was last read (by their output folder's name)."""
    text = log.read_text(encoding="utf-8") if log.exists() else ""
    log.write_text("", encoding="utf-8")
    return sorted(word.rsplit("/", 1)[-1] for line in text.splitlines() for word in line.split() if "/bundle-" in word)
