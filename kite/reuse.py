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
one, so a file is replaced (renamed over), never truncated.
"""

from __future__ import annotations

import os


def counterpart(path: str, site: str, previous: str | None) -> str | None:
    """``path`` (inside ``site``) at the same place in the ``previous`` site, if there is one."""
    return None if previous is None else os.path.join(previous, os.path.relpath(path, site))


def holds(path: str | None, data: bytes) -> bool:
    """Whether the file at ``path`` holds exactly ``data``."""
    if path is None:
        return False
    try:
        if os.stat(path).st_size != len(data):
            return False
        with open(path, "rb") as existing:
            return existing.read() == data
    except OSError:
        return False


def link(source: str, target: str) -> bool:
    """Make ``target`` a hard link to ``source``; False where the disk cannot (then write it)."""
    try:
        os.link(source, target)
    except FileExistsError:
        os.unlink(target)
        return link(source, target)
    except OSError:
        return False
    return True


def write(data: bytes, target: str, previous: str | None = None) -> None:
    """Put ``data`` at ``target``: a link to ``previous`` where that holds the same bytes."""
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if holds(previous, data) and link(previous, target):
        return
    if not os.path.lexists(target):
        with open(target, "wb") as out:
            out.write(data)
        return
    # Replaced in one step: the file may be a link to a published one, and the preview's
    # server may be reading it (it sees the old or the new file, never a half-written one).
    fresh = f"{target}.kite-new"
    with open(fresh, "wb") as out:
        out.write(data)
    os.replace(fresh, target)
