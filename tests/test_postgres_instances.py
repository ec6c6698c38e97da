"""Several `attend` processes on one PostgreSQL database, as behind nginx in production."""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import create_engine, text

from attend_process import AttendProcess
from kite.storage import database_url, open_store
from kite.storage.migrate import head

GOOD = {"session": "lessons/签到课", "branch": "鼓韵堂党支部"}
JSON = {"Accept": "application/json"}


def start_instances(hub, url: str, count: int) -> list[AttendProcess]:
    hub.lesson("签到课", "title: 可以签到的党课\ndate: 2026-03-01\nattendance: true")
    # All at once on a new database: they race to create the schema, and one must win cleanly.
    processes = [AttendProcess(hub.config, url) for _ in range(count)]
    try:
        return [process.wait_until_serving() for process in processes]
    except BaseException:
        for process in processes:
            process.stop()
        raise


def test_instances_started_together_create_the_schema_once(hub, postgres_url):
    processes = start_instances(hub, postgres_url, 3)
    for process in processes:
        process.stop()
    engine = create_engine(database_url(postgres_url))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT version_num FROM alembic_version")).all() == [(head(),)]
    engine.dispose()


def test_exactly_one_201_per_person_across_instances_under_concurrent_load(hub, postgres_url):
    processes = start_instances(hub, postgres_url, 3)
    people = [f"党员{n:03}" for n in range(80)]
    # Everyone taps 签到 six times, the taps spread over every instance at once.
    attempts = [(person, processes[i % len(processes)].url) for person in people for i in range(6)]
    clients = {process.url: httpx.Client(base_url=process.url, timeout=30) for process in processes}
    try:
        def check_in(attempt: tuple[str, str]) -> tuple[str, int]:
            name, url = attempt
            return name, clients[url].post("/checkin", json={**GOOD, "name": name}, headers=JSON).status_code

        with ThreadPoolExecutor(max_workers=32) as pool:
            answers = list(pool.map(check_in, attempts))
    finally:
        for client in clients.values():
            client.close()
        for process in processes:
            process.stop()
    created = sorted(name for name, status in answers if status == 201)
    assert created == people
    assert sorted(status for _, status in answers) == [200] * (len(attempts) - len(people)) + [201] * len(people)
    store = open_store(postgres_url)
    assert sorted(c.name for c in store.checkins()) == people
    store.close()


def test_kill_9_of_one_instance_loses_nothing_it_acknowledged(hub, postgres_url):
    victim, survivor = start_instances(hub, postgres_url, 2)
    acknowledged: dict[str, list[str]] = {victim.url: [], survivor.url: []}
    stop = threading.Event()
    numbers = itertools.count()

    def load(url: str) -> None:
        with httpx.Client(base_url=url, timeout=10) as client:
            while not stop.is_set():
                name = f"党员{next(numbers)}"
                try:
                    response = client.post("/checkin", json={**GOOD, "name": name}, headers=JSON)
                except httpx.TransportError:
                    if url == victim.url:
                        return
                    raise
                if response.status_code == 201:
                    acknowledged[url].append(name)

    threads = [threading.Thread(target=load, args=(process.url,)) for process in (victim, survivor) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 60
        while len(acknowledged[victim.url]) < 200 and time.monotonic() < deadline:
            time.sleep(0.01)
        victim.kill()
        served = len(acknowledged[survivor.url])
        deadline = time.monotonic() + 20
        while len(acknowledged[survivor.url]) <= served + 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(acknowledged[survivor.url]) > served + 20  # the other instance keeps serving
    finally:
        stop.set()
        for thread in threads:
            thread.join()
        victim.stop()
        survivor.stop()

    store = open_store(postgres_url)
    stored = {c.name for c in store.checkins()}
    store.close()
    assert len(acknowledged[victim.url]) >= 200
    for url, names in acknowledged.items():
        assert not set(names) - stored, f"{len(set(names) - stored)} acknowledged check-ins lost at {url}"
