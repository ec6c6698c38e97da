"""One writer at a time for a site folder: builds (and the preview) into the same folder take turns.

Two builds into one folder at once (two editors, or cron and an editor) each wrote a whole
staging folder and swapped it in: the last to finish won, and the other's files were
thrown away half linked.  So a build holds a lock on the folder from before its staging
folder is made until it is swapped in and the old site removed.  A second build waits for
it, saying so, and then reads the content again (``kite.build``): what is published last is
the newest content, not what the waiting build read before the first one finished.

The lock is ``flock`` on a small file *beside* the site folder (``.site.kite-lock`` for
``site``): inside, it would be swapped away with the old site; beside, it stays where every
build finds it.  The folder is named by its real path, so a ``-d`` that is a symlink locks
the folder it names.  The lock dies with its process, so a killed build leaves nothing that
blocks the next one (only the file, which the next build removes in turn).  Its holder removes
the file before unlocking it; a build that was waiting on it then sees it gone and locks a new
one.  Forked workers close their copy at once: they must not keep the lock of a build killed
under them.

Held by the same process again (the preview renders into its own folder many times), the lock
is taken once; the preview holds its folder's for as long as it runs, and a build into that
folder is refused instead of waiting for it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import shutil
import stat
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

BUILD, PREVIEW = "构建", "预览"


class SiteBusy(Exception):
    """The folder belongs to a running preview; the message is for the editor."""


def lock_file(site: Path) -> Path:
    """Where the lock of the site folder ``site`` (a real path) lives."""
    return site.parent / f".{site.name}.kite-lock"


def staging_name(site: Path) -> re.Pattern[str]:
    """The names of the folders a build of ``site`` writes beside it (``tempfile.mkdtemp``'s eight
    random characters after ``.site.new-``, ``.site.index-`` for the search index's work, or
    ``.site.old-`` while swapping without renameat2)."""
    return re.compile(rf"\.{re.escape(site.name)}\.(new|old|index)-[a-z0-9_]{{8}}")


_held: dict[str, list] = {}  # real path of a site -> [descriptor, depth]


def _forget_in_child() -> None:
    # A forked worker must not hold the lock: closing its copy of the descriptor leaves the
    # parent's lock as it is (flock belongs to the open file, which the parent still has open).
    for descriptor, _ in _held.values():
        try:
            os.close(descriptor)
        except OSError:
            pass
    _held.clear()


os.register_at_fork(after_in_child=_forget_in_child)


@contextmanager
def site_lock(site_dir: Path, *, holder: str = BUILD, say: Callable[[str], None] | None = None) -> Iterator[Path]:
    """Hold the lock of ``site_dir`` (waiting for another build to finish); yields its real path.

    ``say``: told once when this build has to wait.  Raises ``SiteBusy`` where a preview holds it.
    """
    site = Path(os.path.realpath(site_dir))
    key = str(site)
    if key in _held:
        _held[key][1] += 1
        try:
            yield site
        finally:
            _held[key][1] -= 1
        return
    site.parent.mkdir(parents=True, exist_ok=True)
    descriptor, writable = _acquire(lock_file(site), site, say)
    _held[key] = [descriptor, 1]
    try:
        if writable:
            _say_who(descriptor, holder)
        remove_stale_staging(site)
        yield site
    finally:
        del _held[key]
        # Removed while still locked, so that nothing is left beside the site; a build waiting on
        # this file then finds it gone and locks a new one (``_acquire``).
        try:
            os.unlink(lock_file(site))
        except OSError:
            pass
        os.close(descriptor)  # and with it the lock


def _say_who(descriptor: int, holder: str) -> None:
    """Who holds the lock, for a build that has to wait to say so (a full disk leaves it unsaid)."""
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()} {holder} {time.strftime('%H:%M:%S')}\n".encode("utf-8"), 0)
    except OSError:
        pass


def _acquire(path: Path, site: Path, say: Callable[[str], None] | None) -> tuple[int, bool]:
    """The locked lock file: the one at ``path`` once locked, not one its holder removed meanwhile."""
    told = None
    while True:
        descriptor, writable = _open(path)
        try:
            told = _lock(descriptor, site, None if told else say) or told
            locked = os.fstat(descriptor)
            try:
                current = os.lstat(path)
            except FileNotFoundError:
                current = None
            if current is not None and (current.st_dev, current.st_ino) == (locked.st_dev, locked.st_ino):
                return descriptor, writable
        except BaseException:
            os.close(descriptor)
            raise
        os.close(descriptor)


def _open(path: Path) -> tuple[int, bool]:
    """The lock file, made if missing; read-only where another user made it (flock needs no more)."""
    flags = os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        try:
            return os.open(path, os.O_RDWR | os.O_CREAT | flags, 0o644), True
        except PermissionError as refused:
            try:
                return os.open(path, os.O_RDONLY | flags), False
            except FileNotFoundError:
                # No lock file, and no right to make one: the folder beside the site is not ours to
                # write (nor would the staging folder be).  Said so, not that the file is missing.
                raise refused from None
    except OSError as error:
        if error.errno not in (errno.EISDIR, errno.ELOOP):
            raise
        # Never followed nor written into: someone put a folder or a symlink where the lock goes.
        raise OSError(error.errno, "构建锁不是普通文件，而是文件夹或符号链接；确认不是别人的文件后删除它，再重新构建",
                      str(path)) from None


def _lock(descriptor: int, site: Path, say: Callable[[str], None] | None) -> bool:
    """Lock ``descriptor``, waiting if need be; whether it had to wait."""
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except OSError as error:
        if error.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
            raise
    pid, holder, since = _holder(descriptor)
    if holder == PREVIEW:
        raise SiteBusy(f"输出目录 {site} 是正在运行的预览（进程 {pid}）的文件夹，预览停止之前不能往里构建；"
                       "请换一个输出目录")
    if say is not None:
        who = f"（进程 {pid}，{since} 开始）" if pid else ""
        say(f"另一个构建{who}正在生成 {site}，等它完成后再开始本次构建……")
    fcntl.flock(descriptor, fcntl.LOCK_EX)  # Ctrl+C still ends the wait (PEP 475)
    return True


def _holder(descriptor: int) -> tuple[str, str, str]:
    """(pid, what, since) as the holder wrote them; empty where it has not yet."""
    words = os.pread(descriptor, 200, 0).decode("utf-8", errors="replace").split()
    return (words + ["", "", ""])[:3] if len(words) >= 3 else ("", "", "")


def remove_stale_staging(site: Path) -> list[str]:
    """Remove what killed builds of ``site`` left beside it (their staging folders, full of hard
    links to the published files, and their search index's work); only this site's, and only with
    its lock held, so that no live build is using one.  Returns the names removed."""
    pattern = staging_name(site)
    removed = []
    try:
        names = os.listdir(site.parent)
    except OSError:
        return removed
    own = os.geteuid()
    if not os.path.lexists(site):
        restored = _put_back(site, [name for name in names if pattern.fullmatch(name) and ".old-" in name])
        names = [name for name in names if name != restored]
    for name in names:
        if not pattern.fullmatch(name):
            continue
        path = site.parent / name
        try:
            status = os.lstat(path)
        except OSError:
            continue
        # A folder of ours, not a symlink (which rmtree would refuse anyway) nor someone else's.
        if stat.S_ISDIR(status.st_mode) and status.st_uid == own:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(name)
    return removed


def _put_back(site: Path, olds: list[str]) -> str | None:
    """The published site, where a build was killed between renaming it to ``.site.old-…`` and its
    own into its place (a system that cannot swap two folders in one step): renamed back, so that a
    build failing now leaves it published as it was.  Returns the name it had."""
    from .publisher import MARKER  # (the publisher takes this module's lock)

    for name in olds:
        path = site.parent / name
        if not path.is_symlink() and (path / MARKER).is_file():
            try:
                os.rename(path, site)
            except OSError:
                return None
            return name
    return None


def abandoned(site: Path, *, settled: float = 60.0) -> bool:
    """Whether ``site``'s lock file is there but nobody holds it: whoever locked the folder was killed
    (``kill -9``, out of memory) before it could remove the file.  No lock file: not known to be.

    Only a lock file written ``settled`` seconds ago or more counts: one just made may not be locked
    yet by the process that made it (``_acquire`` opens, then locks)."""
    try:
        descriptor = os.open(lock_file(site), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    if time.time() - os.fstat(descriptor).st_mtime < settled:
        os.close(descriptor)
        return False
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False  # held: alive
    finally:
        os.close(descriptor)  # (and with it the lock, if taken)
    return True
