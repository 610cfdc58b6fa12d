"""Exports (CLI and HTTP) of a filtered selection, and export -> import round trips field by field."""

from __future__ import annotations

import csv
import io
import json
import math

import pyogrio
import pytest
from helpers import ACLED_LAYOUT, GED, csv_rows, import_

from webmap.cli import main
from webmap.forces import force_of
from webmap.io.exporters import COLUMNS, PROVENANCE_COLUMNS
from webmap.query import IncidentFilter, count_incidents, select_incidents
from webmap.records import DERIVED_FIELDS, FIELDS, STORE_KEPT_FIELDS, validate_incident
from webmap.roles import BOOTSTRAP
from webmap.spatial import place_incidents
from webmap.store import incidents as incidents_table

ALL = IncidentFilter.build(drafts=True)
CONTENT = [f for f in FIELDS if f not in STORE_KEPT_FIELDS]


@pytest.fixture
def loaded(runner, store):
    """The store with real UCDP events imported from both layouts, ACLED's and UCDP's."""
    for path in (ACLED_LAYOUT, GED):
        assert import_(runner, path).exit_code == 0
    return store


def export(runner, path, *options):
    result = runner.invoke(main, ["export", "-o", str(path), *options])
    assert result.exit_code == 0, result.output
    return result


def content(store) -> dict:
    return {(i.source, i.source_id): {f: getattr(i, f) for f in CONTENT} for i in select_incidents(store, ALL)}


def wipe(store):
    with store.transaction() as conn:
        conn.execute(incidents_table.delete())
    assert count_incidents(store, ALL) == 0


def test_exports_carry_every_record_field_and_the_forces_involved():
    assert sorted((*COLUMNS, *PROVENANCE_COLUMNS)) == sorted((*FIELDS, *DERIVED_FIELDS))


@pytest.mark.parametrize("suffix", ["geojson", "csv"])
def test_export_then_import_gives_back_the_same_records(runner, loaded, tmp_path, suffix):
    before = content(loaded)
    path = tmp_path / f"all.{suffix}"
    assert export(runner, path).output == f"{len(before)} incidents written to {path}\n"
    wipe(loaded)
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert f"{len(before)} inserted" in result.output
    after = content(loaded)
    assert after.keys() == before.keys()
    for key, fields in before.items():
        assert after[key] == fields, key
    assert f"0 inserted, 0 updated, {len(before)} unchanged" in import_(runner, path).output


def test_incident_without_source_id_round_trips_with_a_content_id(runner, store, tmp_path):
    """A draft typed into the form (a real UCDP event, as an analyst would enter it)."""
    rows = csv_rows(ACLED_LAYOUT)
    row = dict(zip(rows[0], rows[7], strict=False))
    draft = validate_incident(
        {
            "event_date": row["event_date"],
            "latitude": row["latitude"],
            "longitude": row["longitude"],
            "event_type": row["event_type"],
            "sub_event_type": row["sub_event_type"],
            "actor1": row["actor1"],
            "actor2": row["actor2"],
            "force1": "pmf",
            "location": row["location"],
            "fatalities": row["fatalities"],
            "injured": 2,
            "notes": row["notes"],
            "source": row["source"],
            "status": "draft",
            "source_url": "https://www.acleddata.com/",
        }
    )
    # as the form stores it: the analyst's force for actor 1, the matched one for actor 2, admin areas joined
    draft.force2 = force_of(draft.actor2)
    place_incidents([draft])
    stored = store.add(draft, by=BOOTSTRAP)
    assert stored.force1 != force_of(stored.actor1)
    for suffix in ("geojson", "csv"):
        path = tmp_path / f"drafts.{suffix}"
        export(runner, path, "--drafts")
        wipe(store)
        assert "1 inserted" in import_(runner, path).output
        (back,) = select_incidents(store, ALL)
        assert back.source_id.startswith("sha1:")
        for name in CONTENT:
            if name != "source_id":
                assert getattr(back, name) == getattr(stored, name), name
        assert "0 inserted, 0 updated, 1 unchanged" in import_(runner, path).output


def test_geojson_is_rfc7946(runner, loaded, tmp_path):
    path = tmp_path / "kirkuk.geojson"
    export(runner, path, "--governorate", "Kirkuk")
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["type"] == "FeatureCollection" and "crs" not in doc
    stored = {i.id: i for i in select_incidents(loaded, IncidentFilter.build(governorate=["Kirkuk"]))}
    assert len(doc["features"]) == len(stored) > 30
    for feature in doc["features"]:
        incident = stored[feature["id"]]
        assert feature["geometry"] == {"type": "Point", "coordinates": [incident.longitude, incident.latitude]}
        props = feature["properties"]
        assert "latitude" not in props and "longitude" not in props
        assert isinstance(props["fatalities"], int) and isinstance(props["time_precision"], int)
        assert props["event_date"] == incident.event_date.isoformat()
        assert props["admin1"] == "Kirkuk"
        # Kirkuk governorate lies wholly in the disputed territories: known to it alone is enough
        assert props["disputed"] == "inside"


def test_cli_filters_select_the_same_rows_as_the_filter(runner, loaded, tmp_path):
    cases = [
        (["--district", "Kirkuk"], dict(district=["Kirkuk"])),
        (
            ["--district", "IQG16Q07", "--force", "pmf", "--force", "islamic_state"],
            dict(district=["IQG16Q07"], force=["pmf", "islamic_state"]),
        ),
        (
            ["--event-type", "Violence against civilians", "--since", "2016-01-01", "--until", "2016-12-31"],
            dict(event_type=["Violence against civilians"], since="2016-01-01", until="2016-12-31"),
        ),
        (["--disputed", "0", "--governorate", "Ninewa"], dict(disputed=["outside"], governorate=["Ninewa"])),
        (["--disputed", "partly"], dict(disputed=["partly"])),
        (["--disputed", "1"], dict(disputed=["inside", "partly"])),
        (["--bbox", "43.5,35,44.5,36"], dict(bbox="43.5,35,44.5,36")),
    ]
    for options, params in cases:
        path = tmp_path / "out.csv"
        export(runner, path, *options, "--overwrite")
        with path.open(encoding="utf-8-sig", newline="") as fh:
            ids = {int(row["id"]) for row in csv.DictReader(fh)}
        expected = {i.id for i in select_incidents(loaded, IncidentFilter.build(**params))}
        assert ids == expected and expected, options


def test_gpkg_export_reads_back_field_by_field(runner, loaded, tmp_path):
    path = tmp_path / "nineveh.gpkg"
    export(runner, path, "--governorate", "Nineveh", "--since", "2014-06-01")
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:4326" and info["geometry_type"] == "Point"
    frame = pyogrio.read_dataframe(path)
    stored = {
        i.id: i for i in select_incidents(loaded, IncidentFilter.build(governorate=["Nineveh"], since="2014-06-01"))
    }
    assert len(frame) == len(stored) > 150
    for row in frame.itertuples():
        incident = stored[row.id]
        assert (row.geometry.x, row.geometry.y) == (incident.longitude, incident.latitude)
        for name in CONTENT:
            value = getattr(row, name)
            expected = getattr(incident, name)
            if name == "event_date":
                value = value.date()
            elif value is None or (isinstance(value, float) and math.isnan(value)):
                value = None
            elif isinstance(expected, bool):
                value = bool(value)
            assert value == expected, (row.id, name)


def test_bad_export_options_are_refused(runner, loaded, tmp_path):
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "x.csv"), "--district", "Atlantis"])
    assert result.exit_code == 2 and "district: unknown district 'Atlantis'" in result.stderr
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "x.txt")])
    assert result.exit_code == 2 and "--format: give geojson, csv or gpkg" in result.stderr
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "x.csv"), "--since", "2017-02-30"])
    assert result.exit_code == 2 and "not a date" in result.stderr
    assert not list(tmp_path.glob("x.*"))


@pytest.mark.parametrize(
    "options, message",
    [
        (["--format", "xlsx"], "Error: --format: unknown format 'xlsx'"),
        (
            ["--since", "2017-01-01", "--until", "2016-01-01"],
            "Error: --since: 2017-01-01 is after the last date, 2016-01-01",
        ),
        (["--until", "2016-02-30"], "Error: --until: not a date: '2016-02-30'"),
        (["--event-type", "Picnic"], "Error: --event-type: unknown event type 'Picnic'"),
        (["--force", "martians"], "Error: --force: unknown force 'martians'"),
        (["--bbox", "44,36,43,35"], "Error: --bbox: expected west <= east"),
        (["--disputed", "maybe"], "Error: --disputed: expected inside, partly, outside (or 1 for inside and partly"),
    ],
)
def test_export_errors_name_the_option_typed(runner, loaded, tmp_path, options, message):
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "x.csv"), *options])
    assert result.exit_code == 2 and result.stderr.startswith(message), result.stderr
    assert not list(tmp_path.glob("x.*"))


def test_export_format_is_case_insensitive(runner, loaded, tmp_path):
    result = runner.invoke(main, ["export", "-o", str(tmp_path / "x.dat"), "--format", "CSV"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "x.dat").read_text(encoding="utf-8-sig").startswith("id,source,source_id,")


# -- HTTP ---------------------------------------------------------------------------------------
def test_http_geojson_export_is_a_streamed_attachment(client, loaded):
    response = client.get("/export.geojson?district=Kirkuk&force=islamic_state")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.headers["Content-Type"] == "application/geo+json"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert response.headers["Content-Disposition"].endswith('.geojson"')
    doc = json.loads(response.get_data(as_text=True))
    expected = {
        i.id for i in select_incidents(loaded, IncidentFilter.build(district=["Kirkuk"], force=["islamic_state"]))
    }
    assert {f["id"] for f in doc["features"]} == expected and expected


def test_http_csv_export_matches_the_cli_export(runner, client, loaded, tmp_path):
    response = client.get("/export.csv?governorate=Diyala&from=2014-01-01&to=2015-12-31&disputed=1")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].endswith('.csv"')
    path = tmp_path / "diyala.csv"
    export(runner, path, "--governorate", "Diyala", "--since", "2014-01-01", "--until", "2015-12-31", "--disputed", "1")
    rows = list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))
    with path.open(encoding="utf-8-sig", newline="") as fh:
        assert rows == list(csv.DictReader(fh))
    assert len(rows) > 5 and set(rows[0]) == set(COLUMNS)


def test_http_export_bad_parameter_is_a_400_naming_it(client, loaded):
    response = client.get("/export.geojson?district=Atlantis")
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "district"
    response = client.get("/export.csv?from=yesterday")
    assert response.status_code == 400 and response.get_json()["parameter"] == "from"


def test_private_exports_need_the_token(database_url, tmp_path, loaded):
    from webmap import create_app

    app = create_app(
        {
            "database_url": database_url,
            "geodata_dir": tmp_path / "user-geodata",
            "token": "test-token",
            "private": True,
            "secret_key": "test-secret",
        }
    )
    client = app.test_client()
    for url in ("/export.geojson", "/export.csv?district=Kirkuk"):
        refused = client.get(url)
        assert refused.status_code == 401 and "WEBMAP_PRIVATE" in refused.get_json()["error"]
        assert client.get(url, headers={"Authorization": "Bearer wrong"}).status_code == 401
        allowed = client.get(url, headers={"Authorization": "Bearer test-token"})
        assert allowed.status_code == 200 and allowed.headers["Content-Disposition"].startswith("attachment")
        assert "Kirkuk" in allowed.get_data(as_text=True)
    app.extensions["webmap"]["store"].dispose()


def test_export_takes_every_filter_parameter_the_map_knows(runner):
    from webmap.query import FILTER_PARAMETERS, PARAMETERS

    shown = runner.invoke(main, ["export", "--help"]).output
    assert [p.name for p in FILTER_PARAMETERS] == list(PARAMETERS)
    for parameter in FILTER_PARAMETERS:
        assert parameter.option in shown, parameter.name
