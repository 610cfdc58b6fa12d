"""Placing an incident on the form's map (issue 14, point 3), over HTTP: ``GET /api/placement`` says
what a point would be stored with, by the same rule saving uses; the form refuses a point whose
precision was not chosen; after saving, the map opens on the incident alone.

The points are real places: the gazetteer's own answers for Hawija and Kirkuk, and the UCDP GED
event of ``helpers.FORM`` (Kirkuk city)."""

from __future__ import annotations

import pytest
from helpers import FORM, csrf_token, log_in


def gazetteer_point(client, name: str, feature_code: str) -> tuple[float, float]:
    """The point of the gazetteer's first candidate for ``name`` of ``feature_code`` (PPLA2 a district seat)."""
    found = client.get("/api/gazetteer", query_string={"q": name}).get_json()["candidates"]
    place = next(c for c in found if c["feature_code"] == feature_code and c["country_code"] == "IQ")
    return place["latitude"], place["longitude"]


def placement(client, **params) -> dict:
    response = client.get("/api/placement", query_string=params)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_a_point_is_placed_in_its_district_sub_district_and_the_disputed_territories(client):
    lat, lon = gazetteer_point(client, "Hawija", "PPLA2")
    found = placement(client, latitude=lat, longitude=lon)
    assert found["district"] == {"pcode": "IQG13Q01", "name": "Al-Hawiga", "display_name": "Hawija"}
    assert found["governorate"]["display_name"] == "Kirkuk"
    assert found["sub_district"]["pcode"].startswith("IQG13Q01")
    assert found["disputed"] == "inside"
    assert (found["latitude"], found["longitude"], found["geo_precision"]) == (lat, lon, 1)
    kirkuk = placement(client, latitude=FORM["latitude"], longitude=FORM["longitude"])
    assert kirkuk["district"]["display_name"] == "Kirkuk" and kirkuk["district"]["pcode"] != "IQG13Q01"


def test_precision_three_keeps_only_the_area_the_place_names(client):
    lat, lon = gazetteer_point(client, "Hawija", "ADM2")
    district_only = placement(client, latitude=lat, longitude=lon, geo_precision=3, location="Hawija")
    assert district_only["district"]["pcode"] == "IQG13Q01" and district_only["sub_district"] is None
    governorate_only = placement(client, latitude=lat, longitude=lon, geo_precision=3, location="Kirkuk governorate")
    assert governorate_only["district"] is None and governorate_only["governorate"]["pcode"] == "IQG13"


def test_the_placement_shown_is_what_saving_stores(client, store):
    """The form's map and the save use one rule: the areas shown are the areas stored."""
    lat, lon = gazetteer_point(client, "Hawija", "PPLA2")
    shown = placement(client, latitude=lat, longitude=lon, geo_precision=2, location="Al Hawijah")
    log_in(client)
    page = client.get("/incidents/new").get_data(as_text=True)
    values = {**FORM, "latitude": str(lat), "longitude": str(lon), "geo_precision": "2", "location": "Al Hawijah"}
    saved = client.post("/incidents/new", data={**values, "csrf_token": csrf_token(page)})
    assert saved.status_code == 302
    stored = store.get(int(saved.headers["Location"].split("ids=")[1]))
    assert (stored.admin1_pcode, stored.admin2_pcode, stored.admin3_pcode, stored.disputed) == (
        shown["governorate"]["pcode"],
        shown["district"]["pcode"],
        shown["sub_district"]["pcode"],
        shown["disputed"],
    )


@pytest.mark.parametrize(
    "params, parameter, fragment",
    [
        ({"latitude": "abc", "longitude": "44.39"}, "latitude", "not a number"),
        ({"latitude": "35.47", "longitude": "east"}, "longitude", "not a number"),
        ({"latitude": "35.47"}, "longitude", "is required"),
        ({"latitude": "95", "longitude": "44.39"}, "latitude", "out of range -90..90"),
        ({"latitude": "35.47", "longitude": "200"}, "longitude", "out of range -180..180"),
        ({"latitude": "44.39", "longitude": "35.47"}, "latitude", "swapped"),
        ({"latitude": "48.85", "longitude": "2.35"}, "latitude", "outside Iraq"),
        ({"latitude": "0", "longitude": "0"}, "latitude", "0,0"),
        ({"latitude": "nan", "longitude": "44.39"}, "latitude", "finite"),
        ({"latitude": "35.47", "longitude": "44.39", "geo_precision": "4"}, "geo_precision", "expected 1, 2 or 3"),
        ({"latitude": "35.47", "longitude": "44.39", "geo_precision": "x"}, "geo_precision", "expected 1, 2 or 3"),
        ({"latitude": "35.47", "longitude": "44.39", "location": "x" * 501}, "location", "longer than 500"),
        ({"latitude": "35.47", "longitude": "44.39", "lat": "1"}, "lat", "unknown parameter"),
    ],
)
def test_bad_coordinates_are_400_naming_the_parameter(client, params, parameter, fragment):
    response = client.get("/api/placement", query_string=params)
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and fragment in body["error"]


def test_the_form_offers_no_precision_until_one_is_chosen(client):
    log_in(client)
    html = client.get("/incidents/new").get_data(as_text=True)
    assert '<option value="" selected>— choose how precise the point is —</option>' in html
    assert 'id="wm-form-map"' in html and "/api/placement" in html


def test_saving_without_a_precision_is_refused_and_loses_nothing(client, store):
    log_in(client)
    page = client.get("/incidents/new").get_data(as_text=True)
    refused = client.post("/incidents/new", data={**FORM, "geo_precision": "", "csrf_token": csrf_token(page)})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Not saved: geo_precision: choose how precise the point is (1 named place;" in html
    assert 'id="geo_precision" name="geo_precision" aria-describedby="wm-precision-help" aria-invalid="true"' in html
    assert f'value="{FORM["latitude"]}"' in html and f'value="{FORM["location"]}"' in html
    assert client.get("/api/incidents").get_json()["total"] == 0


def test_after_saving_the_map_opens_on_the_incident_alone(client, store):
    log_in(client)
    page = client.get("/incidents/new").get_data(as_text=True)
    saved = client.post("/incidents/new", data={**FORM, "csrf_token": csrf_token(page)})
    incident_id = int(saved.headers["Location"].split("ids=")[1])
    assert store.get(incident_id).location == FORM["location"]
    assert saved.headers["Location"] == f"/?ids={incident_id}"
    draft = client.post("/incidents/new", data={**FORM, "status": "draft", "csrf_token": csrf_token(page)})
    assert draft.headers["Location"].startswith("/?ids=") and draft.headers["Location"].endswith("&drafts=1")
