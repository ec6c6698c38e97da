"""What `build.py serve` serves after each of a sequence of edits equals a fresh build of the
same content into an empty folder.

The preview re-renders only pages whose spec changed, reuses feeds and calendars made from equal
inputs, keeps the loader's models of unchanged files, and updates "upcoming/past" when an
activity ends: each shortcut must leave nothing stale.  One real preview process on loopback
follows the whole sequence; after each edit the test polls what it serves until it equals the
fresh build (or times out and names every difference).

The preview's intended differences, and only these, are normalised (``PREVIEW_ONLY``).
"""

from __future__ import annotations

import os
import re
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from helpers import free_port
from kite.build import build
from same_as_fresh import EDITS, files, lesson, make_hub
from test_preview import Preview

# What the preview serves differently on purpose, each with why.
PREVIEW_ONLY = {
    "live reload": "every HTML page ends with MkDocs's live-reload script and the preview's marker "
                   "`window.kitePreview = true` (which keeps the page from registering the service worker)",
    "endpoint": "check-in forms post to the preview's own endpoint on loopback, not attendance.endpoint",
    "no worker": "sw.js is not written: a worker would show an editor a page as it was before a save",
    "not compressed": "no .gz/.br copies: the preview's server does not serve them",
    "problem banner": "while the content has an error, every page shows it at the bottom (the last good "
                      "site is served: compared with the last fresh build)",
    "drafts": "while a draft exists the preview shows it in pages and lists, marked 草稿; then only the "
              "feeds, calendars and sitemap (never showing drafts) are compared",
}
INJECTED = re.compile(rb'<script>\s*var livereload = function\(epoch, requestId\).*?</script>'
                      rb'<script>window\.kitePreview = true;</script>(?=</body>)', re.DOTALL)
BANNER = re.compile(rb'<div role="alert" style="[^"]*"><strong>[^<]*</strong><ul [^>]*>.*?</ul></div>(?=</body>)',
                    re.DOTALL)
SUBSCRIPTIONS = re.compile(r"(\.xml|\.ics)$")


def served(client: httpx.Client, workspace: Path, base: str, endpoint: str, problems: bool = False) -> dict[str, bytes]:
    """Every file the preview's site holds, as its server answers for it, normalised."""
    site = next(workspace.glob("kite-preview-*/site"))
    found = {}
    for path in sorted(files(site)):
        if path.endswith(".kite-new"):
            continue  # a file being replaced this moment; the next poll sees it in place
        address = base + quote(path.removesuffix("index.html"))
        response = client.get(address)
        if response.status_code == 404:
            continue  # removed between listing and asking
        assert response.status_code == 200, (address, response.status_code)
        content = response.content
        if path.endswith(".html"):
            if problems:
                content, shown = BANNER.subn(b"", content)  # PREVIEW_ONLY["problem banner"]
                assert shown == 1, f"no problem banner on {path}"
            content, injected = INJECTED.subn(b"", content)  # PREVIEW_ONLY["live reload"]
            assert injected == 1, f"no live-reload script on {path}"
            assert b'role="alert"' not in content, path  # no problem banner
            content = content.replace(endpoint.encode(), b"https://example.org/checkin")  # PREVIEW_ONLY["endpoint"]
        found[path] = content
    return found


def expected(fresh: Path) -> dict[str, bytes]:
    return {path: file.read_bytes() for path, file in files(fresh).items()
            if path != "sw.js"  # PREVIEW_ONLY["no worker"]
            and not path.endswith((".gz", ".br"))}  # PREVIEW_ONLY["not compressed"]


def compare(shown: dict[str, bytes], fresh: dict[str, bytes], *, drafts: bool) -> list[str]:
    if drafts:  # PREVIEW_ONLY["drafts"]
        shown = {path: data for path, data in shown.items() if SUBSCRIPTIONS.search(path)}
        fresh = {path: data for path, data in fresh.items() if SUBSCRIPTIONS.search(path)}
    found = [f"only in the preview: {path}" for path in sorted(shown.keys() - fresh.keys())]
    found += [f"only in the fresh build: {path}" for path in sorted(fresh.keys() - shown.keys())]
    found += [f"differs: {path}: {_first_difference(shown[path], fresh[path])}"
              for path in sorted(shown.keys() & fresh.keys()) if shown[path] != fresh[path]]
    return found


def _first_difference(shown: bytes, fresh: bytes) -> str:
    """Where two files part, a little of each, to read in the failure."""
    at = next((index for index, (a, b) in enumerate(zip(shown, fresh)) if a != b), min(len(shown), len(fresh)))
    part = lambda data: data[max(0, at - 80):at + 80].decode("utf-8", "replace")  # noqa: E731
    return f"preview «{part(shown)}» / fresh «{part(fresh)}»"


def iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


@pytest.mark.timeout(900)  # 30 steps, each a fresh build and the preview's update: 80 s on a quiet machine
def test_the_preview_serves_what_a_fresh_build_makes_after_every_edit(tmp_path):
    now = datetime.now(timezone.utc)
    hub = make_hub(tmp_path / "hub", now=now)
    (hub.root / "lessons/草稿.md").unlink()  # comes back as a step
    workspace = tmp_path / "temp"
    workspace.mkdir()
    # The preview's workspace goes where the test can list its site.
    preview = Preview(hub, free_port(), env={**os.environ, "TMPDIR": str(workspace)})
    client = httpx.Client()
    try:
        endpoint = preview.endpoint()
        base = preview.base
        fresh_dir = tmp_path / "fresh"
        failures: dict[str, list[str]] = {}
        want: dict[str, bytes] = {}

        def same(step: str, *, at: datetime | None = None, drafts: bool = False, problems: bool = False,
                 timeout: float = 40) -> None:
            nonlocal want
            started = time.monotonic()
            if not problems:  # (with problems: the last good build)
                build(hub.config, fresh_dir, now=at or datetime.now(timezone.utc))
                want = expected(fresh_dir)
            deadline = time.monotonic() + timeout
            while True:
                try:
                    found = compare(served(client, workspace, base, endpoint, problems), want, drafts=drafts)
                except AssertionError as error:  # (the banner not yet shown, or still shown)
                    found = [f"{error}"]
                if not found or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            if found:
                failures[step] = found
            print(f"{step}: {time.monotonic() - started:.1f} s", flush=True)

        same("start")
        for name, edit in EDITS.items():
            if name in ("time_passes", "published", "nothing"):
                continue  # below: the preview's clock is the real one, and the draft comes first
            edit(hub)
            if name == "site_url_path":
                base = base.replace("/hub/", "/other/")  # the preview moves with site_url's path
            same(name)

        # A content error: the last good site stays, with the problem shown; then the fix.
        broken = lesson(hub, "broken", "写到一半", "三月一日")
        same("content error", problems=True)
        broken.unlink()
        same("content error fixed")

        # A draft appears: drafts shown; then published.
        lesson(hub, "草稿", "还没写完的课", "2026-04-01", extra="draft: true")
        same("draft added", drafts=True)
        EDITS["published"](hub)
        same("published")

        # An activity ends half a minute from now: the preview moves it among the past by itself.
        # (Far enough ahead that its step is compared before it ends, on a busy machine too.)
        ends = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=30)
        hub.announcement("ending", f"title: 马上结束的学习\ndate: 2026-04-04\nstarts: {iso(ends - timedelta(hours=1))}\n"
                                   f"ends: {iso(ends)}")
        same("activity added", at=ends - timedelta(seconds=29))
        while datetime.now(timezone.utc) <= ends + timedelta(seconds=1):
            time.sleep(0.2)
        same("activity ended")
        same("nothing")
        assert failures == {}, "\n".join(f"after {step}:\n  " + "\n  ".join(found) for step, found in failures.items())
    finally:
        client.close()
        preview.stop()
