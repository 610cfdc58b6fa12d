"""Geocoding on import and in the API (issue 13, point 4): a record without coordinates is placed by
its place name in the district and governorate it states, through one function
(``webmap.intake.geocode_values``); what the gazetteer cannot place surely is listed, never guessed.

The places are the issue's own examples of datasets' rows: Kut in Kut district of Wasit, Ash Shulah
in Baghdad, Rashad in Kirkuk, Hawija district of Kirkuk. "Sulaymaniyahh" is a typo the gazetteer
only half recognises.
"""

from __future__ import annotations

import csv
import json

import pytest
from helpers import AUTH, assert_refused, import_, write_rows

from webmap import spatial
from webmap.cli import main
from webmap.query import IncidentFilter, count_incidents, select_incidents

HEADER = ["event_date", "event_type", "location", "admin2", "admin1", "fatalities", "source"]
KUT = ["2021-12-04", "Battles", "Kut", "Kut", "Wasit", "1", "geocoding test"]
SHULAH = ["2021-12-04", "Battles", "Ash Shulah", "", "Baghdad", "0", "geocoding test"]
RASHAD = ["2021-12-04", "Battles", "Rashad", "", "Kirkuk", "0", "geocoding test"]
HAWIJA_DISTRICT = ["2021-12-04", "Battles", "", "Hawija", "Kirkuk", "2", "geocoding test"]
TYPO = ["2021-12-04", "Battles", "Sulaymaniyahh", "", "", "0", "geocoding test"]


def stored(store) -> dict[str, object]:
    """The stored incidents by location."""
    return {i.location: i for i in select_incidents(store, IncidentFilter())}


def test_rows_without_coordinates_are_placed_by_name_district_and_governorate(runner, store, tmp_path):
    path = write_rows(tmp_path / "unlocated.csv", [HEADER, KUT, SHULAH, RASHAD, HAWIJA_DISTRICT])
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert "4 inserted" in result.output and "4 rows placed by their place name (geocoded)" in result.output
    incidents = stored(store)
    kut = incidents["Kut"]
    assert (kut.admin1, kut.admin2, kut.geo_precision, kut.place_id, kut.place_score) == (
        "Wassit",
        "Al-Kut",
        1,
        "gn:99131",
        1.0,
    )
    # The stated governorate is honoured: Baghdad's Shuala, not the village of Thi Qar.
    assert (incidents["Ash Shulah"].admin1, incidents["Ash Shulah"].geo_precision) == ("Baghdad", 2)
    rashad = incidents["Rashad"]  # the sub-district of Kirkuk, an area: precision 2
    assert (rashad.admin1, rashad.admin3_pcode, rashad.geo_precision) == ("Kirkuk", "IQG13Q02N01", 2)
    # Only the district is known: stored with it, no sub-district, at precision 3.
    district = incidents["Al-Hawiga"]
    assert (district.admin2, district.admin3, district.geo_precision, district.place_score) == (
        "Al-Hawiga",
        None,
        3,
        0.5,
    )
    assert not (tmp_path / "unlocated.csv.review.csv").exists()

    again = import_(runner, path)  # idempotent: the same rows give the same content ids
    assert again.exit_code == 0 and "0 inserted" in again.output and "4 unchanged" in again.output


def test_a_row_the_gazetteer_cannot_place_goes_to_the_review_file(runner, store, tmp_path):
    path = write_rows(tmp_path / "typo.csv", [HEADER, KUT, TYPO])
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert "1 inserted" in result.output
    assert "1 rows not imported, the gazetteer could not place them: row 3: location: best match" in result.output
    with (tmp_path / "typo.csv.review.csv").open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["row"], row["location"], row["best_candidate"], row["place_id"]) == (
        "3",
        "Sulaymaniyahh",
        "Sulaymaniyah",
        "gn:98463",
    )
    assert float(row["score"]) < 0.5 and "below 0.50" in row["why"]
    assert set(stored(store)) == {"Kut"}


def test_strict_writes_nothing_when_a_row_cannot_be_placed(runner, store, tmp_path):
    path = write_rows(tmp_path / "typo.csv", [HEADER, KUT, TYPO])
    assert_refused(
        import_(runner, path, "--strict"),
        "import refused, nothing written: 1 bad row(s)",
        "row 3: location: best match 'Sulaymaniyah'",
    )
    assert count_incidents(store, IncidentFilter()) == 0


def test_min_score_sends_weaker_matches_to_review(runner, store, tmp_path):
    path = write_rows(tmp_path / "rows.csv", [HEADER, KUT, SHULAH])
    review = tmp_path / "to-check.csv"
    result = import_(runner, path, "--min-score", "0.9", "--review", review)
    assert result.exit_code == 0, result.output
    assert f"the rows not placed are listed in {review}" in result.output
    with review.open(newline="", encoding="utf-8") as fh:
        [row] = list(csv.DictReader(fh))
    assert (row["location"], row["admin1"], row["best_candidate"], row["score"]) == (
        "Ash Shulah",
        "Baghdad",
        "Shuala",
        "0.80",
    )
    assert set(stored(store)) == {"Kut"}


def test_geocode_never_requires_coordinates(runner, store, tmp_path):
    path = write_rows(tmp_path / "rows.csv", [HEADER, KUT])
    assert_refused(import_(runner, path, "--geocode", "never"), "row 2: latitude: is required")
    assert count_incidents(store, IncidentFilter()) == 0


def test_geocode_always_replaces_the_file_coordinates(runner, store, tmp_path):
    # The row's own point is Baghdad's governorate centre; its place is Kut.
    header = [*HEADER, "latitude", "longitude", "source_id"]
    path = write_rows(tmp_path / "rows.csv", [header, [*KUT, "33.3", "44.4", "kut-1"]])
    assert import_(runner, path, "--geocode", "missing").exit_code == 0
    assert stored(store)["Kut"].admin1 == "Baghdad"
    result = import_(runner, path, "--geocode", "always", "--update", "--reason", "placed by name")
    assert result.exit_code == 0, result.output
    assert "1 updated" in result.output
    kut = stored(store)["Kut"]
    assert (kut.admin1, kut.place_id) == ("Wassit", "gn:99131")


def test_a_file_with_neither_coordinates_nor_places_names_both(runner, tmp_path):
    path = write_rows(tmp_path / "rows.csv", [["event_date", "event_type"], ["2021-12-04", "Battles"]])
    assert_refused(
        import_(runner, path),
        "no column for the required field(s) latitude, longitude (or a location, admin2, admin1 column to geocode by)",
    )


def test_a_geojson_feature_without_geometry_is_geocoded(runner, store, tmp_path):
    features = [
        {"type": "Feature", "geometry": None, "properties": dict(zip(HEADER, KUT, strict=True))},
        {"type": "Feature", "geometry": None, "properties": dict(zip(HEADER, RASHAD, strict=True))},
    ]
    path = tmp_path / "unlocated.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert {name: i.admin1 for name, i in stored(store).items()} == {"Kut": "Wassit", "Rashad": "Kirkuk"}


def body(row: list[str]) -> dict:
    return {k: v for k, v in zip(HEADER, row, strict=True) if v}


def test_the_api_places_a_body_without_coordinates(client):
    created = client.post("/api/incidents", json=body(KUT), headers=AUTH)
    assert created.status_code == 201, created.get_json()
    feature = created.get_json()
    assert feature["properties"]["place_id"] == "gn:99131" and feature["properties"]["admin2"] == "Al-Kut"
    lon, lat = feature["geometry"]["coordinates"]
    [admin2] = spatial.place_points([lon], [lat], [1])["admin2"]
    assert admin2 == "Al-Kut"

    unlocated = {"type": "Feature", "geometry": None, "properties": body(HAWIJA_DISTRICT)}
    district = client.post("/api/incidents", json=unlocated, headers=AUTH).get_json()["properties"]
    assert (district["admin2"], district["admin3"], district["geo_precision"]) == ("Al-Hawiga", None, 3)


def test_the_api_refuses_a_guess_naming_location_with_the_candidates(client):
    refused = client.post("/api/incidents", json=body(TYPO), headers=AUTH)
    assert refused.status_code == 400
    answer = refused.get_json()
    assert answer["field"] == "location" and "below 0.50" in answer["error"]
    assert answer["candidates"][0]["name"] == "Sulaymaniyah" and answer["candidates"][0]["score"] < 0.5


@pytest.mark.parametrize(
    "name, district, governorate, place_id",
    [("Kut", "Kut", "Wasit", "gn:99131"), ("Rashad", "", "Kirkuk", "cod:IQG13Q02N01")],
)
def test_cli_and_api_geocode_alike_with_district_and_governorate(runner, client, name, district, governorate, place_id):
    args = ["geocode", name, "--json", "--governorate", governorate] + (["--district", district] if district else [])
    from_cli = json.loads(runner.invoke(main, args).stdout)
    query = {"q": name, "governorate": governorate, **({"district": district} if district else {})}
    from_api = client.get("/api/gazetteer", query_string=query).get_json()
    assert from_cli == from_api
    assert from_cli["match"]["place_id"] == place_id
