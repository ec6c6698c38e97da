"""``serve``: a live preview for editors on loopback.

Builds into a private folder, serves it with MkDocs's live-reload server, and
rebuilds when the config, a content file or a template changes.  A content error
is printed and the last good preview stays up.
"""

from __future__ import annotations

import logging
import shutil
import sys
import tempfile
from pathlib import Path

from mkdocs.livereload import LiveReloadServer

from .build import build
from .errors import ContentErrors
from .loader import CONTENT_DIRS, load_hub


def watched_paths(config_path: Path) -> list[Path]:
    root = config_path.parent
    paths = [config_path, root / "templates", root / "content", *(root / folder for folder in CONTENT_DIRS.values())]
    return [path for path in dict.fromkeys(paths) if path.exists()]


def serve(config_path: Path, *, host: str = "127.0.0.1", port: int = 8000) -> int:
    config_path = Path(config_path)
    workspace = Path(tempfile.mkdtemp(prefix="kite-preview-"))
    preview_dir = workspace / "site"
    endpoint = start_checkin(config_path, workspace, host, port)

    def rebuild() -> None:
        try:
            report = build(config_path, preview_dir, endpoint=endpoint)
        except ContentErrors as errors:
            for problem in errors.problems:
                print(problem, file=sys.stderr)
            print(f"发现 {len(errors.problems)} 个问题；预览仍显示上一次成功的版本。改好后保存即可自动刷新。", file=sys.stderr)
            return
        print(f"已更新预览：{report.pages} 个页面，用时 {report.seconds:.1f} 秒", flush=True)

    try:
        base_path = load_hub(config_path).config.base_path
    except ContentErrors:
        base_path = "/"
    rebuild()
    if not preview_dir.exists():
        preview_dir.mkdir(parents=True)
    logging.getLogger("mkdocs.livereload").setLevel(logging.WARNING)
    server = LiveReloadServer(rebuild, host, port, str(preview_dir), mount_path=base_path)
    for path in watched_paths(config_path):
        server.watch(str(path))
    print(f"预览地址：{server.url}  （按 Ctrl+C 停止）", flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        shutil.rmtree(workspace, ignore_errors=True)
    return 0


def start_checkin(config_path: Path, workspace: Path, host: str, port: int) -> str | None:
    """The check-in endpoint on the next port, recording into a throwaway database."""
    from .attendance.server import run_in_background

    checkin_port = port + 1
    try:
        run_in_background(config_path, workspace / "preview.sqlite3", host, checkin_port, (f"http://{host}:{port}",))
    except ContentErrors:
        return None
    url = f"http://{host}:{checkin_port}"
    print(f"签到服务（仅供预览，数据不保留）：{url}/checkin", flush=True)
    return url
