"""Reads and writes at once (issue 18, item 5; "must be true" 5): readers never wait for a writer,
an import holds the write lock only while it merges, and a web writer that cannot get the lock in
time gets a 503 with Retry-After (nothing written) instead of holding the server's threads.

Runs on SQLite and, with WEBMAP_TEST_POSTGRES, on PostgreSQL + PostGIS. The figures under load
(p99 of the reads during a 200k-row import) are measured by ``bench/contention.py``.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from conftest import POSTGRES
from helpers import AUTH, FORM, GED, csrf_token, csv_rows, free_port, import_paused_after_first_batch, log_in

import webmap.web
from webmap.cli import main
from webmap.io.importer import import_file
from webmap.query import IncidentFilter, count_incidents
from webmap.roles import BOOTSTRAP
from webmap.store import IncidentStore

GED_EVENTS = len(csv_rows(GED)) - 2  # after the header and the HXL tag row: one event per row
ALL = IncidentFilter.build(drafts=True)


@pytest.fixture
def quick_web_writers(monkeypatch):
    """Web writers of the apps made in this test wait half a second for the write lock."""
    monkeypatch.setattr(webmap.web, "WRITE_WAIT", 0.5)


@pytest.fixture
def lock_holder(database_url):
    """A second store on the test's database (as another process would hold one), to hold its write lock."""
    other = IncidentStore(database_url)
    yield other
    other.dispose()


def total(client) -> int:
    response = client.get("/api/incidents?limit=1&drafts=1", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["total"]


@pytest.mark.skipif(bool(POSTGRES), reason="SQLite's journal")
def test_sqlite_keeps_the_database_in_wal_mode(store):
    with store.connect() as first, store.connect() as second:
        assert [c.exec_driver_sql("PRAGMA journal_mode").scalar() for c in (first, second)] == ["wal", "wal"]


@pytest.mark.skipif(bool(POSTGRES), reason="SQLite's journal")
def test_a_sqlite_file_that_cannot_be_kept_in_wal_is_refused_naming_the_variable(runner, monkeypatch, tmp_path):
    # Without file locks (as on some network file systems) SQLite quietly stays in its old journal.
    monkeypatch.setenv("WEBMAP_DB", f"sqlite:///file:{tmp_path / 'webmap.db'}?vfs=unix-dotfile&uri=true")
    result = runner.invoke(main, ["serve", "--port", str(free_port())])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        "Error: WEBMAP_DB: SQLite cannot keep this database in WAL mode (it stays in 'delete' mode), so reads "
        "would wait for every write: put the file on a local disk (WAL needs file locks and shared memory)"
    ]


def test_reads_go_on_while_another_process_holds_the_write_lock(client, lock_holder):
    client.post("/api/incidents", json=FORM, headers=AUTH)
    with lock_holder.transaction():
        # Were readers blocked, these would wait for the lock and fail; they answer from the last commit.
        assert total(client) == 1
        assert client.get("/api/points").status_code == 200
        assert client.get("/").status_code == 200


def test_a_web_writer_that_cannot_get_the_lock_gets_503_and_nothing_is_written(quick_web_writers, client, lock_holder):
    created = client.post("/api/incidents", json=FORM, headers=AUTH).get_json()
    log_in(client)
    form = client.get("/incidents/new")
    with lock_holder.transaction():
        for method, path in (("post", "/api/incidents"), ("put", f"/api/incidents/{created['id']}")):
            response = getattr(client, method)(path, json={**FORM, "fatalities": 9}, headers=AUTH)
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "1"
            assert response.get_json()["error"] == (
                "the database is busy: an import or another edit has held the write lock for over 0.5 s; "
                "nothing written, try again in a few seconds"
            )
        deleted = client.delete(f"/api/incidents/{created['id']}?reason=duplicate", headers=AUTH)
        assert deleted.status_code == 503
        # The analyst's form answers the same as a page.
        page = client.post("/incidents/new", data={**FORM, "csrf_token": csrf_token(form.get_data(as_text=True))})
        assert page.status_code == 503 and page.headers["Retry-After"] == "1"
        assert "the database is busy" in page.get_data(as_text=True)
    assert total(client) == 1
    assert client.get(f"/api/incidents/{created['id']}").get_json()["properties"]["fatalities"] == 1


def http(method: str, url: str, body: dict | None = None) -> tuple[int, dict, dict]:
    """(status, headers, JSON body) of one request with the test's bearer token."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={**AUTH, "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read() or b"null")


def test_only_two_web_writers_wait_for_the_lock_and_the_rest_are_refused(monkeypatch, app, server, lock_holder):
    monkeypatch.setattr(webmap.web, "WRITE_WAIT", 30.0)
    assert http("GET", server + "/api/incidents?limit=1")[0] == 200  # the app opens its store
    slots = app.extensions["webmap"]["store"]._writer_slots
    answers: list[int] = []
    with lock_holder.transaction():
        waiting = [
            threading.Thread(target=lambda: answers.append(http("POST", server + "/api/incidents", FORM)[0]))
            for _ in range(webmap.web.WAITING_WRITERS)
        ]
        for thread in waiting:
            thread.start()
        deadline = time.monotonic() + 30
        while slots._value and time.monotonic() < deadline:  # until both are waiting for the lock
            time.sleep(0.05)
        status, headers, body = http("POST", server + "/api/incidents", FORM)
        assert status == 503 and headers["Retry-After"] == "5"
        assert body["error"] == (
            "the database is busy: other changes are already waiting to be written; "
            "nothing written, try again in a few seconds"
        )
        # The two waiting writers hold two of the four threads: reads still get through.
        assert http("GET", server + "/api/incidents?limit=1")[2]["total"] == 0
        assert not answers
    for thread in waiting:
        thread.join(timeout=60)
    assert answers == [201, 201]


def test_an_import_holds_no_lock_while_it_reads_checks_and_stages(app, client, store, monkeypatch):
    with import_paused_after_first_batch(store, monkeypatch) as done:
        # Mid-import: its staged rows are invisible and the web writes as if it were not there.
        assert total(client) == 0
        assert client.post("/api/incidents", json=FORM, headers=AUTH).status_code == 201
        assert total(client) == 1
    assert done["summary"].inserted == GED_EVENTS
    assert total(client) == GED_EVENTS + 1


def test_a_web_writer_that_arrives_during_an_import_merge_gets_503(quick_web_writers, client, store, monkeypatch):
    merging, go_on = threading.Event(), threading.Event()
    merge = IncidentStore._merge_staged

    def slow_merge(self, conn, *args):
        merging.set()
        go_on.wait(60)
        return merge(self, conn, *args)

    monkeypatch.setattr(IncidentStore, "_merge_staged", slow_merge)
    done = {}
    importer = threading.Thread(
        target=lambda: done.update(summary=import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP))
    )
    importer.start()
    try:
        assert merging.wait(120)
        refused = client.post("/api/incidents", json=FORM, headers=AUTH)
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
        assert "the database is busy" in refused.get_json()["error"]
        assert total(client) == 0  # reads go on during the merge
    finally:
        go_on.set()
        importer.join(timeout=300)
    assert done["summary"].inserted == GED_EVENTS
    assert count_incidents(store, ALL) == GED_EVENTS  # all of the import, nothing of the refused write


def test_one_incident_given_twice_in_a_batch_is_refused_naming_its_rows(client):
    """The merge's one rule for a batch: a (source, source_id) appears once; nothing is written."""
    record = {**FORM, "source_id": "244637", "status": "draft"}
    response = client.post("/api/extract/save", json={"incidents": [record, record]}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "row 2: source_id: '244637' of source 'UCDP GED test copy' is also on row 1",
        "field": "source_id",
    }
    assert total(client) == 0
    saved = client.post("/api/extract/save", json={"incidents": [record]}, headers=AUTH).get_json()
    assert (saved["inserted"], saved["updated"], saved["unchanged"]) == (1, 0, 0)
    again = client.post("/api/extract/save", json={"incidents": [{**record, "fatalities": 2}]}, headers=AUTH)
    updated = again.get_json()
    assert (updated["inserted"], updated["updated"], updated["unchanged"], updated["ids"]) == (0, 1, 0, saved["ids"])
