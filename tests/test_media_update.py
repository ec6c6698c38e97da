"""The preview's media files are replaced by a rename over the old one, never removed first: a
member of the editor's browser playing the episode meanwhile never gets a 404.  Watched with the
kernel's inotify, which reports every name removed from the folder."""

from __future__ import annotations

import ctypes
import os
import struct

from kite.loader import load_hub
from kite.publisher import Publisher

IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x40, 0x80, 0x100, 0x200


class FolderEvents:
    """What happened to the names in one folder, as inotify tells it."""

    def __init__(self, folder):
        self.libc = ctypes.CDLL(None, use_errno=True)
        self.descriptor = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
        assert self.descriptor >= 0
        mask = IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        assert self.libc.inotify_add_watch(self.descriptor, os.fsencode(folder), mask) >= 0

    def read(self) -> list[tuple[int, str]]:
        try:
            data = os.read(self.descriptor, 65536)
        except BlockingIOError:
            return []
        events, offset = [], 0
        while offset < len(data):
            _, mask, _, length = struct.unpack_from("iIII", data, offset)
            name = data[offset + 16: offset + 16 + length].rstrip(b"\0").decode()
            events.append((mask & (IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE), name))
            offset += 16 + length
        return events

    def close(self) -> None:
        os.close(self.descriptor)


def test_a_changed_media_file_is_renamed_over_the_served_one_never_removed_first(hub, tmp_path):
    hub.episode("第一期", "title: 第一期\ndate: 2026-01-01\nmedia: 第一期.mp3")
    hub.media("第一期.mp3", b"ID3 old recording")
    site = Publisher(tmp_path / "site")  # as the preview's: the folder that is served
    site.copy_media(load_hub(hub.config))
    served = tmp_path / "site/media/第一期.mp3"
    assert served.read_bytes() == b"ID3 old recording"

    replacement = hub.root / "content/media/new.mp3"
    replacement.write_bytes(b"ID3 new recording")
    replacement.replace(hub.root / "content/media/第一期.mp3")  # saved by an editor's program: a new file
    events = FolderEvents(served.parent)
    try:
        site.copy_media(load_hub(hub.config))
        happened = events.read()
    finally:
        events.close()
    assert served.read_bytes() == b"ID3 new recording"
    assert (IN_MOVED_TO, "第一期.mp3") in happened
    assert not [event for event in happened if event[1] == "第一期.mp3" and event[0] in (IN_DELETE, IN_MOVED_FROM)], happened
    assert sorted(os.listdir(served.parent)) == ["cover.png", "第一期.mp3"]  # nothing left beside
