"""Group commit: check-ins that wait together are committed together, each answered for itself.

A real endpoint on loopback, a real database.  Another connection holds the database's
write lock (as another process would), so the check-ins sent meanwhile pile up and are
written as one batch once it lets go: then every answer is checked against what is stored.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from pathlib import Path

import httpx
import pytest

from kite.storage import open_store
from test_storage_faults import as_root, fill_up, small_disk  # noqa: F401  (fixtures)

LESSON = "lessons/签到课"
BRANCH = "鼓韵堂党支部"
JSON = {"Accept": "application/json"}


@pytest.fixture
def lesson_hub(hub):
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    return hub


@contextlib.contextmanager
def write_lock_held(database: str):
    """Hold the database's write lock from another connection; check-ins queue until the block ends."""
    if "://" in database:
        import psycopg

        with psycopg.connect(database.replace("postgresql+psycopg://", "postgresql://")) as connection:
            with connection.transaction():
                connection.execute("LOCK TABLE checkins IN EXCLUSIVE MODE")
                yield
        return
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        yield
        connection.execute("COMMIT")
    finally:
        connection.close()


class Burst:
    """Check-ins sent all at once from threads; each answer kept with the moment it came back."""

    def __init__(self, url: str, names: list[str]):
        self.answers: list[tuple[str, int, float]] = []
        self._lock = threading.Lock()
        self._client = httpx.Client(base_url=url, timeout=30, limits=httpx.Limits(max_connections=len(names)))
        self._threads = [threading.Thread(target=self._send, args=(name,)) for name in names]

    def _send(self, name: str) -> None:
        response = self._client.post("/checkin", json={"session": LESSON, "branch": BRANCH, "name": name}, headers=JSON)
        with self._lock:
            self.answers.append((name, response.status_code, time.monotonic()))

    def start(self) -> "Burst":
        for thread in self._threads:
            thread.start()
        return self

    def wait_until_queued(self) -> None:
        # Time for every request to reach the endpoint and queue behind the lock (well under
        # the 5 s a writer waits for it): what is asserted holds however long this takes.
        time.sleep(1.5)

    def join(self) -> list[tuple[str, int, float]]:
        for thread in self._threads:
            thread.join()
        self._client.close()
        return self.answers


def stored_names(database: str) -> list[str]:
    store = open_store(database)
    try:
        return sorted(c.name for c in store.checkins())
    finally:
        store.close()


def test_a_batch_answers_each_check_in_for_itself_and_only_after_commit(lesson_hub, database, start_endpoint):
    url = start_endpoint(lesson_hub.config, database)
    assert httpx.post(url + "/checkin", json={"session": LESSON, "branch": BRANCH, "name": "早到的"},
                      headers=JSON).status_code == 201
    people = [f"党员{n:02}" for n in range(12)]
    # Everyone four times, plus the one who is already stored: duplicates inside the batch and of an older row.
    names = [person for person in people for _ in range(4)] + ["早到的"] * 3
    with write_lock_held(database):
        burst = Burst(url, names).start()
        burst.wait_until_queued()
        assert burst.answers == [], "answered before the check-ins could be committed"
        released = time.monotonic()
    answers = burst.join()
    assert all(at >= released for _, _, at in answers)
    for person in people:
        statuses = sorted(status for name, status, _ in answers if name == person)
        assert statuses == [200, 200, 200, 201], (person, statuses)
    assert [status for name, status, _ in answers if name == "早到的"] == [200, 200, 200]
    assert stored_names(database) == sorted(people + ["早到的"])


def test_storage_failing_mid_batch_answers_503_to_that_batch_and_the_next_check_ins_succeed(
        lesson_hub, small_disk, start_endpoint):  # noqa: F811  (the fixture)
    database = str(small_disk / "attendance.sqlite3")
    url = start_endpoint(lesson_hub.config, database)
    assert httpx.post(url + "/checkin", json={"session": LESSON, "branch": BRANCH, "name": "早到的"},
                      headers=JSON).status_code == 201
    names = [f"党员{n:02}" for n in range(20)]
    with write_lock_held(database):
        burst = Burst(url, names).start()
        burst.wait_until_queued()
        # The disk fills up while the batch waits: its commit cannot be written.
        filler = fill_up(small_disk)
    answers = burst.join()
    assert sorted(status for _, status, _ in answers) == [503] * len(names)
    filler.unlink()
    with httpx.Client(base_url=url, timeout=30) as client:
        again = [client.post("/checkin", json={"session": LESSON, "branch": BRANCH, "name": name}, headers=JSON)
                 for name in names]
    assert [answer.status_code for answer in again] == [201] * len(names)
    assert stored_names(database) == sorted(names + ["早到的"])


def test_a_closed_store_commits_what_was_waiting(tmp_path: Path):
    database = str(tmp_path / "attendance.sqlite3")
    store = open_store(database)
    results: list[bool] = []
    with write_lock_held(database):
        threads = [threading.Thread(target=lambda n=n: results.append(store.record_checkin(LESSON, BRANCH, f"党员{n}")))
                   for n in range(10)]
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        closing = threading.Thread(target=store.close)
        closing.start()
    closing.join()
    for thread in threads:
        thread.join()
    assert results == [True] * 10
    assert stored_names(database) == sorted(f"党员{n}" for n in range(10))
