"""Bad input ends in a clear 4xx or exit 2 naming the field, row or parameter, and nothing written
(issue 18, found items 4, 6 and 8): counts that overflow, NaN, ids beyond any row, duplicate
source ids, malformed Features, deep JSON, bodies too large, files that never end.

The incident is a real UCDP GED event (id 244637); the bad values are put into its fields.
"""

from __future__ import annotations

import datetime as dt
import http.client
import io
import json
import os

import pytest
from helpers import (
    AUTH,
    FORM,
    ROOT,
    UCDP_244637,
    csrf_token,
    log_in,
    one_line_exit_2,
    run_webmap,
    webmap_running,
)

from webmap.cli import main
from webmap.errors import InvalidRecord
from webmap.query import IncidentFilter, count_incidents
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP

ALL = IncidentFilter.build(drafts=True)


def stored(store) -> int:
    return count_incidents(store, ALL)


def refused(response, status: int, name: str, key: str = "field") -> str:
    """The error text of a JSON refusal, after checking its status and that it names ``name``."""
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert body[key] == name, body
    return body["error"]


# -- counts: plausibility ceiling, overflow, NaN -------------------------------------------------------
@pytest.mark.parametrize(
    "raw, words",
    [
        ("4294967296", "more than 100,000"),  # 2^32: overflowed the map's packed record (500)
        ("9223372036854775808", "not valid JSON"),  # 2^63: overflowed SQLite (500)
        ("1000000000", "more than 100,000"),  # 10^9: was stored
        ("1" + "0" * 400, "not valid JSON"),  # float() overflow (500)
        ("NaN", "NaN and Infinity are not JSON numbers"),  # was stored as 0
        ("Infinity", "NaN and Infinity are not JSON numbers"),
        ("-Infinity", "NaN and Infinity are not JSON numbers"),
        ("1e400", "not valid JSON"),
    ],
)
@pytest.mark.parametrize("field", ["fatalities", "injured"])
def test_api_counts_past_the_ceiling_or_not_numbers_name_the_field(client, store, raw, words, field):
    body = json.dumps({k: v for k, v in UCDP_244637.items() if k != field})[:-1] + f', "{field}": {raw}}}'
    response = client.post("/api/incidents", data=body, content_type="application/json", headers=AUTH)
    assert words in refused(response, 400, field)
    assert stored(store) == 0


def test_a_nan_count_from_python_is_refused_not_taken_for_blank():
    with pytest.raises(InvalidRecord, match="fatalities: not a finite number"):
        validate_incident({**UCDP_244637, "fatalities": float("nan")})


def test_the_ceiling_itself_is_accepted(client, store):
    response = client.post("/api/incidents", json={**UCDP_244637, "fatalities": 100_000}, headers=AUTH)
    assert response.status_code == 201 and response.get_json()["properties"]["fatalities"] == 100_000


@pytest.mark.parametrize("value", ["4294967296", "1e20", "nan", "inf"])
def test_the_form_refuses_counts_past_the_ceiling_at_the_field(client, store, value):
    log_in(client)
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    response = client.post("/incidents/new", data={**FORM, "fatalities": value, "csrf_token": token})
    assert response.status_code == 400
    assert 'data-field="fatalities"' in response.get_data(as_text=True)
    assert stored(store) == 0


def test_extract_save_refuses_an_overflowing_count_naming_row_and_field(client, store):
    records = [UCDP_244637, {**UCDP_244637, "source_id": "244637-b", "fatalities": 2**32}]
    response = client.post("/api/extract/save", json={"incidents": records}, headers=AUTH)
    assert refused(response, 400, "fatalities").startswith("row 2: fatalities: 4,294,967,296 is more than 100,000")
    assert stored(store) == 0


@pytest.mark.parametrize("fatalities", [str(2**32), str(2**63), "1e400"])
def test_import_names_the_row_of_an_overflowing_count(runner, store, tmp_path, fatalities):
    path = tmp_path / "events.csv"
    rows = [UCDP_244637, {**UCDP_244637, "source_id": "244637-b", "fatalities": fatalities}]
    path.write_text(
        ",".join(UCDP_244637) + "\n" + "\n".join(",".join(str(r[k]) for k in UCDP_244637) for r in rows) + "\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["import", str(path)])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert "row 3: fatalities:" in result.stderr
    assert stored(store) == 0


# -- dates at the ends of the calendar ----------------------------------------------------------------
@pytest.mark.parametrize("period", ["week", "month", ""])
def test_a_timeline_to_the_end_of_the_calendar_is_answered(client, store, period):
    store.add(validate_incident(UCDP_244637), by=BOOTSTRAP)
    response = client.get(f"/api/timeline?from=1900-01-01&to=9999-12-31&period={period}")  # was a 500
    assert response.status_code == 200
    periods = response.get_json()["periods"]
    assert periods[0].startswith("1900-01") and periods[-1] <= dt.date.today().isoformat()


def test_a_filter_before_1900_is_refused_naming_it(client):
    response = client.get("/api/timeline?from=0001-01-01")
    assert response.status_code == 400 and response.get_json()["parameter"] == "from"
    assert "before 1900" in response.get_json()["error"]


# -- ids no row can have ---------------------------------------------------------------------------
@pytest.mark.parametrize("incident_id", [2**31, 2**63, 2**64 + 1])
def test_ids_beyond_the_id_column_are_404_not_500(client, store, incident_id):
    assert client.get(f"/api/incidents/{incident_id}").status_code == 404
    assert client.put(f"/api/incidents/{incident_id}", json=UCDP_244637, headers=AUTH).status_code == 404
    assert client.delete(f"/api/incidents/{incident_id}", headers=AUTH).status_code == 404
    log_in(client)
    assert client.get(f"/incidents/{incident_id}/edit").status_code == 404
    assert stored(store) == 0


# -- two incidents with one source + source_id -----------------------------------------------------
def test_posting_the_same_source_id_twice_is_a_409_naming_source_id(client, store):
    first = client.post("/api/incidents", json=UCDP_244637, headers=AUTH)
    assert first.status_code == 201
    again = client.post("/api/incidents", json={**UCDP_244637, "fatalities": 2}, headers=AUTH)
    error = refused(again, 409, "source_id")
    assert f"is already incident {first.get_json()['id']}" in error
    assert stored(store) == 1 and store.get(first.get_json()["id"]).fatalities == 1


def test_a_put_taking_another_rows_source_id_is_a_409(client, store):
    first = client.post("/api/incidents", json=UCDP_244637, headers=AUTH).get_json()
    second = client.post("/api/incidents", json={**UCDP_244637, "source_id": "other"}, headers=AUTH).get_json()
    response = client.put(f"/api/incidents/{second['id']}", json={**UCDP_244637, "reason": "its source"}, headers=AUTH)
    assert f"is already incident {first['id']}" in refused(response, 409, "source_id")
    assert store.get(second["id"]).source_id == "other"


def test_the_form_names_a_taken_source_id(client, store):
    form = {**FORM, "source_id": "244637"}
    log_in(client)
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    assert client.post("/incidents/new", data={**form, "csrf_token": token}).status_code == 302
    again = client.post("/incidents/new", data={**form, "csrf_token": token})
    html = again.get_data(as_text=True)
    assert again.status_code == 400 and 'data-field="source_id"' in html and "is already incident" in html
    other = store.add(validate_incident({**form, "source_id": "other"}), by=BOOTSTRAP)
    edit = client.post(f"/incidents/{other.id}/edit", data={**form, "reason": "its source", "csrf_token": token})
    assert edit.status_code == 400 and "is already incident" in edit.get_data(as_text=True)
    assert stored(store) == 2 and store.get(other.id).source_id == "other"


def test_extract_save_refuses_one_source_id_twice_in_a_request(client, store):
    records = [UCDP_244637, {**UCDP_244637, "fatalities": 3}]
    response = client.post("/api/extract/save", json={"incidents": records}, headers=AUTH)
    assert (
        refused(response, 400, "source_id")
        == "row 2: source_id: '244637' of source 'UCDP GED test copy' is also on row 1"
    )
    assert stored(store) == 0


# -- bodies of the wrong shape, too deep, too large ------------------------------------------------
POINT = {"type": "Point", "coordinates": [44.392222, 35.468056]}
PROPERTIES = {k: v for k, v in UCDP_244637.items() if k not in ("latitude", "longitude")}


@pytest.mark.parametrize(
    "body, field",
    [
        ({"type": "Feature", "geometry": "POINT(44 35)", "properties": PROPERTIES}, "geometry"),
        ({"type": "Feature", "geometry": [44.39, 35.47], "properties": PROPERTIES}, "geometry"),
        ({"type": "Feature", "geometry": {"type": "Point"}, "properties": PROPERTIES}, "geometry"),
        ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [44]}, "properties": PROPERTIES}, "geometry"),
        ({"type": "Feature", "geometry": POINT, "properties": [PROPERTIES]}, "properties"),
        ({"type": "Feature", "geometry": POINT, "properties": "Battles"}, "properties"),
        ([UCDP_244637], "body"),
    ],
)
def test_a_body_of_the_wrong_shape_names_the_member(client, store, body, field):
    refused(client.post("/api/incidents", json=body, headers=AUTH), 400, field)
    assert stored(store) == 0


@pytest.mark.parametrize("depth", [21, 1_000, 100_000])
def test_json_nested_too_deep_is_refused_before_it_is_built(client, store, depth):
    nested = "[" * depth + "]" * depth
    body = json.dumps(UCDP_244637)[:-1] + f', "notes": {nested}}}'
    response = client.post("/api/incidents", data=body, content_type="application/json", headers=AUTH)
    assert "nested deeper than 20 levels" in refused(response, 400, "notes")
    deep_list = "[" * depth + "]" * depth
    response = client.post("/api/extract/save", data=deep_list, content_type="application/json", headers=AUTH)
    assert "nested deeper than 20 levels" in refused(response, 400, "body")
    assert stored(store) == 0


def test_a_body_over_the_limit_is_a_413_before_it_is_read(client, store):
    body = json.dumps({**UCDP_244637, "notes": "x" * 1_100_000})
    response = client.post("/api/incidents", data=body, content_type="application/json", headers=AUTH)
    assert response.status_code == 413
    assert "POST /api/incidents takes at most 1,000,000" in response.get_json()["error"]
    assert stored(store) == 0


def test_a_chunked_body_over_the_limit_is_a_413(client, store):
    body = json.dumps({**UCDP_244637, "notes": "x" * 1_100_000}).encode()
    response = client.post(
        "/api/incidents",
        input_stream=io.BytesIO(body),
        content_type="application/json",
        headers={**AUTH, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413 and "takes at most 1,000,000" in response.get_json()["error"]
    assert stored(store) == 0


# -- files: GeoJSON that builds gigabytes or crashes the parser, files that never end ----------------
def feature_collection(properties: str) -> str:
    point = json.dumps(POINT)
    return f'{{"type": "FeatureCollection", "features": [{{"type": "Feature", "geometry": {point}, {properties}}}]}}'


@pytest.mark.parametrize("depth", [5_000, 100_000])
def test_geojson_nesting_is_refused_naming_the_feature(tmp_path, depth):
    path = tmp_path / "deep.geojson"
    nested = "[" * depth + "]" * depth
    path.write_text(feature_collection(f'"properties": {{"event_date": "2017-01-05", "notes": {nested}}}'))
    result = run_webmap(["import", path], tmp_path)
    one_line_exit_2(result, "feature 1: properties.notes: nested deeper than 20 levels")


@pytest.mark.parametrize("where", ["before", "inside"])
def test_geojson_integers_of_thousands_of_digits_are_refused_not_a_crash(tmp_path, where):
    huge = "1" + "0" * 5_000  # ijson's C parser crashed (SIGSEGV) on integers past 4,300 digits
    path = tmp_path / "huge.geojson"
    properties = f'"properties": {{"event_date": "2017-01-05", "fatalities": {huge if where == "inside" else 1}}}'
    text = feature_collection(properties)
    if where == "before":
        text = text.replace('"features"', f'"count": {huge}, "features"', 1)
    path.write_text(text)
    one_line_exit_2(run_webmap(["import", path], tmp_path), "integer overflow")


def test_a_geojson_feature_of_too_many_values_or_too_long_a_text_is_refused(tmp_path):
    wide = tmp_path / "wide.geojson"
    wide.write_text(feature_collection(json.dumps({"properties": {f"p{i}": i for i in range(20_000)}})[1:-1]))
    one_line_exit_2(run_webmap(["import", wide], tmp_path), "feature 1: more than 10,000 values")
    long = tmp_path / "long.geojson"
    long.write_text(feature_collection(json.dumps({"properties": {"notes": "x" * 1_500_000}})[1:-1]))
    one_line_exit_2(run_webmap(["import", long], tmp_path), "properties.notes: a text longer than 1,000,000")


def test_a_csv_without_line_breaks_is_refused_not_read_whole(tmp_path):
    path = tmp_path / "one-line.csv"
    path.write_text("event_date,latitude,longitude,event_type," + "x" * 3_000_000)
    one_line_exit_2(run_webmap(["import", path], tmp_path), "line 1 is longer than 2,000,000 characters")


@pytest.mark.parametrize(
    "args",
    [
        ["gazetteer", "import", "/dev/zero", "--format", "geonames"],
        ["gazetteer", "import", "/dev/zero", "--format", "wof", "--country", "IQ"],
        ["extract", "/dev/zero", "--date", "2021-12-06"],
        ["import", "/dev/zero", "--format", "csv"],
    ],
)
def test_readers_refuse_a_device_that_never_ends(tmp_path, args):
    one_line_exit_2(run_webmap(args, tmp_path, timeout=30), "zero: not a regular file (it is a device)")


@pytest.mark.parametrize(
    "args",
    [
        ["gazetteer", "import", "{fifo}", "--format", "csv"],
        ["extract", "{fifo}", "--date", "2021-12-06"],
        ["import", "{fifo}", "--format", "csv"],
        ["geodata", "import", "{fifo}", "--level", "adm1"],
    ],
)
def test_readers_refuse_a_fifo_instead_of_waiting_on_it(tmp_path, args):
    fifo = tmp_path / "reports.pipe"
    os.mkfifo(fifo)
    result = run_webmap([a.format(fifo=fifo) for a in args], tmp_path, timeout=30)
    one_line_exit_2(result, "reports.pipe", "not a regular file (it is a named pipe)")


def test_extract_reads_at_most_eight_megabytes_of_standard_input(tmp_path):
    result = run_webmap(["extract", "-", "--date", "2021-12-06"], tmp_path, stdin=b"a" * 9_000_000)
    one_line_exit_2(result, "standard input: more than 8,000,000 bytes, the limit")


def test_a_gazetteer_file_over_the_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "IQ.txt"
    with path.open("wb") as fh:  # sparse: the size is real, the disk is not used
        fh.truncate(200_000_001)
    result = run_webmap(["gazetteer", "import", path, "--format", "geonames"], tmp_path)
    one_line_exit_2(result, "200,000,001 bytes; the limit is 200,000,000")


def test_geodata_import_of_a_table_without_geometries_is_one_line(tmp_path):
    result = run_webmap(["geodata", "import", ROOT / "geodata" / "demo_incidents.csv", "--level", "adm1"], tmp_path)
    one_line_exit_2(result, "demo_incidents.csv: has no geometries: not a boundary layer")


def test_webmap_serve_takes_no_body_past_the_largest_limit(server_env):
    with webmap_running("serve", "--threads", "2", env=server_env) as server:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        # waitress answers from the header alone: it does not wait for and spool to disk the 500 MB a
        # client announces (its own default limit is 1 GB).
        connection.putrequest("POST", "/api/extract")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(500_000_000))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        connection.close()
    assert "Traceback" not in server.err
