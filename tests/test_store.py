"""The store under imports: one transaction per import, writers serialised, nothing half-written.

Runs on SQLite and, with WEBMAP_TEST_POSTGRES, on PostgreSQL + PostGIS (the conftest's database).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa
from helpers import ACLED_LAYOUT, GED, ROOT, csv_rows, import_paused_after_first_batch, write_rows

from webmap.errors import ImportFailed, WebmapError
from webmap.io import importer
from webmap.io.demo import DEMO_INCIDENTS
from webmap.io.importer import import_file
from webmap.query import IncidentFilter, count_incidents, select_incidents
from webmap.roles import BOOTSTRAP
from webmap.store import IncidentStore

ALL = IncidentFilter.build(drafts=True)


def start_import(database_url: str, path, tmp_path):
    """``webmap import PATH`` in its own process, as a second analyst would run it."""
    env = {**os.environ, "WEBMAP_DB": database_url, "WEBMAP_GEODATA": str(tmp_path / "user-geodata")}
    return subprocess.Popen(
        [sys.executable, "-c", "from webmap.cli import main; main()", "import", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process) -> str:
    out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    return out


def test_two_processes_importing_different_files_both_complete(database_url, store, tmp_path):
    first = start_import(database_url, GED, tmp_path)
    second = start_import(database_url, ACLED_LAYOUT, tmp_path)
    assert "518 inserted" in finish(first)
    assert "171 inserted" in finish(second)
    stored = select_incidents(store, ALL)
    assert len(stored) == 518 + 171
    assert len({(i.source, i.source_id) for i in stored}) == len(stored)


def test_two_processes_importing_the_same_file_store_it_once(database_url, store, tmp_path):
    # the demo incidents: 1,783 real UCDP events, the largest file of real events the repository holds
    first = start_import(database_url, DEMO_INCIDENTS, tmp_path)
    second = start_import(database_url, DEMO_INCIDENTS, tmp_path)
    outputs = sorted([finish(first), finish(second)], key=lambda out: "1783 unchanged" in out)
    assert "1783 inserted, 0 updated, 0 unchanged" in outputs[0]
    assert "0 inserted, 0 updated, 1783 unchanged" in outputs[1]
    assert count_incidents(store, ALL) == 1783


def test_a_second_writer_waits_for_the_first(store):
    done = {}

    def second_import():
        done["summary"] = import_file(store, ACLED_LAYOUT, "acled", progress=False, by=BOOTSTRAP)

    with store.transaction():
        worker = threading.Thread(target=second_import)
        worker.start()
        time.sleep(1.5)
        assert worker.is_alive() and "summary" not in done  # it waits for the lock
    worker.join(timeout=120)
    assert done["summary"].inserted == 171


@pytest.mark.skipif(bool(os.environ.get("WEBMAP_TEST_POSTGRES")), reason="SQLite's busy timeout")
def test_a_writer_that_waits_too_long_gets_a_clear_error(database_url, store):
    impatient = IncidentStore(database_url)
    sa.event.listen(impatient.engine, "connect", lambda dbapi, _: dbapi.execute("PRAGMA busy_timeout=300"))
    impatient.engine.dispose()
    with store.transaction():
        with pytest.raises(WebmapError, match="the database is busy: .* nothing written, try again"):
            import_file(impatient, ACLED_LAYOUT, "acled", progress=False, by=BOOTSTRAP)
    impatient.dispose()
    assert count_incidents(store, ALL) == 0


def test_a_bad_row_after_the_first_written_batch_leaves_nothing(store, tmp_path, monkeypatch):
    # Batches of 100 rows (5,000 in use), so that the 518 events of the excerpt make several.
    monkeypatch.setattr(importer, "BATCH", 100)
    rows = csv_rows(GED)
    header = rows[0]
    last = len(rows) - 1
    assert last - 1 > importer.BATCH  # the first batch is written before the bad row is read
    rows[last][header.index("date_start")] = "2018-02-30"
    path = write_rows(tmp_path / "ged.csv", rows)
    with pytest.raises(ImportFailed) as failure:
        import_file(store, path, "ucdp", progress=False, by=BOOTSTRAP)
    assert f"row {last + 1}: date_start: not a date: '2018-02-30'" in str(failure.value)
    assert count_incidents(store, ALL) == 0
    # and the same store accepts the good file afterwards
    assert import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP).inserted == 518


def test_an_import_of_new_and_stored_rows_in_every_batch_writes_each_once(store, tmp_path, monkeypatch):
    """Batches that mix rows stored already with new ones (on PostgreSQL the new go straight into
    the table, the stored wait for the merge): counts, ids in file order, the record of who saved
    each and one history entry per write."""
    monkeypatch.setattr(importer, "BATCH", 100)
    rows = csv_rows(GED)
    header, events = rows[:2], rows[2:]
    best = rows[0].index("best")
    first_half = events[::2]  # every other event: each later batch holds stored and new rows
    import_file(store, write_rows(tmp_path / "half.csv", header + first_half), "ucdp", progress=False, by=BOOTSTRAP)
    for row in first_half[:30]:
        row[best] = str(int(row[best]) + 1)
    summary = import_file(
        store,
        write_rows(tmp_path / "all.csv", header + events),
        "ucdp",
        progress=False,
        by=BOOTSTRAP,
        update=True,
        reason="UCDP revised the counts",
    )
    assert (summary.inserted, summary.updated, summary.unchanged) == (
        len(events) - len(first_half),
        30,
        len(first_half) - 30,
    )
    stored = {i.source_id: i for i in select_incidents(store, ALL)}
    assert len(stored) == len(events)
    new_ids = [stored[row[0]].id for row in events[1::2]]
    assert new_ids == sorted(new_ids)  # the new incidents are numbered in the file's order
    assert all(stored[row[0]].fatalities == int(row[best]) for row in events)
    with store.connect() as conn:
        saved = conn.exec_driver_sql(
            "SELECT created_by, version, status, reviewed_by, reviewed_at IS NOT NULL, created_at = updated_at "
            f"FROM incidents WHERE id IN ({', '.join(map(str, new_ids))})"
        ).all()
        history = dict(conn.exec_driver_sql("SELECT action, count(*) FROM incident_history GROUP BY action").all())
    assert set(saved) == {("bootstrap", 1, "reviewed", "bootstrap", True, True)}
    assert history == {"import": len(events) + 30}


def test_a_server_that_starts_during_an_import_does_not_wait_for_it(database_url, store, monkeypatch):
    """A second process opening the database while an import is under way (on PostgreSQL with its
    new rows in the table, uncommitted) reads at once and sees none of them."""
    opened = {}
    with import_paused_after_first_batch(store, monkeypatch) as done:

        def open_and_count():
            other = IncidentStore(database_url, write_wait=30)
            opened["count"] = count_incidents(other, ALL)
            other.dispose()

        opener = threading.Thread(target=open_and_count)
        opener.start()
        opener.join(timeout=20)
        assert opened == {"count": 0}
    assert done["summary"].inserted == 518
    assert count_incidents(store, ALL) == 518


def test_store_has_the_indexes_the_filters_use(store):
    inspector = sa.inspect(store.engine)
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("incidents")}
    for columns in [("event_date",), ("force1",), ("force2",), ("admin2_pcode",)]:
        assert columns in indexed
    if store.dialect == "postgresql":
        with store.connect() as conn:
            kind = conn.execute(
                sa.text(
                    "SELECT am.amname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "JOIN pg_am am ON am.oid = c.relam WHERE c.relname = 'ix_incidents_geom'"
                )
            ).scalar_one()
        assert kind == "gist"
    else:
        assert ("longitude", "latitude") in indexed


def test_imported_and_added_incidents_are_in_the_spatial_index(store):
    import_file(store, ACLED_LAYOUT, "acled", progress=False, by=BOOTSTRAP)
    (first,) = [i for i in select_incidents(store, ALL) if i.source_id == "IRQ233391"]
    first.source, first.source_id = None, None
    added = store.add(first, by=BOOTSTRAP)
    bbox = (42.5, 35.0, 45.0, 36.5)  # west, south, east, north: Hatra to Kirkuk, around Mosul
    inside = {
        i.id
        for i in select_incidents(store, ALL)
        if bbox[0] <= i.longitude <= bbox[2] and bbox[1] <= i.latitude <= bbox[3]
    }
    assert added.id in inside and len(inside) > 10
    assert {i.id for i in select_incidents(store, IncidentFilter.build(bbox=bbox, drafts=True))} == inside


def test_every_write_moves_the_data_version_and_nothing_else_does(store):
    from webmap.query import data_version

    seen = [data_version(store)]

    def moved() -> bool:
        seen.append(data_version(store))
        return seen[-1] != seen[-2]

    assert import_file(store, ACLED_LAYOUT, "acled", progress=False, by=BOOTSTRAP).inserted > 0 and moved()
    # The same file again writes nothing, so every cached view stays valid.
    assert import_file(store, ACLED_LAYOUT, "acled", progress=False, by=BOOTSTRAP).inserted == 0 and not moved()
    incident = select_incidents(store, ALL, limit=1)[0]
    incident.fatalities += 1
    store.replace(incident.id, incident, by=BOOTSTRAP, reason="test: an edit")
    assert moved()
    # A re-join writes admin areas only (no updated_at): the version still moves.
    with store.transaction() as conn:
        store.update_admin_areas(
            conn, [{"id": incident.id, "admin2": "Daquq", "admin2_pcode": "IQG13Q02"}], by=BOOTSTRAP
        )
    assert moved()
    # A transaction that fails leaves the version where it was, like the rows.
    with pytest.raises(RuntimeError):
        with store.transaction() as conn:
            store.update_admin_areas(
                conn, [{"id": incident.id, "admin2": "Al-Hawiga", "admin2_pcode": "IQG13Q01"}], by=BOOTSTRAP
            )
            raise RuntimeError("stop")
    assert not moved()
    store.delete(incident.id, by=BOOTSTRAP, reason="test")
    assert moved()
    assert seen == sorted(seen)


def test_a_database_of_an_earlier_webmap_is_upgraded_on_opening(database_url):
    """A table as webmap kept it before issue 12: disputed as a yes/no flag, no associated actors, no
    forces mask, no geocoder match, fatalities NOT NULL (a blank was stored as 0). Opening it gives
    every row its forces and a three-valued disputed, keeps the rows' figures, and takes an incident
    whose killed are not reported."""
    from webmap.query import involves
    from webmap.store import incidents

    before = sa.MetaData()
    added = (
        *("assoc_actor_1", "assoc_actor_2", "force_mask", "place_id", "place_score"),  # by issues 12, 13
        *("created_by", "reviewed_by", "reviewed_at", "version"),  # by issue 17
    )
    kept = [c.name for c in incidents.columns if c.name not in added]
    columns = [
        sa.Column(name, sa.Boolean)
        if name == "disputed"
        else sa.Column(name, incidents.c[name].type, nullable=name != "fatalities", primary_key=name == "id")
        for name in kept
    ]
    sa.Table("incidents", before, *columns)
    engine = sa.create_engine(database_url)
    before.create_all(engine)
    # Two real UCDP GED events (244637: the army against IS in Kirkuk; 197060: Baghdad), as an earlier
    # webmap stored them.
    rows = [
        {
            "source": "UCDP GED",
            "source_id": "244637",
            "event_date": dt.date(2017, 1, 5),
            "time_precision": 1,
            "event_type": "Battles",
            "actor1": "Government of Iraq",
            "actor2": "IS",
            "force1": "isf",
            "force2": "islamic_state",
            "latitude": 35.468056,
            "longitude": 44.392222,
            "geo_precision": 1,
            "admin1_pcode": "IQG13",
            "disputed": True,
            "fatalities": 1,
            "status": "reviewed",
            "created_at": dt.datetime(2024, 1, 1),
            "updated_at": dt.datetime(2024, 1, 1),
        },
        {
            "source": "UCDP GED",
            "source_id": "197060",
            "event_date": dt.date(2014, 5, 12),
            "time_precision": 1,
            "event_type": "Violence against civilians",
            "actor1": "IS",
            "actor2": "Civilians",
            "force1": "islamic_state",
            "force2": "civilians",
            "latitude": 33.340582,
            "longitude": 44.400876,
            "geo_precision": 1,
            "admin1_pcode": "IQG08",
            "disputed": False,
            "fatalities": 10,
            "status": "reviewed",
            "created_at": dt.datetime(2024, 1, 1),
            "updated_at": dt.datetime(2024, 1, 1),
        },
    ]
    with engine.begin() as conn:
        for row in rows:  # ids 1 and 2
            conn.execute(before.tables["incidents"].insert(), row)
    engine.dispose()

    store = IncidentStore(database_url)
    try:
        stored = {i.source_id: i for i in select_incidents(store, ALL)}
        assert (stored["244637"].disputed, stored["197060"].disputed) == ("inside", "outside")
        assert stored["244637"].assoc_actor_1 is None
        assert (stored["244637"].place_id, stored["244637"].place_score) == (None, None)
        with store.connect() as conn:
            army = conn.execute(sa.select(incidents.c.source_id).where(involves("isf"))).scalars().all()
            civilians = conn.execute(sa.select(incidents.c.source_id).where(involves("civilians"))).scalars().all()
        assert (army, civilians) == (["244637"], ["197060"])
        assert count_incidents(store, IncidentFilter.build(disputed=["inside"])) == 1
        assert [(i.id, i.fatalities) for i in select_incidents(store, ALL, sort="id")] == [(1, 1), (2, 10)]
        # The same UCDP event as a report without a figure of the killed: stored empty, not 0.
        unreported = store.add(
            dataclasses.replace(stored["244637"], id=None, source_id=None, fatalities=None), by=BOOTSTRAP
        )
        assert (unreported.id, store.get(unreported.id).fatalities) == (3, None)
        assert count_incidents(store, IncidentFilter.build(disputed=["inside"])) == 2
    finally:
        store.dispose()


def test_a_pcode_number_given_in_a_rolled_back_write_is_not_kept(store):
    """A number is the P-code's for good only once its write commits: after a rollback the number
    may go to another P-code, and the store must not go on using it for the first."""
    with pytest.raises(RuntimeError), store.transaction() as conn:
        given = store.admin_code(conn, {"IQG01Q01"})["IQG01Q01"]
        raise RuntimeError("the write fails after numbering its P-codes")
    with store.transaction() as conn:
        codes = store.admin_code(conn, {"IQG01Q02"})
    assert "IQG01Q01" not in codes
    with store.transaction() as conn:
        codes = store.admin_code(conn, {"IQG01Q01"})
    stored = store.admin_codes()
    assert stored[codes["IQG01Q01"]] == "IQG01Q01" and stored[codes["IQG01Q02"]] == "IQG01Q02"
    assert stored.get(given) != "IQG01Q01" or codes["IQG01Q01"] == given


def _index_names(store) -> set[str]:
    return {ix["name"] for ix in sa.inspect(store.engine).get_indexes("incidents")}


def _root_pages(store) -> dict[str, int]:
    if store.dialect != "sqlite":
        return {}
    with store.connect() as conn:
        query = "SELECT name, rootpage FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents'"
        return dict(conn.exec_driver_sql(query + " AND sql IS NOT NULL").all())


def test_a_big_import_rebuilds_the_indexes_and_a_failed_one_keeps_them(store, monkeypatch):
    """An import at least as big as the table is written with the indexes dropped and built again
    after (SQLite); a failure in between rolls that back with the rest."""
    monkeypatch.setattr("webmap.store.BULK_ROWS", 10)
    indexes = _index_names(store)
    assert "ix_incidents_event_date" in indexes
    if store.dialect == "sqlite":
        with store.transaction() as conn:  # a refusal only the database knows of, after the indexes went
            conn.exec_driver_sql(
                "CREATE TRIGGER refuse_all BEFORE INSERT ON incidents BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        with pytest.raises(sa.exc.IntegrityError):
            import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP)
        assert _index_names(store) == indexes and count_incidents(store, ALL) == 0
        with store.transaction() as conn:
            conn.exec_driver_sql("DROP TRIGGER refuse_all")
    pages = _root_pages(store)
    assert import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP).inserted == 518
    assert _index_names(store) == indexes
    if store.dialect == "sqlite":  # built again: each index now starts on another page
        assert all(_root_pages(store)[name] != page for name, page in pages.items())
    bbox = (43.0, 35.0, 45.0, 36.5)
    inside = [i for i in select_incidents(store, ALL) if 43.0 <= i.longitude <= 45.0 and 35.0 <= i.latitude <= 36.5]
    assert len(select_incidents(store, IncidentFilter.build(bbox=bbox, drafts=True))) == len(inside) > 100
