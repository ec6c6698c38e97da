"""What the last build rendered, kept beside the site so that the next build renders only what changed.

A rebuild after one edit used to render every page (2,850 on the benchmark hub) only to find
nearly all of them byte for byte as published (``kite.reuse`` then linked them).  Now the build
keeps, beside the site (``.site.kite-pages``, never inside it: the web server must not serve
every page's Markdown and the editors' warnings), each page's spec (what it is made of, ``kite.pages``), the warnings rendering
gave for it, whether it marks something to index, and the size and modification time of each
file published for it; what each feed and calendar was made from, with its text; and what each
part of the search index was made from, with its files (``kite.search``).  The next build renders
a page only if its spec no longer compares equal, as the preview does
(``Publisher.render_changed_pages``), and links the published files of the others, each checked
to be the file recorded: a page changed on the server is rendered afresh.

What every page depends on besides its spec goes into one key (``rendering_key``): the config,
the media pages may link to, the hub's templates, Kite's own code and theme, the installed
libraries' versions and Python's.  Any change there renders every page, as does a record that
is missing or cannot be read.  The record is written only after the new site is in place; if
that fails, the old record stays, and its files' times no longer match what is published.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import pickle
import stat
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from . import reuse
from .models import Hub
from .pages import PageSpec

COMPRESSED = (".gz", ".br")  # the copies ``kite.compress`` puts beside a page
_FORMAT = 2  # bumped when what is recorded changes shape


@dataclass(frozen=True)
class Page:
    """One page as the last build published it."""

    spec: PageSpec
    warnings: tuple[str, ...]
    marked: bool  # it marks something to index (``data-pagefind-body``)
    files: dict[str, tuple[int, int]]  # site-relative file -> (size, mtime_ns) as published


@dataclass
class Record:
    key: str
    pages: dict[str, Page] = field(default_factory=dict)  # by spec path
    # Feeds, calendars and the sitemap: by name, the inputs and the text they made (``Publisher._once``).
    made: dict[str, tuple[object, object]] = field(default_factory=dict)
    # The search index: each part's digest (``search.part_digest``) and its files as published.
    search: dict | None = None


def record_file(site: Path) -> Path:
    """Where the record of the site folder ``site`` lives: beside it, as its lock does."""
    site = Path(os.path.realpath(site))
    return site.parent / f".{site.name}.kite-pages"


def page_file(spec: PageSpec) -> str:
    """The site-relative HTML file a page is written to."""
    return f"{spec.url}index.html"


def load(site: Path, key: str) -> Record | None:
    """The record of ``site``, if there is one for the same ``key``; None otherwise (render all).

    Read only if it is plainly the one a build of ours wrote: a file, not a symlink, ours, that
    nobody else may write (a pickle runs code as it loads)."""
    try:
        descriptor = os.open(record_file(site), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "rb") as saved:
            status = os.fstat(saved.fileno())
            if not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid() or status.st_mode & 0o022:
                return None
            version, record = pickle.load(saved)
    except Exception:  # cut short, or from a Kite whose classes differ: render every page
        return None
    if version != _FORMAT or not isinstance(record, Record) or record.key != key:
        return None
    return record


def save(site: Path, record: Record) -> None:
    """Replace the record of ``site`` in one step; where that fails, remove it (all is rendered next time)."""
    target = record_file(site)
    try:
        handle, temporary = tempfile.mkstemp(prefix=f"{target.name}.", dir=target.parent)
        try:
            with open(handle, "wb") as out:
                pickle.dump((_FORMAT, record), out, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(temporary, target)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError:
        target.unlink(missing_ok=True)


def published_files(site: Path, spec: PageSpec) -> dict[str, tuple[int, int]]:
    """The files published for ``spec`` in ``site``, with their identities."""
    found = {}
    page = page_file(spec)
    for name in (page, *(page + suffix for suffix in COMPRESSED)):
        try:
            found[name] = reuse.identity(os.lstat(os.path.join(site, name)))
        except OSError:
            pass
    return found


def rendering_key(hub: Hub, media: tuple[str, ...], code: Path | None = None) -> str:
    """A digest of everything each page depends on besides its spec (see the module's docstring)."""
    digest = hashlib.sha256()
    # The config as JSON: a pydantic model's pickle holds a set, whose order changes from run to run.
    digest.update(repr((_FORMAT, sys.version, hub.config.model_dump_json(), media)).encode("utf-8", "surrogateescape"))
    digest.update(repr(sorted((d.metadata["Name"] or "", d.version) for d in importlib.metadata.distributions())).encode())
    for folder in (code or Path(__file__).parent, hub.root / "templates"):
        _digest_folder(digest, folder)
    return digest.hexdigest()


def _digest_folder(digest, folder: Path) -> None:
    # Through symlinks, as Jinja reads templates (a hub's partials/ may link a shared folder); each
    # folder once, so that a link to a folder above ends.
    seen = set()
    for parent, folders, names in os.walk(folder, followlinks=True):
        status = os.stat(parent)
        if (status.st_dev, status.st_ino) in seen:
            folders[:] = []
            continue
        seen.add((status.st_dev, status.st_ino))
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        for name in sorted(names):
            path = os.path.join(parent, name)
            digest.update(os.path.relpath(path, folder).encode("utf-8", "surrogateescape") + b"\0")
            try:
                with open(path, "rb") as source:
                    digest.update(hashlib.sha256(source.read()).digest())
            except OSError:
                digest.update(b"unreadable")
