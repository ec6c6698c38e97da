"""Offline reading, build side: manifest, icons, worker and offline page in the built site."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from PIL import Image

from kite import offline
from kite.build import BuildFailed, build
from kite.loader import load_hub
from kite.preview import Preview


@pytest.fixture
def small_hub(hub):
    hub.lesson("第一课", "title: 第一课\ndate: 2026-03-01\nseries: 风筝精神", body="第一课的正文。\n")
    hub.lesson("第二课", "title: 第二课\ndate: 2026-03-02\nseries: 风筝精神", body="第二课的正文。\n")
    return hub


def built(hub, tmp_path, name="site") -> Path:
    site = tmp_path / name
    build(hub.config, site)
    return site


def worker_build(site: Path) -> dict:
    """What the worker was told about this build (the line the build puts above its code)."""
    told = re.search(r"^const BUILD = (.*);$", (site / "sw.js").read_text(encoding="utf-8"), re.M)
    return json.loads(told.group(1))


def test_manifest_names_the_site_and_its_icons(small_hub, tmp_path):
    site = built(small_hub, tmp_path)
    manifest = json.loads((site / "manifest.webmanifest").read_text(encoding="utf-8"))
    assert manifest["name"] == "测试云课堂"
    assert manifest["short_name"] == "测试云课堂"
    assert manifest["display"] == "standalone"
    assert manifest["lang"] == "zh"
    # Relative to the manifest, so the installed app opens the hub wherever it is served.
    assert manifest["start_url"] == "./" and manifest["scope"] == "./"
    assert manifest["theme_color"] == "#b71c1c"
    sizes = {}
    for icon in manifest["icons"]:
        image = Image.open(io.BytesIO((site / icon["src"]).read_bytes()))
        assert image.format == "PNG" and icon["type"] == "image/png"
        assert icon["sizes"] == f"{image.width}x{image.height}"
        sizes[image.width] = image
    assert set(sizes) == {192, 512}
    # Drawn from the logo: its red kite in the middle, transparent corners.
    assert sizes[192].convert("RGBA").getpixel((120, 60))[:3] == (0xC6, 0x28, 0x28)
    assert sizes[192].convert("RGBA").getpixel((2, 2))[3] == 0


def test_short_name_is_the_part_before_a_dot_or_set_in_the_config(hub, tmp_path):
    config = load_hub(hub.config).config
    assert offline.short_name(config.model_copy(update={"site_name": "风筝 · 海安云课堂"})) == "风筝"
    assert offline.short_name(config.model_copy(update={"site_name": "一个很长很长很长很长的站点名称"})) == "一个很长很长很长很长的站"
    hub.write("site_config.yml", hub.config.read_text(encoding="utf-8") + "short_name: 云课堂\n")
    site = built(hub, tmp_path)
    assert json.loads((site / "manifest.webmanifest").read_text(encoding="utf-8"))["short_name"] == "云课堂"


def test_every_page_links_the_manifest_and_registers_the_worker(small_hub, tmp_path):
    site = built(small_hub, tmp_path)
    pages = [path for path in site.rglob("*.html")]
    assert len(pages) > 8
    for path in pages:
        html = path.read_text(encoding="utf-8")
        assert re.search(r'<link rel="manifest" href="[^"]*manifest\.webmanifest">', html), path
        assert re.search(r'register\("[^"]*sw\.js"\)', html), path
        # Registered after the page has loaded: a first visit downloads the worker last.
        assert html.index('addEventListener("load"') < html.index("register("), path


def test_worker_precaches_the_shell_and_knows_the_endpoint(small_hub, tmp_path):
    site = built(small_hub, tmp_path)
    told = worker_build(site)
    precache = told["precache"]
    assert "offline.html" in precache
    assert any(re.fullmatch(r"assets/kite\.[0-9a-f]{10}\.css", path) for path in precache)
    assert any(re.fullmatch(r"assets/stylesheets/main\.[0-9a-f]+\.min\.css", path) for path in precache)
    for script in ("search", "checkin", "offline"):
        assert any(re.fullmatch(rf"assets/{script}\.[0-9a-f]{{10}}\.js", path) for path in precache), script
    assert any(re.fullmatch(r"assets/kite\.[0-9a-f]{10}\.svg", path) for path in precache)  # the logo pages show
    # Home-screen icons are fetched by the browser when a member installs the site, not by every visitor.
    assert not [path for path in precache if path.startswith("assets/icon-")]
    for path in precache:
        assert (site / path).is_file(), path
    # Pages, feeds and media are not precached: a first visit must not download the site.
    assert not [path for path in precache if path.endswith((".xml", ".mp3")) or path.startswith(("lessons/", "media/"))]
    assert told["endpoint"] == ["https://example.org/checkin"]
    assert told["siteName"] == "测试云课堂"


@pytest.mark.parametrize("endpoint", ["https://example.org", "https://example.org/hub"])
def test_an_endpoint_at_or_above_the_sites_folder_leaves_the_worker_only_its_own_pages(small_hub, tmp_path, endpoint):
    # The site's pages (https://example.org/hub/...) lie below such an endpoint's address: the worker must
    # keep them, and leave alone only the endpoint's answers.
    small_hub.write("site_config.yml", small_hub.config.read_text(encoding="utf-8").replace(
        "endpoint: https://example.org/checkin", f"endpoint: {endpoint}"))
    told = worker_build(built(small_hub, tmp_path))["endpoint"]
    assert f"{endpoint}/checkin" in told and f"{endpoint}/desk" in told
    assert not [address for address in told if "https://example.org/hub/".startswith(address)]


def test_the_workers_endpoint_pages_cover_every_page_the_endpoint_serves(tmp_path):
    from starlette.routing import Mount

    from kite.attendance.web import create_app
    from kite.forms import ENDPOINT_PAGES
    from kite.storage import open_store

    def paths(routes, prefix=""):
        for route in routes:
            if isinstance(route, Mount):
                yield from paths(route.routes, prefix + route.path)
            elif "GET" in (route.methods or ()):
                yield prefix + route.path

    store = open_store(str(tmp_path / "checkins.sqlite3"))
    try:
        served = sorted(set(paths(create_app(store, lambda: None).routes)))
    finally:
        store.close()
    assert "/desk/live/announcements/{slug}/poster" in served and "/suggestion/{ref}" in served
    for path in served:
        assert any(path[1:] == page or path[1:].startswith(page + "/") for page in ENDPOINT_PAGES), path
    # None of them is one of the site's own pages (report/ is the site's form; report/done the endpoint's).
    assert "report" not in ENDPOINT_PAGES and "suggest" not in ENDPOINT_PAGES


def test_a_content_change_keeps_the_shell_version_but_not_the_pages_hash(small_hub, tmp_path):
    first = worker_build(built(small_hub, tmp_path, "one"))
    again = worker_build(built(small_hub, tmp_path, "two"))
    assert again == first  # the same content gives the same worker, byte for byte
    small_hub.lesson("第二课", "title: 第二课\ndate: 2026-03-02\nseries: 风筝精神", body="改过的正文。\n")
    edited = worker_build(built(small_hub, tmp_path, "three"))
    assert edited["version"] == first["version"]  # same shell: nothing to precache again
    assert edited["pages"] != first["pages"]  # a new worker, which refreshes saved lessons
    # An activity moving from 即将开始 to 往期 changes lists, not what members save.
    small_hub.announcement("活动", "title: 主题党日\ndate: 2026-03-01\nstarts: 2026-03-10 19:30")
    listed = worker_build(built(small_hub, tmp_path, "listed"))
    assert listed["pages"] == edited["pages"]
    small_hub.write("templates/partials/kite/footer_extra.html", "<p>新的页脚</p>\n")
    restyled = worker_build(built(small_hub, tmp_path, "four"))
    assert restyled["version"] != first["version"]  # the offline page changed: a new shell cache


def test_the_offline_page_says_offline_and_points_its_links_at_the_site(small_hub, tmp_path):
    site = built(small_hub, tmp_path)
    html = (site / "offline.html").read_text(encoding="utf-8")
    assert "<title>离线 - 测试云课堂</title>" in html
    assert "离线" in re.search(r"<h1>(.*?)</h1>", html).group(1)
    # Shown at any address, so its relative links start from site_url's path.
    assert html.index('<base href="/hub/">') < html.index('rel="stylesheet"')
    assert 'data-kite-offline="saved"' in html and "data-kite-visited" in html
    # Not a page members search for or find in the sitemap.
    assert "offline" not in (site / "sitemap.xml").read_text(encoding="utf-8")
    assert "data-pagefind-body" not in html


def test_series_pages_and_the_lessons_list_offer_saving(small_hub, tmp_path):
    site = built(small_hub, tmp_path)
    series = next((site / "lessons/series").iterdir()) / "index.html"
    html = series.read_text(encoding="utf-8")
    assert 'data-kite-offline="save"' in html and "保存离线阅读" in html
    assert 'data-kite-group="系列：风筝精神"' in html and 'data-kite-count="2"' in html
    assert "这个系列的全部 2 篇党课" in html
    listing = (site / "lessons/index.html").read_text(encoding="utf-8")
    assert "本页的 2 篇党课" in listing
    tag_pages = list((site / "lessons").glob("tags/*/index.html"))
    for path in tag_pages:
        assert 'data-kite-offline="save"' not in path.read_text(encoding="utf-8")


def test_an_episode_offers_its_audio_and_a_checkin_form_is_marked(hub, tmp_path):
    hub.media("ep.mp3", b"ID3" + bytes(2000))
    hub.episode("ep", "title: 第一期\ndate: 2026-03-01\nmedia: ep.mp3")
    hub.episode("far", "title: 外部音频\ndate: 2026-03-02\nmedia: https://example.org/far.mp3")
    hub.lesson("签到课", "title: 签到课\ndate: 2026-03-01\nattendance: true")
    site = built(hub, tmp_path)
    episode = (site / "episodes/ep/index.html").read_text(encoding="utf-8")
    assert 'data-kite-offline="audio" data-pagefind-ignore data-kite-audio="../../media/ep.mp3"' in episode
    assert "保存音频，没有网络也能听（2 KB）" in episode
    # Audio elsewhere cannot be kept by this site's worker: no button.
    assert 'data-kite-offline="audio"' not in (site / "episodes/far/index.html").read_text(encoding="utf-8")
    lesson = next(site.glob("lessons/*/index.html")).read_text(encoding="utf-8")
    assert 'data-kite-offline-form="签到"' in lesson


def test_a_logo_that_cannot_be_drawn_fails_the_build_and_leaves_the_site(small_hub, tmp_path):
    site = built(small_hub, tmp_path)
    before = sorted(path.relative_to(site) for path in site.rglob("*"))
    small_hub.write("templates/assets/kite.svg", "<svg xmlns='http://www.w3.org/2000/svg'><path d=")
    with pytest.raises(BuildFailed, match="kite.svg"):
        build(small_hub.config, site)
    assert sorted(path.relative_to(site) for path in site.rglob("*")) == before


def test_the_hubs_own_logo_makes_the_icons(small_hub, tmp_path):
    small_hub.write("templates/assets/kite.svg",
                    "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 10 10'><rect width='10' height='10' fill='#0000ff'/></svg>")
    site = built(small_hub, tmp_path)
    icon = next((site / "assets").glob("icon-192.*.png"))
    assert Image.open(icon).convert("RGB").getpixel((96, 96)) == (0, 0, 255)


def test_the_preview_has_no_worker(small_hub, tmp_path):
    # A worker would show an editor the page as it was before the save (stale-while-revalidate).
    site = tmp_path / "preview"
    Preview(small_hub.config, site, None).update()
    assert (site / "index.html").is_file() and (site / "manifest.webmanifest").is_file()
    assert not list(site.glob("sw.js*"))
