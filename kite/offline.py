"""Offline reading: the web app manifest, its icons and the service worker, from a built site.

Pure functions of the site folder (and the config): the build calls ``offline_files`` once
every page and asset is written and writes what it returns.  The worker's logic lives in
``kite/worker.js``; this module only tells it what this build holds:

- ``version``: the content hash of the shell it precaches (and of the worker's own code), so
  a changed stylesheet or offline page is a new cache and old builds' caches can be dropped;
- ``pages``: the content hash of the lessons and episodes (and of the audio and video they
  play), so that a new build of them (and only that) makes browsers fetch the new worker, which
  then refreshes what members saved.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import posixpath
import re
from pathlib import Path
from typing import Callable
from urllib.parse import unquote

from PIL import Image

from .config import SiteConfig
from .forms import ENDPOINT_PAGES
from .media import MIME_TYPES

WORKER = "sw.js"
MANIFEST = "manifest.webmanifest"
OFFLINE_PAGE = "offline.html"
ICON_SIZES = (192, 512)
THEME_COLOUR = "#b71c1c"  # the header's red, as in main.html's theme-color
WORKER_SOURCE = Path(__file__).with_name("worker.js")

_REFERENCE = re.compile(r'(?:href|src)="([^"#?]+)"')


class OfflineFilesFailed(Exception):
    """The site lacks something the offline files are made from; the message is for the editor."""


def offline_files(site: Path, config: SiteConfig,
                  draw: Callable[[bytes, int], bytes] | None = None) -> dict[str, bytes]:
    """Files to add to the built ``site``: manifest, icons and worker, by site-relative path.

    ``draw``: makes an icon as ``icon`` does (a rebuild hands in one that keeps the last build's)."""
    logo = logo_of(site)
    pngs = {size: (draw or icon)(logo, size) for size in ICON_SIZES}
    # Fingerprinted like Kite's other assets: servers may let phones keep them for a year.
    icons = {size: f"assets/icon-{size}.{_digest(png)}.png" for size, png in pngs.items()}
    files = {icons[size]: png for size, png in pngs.items()}
    files[MANIFEST] = manifest(config, icons).encode("utf-8")
    # The PNG icons are not precached: browsers fetch them when a member installs the site, and
    # every first visit would pay for them.  The logo the pages show is in the shell.
    shell = {path: (site / path).read_bytes() for path in shell_paths(site)}
    files[WORKER] = worker(config, shell, page_hash(site)).encode("utf-8")
    return files


def logo_of(site: Path) -> bytes:
    """The site's logo as built: the theme's assets/kite.svg, or the hub's own in templates/assets/."""
    found = sorted((site / "assets").glob("kite.*.svg"))
    if not found:
        raise OfflineFilesFailed("找不到站点标志 assets/kite.svg，无法生成主屏幕图标")
    return found[0].read_bytes()


def icon(svg: bytes, size: int) -> bytes:
    """A square PNG of the logo, ``size`` pixels wide, for the home screen and the app switcher."""
    # Imported here, not with the module: loading cairo takes a fifth of a second (cairocffi looks
    # for the library with gcc), which the build would pay before it can start rendering; here it
    # is paid while Pagefind runs.
    import cairosvg

    try:
        png = cairosvg.svg2png(bytestring=svg, output_width=size, output_height=size)
    except Exception as error:  # CairoSVG raises a variety of parser errors
        raise OfflineFilesFailed(f"站点标志 kite.svg（站点自己的放在 templates/assets/kite.svg）无法画成主屏幕图标：{error}") from error
    image = Image.open(io.BytesIO(png))
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def short_name(config: SiteConfig) -> str:
    """What a home screen shows under the icon: ``short_name``, else the site name up to its first ·."""
    if config.short_name:
        return config.short_name
    return re.split(r"\s*[·|｜—–-]\s*", config.site_name, maxsplit=1)[0][:12] or config.site_name[:12]


def manifest(config: SiteConfig, icons: dict[int, str]) -> str:
    """The web app manifest.  URLs are relative to it, so the site works under any path."""
    data = {
        "name": config.site_name,
        "short_name": short_name(config),
        "description": config.site_description or config.site_name,
        "lang": config.language,
        "id": "./",
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "theme_color": THEME_COLOUR,
        "background_color": "#ffffff",
        "icons": [{"src": path, "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
                  for size, path in sorted(icons.items())],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def shell_paths(site: Path) -> list[str]:
    """What the worker precaches besides the icons: the offline page, what it loads, Kite's scripts."""
    page = site / OFFLINE_PAGE
    if not page.is_file():
        raise OfflineFilesFailed(f"缺少离线页面 {OFFLINE_PAGE}（模板 offline.html）")
    found = {OFFLINE_PAGE}
    # The offline page is written at the root with <base href> at the root, so its links are root-relative.
    for reference in _REFERENCE.findall(page.read_text(encoding="utf-8")):
        if "://" in reference or reference.startswith(("/", "data:", "mailto:")):
            continue
        path = posixpath.normpath(unquote(reference))
        if path.startswith("assets/") and (site / path).is_file():
            found.add(path)
    # The search page's script, the check-in script and the offline script, whichever page needs them.
    found.update(path.relative_to(site).as_posix() for path in (site / "assets").glob("*.js"))
    return sorted(found)


# What members save: lessons, and episodes with their audio.  Lists and the home page change
# with the time of the build (upcoming activities), which must not refresh every saved lesson.
SAVED_SECTIONS = ("lessons", "episodes")


def page_hash(site: Path) -> str:
    """The content hash of the pages members save: it changes when a build changes what they read."""
    digest = hashlib.sha256()
    for parts in sorted(_html_files(site, SAVED_SECTIONS)):
        digest.update("/".join(parts).encode("utf-8") + b"\0")
        digest.update(site.joinpath(*parts).read_bytes())
    # Saved audio too: a recording replaced under the same name (a corrected one) may leave its
    # episode's page as it was.  By size and time, not bytes: reading every recording at every
    # build would take seconds, and the build links or copies them keeping their time.
    for name, size, modified in _played_files(site):
        digest.update(f"media/{name}\0{size}\0{modified}\0".encode("utf-8"))
    return digest.hexdigest()[:12]


def _played_files(site: Path) -> list[tuple[str, int, int]]:
    """The audio and video in the site's media/ folder: name, size and modification second."""
    found = []
    for folder, _, names in os.walk(site / "media"):
        for name in names:
            if os.path.splitext(name)[1].lower() in MIME_TYPES:
                stat = os.stat(os.path.join(folder, name))
                found.append((Path(folder, name).relative_to(site / "media").as_posix(), stat.st_size, int(stat.st_mtime)))
    return sorted(found)


def _html_files(site: Path, sections: tuple[str, ...]) -> list[tuple[str, ...]]:
    """Each page under ``sections`` as its path's parts (pathlib's order), by os.walk: pathlib's
    rglob took seconds over the folders of 10,000 lessons."""
    found = []
    for section in sections:
        for folder, _, names in os.walk(site / section):
            parts = tuple(Path(folder).relative_to(site).parts)
            found.extend(parts + (name,) for name in names if name.endswith(".html"))
    return found


def worker(config: SiteConfig, shell: dict[str, bytes], pages: str) -> str:
    """The service worker: ``kite/worker.js`` after a line that says what this build holds."""
    source = WORKER_SOURCE.read_text(encoding="utf-8")
    digest = hashlib.sha256(source.encode("utf-8"))
    for path in sorted(shell):
        digest.update(path.encode("utf-8") + b"\0" + shell[path])
    build = {
        "version": digest.hexdigest()[:12],
        "pages": pages,
        "precache": sorted(shell),
        "offline": OFFLINE_PAGE,
        "siteName": config.site_name,
        # The check-in endpoint may share the site's host; its answers are never the worker's business.
        "endpoint": endpoint_addresses(config),
    }
    # Every member downloads the worker: its whole-line comments stay in kite/worker.js.
    code = "".join(line for line in source.splitlines(keepends=True) if not line.lstrip().startswith("//"))
    return f'"use strict";\nconst BUILD = {json.dumps(build, ensure_ascii=False)};\n{code}'


def endpoint_addresses(config: SiteConfig) -> list[str]:
    """Where the endpoint's answers live, for the worker to leave alone: below its address, or, where
    that address is the site's own folder or above it, below each of the endpoint's own pages only."""
    if config.attendance is None:
        return []
    endpoint = config.attendance.endpoint
    if not config.site_url.startswith(endpoint + "/"):
        return [endpoint]
    return [f"{endpoint}/{page}" for page in ENDPOINT_PAGES]


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:10]
