"""Files unchanged since the last build stay the published site's own files.

A build writes a whole new site beside the published one and swaps it in.  A file
whose bytes are the same as in the published site becomes a hard link to that file,
and its compressed copies are linked with it instead of compressed again.  So an
unchanged page keeps its inode and its modification time: nginx's ETag and
Last-Modified stay the same, so members' browsers revalidate it with a 304 instead
of downloading it again, and rsync skips it.  The build also neither creates nor
deletes a file for it: on ext4, creating files gets slower the more were deleted in
the last minutes, and every rebuild used to delete and create the whole site.

Nothing here ever writes into an existing file: a linked file *is* the published
one, so a file is replaced (renamed over), never truncated.  And only a file that is
plainly the last build's own is linked: not one reached through a symlink (it would put
a file from outside the site into it), not someone else's, not one whose mode the web
server could not read; the file compared is checked to be the one linked.
"""

from __future__ import annotations

import functools
import os
import shutil
import stat
from typing import Callable


def counterpart(path: str, site: str, previous: str | None) -> str | None:
    """``path`` (inside ``site``) at the same place in the ``previous`` site, if there is one.

    None where a folder on the way is no longer the published site's own (replaced by a
    symlink): a file linked from there would be one outside the site.
    """
    if previous is None:
        return None
    relative = os.path.relpath(path, site)
    return os.path.join(previous, relative) if _plain_folders(previous, os.path.dirname(relative)) else None


def _plain_folders(previous: str, folder: str) -> bool:
    """Whether each folder from ``previous`` down to ``folder`` (relative) is a folder, not a symlink.
    (An lstat of each: 10 µs a file against 27 µs for ``os.path.realpath`` of the whole path.)"""
    while folder:
        try:
            if not stat.S_ISDIR(os.lstat(os.path.join(previous, folder)).st_mode):
                return False
        except OSError:
            return True  # nothing there: nothing to link either
        folder = os.path.dirname(folder)
    return True


@functools.lru_cache(maxsize=1)
def fresh_mode() -> int:
    """The mode a file this process creates gets (umask read without changing it: other threads
    may be creating files).  Read once a build: ``Publisher.staged`` forgets it (``cache_clear``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            umask = next(int(line.split()[1], 8) for line in status if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0o022)
        os.umask(umask)
    return 0o666 & ~umask


def _open_own(path: str) -> int | None:
    """A descriptor for ``path`` if it is plainly a file a build of ours wrote: a regular file, not a
    symlink, ours, with the mode a new file gets (so the web server reads it).  Anything else (a page
    made unreadable, someone else's file that they could change after the build) is written afresh."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    status = os.fstat(descriptor)
    if (not stat.S_ISREG(status.st_mode) or status.st_uid != os.geteuid()
            or stat.S_IMODE(status.st_mode) != fresh_mode()):
        os.close(descriptor)
        return None
    return descriptor


def _read(descriptor: int, size: int) -> bytes:
    with os.fdopen(descriptor, "rb", closefd=False) as existing:
        return existing.read(size + 1)


def holds(path: str | None, data: bytes) -> bool:
    """Whether ``path`` is a file of ours (see ``_open_own``) holding exactly ``data``."""
    return path is not None and link_if(path, None, data.__eq__, len(data))


def link_if(source: str | None, target: str | None, accept: Callable[[bytes], bool], size: int | None = None) -> bool:
    """Make ``target`` a hard link to ``source`` if that is a file of ours whose bytes ``accept``
    (and, given ``size``, of that size); False otherwise, or where the disk cannot (then write it).
    ``target`` None: only whether it would."""
    def check(descriptor: int, status: os.stat_result) -> bool:
        if size is not None and status.st_size != size:
            return False
        try:
            return accept(_read(descriptor, status.st_size))
        except OSError:
            return False

    return _link_checked(source, target, check)


def link_if_same(source: str | None, target: str, same: Callable[[os.stat_result], bool]) -> bool:
    """Make ``target`` a hard link to ``source`` if that is a file of ours whose status ``same``
    accepts (the very file a build recorded, ``kite.rendered``), without reading it."""
    return _link_checked(source, target, lambda descriptor, status: same(status))


def _link_checked(source: str | None, target: str | None, check: Callable[[int, os.stat_result], bool]) -> bool:
    descriptor = None if source is None else _open_own(source)
    if descriptor is None:
        return False
    try:
        status = os.fstat(descriptor)
        if not check(descriptor, status):
            return False
        if target is None:
            return True
        if not link(source, target):
            return False
        # The file checked must be the one linked: another build may have swapped the site meanwhile.
        linked = os.lstat(target)
        if (linked.st_dev, linked.st_ino) != (status.st_dev, status.st_ino):
            os.unlink(target)
            return False
        return True
    finally:
        os.close(descriptor)


def link(source: str, target: str) -> bool:
    """Make ``target`` a hard link to ``source`` (not to what a symlink there names); False where
    the disk cannot."""
    try:
        os.link(source, target, follow_symlinks=False)
    except FileExistsError:
        if os.path.samefile(source, target):  # already it (the preview's site is its own previous)
            return True
        os.unlink(target)
        return link(source, target)
    except OSError:
        return False
    return True


def identity(status: os.stat_result) -> tuple[int, int]:
    """What a build records of a file it published (``kite.rendered``): its size and modification
    time, which any change to it in place alters; a copy made with its times (rsync -a) keeps them."""
    return status.st_size, status.st_mtime_ns


def link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    """Put ``source`` at ``target`` (which is not there yet): a hard link where the disk allows it,
    costing no copying (audio and video are large), else a copy with its times."""
    try:
        os.link(source, target)
    except OSError:  # a disk without hard links, or another disk
        shutil.copy2(source, target)


def keep_unchanged(paths: list[str], site: str, previous: str | None) -> int:
    """Files other programs wrote into ``site`` (MkDocs's 404 page and theme files, Pagefind's index):
    each whose bytes are the same as in the ``previous`` site becomes that file, as ``write`` makes a
    page.  A folder among ``paths`` is walked.  Returns how many were linked."""
    if previous is None:
        return 0
    kept = 0
    for path in paths:
        if os.path.isdir(path) and not os.path.islink(path):
            for folder, _, names in os.walk(path):
                kept += sum(_keep(os.path.join(folder, name), site, previous) for name in names)
        else:
            kept += _keep(path, site, previous)
    return kept


def _keep(path: str, site: str, previous: str) -> bool:
    source = counterpart(path, site, previous)
    try:
        written = os.lstat(path)
        published = os.lstat(source) if source else None
    except OSError:
        return False
    if (published is None or not stat.S_ISREG(written.st_mode) or written.st_size != published.st_size
            or (written.st_dev, written.st_ino) == (published.st_dev, published.st_ino)):
        return False  # nothing to link from, or not the same size, or already it
    try:
        with open(path, "rb") as new:
            data = new.read()
    except OSError:
        return False
    # Linked beside and renamed over: ``path`` is never missing, nor ever a file with other bytes.
    fresh = f"{path}.kite-new"
    if not link_if(source, fresh, data.__eq__, len(data)):
        return False
    os.replace(fresh, path)
    return True


def write(data: bytes, target: str, previous: str | None = None) -> None:
    """Put ``data`` at ``target``: a link to ``previous`` where that holds the same bytes."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if link_if(previous, target, data.__eq__, len(data)):
        return
    if not os.path.lexists(target):
        _write_new(target, data)
        return
    # Replaced in one step: the file may be a link to a published one, and the preview's
    # server may be reading it (it sees the old or the new file, never a half-written one).
    fresh = f"{target}.kite-new"
    _write_new(fresh, data)
    os.replace(fresh, target)


def _write_new(path: str, data: bytes) -> None:
    """Write a file that was not there; on failure, none is left (a preview serves its folder)."""
    try:
        with open(path, "wb") as out:
            out.write(data)
    except OSError as error:
        try:
            os.unlink(path)
        except OSError:
            pass
        if not error.filename:
            # write() and close() fail without a name (a full disk): the editor is told which file.
            error.filename = path
        raise
