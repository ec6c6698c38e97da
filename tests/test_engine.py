"""The engine behind its seam: partial runs, link warnings, logging left as found, MkDocs's private parts."""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import pytest
from mkdocs.commands.build import build as mkdocs_build

from helpers import free_port, wait_for

from kite import engine
from kite.engine import pipeline
from kite.engine.livereload import (PRIVATE_ATTRIBUTES, ChangeObserver, MkDocsChanged, PreviewServer,
                                   check_private_names)
from kite.engine.plugin import KitePlugin
from kite.engine.render import mkdocs_config
from kite.loader import load_hub
from kite.pages import site_pages, template_data
from kite.publisher import Publisher


@pytest.fixture
def two_lessons(hub):
    hub.lesson("2026/a", "title: 甲\ndate: 2026-01-01", body="见[乙](b.md)和[不存在的一课](no-such-lesson.md)。\n")
    hub.lesson("b", "title: 乙\ndate: 2026-01-02", body="![图](../content/media/cover.png)\n\n[首页](../index.md)\n")
    hub_ = load_hub(hub.config)
    return hub_, site_pages(hub_, datetime(2026, 11, 27, tzinfo=timezone.utc))


def test_a_partial_run_writes_only_the_pages_asked_for(two_lessons, tmp_path):
    hub, specs = two_lessons
    site = tmp_path / "site"
    # All the site's pages are given; the engine finds the navigation's pages among them itself.
    engine.render(hub, specs, site, template_data(hub), engine.Job(write={"lessons/b.md"}, static=False, clean=False))
    written = sorted(path.relative_to(site).as_posix() for path in site.rglob("*") if path.is_file())
    assert written == ["lessons/b/index.html"]
    page = (site / "lessons/b/index.html").read_text(encoding="utf-8")
    assert '<a href="../../episodes/">乡音e课堂</a>' in page  # the tabs link the section lists


def test_broken_links_are_warned_about_in_the_editors_terms(two_lessons, tmp_path):
    hub, specs = two_lessons
    warnings = engine.render(hub, specs, tmp_path / "site", template_data(hub, ["cover.png"]))
    assert warnings == ["lessons/2026/a.md:5: body: 链接 no-such-lesson.md 指向的页面或文件不存在"]


def test_the_mkdocs_logger_is_left_as_it_was_found(two_lessons, tmp_path):
    hub, specs = two_lessons
    logger = logging.getLogger("mkdocs")
    before = (logger.level, logger.propagate, list(logger.handlers))
    logger.setLevel(logging.INFO)
    logger.propagate = True
    try:
        engine.render(hub, specs, tmp_path / "site", template_data(hub, ["cover.png"]))
        assert (logger.level, logger.propagate, logger.handlers) == (logging.INFO, True, before[2])
    finally:
        logger.setLevel(before[0])
        logger.propagate = before[1]


BODY_WITH_EVERYTHING = """## 做法

正文[^1]，见[乙](b.md)、[首页](../index.md)和 https://example.org/a 。
**加粗**、*斜体*、`代码`、~~删去~~、==标记==、<https://example.org/b>、<ab@example.org>、联系 cd@example.org，
&copy; 与 <span>行内 HTML</span>\\*不是强调\\*，行末两个空格换行  
下一行。

## 做法

| 甲 | 乙 |
| --- | --- |
| 1 | 2 |

!!! note "提醒"
    注意安全。

[^1]: 注释。
"""


def test_page_by_page_the_output_is_what_mkdocs_own_build_writes(hub, tmp_path):
    # One converter for every page: footnotes, heading ids and links must not carry over from page to page.
    hub.lesson("a", "title: 甲\ndate: 2026-01-01", body=BODY_WITH_EVERYTHING)
    hub.lesson("b", "title: 乙\ndate: 2026-01-02", body=BODY_WITH_EVERYTHING)
    hub_ = load_hub(hub.config)
    specs = site_pages(hub_, datetime(2026, 11, 27, tzinfo=timezone.utc))

    def built(name, run) -> dict[str, bytes]:
        site = tmp_path / name
        plugin = KitePlugin(specs, template_data(hub_, ["cover.png"]), None, lambda: None, static_files=True)
        with tempfile.TemporaryDirectory() as docs:
            run(mkdocs_config(hub_, plugin, site, Path(docs), True))
        return {path.relative_to(site).as_posix(): path.read_bytes() for path in site.rglob("*") if path.is_file()}

    mkdocs_own = built("mkdocs", mkdocs_build)
    page_by_page = built("kite", lambda config: pipeline.build(config, clean=True, writes=lambda page: True))
    assert "lessons/b/index.html" in page_by_page and "404.html" in page_by_page
    assert page_by_page == mkdocs_own
    assert 'href="../b/"' in page_by_page["lessons/a/index.html"].decode()
    assert page_by_page["lessons/a/index.html"].decode().count('id="做法_1"') == 1


def test_mkdocs_still_has_the_private_parts_the_engine_uses(monkeypatch):
    pipeline.check_private_names()
    monkeypatch.delattr(pipeline.mkdocs_pages, "_RelativePathTreeprocessor")
    with pytest.raises(pipeline.MkDocsInternalsChanged, match="_RelativePathTreeprocessor"):
        pipeline.check_private_names()


def preview_server(tmp_path, banner: str = "") -> PreviewServer:
    # MkDocs's server binds its port only in serve(); nothing listens here.
    return PreviewServer(lambda: None, "127.0.0.1", 0, tmp_path, "/", banner=lambda: banner)


def test_mkdocs_still_has_the_private_parts_the_preview_uses(tmp_path):
    # Fails loudly when an upgrade of MkDocs renames what kite/engine/livereload.py relies on.
    server = preview_server(tmp_path, banner='<div role="alert">内容有 1 个问题</div>')
    for name in PRIVATE_ATTRIBUTES:
        assert hasattr(server, name), name
    server.request_rebuild()
    assert server._want_rebuild is True
    html = server._inject_js_into_html(b"<html><body><p>page</p></body></html>", 7)
    assert b"livereload(7," in html
    assert html.index(b"<p>page</p>") < html.index(b'<div role="alert">') < html.index(b"</body>")


def test_a_missing_private_part_is_reported_not_ignored(tmp_path):
    server = preview_server(tmp_path)
    del server._want_rebuild
    with pytest.raises(MkDocsChanged, match="_want_rebuild"):
        check_private_names(server)


def test_the_preview_server_answers_404_with_the_sites_page(tmp_path):
    server = preview_server(tmp_path)
    assert server.error_handler(404) is None  # nothing built yet: MkDocs's own text
    (tmp_path / "404.html").write_text("<h1>找不到这个页面</h1>", encoding="utf-8")
    assert server.error_handler(404) == "<h1>找不到这个页面</h1>".encode()
    assert server.error_handler(500) is None


def test_the_preview_hears_of_saves_at_once_and_not_of_reads(tmp_path):
    # Listening to the system's notifications (not listing the folders five times a second);
    # the preview reads files on every rebuild, which must not set off another one.
    content = tmp_path / "content"
    content.mkdir()
    (content / "a.md").write_text("甲", encoding="utf-8")
    server = preview_server(tmp_path / "site")
    server.watch(str(content))
    assert isinstance(server.observer, ChangeObserver)
    server.observer.start()
    try:
        (content / "a.md").read_text(encoding="utf-8")
        time.sleep(0.5)
        assert server._want_rebuild is False
        (content / "a.md").write_text("乙", encoding="utf-8")
        deadline = time.monotonic() + 5
        while not server._want_rebuild and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server._want_rebuild is True
    finally:
        server.observer.stop()
        server.observer.join()


def test_new_lessons_leave_the_other_lessons_unrendered(hub, tmp_path):
    # Tag 甲 is on more lessons than 乙 until d evens them out, and d and e bring a new tag and a new
    # series. A table of every series and tag on each lesson page would change with any of these, and
    # the preview would render every lesson again.
    hub.lesson("a", "title: 一\ndate: 2026-01-01\nseries: 丁\ntags: [乙]")
    hub.lesson("b", "title: 二\ndate: 2026-01-02\nseries: 丙\ntags: [甲]")
    hub.lesson("c", "title: 三\ndate: 2026-01-03\nseries: 丙\ntags: [甲]")
    now = datetime(2026, 11, 27, tzinfo=timezone.utc)
    site = Publisher(tmp_path / "site", workers=1, incremental=True)
    first = load_hub(hub.config)
    site.render_pages(first, site_pages(first, now))
    hub.lesson("d", "title: 四\ndate: 2026-01-04\nseries: 丁\ntags: [乙, 新标签]")
    hub.lesson("e", "title: 五\ndate: 2026-01-05\nseries: 新系列")
    second = load_hub(hub.config)
    stamps = {name: (tmp_path / f"site/lessons/{name}/index.html").stat().st_mtime_ns for name in "abc"}
    time.sleep(0.01)
    site.render_changed_pages(second, site_pages(second, now))
    assert (tmp_path / "site/lessons/d/index.html").exists() and (tmp_path / "site/lessons/e/index.html").exists()
    # b and c keep their pages; a, now d's neighbour in 丁, links to it.
    assert {name: (tmp_path / f"site/lessons/{name}/index.html").stat().st_mtime_ns for name in "bc"} == \
        {name: stamps[name] for name in "bc"}
    assert "四" in (tmp_path / "site/lessons/a/index.html").read_text(encoding="utf-8")


def test_a_rebuild_that_serves_meanwhile_does_not_hold_the_pages(tmp_path):
    # MkDocs holds every request until a rebuild is done. The preview's rebuild that only renders
    # the lists' later pages, left by the edit before, must not hold the page the editor just saved.
    import threading

    import httpx

    (tmp_path / "index.html").write_text("<html><body><p>页</p></body></html>", encoding="utf-8")
    building, release, serve_meanwhile = threading.Event(), threading.Event(), threading.Event()

    def rebuild() -> None:
        if serve_meanwhile.is_set():
            server.serve_during_rebuild()
        building.set()
        release.wait(10)
        if serve_meanwhile.is_set():
            server.reload_after_rebuild()

    port = free_port()
    server = PreviewServer(rebuild, "127.0.0.1", port, tmp_path, "/", banner=lambda: "")
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        wait_for(lambda: httpx.get(f"http://127.0.0.1:{port}/", timeout=5).status_code == 200,
                 what="the server", ignore=(httpx.TransportError,))
        answered = {}
        for meanwhile in (False, True):
            building.clear()
            release.clear()
            (serve_meanwhile.set if meanwhile else serve_meanwhile.clear)()
            shown = server._visible_epoch
            server.request_rebuild()
            assert building.wait(5)
            try:
                answered[meanwhile] = httpx.get(f"http://127.0.0.1:{port}/", timeout=1).status_code
            except httpx.TimeoutException:
                answered[meanwhile] = None
            release.set()
            wait_for(lambda: server._visible_epoch > shown, what="the browsers told to reload")
        assert answered == {False: None, True: 200}
    finally:
        release.set()
        server.shutdown()
        thread.join(10)
