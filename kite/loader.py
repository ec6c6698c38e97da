"""Load a hub: the config and every content file, validated, or every problem at once."""

from __future__ import annotations

import functools
import os
import posixpath
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from pydantic import ValidationError

from .config import HUMAN_CODE_SECONDS, SiteConfig
from .errors import ContentErrors, Problem, translate
from .fields import CONTROL, DEFAULT_TIMEZONE
from .media import MEDIA_DIR, body_media, check_podcast_image, inside_media
from .models import CONTENT_DIRS, KINDS, Content, Hub
from .progress import Progress
from .source import RawDocument, SourceError, read_markdown, read_text, read_yaml

# How long after a file's modification time its cached reading is trusted (file systems' clocks tick
# every few milliseconds; FAT and SMB shares every second or two).
RACY_NS = 3_000_000_000


class ItemCache(dict):
    """Loaded items by file, for a process that loads the same hub again and again (the preview).

    An entry is reused while the file's size and modification time and the hub's time zone are
    unchanged, and so are the media files it uses (``_media_state``).
    """


def load_hub(config_path: Path, progress: Progress | None = None, cache: ItemCache | None = None, *,
             drafts: bool = False) -> Hub:
    """Read and validate the whole hub; raise ``ContentErrors`` listing every problem.

    Drafts are validated and counted, and left out unless ``drafts`` (the preview shows them).
    """
    config_path = Path(config_path)
    root = config_path.parent.resolve()
    problems: list[Problem] = []
    config, raw_config = _load_config(config_path, problems)
    warnings: list[Problem] = []
    if config is not None and config.podcast and config.podcast.image:
        # Podcast apps refuse such a cover, but the site itself is fine: a warning, not an error.
        line = raw_config.line_of(("podcast", "image"))
        warnings.extend(check_podcast_image(config.podcast.image, root, config_path.name, line))
    if config is not None and config.attendance and config.attendance.code_seconds < HUMAN_CODE_SECONDS:
        seconds = config.attendance.code_seconds
        warnings.append(Problem(config_path.name, raw_config.line_of(("attendance", "code_seconds")), "attendance.code_seconds",
                                f"现场签到码每 {seconds} 秒就换，参加活动的人可能来不及输入；一般用 60 到 120 秒"))
    context = {"tz": config.zone if config else ZoneInfo(DEFAULT_TIMEZONE), "root": root}

    loaded: dict[str, list[Content]] = {}
    draft_count = 0
    problems.extend(_folders_that_are_files(root))
    files = {kind: content_files(root / folder) for kind, folder in CONTENT_DIRS.items()}
    if progress:
        progress.stage("读取内容", sum(map(len, files.values())))
    media = root / "content/media"
    media_stamp = _media_stamp(media) if cache is not None else 0
    for kind, paths in files.items():
        items = []
        for path in paths:
            if cache is None:
                item = load_item(kind, path, root, context, problems)
            else:
                item = _cached_item(cache, kind, path, root, context, problems, (str(context["tz"]),), media_stamp)
            if progress:
                progress.advance()
            if item is not None:
                items.append(item)
        _check_unique_slugs(items, problems)
        draft_count += sum(item.draft for item in items)
        kept = [item for item in items if drafts or not item.draft]
        kept.sort(key=lambda item: (item.date, item.slug), reverse=True)
        loaded[kind] = kept

    problems.extend(check_templates(root))
    if config is not None:
        problems.extend(_check_attendance_config(config, raw_config, loaded))
    if problems or config is None:
        raise ContentErrors(problems)
    warnings.extend(missing_item_links(loaded))
    return Hub(root, config_path, config, loaded["lesson"], loaded["episode"], loaded["announcement"], draft_count, warnings)


def _media_stamp(media: Path) -> int:
    """What the files under content/media/ are now, sub-folders included, as one number.

    A file that failed to load, or loaded with a problem, may have failed for want of a media file:
    it is read again when any media file changes.  The folder's own time is not enough: a file
    copied over another, or added to a sub-folder (content/media/audio/), leaves it as it was."""
    found = []
    for folder, folders, names in os.walk(media):
        folders.sort()
        for name in sorted(names):
            try:
                status = os.stat(os.path.join(folder, name))
            except OSError:
                continue
            found.append((folder, name, status.st_size, status.st_mtime_ns, status.st_ino))
    return hash(tuple(found))


def _media_state(item: Content | None, found: list[Problem], root: Path, media_stamp: int) -> tuple:
    """What a loaded file depends on under content/media/.

    A file that loaded cleanly depends only on the media files it names (an episode's recording,
    the pictures in its body): their size goes into the feed, and one moved out of the folder behind
    a link would be published.  So a recording added for one episode leaves the other 10,000 files
    as they were read (at 10,000 lessons, reading them all again took the preview 1.4 s).  A file
    with a problem is read again when anything in the folder changes: the missing file may have come.
    """
    if item is None or found:
        return ("folder", media_stamp)
    local = getattr(item, "media", None)
    names = ([local.name] if local is not None and local.name else []) + list(item.media_refs)
    states = [_file_state(root / MEDIA_DIR / name) for name in names]
    # The state is taken after the file was read: one changed in between, or changed within the same
    # tick of the clock, is recent, and the file is read again (as ``_cached_item`` does for itself).
    if any(len(state) > 1 and time.time_ns() - state[2] <= RACY_NS for state in states):
        return ("recent", object())  # equal to no other state
    return ("files", *states)


def _file_state(path: Path) -> tuple:
    try:
        real = os.path.realpath(path)
        status = os.stat(real)
    except OSError:
        return (str(path),)
    return (real, status.st_size, status.st_mtime_ns, status.st_ino)


def _cached_item(cache: ItemCache, kind: str, path: Path, root: Path, context: dict[str, Any],
                 problems: list[Problem], setting: tuple, media_stamp: int = 0) -> Content | None:
    try:
        stat = path.stat()
    except OSError:
        # Deleted or renamed since the folder was listed (an editor saving): read it as it is now.
        return load_item(kind, path, root, context, problems)
    key = (stat.st_mtime_ns, stat.st_size, stat.st_ino, setting)
    entry = cache.get(path)
    if entry is None or entry[0] != key or entry[3] != _media_state(entry[1], entry[2], root, media_stamp):
        found: list[Problem] = []
        # A file changed within the last moments may change again within the same tick of the
        # file system's clock and keep its size (two quick saves, a formatter after the editor):
        # it is read again next time, until its time is safely past ("racily clean", as Git says).
        kept = key if time.time_ns() - stat.st_mtime_ns > RACY_NS else None
        item = load_item(kind, path, root, context, found)
        entry = (kept, item, found, _media_state(item, found, root, media_stamp))
        cache[path] = entry
    problems.extend(entry[2])
    return entry[1]


def load_config(config_path: Path) -> SiteConfig:
    """Only the config, validated; raises ``ContentErrors``."""
    problems: list[Problem] = []
    config, _ = _load_config(Path(config_path), problems)
    if config is None or problems:
        raise ContentErrors(problems)
    return config


def content_files(folder: Path) -> list[Path]:
    """Markdown files under ``folder``, sub-folders included, in a stable order.

    Names starting with ``_`` or ``.``, and README files, are notes for editors, not content.
    ``.MD`` counts as ``.md`` (Windows hides the case of extensions from editors).
    """
    if not folder.is_dir():
        return []
    found = []
    # os.walk, not pathlib's rglob: the preview lists the files after every save, and rglob
    # took 0.4 s over 10,000 lessons.
    # Linked folders are followed (a hub may link lessons kept elsewhere), but never into a folder
    # already read or one holding this one: a link to '..' would otherwise be walked until the
    # path is too long.
    top = os.path.realpath(folder)
    seen = {top}
    for parent, folders, names in os.walk(folder, followlinks=True):
        kept = []
        for name in folders:
            real = os.path.realpath(os.path.join(parent, name))
            if name.startswith((".", "_")) or real in seen or top.startswith(real.rstrip(os.sep) + os.sep):
                continue
            seen.add(real)
            kept.append(name)
        folders[:] = kept
        found.extend(Path(parent, name) for name in names
                     if name[-3:].lower() == ".md" and not name.startswith((".", "_")) and name[:-3].lower() != "readme")
    # By parts, as Path's own order is on POSIX, but without its comparison method: 0.04 s at 10,000 files.
    return sorted((path for path in found if path.is_file()), key=lambda path: path.parts)


def _folders_that_are_files(root: Path) -> list[Problem]:
    """A file where a content folder belongs (``lessons`` saved as a file) would build a site
    without that section and without a word; it is said as a whole-file problem, at line 1."""
    found = []
    for folder in ("content", *CONTENT_DIRS.values(), MEDIA_DIR):
        path = root / folder
        if path.exists() and not path.is_dir():
            found.append(Problem(folder, 1, "file", f"{folder} 应是一个文件夹，现在却是一个文件：请把这个文件改名或移走，"
                                                    f"再建一个名为 {path.name} 的文件夹，把内容放进去"))
    return found


def load_item(kind: str, path: Path, root: Path, context: dict[str, Any], problems: list[Problem]) -> Content | None:
    shown = path.relative_to(root).as_posix()
    if ":" in shown:
        # PATH:LINE: would be read wrongly by every tool that splits on ':', Windows cannot hold such a
        # file, and a slug taken from the name would be read by browsers as an address scheme.
        problems.append(Problem(shown, 1, "file", "文件名或文件夹名里不能有冒号“:”（Windows 不允许这样的文件名，"
                                                  "网址和错误提示也会读错），请改名，例如把冒号换成 -"))
    try:
        raw = read_markdown(path, shown)
    except SourceError as error:
        problems.extend(error.problems)
        return None
    problems.extend(raw.problems)
    front_class, model_class = KINDS[kind]
    # `speaker:` left blank means no speaker; only a required field must not be empty.
    values = {key: value for key, value in raw.values.items()
              if value != "" or key not in front_class.model_fields or front_class.model_fields[key].is_required()}
    slug_from_name = not _given(values.get("slug"))
    if slug_from_name:
        values["slug"] = path.stem
    front = None
    try:
        front = front_class.model_validate(values, context=context)
    except ValidationError as error:
        found = translate(error, raw, front_class)
        if slug_from_name:
            found = [_explain_file_name(p, path) for p in found]
        problems.extend(found)
    # The body is checked even when the front matter is wrong: every problem of the file at once.
    if not _body_is_text(raw, problems):
        return None
    _check_addresses(raw, problems)
    refs = _body_media(raw, root, problems)
    if front is None or raw.problems:
        return None
    return model_class.model_construct(**dict(front), source=shown, body=raw.body, body_line=raw.body_line,
                                       slug_line=raw.line_of(("slug",)), media_refs=refs)


def _body_is_text(raw: RawDocument, problems: list[Problem]) -> bool:
    """A body with a character no page or feed may hold is an error on each line that has one
    (the first ten: a binary file saved as .md has thousands)."""
    found = 0
    for match in CONTROL.finditer(raw.body):
        line = raw.body_line + raw.body.count("\n", 0, match.start())
        if found and problems[-1].line == line:
            continue
        found += 1
        if found > 10:
            break
        problems.append(Problem(raw.path, line, "body",
                                f"含有不可见的控制字符 U+{ord(match[0]):04X}，请删除（常见于从 Word 或网页复制来的文字）"))
    return not found


# Where a body gives an address: [text](ADDRESS), [name]: ADDRESS, href="ADDRESS", src="ADDRESS".
_ADDRESS = re.compile(r"""(?:\]\(\s*<?|^[ ]{0,3}\[[^\]\n]+\]:[ \t]*<?|\b(?:href|src)\s*=\s*["']?)(?P<address>[^\s)>"']*//[^\s)>"']*)""",
                      re.MULTILINE)


def _check_addresses(raw: RawDocument, problems: list[Problem]) -> None:
    """A web address no URL parser can read (``http://[::1``, an unclosed bracket) is an error:
    the page would show the link's text with no link."""
    if "//" not in raw.body:
        return
    for match in _ADDRESS.finditer(raw.body):
        try:
            urlsplit(match["address"])
        except ValueError:
            line = raw.body_line + raw.body.count("\n", 0, match.start("address"))
            problems.append(Problem(raw.path, line, "body", f"链接地址 {match['address']!r} 写错了（方括号没有配对或含有无法识别的字符），请检查"))


# A link in a body, Markdown's or HTML's, and the kind each section's items are.
_LINK = re.compile(r"""(?:\]\(\s*<?|\bhref\s*=\s*["'])(?P<target>[^)\s>"']+)""")
_SECTION_KINDS = {model.section: kind for kind, (_, model) in KINDS.items()}
_KIND_NAMES = {"lesson": "党课", "episode": "节目", "announcement": "活动通知"}
# Pages under a section's folder that are not items.
_LIST_FOLDERS = {"tags", "series", "page"}


def missing_item_links(loaded: dict[str, list[Content]]) -> list[Problem]:
    """Warnings for links written the way the editor guide shows (``../网址名/``,
    ``../../episodes/网址名/``) to an item that is not in the site: a typo, or a draft.

    Links to files (``x.md``, ``x.pdf``) are the engine's to check.
    """
    slugs = {kind: {item.slug for item in items} for kind, items in loaded.items()}
    found = []
    for items in loaded.values():
        for item in items:
            for kind, slug, offset, target in _item_links(item.path, item.body):
                if slug not in slugs[kind]:
                    line = item.body_line + item.body.count("\n", 0, offset)
                    found.append(Problem(item.source, line, "body",
                                         f"链接 {target} 指向的{_KIND_NAMES[kind]}不存在（或还是草稿）：请核对网址名"))
    return sorted(found)


@functools.lru_cache(maxsize=65536)
def _item_links(path: str, body: str) -> tuple[tuple[str, str, int, str], ...]:
    """The links in ``body`` (of the item at ``path``) to another item's page, as (kind, slug,
    offset, target).  Kept per body: the preview checks every item's links after each save, and
    at 10,000 lessons finding them again took 0.09 s of it (a body's hash is kept by the string)."""
    if "](" not in body and "href" not in body:
        return ()
    found = []
    for match in _LINK.finditer(body):
        target = match["target"]
        try:
            parts = urlsplit(target)
        except ValueError:
            continue
        if parts.scheme or parts.netloc or target.startswith(("/", "#")) or not parts.path:
            continue
        where = posixpath.normpath(posixpath.join(path, unquote(parts.path))).split("/")
        if len(where) != 2 or where[0] not in _SECTION_KINDS or "." in where[1] or where[1] in _LIST_FOLDERS:
            continue
        found.append((_SECTION_KINDS[where[0]], where[1], match.start(), target))
    return tuple(found)


def _body_media(raw: RawDocument, root: Path, problems: list[Problem]) -> tuple[str, ...]:
    """Pictures and files the body shows from content/media/; a missing one is an error."""
    found = []
    for name, offset in body_media(raw.body):
        line = raw.body_line + raw.body.count("\n", 0, offset)
        path = root / MEDIA_DIR / name
        if not inside_media(path, root) or not path.is_file():
            problems.append(Problem(raw.path, line, "body", f"找不到文件 {MEDIA_DIR}/{name}：请先把它放进 {MEDIA_DIR}/"))
        elif name not in found:
            found.append(name)
    return tuple(found)


def _load_config(config_path: Path, problems: list[Problem]) -> tuple[SiteConfig | None, RawDocument | None]:
    """The validated config, and the raw document its lines are looked up in."""
    shown = config_path.name
    if not config_path.is_file():
        problems.append(Problem(shown, 1, "config", f"找不到配置文件 {config_path}"))
        return None, None
    try:
        raw = read_yaml(config_path, shown)
    except SourceError as error:
        problems.extend(error.problems)
        return None, None
    problems.extend(raw.problems)
    try:
        return SiteConfig.model_validate(raw.values), raw
    except ValidationError as error:
        problems.extend(translate(error, raw, SiteConfig))
        return None, raw


def _check_attendance_config(config: SiteConfig, raw: RawDocument, loaded: dict[str, list[Content]]) -> list[Problem]:
    """A page that takes check-ins needs an endpoint to post to and branches to choose from."""
    wanting = [item.source for items in loaded.values() for item in items if getattr(item, "attendance", False)]
    if not wanting:
        return []
    pages = "、".join(wanting[:3]) + (" 等" if len(wanting) > 3 else "")
    found = []
    if config.attendance is None:
        found.append(Problem(raw.path, 1, "attendance", f"{pages} 开启了签到（attendance: true），但配置里没有 attendance.endpoint"))
    if not config.branches:
        found.append(Problem(raw.path, raw.line_of(("branches",)), "branches", f"{pages} 开启了签到，但配置里没有 branches（可选的支部）"))
    return found


_TEMPLATE_SUFFIXES = (".html", ".xml", ".js", ".txt", ".j2", ".jinja")


def check_templates(root: Path) -> list[Problem]:
    """The hub's own templates, read and parsed: a syntax error in any of them is found by
    ``check`` and reported with the others, not at the first page that uses the template.

    Only the syntax: names and filters are known when a page is rendered.
    """
    folder = root / "templates"
    if not folder.is_dir():
        return []
    environment = jinja2.Environment()
    problems = []
    for path in sorted(folder.rglob("*")):
        # Pictures and other files beside the templates are not templates.
        if not path.is_file() or path.name.startswith(".") or path.suffix not in _TEMPLATE_SUFFIXES:
            continue
        shown = path.relative_to(root).as_posix()
        try:
            source = read_text(path, shown)
        except SourceError as error:
            problems.extend(error.problems)
            continue
        try:
            environment.parse(source)
        except jinja2.TemplateSyntaxError as error:
            problems.append(Problem(shown, error.lineno or 1, "template", f"模板语法错误：{error.message}"))
    return problems


def _given(value: Any) -> bool:
    return value is not None and value != ""


def _check_unique_slugs(items: list[Content], problems: list[Problem]) -> None:
    # Compared without case: Windows and macOS disks would put both pages in one folder.
    seen: dict[str, Content] = {}
    for item in items:
        key = item.slug.casefold()
        if key in seen:
            first = seen[key]
            problems.append(Problem(item.source, item.slug_line, "slug", f"网址 {item.slug!r} 与 {first.source} 重复，请改文件名或写一个不同的 slug"))
        else:
            seen[key] = item


def _explain_file_name(problem: Problem, path: Path) -> Problem:
    if problem.field != "slug":
        return problem
    message = f"文件名 {path.stem!r} 不能直接用作网址（{problem.message}）；请改文件名，或在头信息里加一行 slug: 英文或中文网址名"
    return Problem(problem.path, problem.line, "slug", message)
