"""The preview's web server: MkDocs's live-reload server, with a banner and the site's 404 page.

MkDocs offers no public way to ask for a rebuild or to change the HTML it serves, so
this module uses four of its private names, here and nowhere else.  ``check_private_names``
says loudly when an upgrade of MkDocs removed one (tests/test_engine.py runs it too).

MkDocs notices saved files by listing the watched folders every so often; at 10,000 lessons
each listing took 60 ms of a core five times a second, and a save waited up to a fifth of a
second to be seen.  Where the system reports file changes itself (inotify on Linux), this
server listens to that instead; on shares and WSL's view of Windows drives, which report
nothing, it keeps MkDocs's listing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit

from mkdocs.livereload import LiveReloadServer
from watchdog.events import FileClosedEvent, FileCreatedEvent, FileDeletedEvent, FileModifiedEvent, FileMovedEvent
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

# The private parts of LiveReloadServer this module relies on.
PRIVATE_METHODS = ("_inject_js_into_html",)  # (content: bytes, epoch: int) -> bytes
# Set by __init__: Condition, bool, dict; and the site's versions: Condition, the one being built, the one shown.
PRIVATE_ATTRIBUTES = ("_rebuild_cond", "_want_rebuild", "_watch_refs", "_epoch_cond", "_wanted_epoch", "_visible_epoch")

# What a save is: a file written, made, removed or renamed.  Not a file opened or read, which
# the preview itself does on every rebuild (that would rebuild for ever).
CHANGES = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent]

# File systems whose changes (made by another machine, or by Windows under WSL) raise no events here.
_SILENT_FILE_SYSTEMS = {"9p", "drvfs", "nfs", "nfs4", "cifs", "smb3", "smbfs", "fuse.sshfs", "vboxsf", "afs"}


class ChangeObserver(Observer):
    """The system's own notifications of file changes, saves only (see ``CHANGES``)."""

    def schedule(self, event_handler, path, *, recursive=False, event_filter=None, **options):
        return super().schedule(event_handler, path, recursive=recursive, event_filter=event_filter or CHANGES,
                                **options)


def reports_changes(path: Path) -> bool:
    """Whether the system reports changes under ``path`` (else the folder must be listed over and over)."""
    if not sys.platform.startswith("linux"):
        return True  # FSEvents on macOS, ReadDirectoryChangesW on Windows
    try:
        with open("/proc/self/mounts", encoding="utf-8") as mounts:
            table = [line.split()[1:3] for line in mounts if len(line.split()) > 2]
    except OSError:
        return False
    target = os.path.realpath(path)
    found = max(((point, kind) for point, kind in table
                 if target == point or target.startswith(point.rstrip("/") + "/")), key=lambda pair: len(pair[0]),
                default=("/", "unknown"))
    return found[1] not in _SILENT_FILE_SYSTEMS


class MkDocsChanged(RuntimeError):
    """This MkDocs no longer has what the preview server relies on."""


def check_private_names(server: LiveReloadServer) -> None:
    missing = [name for name in PRIVATE_METHODS if not callable(getattr(type(server), name, None))]
    missing += [name for name in PRIVATE_ATTRIBUTES if not hasattr(server, name)]
    if missing:
        raise MkDocsChanged(f"这个版本的 MkDocs 改了预览服务器的内部接口（缺少 {', '.join(missing)}）；"
                            "请安装 pyproject.toml 里固定的版本，或更新 kite/engine/livereload.py")


class PreviewServer(LiveReloadServer):
    """Serves ``folder`` at ``mount_path``, runs ``rebuild`` when a watched file changes and
    reloads the browsers; ``banner()`` (HTML, or '') is shown at the bottom of every page,
    and a missing page gets the site's own 404.html."""

    def __init__(self, rebuild: Callable[[], None], host: str, port: int, folder: Path, mount_path: str,
                 banner: Callable[[], str]):
        # Polling every 0.2 s notices a save quickly; it costs a few milliseconds of stat calls.
        super().__init__(rebuild, host, port, str(folder), mount_path=mount_path, polling_interval=0.2)
        check_private_names(self)
        self.build_delay = 0.05
        self.banner = banner
        self.folder = Path(folder)
        self.error_handler = self._error_page

    def _error_page(self, code: int) -> bytes | None:
        page = self.folder / "404.html"
        if code == 404 and page.is_file():
            return page.read_bytes()
        return None  # MkDocs's plain text

    def watch(self, path: str, func: None = None, *, recursive: bool = True) -> None:
        # The first folder watched decides: the hub's folders all lie on one disk.
        if not self._watch_refs and isinstance(self.observer, PollingObserver) and reports_changes(Path(path)):
            self.observer = ChangeObserver(timeout=self.observer.timeout)
        super().watch(path, func, recursive=recursive)

    def lost_watches(self) -> list[str]:
        """Watched paths whose watcher has stopped: the system ends one when its folder is removed,
        and a folder made again under the same name (even with the same inode number) is not seen."""
        if not self.observer.is_alive():
            return []  # not started yet
        alive = {emitter.watch for emitter in self.observer.emitters if emitter.is_alive()}
        return [path for path, watch in self._watch_refs.items() if watch not in alive]

    def move_to(self, mount_path: str) -> bool:
        """Serve at ``mount_path`` from now on (``site_url``'s path was changed); whether it moved."""
        path = ("/" + mount_path.lstrip("/")).rstrip("/") + "/"  # as LiveReloadServer writes it
        if path == self.mount_path:
            return False
        self.mount_path = path
        self.url = urlsplit(self.url)._replace(path=path).geturl()
        return True

    def request_rebuild(self) -> None:
        """Rebuild as if a watched file had changed (say, a folder created after the start)."""
        with self._rebuild_cond:
            self._want_rebuild = True
            self._rebuild_cond.notify_all()

    def rebuild_wanted(self) -> bool:
        """Whether a file changed (or a rebuild was asked for) since the running rebuild began."""
        return self._want_rebuild

    def serve_during_rebuild(self) -> None:
        """Answer requests while the running rebuild goes on, with the files as they are.

        MkDocs holds every request until a rebuild is done, so that no browser gets half a site.
        A rebuild that only renders the pages an earlier one left for later (``Preview.more``)
        replaces each file in one step, and holding requests for it would hold the page the editor
        just saved for seconds.  The browsers still reload once it is done (``reload_after_rebuild``)."""
        with self._epoch_cond:
            self._wanted_epoch = self._visible_epoch
            self._epoch_cond.notify_all()

    def reload_after_rebuild(self) -> None:
        """After ``serve_during_rebuild``: reload the browsers when the running rebuild is done."""
        with self._epoch_cond:
            self._wanted_epoch = self._visible_epoch + 1

    def _inject_js_into_html(self, content: bytes, epoch: int) -> bytes:
        content = super()._inject_js_into_html(content, epoch)
        # The preview has no service worker (it would show a page as it was before a save): the
        # pages' start-up (theme/main.html) registers none here, and offers no saving.
        extra = "<script>window.kitePreview = true;</script>" + self.banner()
        return content.replace(b"</body>", extra.encode("utf-8") + b"</body>", 1)
