"""One incident, entered through every door, is stored alike: the placement rule is one.

The incident is the first of the Kurdistan 24 report in ``../shared/fixtures`` (see its README): an
Islamic State attack on the Peshmerga known only to Kirkuk governorate (geo precision 3), placed on
the governorate's representative point. That point happens to lie in Al-Hawiga district; the
report says nothing of any district, so no door may store one, and Kirkuk governorate lies wholly
in the disputed territories, so every door stores it as disputed. The geocoded door is an import
row with no coordinates that names only the governorate: the gazetteer gives it the same point.
"""

from __future__ import annotations

import csv

import pytest
from helpers import AUTH, csrf_token, log_in

from webmap import spatial
from webmap.cli import main
from webmap.config import SHIPPED_GEODATA
from webmap.store import incidents as incidents_table
from webmap.store import row_to_incident

# Compared between doors: everything but what the store or the door itself sets.
SET_BY_THE_DOOR = ("id", "source_id", "created_at", "updated_at", "reviewed_at")  # the clock's, each time
# Set by the geocoded door only: the gazetteer record it was placed at and the match's score.
GEOCODER_MATCH = ("place_id", "place_score")


def governorate_point(name: str, level: str = "adm1") -> tuple[float, float]:
    """The representative point (lat, lon) of a shipped governorate (or district, ``level``
    ``adm2``), as the gazetteer places it."""
    layer = spatial.load_layer(level)
    point = layer[layer["name"] == name].geometry.representative_point().iloc[0]
    return round(point.y, 5), round(point.x, 5)


def kirkuk_attack(source_id: str) -> dict:
    lat, lon = governorate_point("Kirkuk")
    return {
        "event_date": "2021-12-04",
        "event_type": "Battles",
        "sub_event_type": "Armed clash",
        "actor1": "Islamic State",
        "actor2": "Peshmerga",
        "location": "Kirkuk",
        "latitude": lat,
        "longitude": lon,
        "geo_precision": 3,
        "fatalities": 3,
        "injured": 2,
        "source": "Kurdistan 24",
        "source_id": source_id,
    }


def stored_rows(store) -> dict[str, dict]:
    with store.connect() as conn:
        rows = conn.execute(incidents_table.select()).mappings().all()
    return {
        row["source_id"]: {k: v for k, v in row_to_incident(row).to_dict().items() if k not in SET_BY_THE_DOOR}
        for row in rows
    }


def test_the_governorate_point_lies_in_another_district():
    lat, lon = governorate_point("Kirkuk")
    [placed] = spatial.place_points([lon], [lat], [1])["admin2"]
    assert placed == "Al-Hawiga"


def write_csv(path, *rows: dict) -> None:
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_one_incident_through_every_door_is_stored_alike(client, runner, store, tmp_path):
    log_in(client)
    form = kirkuk_attack("form")
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    assert client.post("/incidents/new", data={**form, "csrf_token": token}).status_code == 302

    assert client.post("/api/incidents", json=kirkuk_attack("api"), headers=AUTH).status_code == 201
    saved = client.post("/api/extract/save", json={"incidents": [kirkuk_attack("extraction")]}, headers=AUTH)
    assert saved.status_code == 200, saved.get_json()

    path = tmp_path / "incidents.csv"
    write_csv(path, kirkuk_attack("import"))
    imported = runner.invoke(main, ["import", str(path), "--format", "csv"])
    assert imported.exit_code == 0, imported.output

    # A dataset row with no coordinates and no place name, known to its governorate only.
    unlocated = {k: v for k, v in kirkuk_attack("geocoded").items() if k not in ("latitude", "longitude", "location")}
    write_csv(tmp_path / "unlocated.csv", {**unlocated, "geo_precision": "", "admin1": "Kirkuk"})
    geocoded = runner.invoke(main, ["import", str(tmp_path / "unlocated.csv"), "--format", "csv"])
    assert geocoded.exit_code == 0, geocoded.output
    assert "1 rows placed by their place name (geocoded)" in geocoded.output

    rows = stored_rows(store)
    assert set(rows) == {"form", "api", "extraction", "import", "geocoded"}
    assert {name: rows["geocoded"][name] for name in GEOCODER_MATCH} == {"place_id": "gn:98410", "place_score": 0.5}
    for door in ("form", "api", "extraction", "import"):
        assert [rows[door][name] for name in GEOCODER_MATCH] == [None, None]
    alike = {door: {k: v for k, v in row.items() if k not in GEOCODER_MATCH} for door, row in rows.items()}
    first = alike["form"]
    assert (first["admin1"], first["admin1_pcode"], first["admin2"], first["admin3"], first["disputed"]) == (
        "Kirkuk",
        "IQG13",
        None,
        None,
        "inside",
    )
    assert first["force1"] == "islamic_state" and first["force2"] == "peshmerga"
    for door, row in alike.items():
        assert row == first, door

    # The re-join after a boundary import keeps what each incident is known to.
    rejoined = runner.invoke(main, ["geodata", "import", str(SHIPPED_GEODATA / "adm2.geojson"), "--level", "adm2"])
    assert rejoined.exit_code == 0, rejoined.output
    assert stored_rows(store) == rows


@pytest.mark.parametrize(
    "location, admin2",
    [
        ("Hawija", "Al-Hawiga"),  # the district holding the point, by its common spelling
        ("Al-Hawiga district, Kirkuk", "Al-Hawiga"),
        ("Kirkuk", None),  # Kirkuk district is elsewhere: only the governorate is known
        ("Daquq", None),
        (None, None),
    ],
)
def test_a_coarse_incident_keeps_the_district_its_place_names(client, location, admin2):
    body = {**kirkuk_attack("x"), "location": location}
    stored = client.post("/api/incidents", json=body, headers=AUTH).get_json()["properties"]
    assert (stored["admin1"], stored["admin2"], stored["admin3"]) == ("Kirkuk", admin2, None)


def test_a_district_only_record_is_geocoded_to_what_its_point_would_give(client):
    """A body naming only Hawija district is stored exactly as one sent with the district's point at
    precision 3: with the district, without a sub-district."""
    lat, lon = governorate_point("Al-Hawiga", "adm2")
    with_point = {**kirkuk_attack("point"), "latitude": lat, "longitude": lon, "location": "Al-Hawiga"}
    named = {k: v for k, v in kirkuk_attack("named").items() if k not in ("latitude", "longitude", "location")}
    named.update(geo_precision=None, admin2="Hawija", admin1="Kirkuk")
    features = [client.post("/api/incidents", json=body, headers=AUTH).get_json() for body in (with_point, named)]
    assert [f["geometry"]["coordinates"] for f in features] == [[lon, lat]] * 2
    stored = [f["properties"] for f in features]
    compared = ("location", "geo_precision", "admin1", "admin2", "admin2_pcode", "admin3", "disputed")
    assert [[row[k] for k in compared] for row in stored] == [
        ["Al-Hawiga", 3, "Kirkuk", "Al-Hawiga", "IQG13Q01", None, "inside"]
    ] * 2
    assert stored[1]["place_id"] == "gn:6770659" and stored[0]["place_id"] is None
