"""GeoJSON imports: FeatureCollections of points in, everything else refused with a clear reason."""

from __future__ import annotations

import json

import pytest
from helpers import ACLED_LAYOUT, CODAB_DISTRICTS, assert_refused, import_

from webmap.cli import main
from webmap.io.importer import import_file
from webmap.query import IncidentFilter, count_incidents
from webmap.roles import BOOTSTRAP
from webmap.store import incidents as incidents_table

ALL = IncidentFilter.build(drafts=True)


@pytest.fixture
def exported(runner, store, tmp_path):
    """Real UCDP events in ACLED's layout imported, exported as GeoJSON, and the store emptied again."""
    assert import_(runner, ACLED_LAYOUT).exit_code == 0
    path = tmp_path / "acled.geojson"
    assert runner.invoke(main, ["export", "-o", str(path)]).exit_code == 0
    with store.transaction() as conn:  # gone for good, not deleted (a deleted incident is not imported again)
        conn.execute(incidents_table.delete())
    return json.loads(path.read_text(encoding="utf-8"))


def write(path, doc):
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_feature_properties_map_with_map_option(runner, store, tmp_path, exported):
    for feature in exported["features"]:
        feature["properties"]["when"] = feature["properties"].pop("event_date")
    path = write(tmp_path / "renamed.geojson", exported)
    assert_refused(import_(runner, path), "row 1: event_date: is required", "rows are features, counted from 1")
    result = import_(runner, path, "--map", "when=event_date")
    assert result.exit_code == 0 and f"{len(exported['features'])} inserted" in result.output
    assert len(exported["features"]) == 171


def test_geometries_other_than_points_are_refused_per_feature(runner, store, tmp_path, exported):
    exported["features"][2]["geometry"] = {"type": "LineString", "coordinates": [[44.39, 35.46], [44.40, 35.47]]}
    del exported["features"][5]["geometry"]  # a null geometry is an unlocated feature, geocoded
    exported["features"][9]["geometry"]["coordinates"] = [44.39]
    result = import_(runner, write(tmp_path / "mixed.geojson", exported))
    assert_refused(
        result,
        "3 bad row(s)",
        "row 3: geometry: expected a Point, not a LineString",
        "row 6: geometry: missing",
        "row 10: geometry: a Point needs [longitude, latitude]",
    )
    assert count_incidents(store, ALL) == 0


def test_coordinates_as_strings_are_refused(runner, store, tmp_path, exported):
    lon, lat = exported["features"][3]["geometry"]["coordinates"]
    exported["features"][3]["geometry"]["coordinates"] = [str(lon), str(lat)]
    assert_refused(
        import_(runner, write(tmp_path / "strings.geojson", exported)), "row 4: geometry: coordinates must be numbers"
    )
    assert count_incidents(store, ALL) == 0


def test_swapped_coordinates_are_caught(runner, store, tmp_path, exported):
    lon, lat = exported["features"][0]["geometry"]["coordinates"]
    exported["features"][0]["geometry"]["coordinates"] = [lat, lon]
    assert_refused(
        import_(runner, write(tmp_path / "swapped.geojson", exported)),
        "row 1: latitude:",
        "(latitude and longitude swapped?)",
    )


def test_boundary_polygons_are_not_incidents(runner, store):
    result = import_(runner, CODAB_DISTRICTS)
    assert_refused(result, "101 bad row(s)", "row 1: geometry: expected a Point, not a")
    assert count_incidents(store, ALL) == 0


def test_not_a_feature_collection_or_not_json(runner, store, tmp_path, exported):
    feature = exported["features"][0]
    assert_refused(
        import_(runner, write(tmp_path / "one.geojson", feature)),
        "not a GeoJSON FeatureCollection: its type is 'Feature'",
    )
    assert_refused(
        import_(runner, write(tmp_path / "list.geojson", exported["features"])),
        "not a GeoJSON FeatureCollection: the JSON is not an object",
    )
    text = json.dumps(exported)
    truncated = tmp_path / "cut.geojson"
    truncated.write_text(text[: len(text) // 2], encoding="utf-8")
    assert_refused(import_(runner, truncated), "cut.geojson: invalid JSON after feature")
    assert_refused(import_(runner, ACLED_LAYOUT, "--format", "geojson"), "not valid JSON")
    assert count_incidents(store, ALL) == 0


@pytest.mark.parametrize(
    "cut, fragment",
    [
        (lambda text: text[: len(text) // 2], "invalid JSON after feature"),  # a download cut short
        (lambda text: text[:40], "not valid JSON (parse error: premature EOF)"),  # cut inside the header
        (lambda text: text.replace("[", "[NaN, ", 1), "invalid JSON after feature 0 (lexical error"),  # NaN is not JSON
    ],
)
def test_json_syntax_errors_are_one_line(runner, store, tmp_path, exported, cut, fragment):
    path = tmp_path / "broken.geojson"
    path.write_text(cut(json.dumps(exported)), encoding="utf-8")
    message = assert_refused(import_(runner, path), fragment)
    # the parser's drawing of where the error is (extra lines) is not shown
    assert len(message.strip().splitlines()) == 1, message
    assert count_incidents(store, ALL) == 0


def test_legacy_crs_other_than_wgs84_is_refused(runner, store, tmp_path, exported):
    exported["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::3857"}}
    assert_refused(import_(runner, write(tmp_path / "mercator.geojson", exported)), "crs 'urn:ogc:def:crs:EPSG::3857'")
    exported["crs"]["properties"]["name"] = "urn:ogc:def:crs:OGC:1.3:CRS84"
    assert import_(runner, write(tmp_path / "crs84.geojson", exported)).exit_code == 0


def test_progress_bar_goes_to_stderr_when_asked(store, capsys):
    summary = import_file(store, ACLED_LAYOUT, "acled", progress=True, by=BOOTSTRAP)
    assert summary.inserted == 171
    err = capsys.readouterr().err
    assert f"importing {ACLED_LAYOUT.name}" in err and "100%" in err
