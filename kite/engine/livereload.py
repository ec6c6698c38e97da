"""The preview's web server: MkDocs's live-reload server, with a banner and the site's 404 page.

MkDocs offers no public way to ask for a rebuild or to change the HTML it serves, so
this module uses three of its private names, here and nowhere else.  ``check_private_names``
says loudly when an upgrade of MkDocs removed one (tests/test_engine.py runs it too).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

from mkdocs.livereload import LiveReloadServer

# The private parts of LiveReloadServer this module relies on.
PRIVATE_METHODS = ("_inject_js_into_html",)  # (content: bytes, epoch: int) -> bytes
PRIVATE_ATTRIBUTES = ("_rebuild_cond", "_want_rebuild")  # set by __init__: a Condition and a bool


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

    def request_rebuild(self) -> None:
        """Rebuild as if a watched file had changed (say, a folder created after the start)."""
        with self._rebuild_cond:
            self._want_rebuild = True
            self._rebuild_cond.notify_all()

    def _inject_js_into_html(self, content: bytes, epoch: int) -> bytes:
        content = super()._inject_js_into_html(content, epoch)
        banner = self.banner()
        if banner:
            content = content.replace(b"</body>", banner.encode("utf-8") + b"</body>", 1)
        return content
