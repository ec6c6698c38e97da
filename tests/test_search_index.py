"""The search index built beside the build: in its own process, stopped with its Pagefind."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kite.search import SearchIndexFailed, start_index


def test_a_stopped_index_leaves_no_process_and_no_files(sample_site, tmp_path):
    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    shutil.rmtree(site / "pagefind")
    indexing = start_index(site)
    indexing.stop()
    assert indexing.process.returncode is not None
    with pytest.raises(ProcessLookupError):  # the whole process group is gone: Pagefind too
        os.killpg(indexing.process.pid, 0)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]
    assert not (site / "pagefind").exists()


def test_an_index_that_fails_says_so_and_cleans_up(tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><body><p>没有 data-pagefind-body 的页面</p></body></html>", encoding="utf-8")
    (tmp_path / "file").write_text("", encoding="utf-8")
    indexing = start_index(site, output=tmp_path / "file" / "pagefind")  # under a file: cannot be written
    with pytest.raises(SearchIndexFailed, match="^搜索索引生成失败：.*file"):
        indexing.finish()
    assert sorted(path.name for path in tmp_path.iterdir()) == ["file", "site"]


def _alive(pid: int) -> bool:
    """Running, not a zombie left for a parent that does not reap (PID 1 in a container may not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("background", [True, False], ids=["preview", "build"])
def test_the_indexer_and_its_pagefind_die_with_whoever_started_them(tmp_path, background):
    # A preview stopped with kill, or a build killed outright, must not leave Pagefind running on.
    from helpers import REPO, wait_for

    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html lang=zh><body><main data-pagefind-body><p>风筝</p></main></body></html>",
                                     encoding="utf-8")
    pids = tmp_path / "pids"
    slow = tmp_path / "slow-pagefind"
    slow.write_text(f'#!/bin/sh\necho $$ > "{pids}"\nexec sleep 300\n', encoding="utf-8")
    slow.chmod(0o755)
    starter = ("import os, sys, time\nfrom pathlib import Path\nfrom kite.search import start_index\n"
               f"indexing = start_index(Path({str(site)!r}), background={background})\n"
               "print(indexing.process.pid, flush=True)\n"
               f"while not Path({str(pids)!r}).exists(): time.sleep(0.05)\n"
               "os._exit(0)  # gone without a word, as with kill -9\n")
    result = subprocess.run([sys.executable, "-c", starter], capture_output=True, text=True, timeout=60, cwd=REPO,
                            env={**os.environ, "PAGEFIND_BINARY_PATH": str(slow)})
    indexer, pagefind = int(result.stdout.split()[0]), int(pids.read_text().strip())
    wait_for(lambda: not _alive(indexer) and not _alive(pagefind), timeout=10, what="the indexer and Pagefind to end")


def bundle_files(bundle) -> dict[str, bytes]:
    return {str(path.relative_to(bundle)): path.read_bytes() for path in sorted(bundle.rglob("*")) if path.is_file()}


def test_parts_indexed_at_once_make_the_index_made_one_after_another(sample_site, tmp_path, monkeypatch):
    # A big hub's parts run one per core at once (where the memory allows): the same index.
    from kite import search

    outstanding, most = [0], [0]
    start, finish = search._start_pagefind, search._finish_pagefind

    def counted_start(*arguments, **options):
        outstanding[0] += 1
        most[0] = max(most[0], outstanding[0])
        return start(*arguments, **options)

    def counted_finish(started):
        outstanding[0] -= 1
        return finish(started)

    monkeypatch.setattr(search, "_start_pagefind", counted_start)
    monkeypatch.setattr(search, "_finish_pagefind", counted_finish)
    monkeypatch.setattr(search, "PART_MEMORY", 1)  # whatever this machine has free
    made = {}
    for workers in (1, 2):
        site = tmp_path / f"site-{workers}"
        shutil.copytree(sample_site, site)
        most[0] = 0
        search.index_search(site, workers=workers, shard_pages=5)
        assert most[0] == workers
        made[workers] = bundle_files(site / "pagefind")
    assert len([name for name in made[1] if name.startswith("merge/")]) > 10
    assert made[2] == made[1]


def test_a_part_that_fails_among_others_running_fails_the_index(sample_site, tmp_path, monkeypatch):
    from kite import search

    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    monkeypatch.setattr(search, "PART_MEMORY", 1)
    monkeypatch.setenv("PAGEFIND_BINARY_PATH", "/bin/false")
    with pytest.raises(SearchIndexFailed, match="^搜索索引生成失败"):
        search.index_search(site, workers=2, shard_pages=5, scratch=tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]


def test_parts_are_few_and_even_and_each_page_keeps_its_own():
    from kite.search import part_shares

    def hub(lessons: int) -> list[str]:
        return sorted([f"lessons/lesson-{n:05d}/index.html" for n in range(lessons)]
                      + [f"episodes/e{n}/index.html" for n in range(300)] + [f"announcements/a{n}/index.html" for n in range(600)])

    for lessons, parts in ((100, 1), (1_566, 3), (10_000, 4), (30_000, 11)):
        pages = hub(lessons)
        shares = part_shares(pages, 3000)
        assert len(shares) == parts, lessons
        assert sorted(page for share in shares for page in share) == pages  # each page once
        assert all(share == sorted(share) for share in shares)  # in the site's order
        assert max(map(len, shares)) < 1.1 * len(pages) / parts  # even: the memory bound holds
    assert [len(share) for share in part_shares(hub(1_566), 1_000)] == [len(share) for share in part_shares(hub(1_566), 3000)]
    assert len(part_shares(hub(1_566), 500)) == 5  # a server short of memory: smaller parts

    # A new lesson, and one removed: every other page stays in its part.
    pages = hub(10_000)
    shares = part_shares(pages, 3000)
    grown = part_shares(sorted(pages + ["lessons/lesson-00000a/index.html"]), 3000)
    assert sum(old != new for old, new in zip(shares, grown)) == 1
    shrunk = part_shares([page for page in pages if page != "lessons/lesson-05000/index.html"], 3000)
    assert sum(old != new for old, new in zip(shares, shrunk)) == 1
    assert part_shares([], 3000) == [[]]


def test_a_server_short_of_memory_indexes_one_part_at_a_time(monkeypatch):
    from kite import search

    monkeypatch.setattr(search, "PART_MEMORY", 2 ** 62)  # more than any machine has
    assert search._parts_at_once(workers=2, parts=4) == 1
    monkeypatch.setattr(search, "PART_MEMORY", 1)
    assert search._parts_at_once(workers=2, parts=4) == 2
    assert search._parts_at_once(workers=4, parts=3) == 3


def indexed_urls(bundle) -> list[str]:
    """The address of each page in the index, its parts' included, as many times as it is there."""
    found = []
    for fragment in sorted(bundle.rglob("*.pf_fragment")):
        data = gzip.decompress(fragment.read_bytes()).removeprefix(b"pagefind_dcd")
        found.append(json.loads(data)["url"])
    return sorted(found)


def viewed(monkeypatch):
    """Index as before globs: each part through a folder of hard links to its pages."""
    from kite import search

    monkeypatch.setattr(search, "page_glob", lambda pages: None)


def test_the_pages_collected_while_rendering_are_those_a_scan_finds(tmp_path, monkeypatch):
    # A build lists the pages that mark something to index as it writes them, instead of reading
    # every page back to find them: the same pages, also those the hub's own templates mark (its
    # 404.html, its home page, a tag's page, none of which Kite's own templates mark), so the same
    # index, byte for byte; and the same as Pagefind makes from a folder of links to them alone.
    from helpers import REPO

    from kite import search
    from kite.build import build

    hub = tmp_path / "hub"
    shutil.copytree(REPO, hub, ignore=shutil.ignore_patterns(".*", "site", "tests", "bench", "kite*", "docs", "scripts"))
    (hub / "templates").mkdir(exist_ok=True)
    (hub / "templates" / "404.html").write_text(
        '{% extends "main.html" %}\n{% block content %}<div data-pagefind-body><h1>找不到这个页面</h1>'
        "<p>迷路的风筝</p></div>{% endblock %}\n", encoding="utf-8")
    (hub / "templates" / "home.html").write_text(
        '{% extends "main.html" %}\n{% block content %}<div data-pagefind-body><h1>首页</h1>'
        "<p>风筝之家欢迎你</p></div>{% endblock %}\n", encoding="utf-8")
    (hub / "templates" / "lesson_list.html").write_text(
        '{% extends "main.html" %}\n{% block content %}<h1>{{ spec.title }}</h1>'
        '{% if term_kind == "tags" %}<div data-pagefind-body><p>标签 {{ term.name }}</p></div>{% endif %}'
        "{% endblock %}\n", encoding="utf-8")
    site = tmp_path / "site"
    build(hub / "site_config.yml", site)
    marked = search.marked_pages(site)
    assert {"404.html", "index.html"} <= set(marked)
    tag_pages = [page for page in marked if page.startswith("lessons/tags/")]
    assert tag_pages and not [page for page in marked if page.startswith("lessons/series/")]
    built = {name: data for name, data in bundle_files(site / "pagefind").items() if not name.endswith((".gz", ".br"))}
    urls = indexed_urls(site / "pagefind")
    assert "/" in urls and "/404.html" in urls and len(urls) == len(set(urls)) == len(marked)
    assert set(urls) >= {"/" + page.removesuffix("index.html") for page in tag_pages}
    search.index_search(site, output=tmp_path / "scanned")
    viewed(monkeypatch)
    search.index_search(site, output=tmp_path / "viewed")
    assert built == bundle_files(tmp_path / "scanned") == bundle_files(tmp_path / "viewed")
    assert sorted(path.name for path in tmp_path.iterdir()) == [".site.kite-pages", "hub", "scanned", "site", "viewed"]  # no scratch left


def test_collected_pages_are_indexed_in_parts_as_scanned_ones(sample_site, tmp_path, monkeypatch):
    from kite import search

    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    scratch = search.new_scratch(site)
    pages = search.marked_pages(site)
    search.record_marked(pages[::2], str(search.marked_lists(scratch)))  # as two render processes list them
    search.record_marked(pages[1::2], str(search.marked_lists(scratch)))
    search.index_search(site, output=tmp_path / "collected", shard_pages=5, scratch=scratch, collected=True)
    search.index_search(site, output=tmp_path / "scanned", shard_pages=5)
    viewed(monkeypatch)
    search.index_search(site, output=tmp_path / "viewed", shard_pages=5)
    assert len([name for name in bundle_files(tmp_path / "collected") if name.startswith("merge/")]) > 10
    assert bundle_files(tmp_path / "collected") == bundle_files(tmp_path / "scanned") == bundle_files(tmp_path / "viewed")


# Folder names a glob would read as a pattern, beside the names the pattern would match: a page
# named in a glob without care would be indexed twice (by its part and by its neighbour's) or not at all.
AWKWARD = ["a[1]", "a1", "b]", "c{d}", "cd", "e,f", "e", "f", "g*h", "gxh", "i?j", "ixj", "!k", "k", "-l", "l",
           "$m", "mm", "n(o)", "no", "p<q:r>", "pq", "s~t#u", "x y", "中文[目录]", "中文目", "风筝-2026", "back\\slash"]


def test_a_page_is_indexed_once_whatever_its_folder_is_called(tmp_path, monkeypatch):
    from kite import search

    site = tmp_path / "site"
    for name in AWKWARD + ["unmarked"]:
        (site / name).mkdir(parents=True)
        body = "" if name == "unmarked" else " data-pagefind-body"
        (site / name / "index.html").write_text(f"<html lang=zh><body><main{body}><p>风筝 {name}</p></main></body></html>",
                                                 encoding="utf-8")
    (site / "deep" / "中文[目录]").mkdir(parents=True)
    (site / "deep" / "中文[目录]" / "a,b.html").write_text("<html lang=zh><body><main data-pagefind-body><p>风筝</p></main>"
                                                           "</body></html>", encoding="utf-8")
    pages = search.marked_pages(site)
    assert len(pages) == len(AWKWARD) + 1
    assert search.page_glob(pages) is None  # the backslash: that part goes through a folder of links
    assert search.page_glob([page for page in pages if "\\" not in page]) is not None
    for shard_pages in (1, 3, 1000):  # each page a part of its own: any stray match is a second copy
        search.index_search(site, output=tmp_path / f"globbed-{shard_pages}", shard_pages=shard_pages, workers=2)
        urls = indexed_urls(tmp_path / f"globbed-{shard_pages}")
        assert len(urls) == len(set(urls)) == len(pages), shard_pages
    viewed(monkeypatch)
    search.index_search(site, output=tmp_path / "viewed", shard_pages=3, workers=2)
    assert bundle_files(tmp_path / "globbed-3") == bundle_files(tmp_path / "viewed")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["globbed-1", "globbed-1000", "globbed-3", "site", "viewed"]


def test_a_site_named_relative_to_the_working_folder_is_indexed(sample_site, tmp_path, monkeypatch):
    # Pagefind runs in a folder of its own (where its configuration is), not in the caller's.
    from kite import search

    shutil.copytree(sample_site, tmp_path / "site")
    monkeypatch.chdir(tmp_path)
    search.index_search(Path("site"), output=Path("relative"), shard_pages=5, workers=2)
    search.index_search(tmp_path / "site", output=tmp_path / "absolute", shard_pages=5, workers=2)
    assert len(indexed_urls(tmp_path / "relative")) == len(search.marked_pages(tmp_path / "site"))
    assert bundle_files(tmp_path / "relative") == bundle_files(tmp_path / "absolute")


def test_pagefind_settings_left_in_the_shell_do_not_change_the_index(sample_site, tmp_path, monkeypatch):
    # Pagefind reads each option from a PAGEFIND_ variable as well, ahead of the glob Kite gives it.
    from kite import search

    shutil.copytree(sample_site, tmp_path / "site")
    search.index_search(tmp_path / "site", output=tmp_path / "clean", shard_pages=5, workers=2)
    monkeypatch.setenv("PAGEFIND_GLOB", "index.html")
    monkeypatch.setenv("PAGEFIND_EXCLUDE_SELECTORS", "p")
    search.index_search(tmp_path / "site", output=tmp_path / "shell", shard_pages=5, workers=2)
    assert bundle_files(tmp_path / "shell") == bundle_files(tmp_path / "clean")


def test_the_preview_reindex_takes_in_a_page_added_since(sample_site, tmp_path):
    # The preview re-indexes the site it serves after each edit: by reading the site for the marked
    # pages (none are listed for it), a new one included, and swapping the new index in whole.
    from kite import search

    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    before = indexed_urls(site / "pagefind")
    (site / "lessons" / "新的[一课]").mkdir()
    (site / "lessons" / "新的[一课]" / "index.html").write_text(
        "<html lang=zh><body><main data-pagefind-body><h1>新的一课</h1><p>风筝飞过工地</p></main></body></html>",
        encoding="utf-8")
    search.reindex_search(site)
    assert indexed_urls(site / "pagefind") == sorted(before + ["/lessons/新的[一课]/"])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["site"]


def test_the_preview_reindex_links_the_parts_made_from_unchanged_pages(sample_site, tmp_path, monkeypatch):
    # The preview re-indexes after every burst of saves; a page it did not render again is the same
    # file, so only the part holding an edited page is made again, and the index is as a full one.
    from kite import search

    from helpers import logged_pagefind, pagefind_runs

    log = logged_pagefind(tmp_path, monkeypatch)
    monkeypatch.setenv("KITE_SEARCH_PART_PAGES", "4")
    site = tmp_path / "site"
    shutil.copytree(sample_site, site)
    first = search.reindex_search(site)
    parts = pagefind_runs(log)
    assert len(parts) >= 3 and first is not None and len(first["parts"]) == len(parts)
    second = search.reindex_search(site, last=first)
    assert pagefind_runs(log) == []
    assert bundle_files(site / "pagefind") and second["parts"] == first["parts"]

    page = site / search.marked_pages(site)[0]
    edited = page.with_name("index.html.new")
    edited.write_text(page.read_text(encoding="utf-8").replace("</h1>", "</h1><p>风筝线又加长了一段</p>", 1), encoding="utf-8")
    edited.replace(page)  # as the preview writes a page: beside, then renamed over
    search.reindex_search(site, last=second)
    held = [number for number, share in enumerate(search.part_shares(search.marked_pages(site), 4))
            if page.relative_to(site).as_posix() in share]
    assert pagefind_runs(log) == [f"bundle-{held[0]}"]
    whole = tmp_path / "whole"
    shutil.copytree(site, whole)
    search.reindex_search(whole)
    assert bundle_files(site / "pagefind") == bundle_files(whole / "pagefind")


def test_the_build_waits_for_pagefind_at_its_own_priority(tmp_path):
    # Linux shares the CPU between sessions first: an indexer in a session of its own got one core
    # of two while the build compressed, so the build's index is only a process group of its own
    # (for ``stop`` to end it with its Pagefind).  Once it has started, the command-line build lowers
    # its own priority: Pagefind, which it then waits for, comes first.
    import pagefind_bin_extended

    from helpers import REPO

    real = Path(pagefind_bin_extended.__file__).parent / "pagefind_extended"
    log = tmp_path / "seen.json"
    wrapper = tmp_path / "pagefind-watched"
    wrapper.write_text(f"""#!{sys.executable}
import json, os, sys, time

def stat(pid):
    fields = open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()
    return {{"parent": int(fields[1]), "group": int(fields[2]), "session": int(fields[3]), "nice": int(fields[16])}}

me = stat(os.getpid())
build = stat(me["parent"])["parent"]  # Pagefind <- python -m kite.search <- the build
deadline = time.monotonic() + 20
while stat(build)["nice"] == me["nice"] and time.monotonic() < deadline:
    time.sleep(0.02)
json.dump({{"pagefind": me, "build": {{**stat(build), "pid": build}}}}, open({str(log)!r}, "w"))
os.execv({str(real)!r}, [{str(real)!r}, *sys.argv[1:]])
""", encoding="utf-8")
    wrapper.chmod(0o755)
    result = subprocess.run([sys.executable, str(REPO / "build.py"), "build", "-d", str(tmp_path / "site")],
                            cwd=REPO, capture_output=True, text=True, env={**os.environ, "PAGEFIND_BINARY_PATH": str(wrapper)})
    assert result.returncode == 0, result.stderr
    seen = json.loads(log.read_text(encoding="utf-8"))
    pagefind, build = seen["pagefind"], seen["build"]
    assert pagefind["session"] == build["session"] == os.getsid(0)
    assert pagefind["group"] not in (build["group"], os.getpgid(0))
    assert pagefind["nice"] == os.nice(0)
    assert build["nice"] > pagefind["nice"]


def test_a_system_that_refuses_the_lower_priority_still_builds(tmp_path, monkeypatch):
    # Lowering the priority is a hint: a container that forbids setpriority must not fail the build.
    from helpers import REPO

    from kite.build import build

    def refused(increment):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "nice", refused)
    report = build(REPO / "site_config.yml", tmp_path / "site", yield_to_index=True)
    assert report.pages and (tmp_path / "site" / "pagefind" / "pagefind.js").is_file()


def _fragments(bundle) -> dict[str, dict]:
    """Each indexed page's fragment (its words, metadata and filters), by its address."""
    found = {}
    for fragment in sorted(bundle.rglob("*.pf_fragment")):
        data = json.loads(gzip.decompress(fragment.read_bytes()).removeprefix(b"pagefind_dcd"))
        found[data["url"]] = data
    return found


def _settings_used(monkeypatch) -> list[dict]:
    """Record the settings each Pagefind run is started with (its pagefind.json)."""
    from kite import search

    used, start = [], search._start_pagefind

    def recorded(site, output, folder, pages, **options):
        started = start(site, output, folder, pages, **options)
        settings = folder / "pagefind.json"
        used.append(json.loads(settings.read_text(encoding="utf-8")) if settings.exists() else {})
        return started

    monkeypatch.setattr(search, "_start_pagefind", recorded)
    return used


def test_pagefind_starts_at_the_body_of_kites_pages_and_makes_the_same_index(sample_site, tmp_path, monkeypatch):
    # Kite's pages keep all that Pagefind reads in their <article data-pagefind-body>: told to start
    # there, it skips the header, contents and footer, and writes the very same index.
    from kite import search

    shutil.copytree(sample_site, tmp_path / "site")
    used = _settings_used(monkeypatch)
    search.index_search(tmp_path / "site", output=tmp_path / "narrow", shard_pages=5, workers=2)
    assert len(used) > 1 and all(settings.get("root_selector") == search.NARROW_ROOT for settings in used)
    monkeypatch.setattr(search, "body_digest", lambda site, pages: None)
    search.index_search(tmp_path / "site", output=tmp_path / "whole", shard_pages=5, workers=2)
    assert "root_selector" not in used[-1]
    assert bundle_files(tmp_path / "narrow") == bundle_files(tmp_path / "whole")
    fragments = _fragments(tmp_path / "narrow")
    assert fragments and all(page["meta"].get("title") and page["meta"].get("kind") for page in fragments.values())


def test_a_hub_template_with_a_filter_outside_the_body_is_indexed_whole(tmp_path, monkeypatch):
    # A hub's own template may put a filter or metadata outside the body element, where Pagefind
    # reads it too: a part holding such a page is indexed whole, and the filter is in the index.
    from kite import search

    site = tmp_path / "site"
    pages = {
        "plain": '<main data-pagefind-body><h1>风筝</h1><p>工地夜校</p></main>',
        "filtered": '<nav data-pagefind-filter="支部:南京"></nav><main data-pagefind-body><h1>线</h1><p>牵住</p></main>',
    }
    for name, body in pages.items():
        (site / name).mkdir(parents=True)
        (site / name / "index.html").write_text(f"<html lang=zh><body>{body}</body></html>", encoding="utf-8")
    used = _settings_used(monkeypatch)
    search.index_search(site, output=tmp_path / "together", shard_pages=5)
    assert used == [{"glob": "{filtered/index.html,plain/index.html}"}]
    assert _fragments(tmp_path / "together")["/filtered/"]["filters"] == {"支部": ["南京"]}
    search.index_search(site, output=tmp_path / "apart", shard_pages=1)  # each page a part of its own
    assert sorted("root_selector" in settings for settings in used[1:]) == [False, True]
    assert _fragments(tmp_path / "apart")["/filtered/"]["filters"] == {"支部": ["南京"]}


@pytest.mark.parametrize("page, narrow", [
    ('<html lang=zh><head><title>t</title></head><body><header><nav>首页</nav></header>'
     '<article data-pagefind-body data-pagefind-meta="kind:党课"><h1 data-pagefind-meta="title">一</h1></article>'
     '<footer>页脚</footer></body></html>', True),
    # what Pagefind reads outside the body: filters, metadata, default metadata, sort keys
    ('<body><p data-pagefind-meta="a:b">x</p><article data-pagefind-body>一</article></body>', False),
    ('<body><article data-pagefind-body>一</article><p data-pagefind-sort="date:2026">x</p></body>', False),
    ('<body><article data-pagefind-body>一</article><i data-pagefind-default-meta="image:x.png"></i></body>', False),
    # outside, but nothing Pagefind takes from there
    ('<body><nav data-pagefind-ignore>菜单</nav><article data-pagefind-body>一</article></body>', True),
    # nested elements of the body's own name: the body ends at its own end tag
    ('<body><div data-pagefind-body><div><div>一</div></div><p data-pagefind-filter="a:b">二</p></div></body>', True),
    ('<body><div data-pagefind-body><div><div>一</div></div></div><p data-pagefind-filter="a:b">二</p></body>', False),
    # an element whose end tag may be left out: its end is not where the tags say
    ('<body><ul><li data-pagefind-body>一<li>二</li></li><li data-pagefind-meta="a:b">三</li></ul></body>', False),
    ('<body><p data-pagefind-body>一</p></body>', False),
    # text in which tags cannot be counted, two bodies, no body, a body never closed
    ('<body><div data-pagefind-body><script>"</div>"</script>一</div></body>', False),
    ('<body><div data-pagefind-body><!-- <div> -->一</div></body>', False),
    ('<body><main data-pagefind-body>一</main><main data-pagefind-body>二</main></body>', False),
    ('<body><main>一</main></body>', False),
    ('<body><main data-pagefind-body>一', False),
    # the words in a page's text, not an attribute
    ('<body><p>没有 data-pagefind-body 的页面</p></body>', False),
])
def test_only_a_page_whose_body_holds_all_pagefind_reads_is_narrowed(page, narrow):
    from kite.search import reads_only_body

    assert reads_only_body(page.encode("utf-8")) is narrow
