"""The JSON API (issue 8): incidents as GeoJSON, paging, the map's compact points, districts,
the chart's timeline, boundary layers, cache validators, gzip, and writes with the token.

The database holds the demo incidents: real UCDP GED events (geodata/demo_incidents.csv, built
from ../shared/data/ucdp-ged-irq), loaded through the importer as ``webmap demo`` does.
"""

from __future__ import annotations

import gzip
import json
import struct
import time

import numpy as np
import pytest
from helpers import AUTH, UCDP_244637

from webmap.forces import FORCE_KEYS
from webmap.intake import checked_incident
from webmap.io.demo import load_demo
from webmap.query import IncidentFilter, count_incidents, data_version
from webmap.roles import BOOTSTRAP


@pytest.fixture
def demo(app, store):
    """The app with the demo incidents loaded; returns the number loaded."""
    summary = load_demo(store, by=BOOTSTRAP, geodata_dir=app.extensions["webmap"]["config"].geodata_dir)
    return summary.inserted


def decode_points(body: bytes) -> dict[str, np.ndarray]:
    """The Python twin of decodePoints in static/js/map.js."""
    assert body[:4] == b"WMP3"
    (n,) = struct.unpack("<I", body[4:8])
    offset, out = 8, {}
    for name, dtype in (
        ("id", "<u4"),
        ("longitude", "<f4"),
        ("latitude", "<f4"),
        ("day", "<i4"),
        ("fatalities", "<u4"),
        ("force", "u1"),
        ("geo_precision", "u1"),
        ("forces", "<u2"),
        ("area", "<u2"),
        ("draft", "u1"),
    ):
        size = np.dtype(dtype).itemsize * n
        out[name] = np.frombuffer(body[offset : offset + size], dtype=dtype)
        offset += size
    (length,) = struct.unpack("<I", body[offset : offset + 4])
    out["areas"] = json.loads(body[offset + 4 : offset + 4 + length])
    assert offset + 4 + length == len(body)
    out["id"] = np.cumsum(out["id"].astype(np.int64))
    return out


def test_incidents_are_a_feature_collection_with_total_and_paging(client, demo):
    body = client.get("/api/incidents?limit=10&offset=5").get_json()
    assert body["type"] == "FeatureCollection"
    assert body["total"] == demo == 1783
    assert (body["limit"], body["offset"], len(body["features"])) == (10, 5, 10)
    feature = body["features"][0]
    assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
    lon, lat = feature["geometry"]["coordinates"]
    assert 38 < lon < 49 and 29 < lat < 38
    assert {"event_date", "actor1", "force1", "location", "fatalities", "notes", "source"} <= set(feature["properties"])
    # Newest first by default; the pages do not overlap.
    first_page = client.get("/api/incidents?limit=5").get_json()["features"]
    second_page = client.get("/api/incidents?limit=5&offset=5").get_json()["features"]
    dates = [f["properties"]["event_date"] for f in first_page + second_page]
    assert dates == sorted(dates, reverse=True)
    assert not {f["id"] for f in first_page} & {f["id"] for f in second_page}


def test_sort_by_fatalities(client, demo):
    top = client.get("/api/incidents?limit=3&sort=-fatalities").get_json()["features"]
    counts = [f["properties"]["fatalities"] for f in top]
    assert counts == sorted(counts, reverse=True)
    # UCDP's deadliest event in the demo: 670 deaths in Mosul.
    assert counts[0] == 670 and top[0]["properties"]["location"] == "Mosul town"
    low = client.get("/api/incidents?limit=1&sort=fatalities").get_json()["features"][0]
    assert low["properties"]["fatalities"] == 0


def test_the_filter_narrows_the_api(client, store, demo):
    kirkuk = client.get("/api/incidents?district=Kirkuk&limit=100").get_json()
    assert kirkuk["total"] == count_incidents(store, IncidentFilter.from_params({"district": "Kirkuk"})) == 56
    assert {f["properties"]["admin2_pcode"] for f in kirkuk["features"]} == {"IQG13Q04"}
    disputed = client.get("/api/incidents?disputed=1&from=2017-01-01&to=2017-12-31&limit=5000").get_json()
    assert disputed["total"] == len(disputed["features"]) > 0
    assert all(f["properties"]["disputed"] in ("inside", "partly") for f in disputed["features"])
    assert all("2017-01-01" <= f["properties"]["event_date"] <= "2017-12-31" for f in disputed["features"])


def test_one_incident_and_a_missing_one(client, demo):
    feature = client.get("/api/incidents?limit=1").get_json()["features"][0]
    one = client.get(f"/api/incidents/{feature['id']}")
    assert one.status_code == 200 and one.get_json() == feature
    missing = client.get("/api/incidents/999999")
    assert missing.status_code == 404 and "999999" in missing.get_json()["error"]


@pytest.mark.parametrize(
    "query, parameter",
    [
        ("district=Atlantis", "district"),
        ("governorate=Nowhere", "governorate"),
        ("from=yesterday-ish", "from"),
        ("to=2017-13-45", "to"),
        ("force=martians", "force"),
        ("event_type=Picnic", "event_type"),
        ("limit=-5", "limit"),
        ("limit=10000000", "limit"),
        ("limit=ten", "limit"),
        ("offset=-1", "offset"),
        ("sort=notes", "sort"),
        ("bbox=1,2,3", "bbox"),
    ],
)
def test_bad_parameters_are_a_400_naming_them(client, demo, query, parameter):
    response = client.get(f"/api/incidents?{query}")
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and body["error"].startswith(f"{parameter}:")


@pytest.mark.parametrize("path", ["/api/points", "/api/districts", "/api/timeline"])
def test_bad_filters_are_refused_by_every_read(client, demo, path):
    response = client.get(f"{path}?district=Atlantis")
    assert response.status_code == 400 and response.get_json()["parameter"] == "district"


@pytest.mark.parametrize(
    "path, parameter",
    [
        ("/api/incidents?distict=Kirkuk", "distict"),
        ("/api/incidents?forces=peshmerga", "forces"),
        ("/api/points?governorates=IQG13", "governorates"),
        ("/api/districts?date=2017-01-05", "date"),
        ("/api/timeline?limit=5", "limit"),
        ("/export.csv?distict=Kirkuk", "distict"),
        ("/export.geojson?force=peshmerga&frm=2017-01-01", "frm"),
    ],
)
def test_a_misspelt_parameter_is_a_400_not_every_incident(client, demo, path, parameter):
    response = client.get(path)
    assert response.status_code == 400
    body = response.get_json()
    assert body["parameter"] == parameter and "unknown parameter" in body["error"]
    # The spellings every read documents still answer.
    assert (
        client.get("/api/incidents?since=2017-01-01&until=2017-12-31&limit=5&offset=5&sort=-fatalities").status_code
        == 200
    )
    assert client.get("/api/timeline?period=month&district=Kirkuk").status_code == 200


def test_points_are_the_filtered_incidents_compactly(client, store, demo):
    response = client.get("/api/points?governorate=Kirkuk", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    points = decode_points(gzip.decompress(response.data))
    listed = client.get("/api/incidents?governorate=Kirkuk&limit=5000&sort=id").get_json()["features"]
    assert points["id"].tolist() == [f["id"] for f in listed]
    first = listed[0]
    assert points["longitude"][0] == pytest.approx(first["geometry"]["coordinates"][0], abs=1e-5)
    assert points["latitude"][0] == pytest.approx(first["geometry"]["coordinates"][1], abs=1e-5)
    assert np.datetime64("1970-01-01") + int(points["day"][0]) == np.datetime64(first["properties"]["event_date"])
    assert points["fatalities"].tolist() == [f["properties"]["fatalities"] for f in listed]
    expected_force = [f["properties"]["force1"] or f["properties"]["force2"] or "other" for f in listed]
    assert [FORCE_KEYS[i] for i in points["force"]] == expected_force
    # Every force each involves, as the API lists them.
    assert [sorted(k for b, k in enumerate(FORCE_KEYS) if m & (1 << b)) for m in points["forces"]] == [
        sorted(f["properties"]["forces"]) for f in listed
    ]
    assert points["geo_precision"].tolist() == [f["properties"]["geo_precision"] for f in listed]
    # An incident known only to its district or governorate names that area.
    for f, area in zip(listed, points["area"].tolist(), strict=True):
        p = f["properties"]
        if p["geo_precision"] == 3 and p["admin1_pcode"]:
            assert points["areas"][area - 1]["pcode"] == (p["admin2_pcode"] or p["admin1_pcode"])
        else:
            assert area == 0
    assert {a["level"] for a in points["areas"]} == {"adm1", "adm2"}
    # About 6 bytes an incident on the wire.
    assert len(response.data) < 12 * len(listed)


def test_points_without_gzip_are_the_raw_buffer(client, demo):
    response = client.get("/api/points", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert len(decode_points(response.data)["id"]) == demo


def test_reads_carry_an_etag_and_a_reload_is_a_304(client, demo):
    for path in (
        "/api/points?district=Kirkuk",
        "/api/incidents?limit=5",
        "/api/districts",
        "/api/timeline",
        "/api/basemap/0",
        "/api/basemap/3/319/201",
    ):
        first = client.get(path)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag
        assert "no-cache" in first.headers["Cache-Control"]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""


def test_an_edit_changes_the_etag(client, demo):
    etag = client.get("/api/points").headers["ETag"]
    created = client.post("/api/incidents", json=UCDP_244637, headers=AUTH)
    assert created.status_code == 201
    after = client.get("/api/points", headers={"If-None-Match": etag, "Accept-Encoding": "identity"})
    assert after.status_code == 200 and after.headers["ETag"] != etag
    assert len(decode_points(after.data)["id"]) == demo + 1


def test_kept_answers_follow_every_write_even_another_processs(app, client, store, demo):
    # The JSON reads are kept by the server for the next visitor; a write anywhere answers anew
    # (here straight into the store, as another process would).
    reads = ("/api/summary", "/api/timeline", "/api/incidents?limit=5&sort=-id", "/api/districts")
    first = {path: client.get(path).get_json() for path in reads}
    assert {path: client.get(path).get_json() for path in reads} == first
    created = store.add(checked_incident(UCDP_244637, app.extensions["webmap"]["config"].geodata_dir), by=BOOTSTRAP).id
    summary = client.get("/api/summary").get_json()
    assert summary["total"] == first["/api/summary"]["total"] + 1
    assert client.get("/api/incidents?limit=5&sort=-id").get_json()["features"][0]["id"] == created
    assert client.get("/api/timeline").get_json() != first["/api/timeline"]


def _wait_for_points(app, version, seconds, flt=None):
    from webmap.web.points import DEFAULT_VIEW

    points = app.extensions["webmap"]["points"]
    flt = flt or DEFAULT_VIEW
    deadline = time.monotonic() + seconds
    while points.ready_version(flt) != version and time.monotonic() < deadline:
        time.sleep(0.05)
    return points.ready_version(flt)


def test_the_default_views_opening_tiles_are_made_after_a_write_before_anyone_asks(app, client, demo):
    from webmap.mapindex import mercator
    from webmap.web.points import DEFAULT_VIEW, WARMED_ZOOMS

    app.extensions["webmap"]["config"].map_points_limit = 100  # the default view comes as tiles
    points = app.extensions["webmap"]["points"]
    created = client.post("/api/incidents", json=UCDP_244637, headers=AUTH)
    assert created.status_code == 201
    version = data_version(app.extensions["webmap"]["store"])
    x, y = mercator(np.array([UCDP_244637["longitude"]]), np.array([UCDP_244637["latitude"]]))
    for z in WARMED_ZOOMS:  # the tile holding the new incident, at each zoom
        tile = (z, int(x[0] * 2**z), int(y[0] * 2**z))
        deadline = time.monotonic() + 10
        while points.tile_version(DEFAULT_VIEW, *tile) != version and time.monotonic() < deadline:
            time.sleep(0.05)
        assert points.tile_version(DEFAULT_VIEW, *tile) == version, f"tile {tile}"


def test_the_maps_points_are_recomputed_after_writes_before_anyone_asks(app, client, store, demo):
    from webmap.web.points import WARM_INTERVAL

    assert client.get("/").status_code == 200
    kirkuk = IncidentFilter.build(district=["Kirkuk"])

    def in_kirkuk() -> int:
        response = client.get("/api/points?district=Kirkuk", headers={"Accept-Encoding": "identity"})
        return len(decode_points(response.data)["id"])

    seen_in_kirkuk = in_kirkuk()
    before = data_version(store)
    assert _wait_for_points(app, before, 10) == before
    # A write through the API: computed right after the answer, the district view a visitor asked for too.
    created = client.post("/api/incidents", json=UCDP_244637, headers=AUTH)
    assert created.status_code == 201
    after_post = data_version(store)
    assert after_post != before and _wait_for_points(app, after_post, 10) == after_post
    assert _wait_for_points(app, after_post, 10, kirkuk) == after_post
    assert in_kirkuk() == seen_in_kirkuk + 1
    # A write by another process (here straight into the store): seen within the warmer's interval.
    store.delete(created.get_json()["id"], by=BOOTSTRAP, reason="test")
    after_delete = data_version(store)
    assert _wait_for_points(app, after_delete, 3 * WARM_INTERVAL + 5) == after_delete
    points = client.get("/api/points", headers={"Accept-Encoding": "identity"})
    assert len(decode_points(points.data)["id"]) == demo


def test_districts_carry_the_filters_counts(client, store, demo):
    collection = client.get("/api/districts?force=isf").get_json()
    assert collection["type"] == "FeatureCollection"
    by_pcode = {f["properties"]["pcode"]: f for f in collection["features"]}
    assert by_pcode["IQG13Q04"]["properties"]["name"] == "Kirkuk"
    assert by_pcode["IQG13Q04"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    total = sum(f["properties"]["incidents"] for f in collection["features"])
    # Every ISF incident joined to a district is counted once.
    listed = client.get("/api/incidents?force=isf&limit=5000").get_json()["features"]
    assert total == sum(1 for f in listed if f["properties"]["admin2_pcode"])
    assert sum(f["properties"]["fatalities"] for f in collection["features"]) == sum(
        f["properties"]["fatalities"] for f in listed if f["properties"]["admin2_pcode"]
    )


def test_timeline_per_month_for_long_ranges_and_per_week_for_short(client, demo):
    months = client.get("/api/timeline").get_json()
    assert months["period"] == "month"
    assert months["periods"][0] == "2014-01-01" and months["periods"][-1] == "2018-12-01"
    assert len(months["periods"]) == 60
    assert sum(months["total"]["incidents"]) == demo
    # Each force counts every incident involving it: as many as the force filter finds.
    for force in months["forces"]:
        found = client.get(f"/api/incidents?force={force['key']}&limit=1").get_json()["total"]
        assert sum(force["incidents"]) == found, force["key"]
    keys = [f["key"] for f in months["forces"]]
    assert keys == [k for k in FORCE_KEYS if k in keys]  # in the legend's order
    weeks = client.get("/api/timeline?from=2017-01-01&to=2017-03-31").get_json()
    assert weeks["period"] == "week"
    assert weeks["periods"][0] == "2016-12-26"  # the Monday of the week holding 1 January 2017
    listed = client.get("/api/incidents?from=2017-01-01&to=2017-03-31&limit=5000").get_json()
    assert sum(weeks["total"]["fatalities"]) == sum(f["properties"]["fatalities"] for f in listed["features"])
    # The window narrows the counts, not the periods: the chart marks it on the whole range.
    window = client.get("/api/timeline?from=2017-01-01&to=2017-03-31&window=2017-02-01/2017-02-28").get_json()
    assert window["periods"] == weeks["periods"] and window["window"] == ["2017-02-01", "2017-02-28"]
    in_window = client.get("/api/incidents?window=2017-02-01/2017-02-28&limit=1").get_json()["total"]
    assert sum(window["total"]["incidents"]) == in_window < sum(weeks["total"]["incidents"])
    assert client.get("/api/timeline?period=fortnight").status_code == 400


def test_boundary_layers_for_the_map(client):
    disputed = client.get("/api/layers/disputed").get_json()
    assert disputed["features"] and all(
        f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in disputed["features"]
    )
    assert client.get("/api/layers/secret").status_code == 404
    assert client.get("/api/layers/basemap").status_code == 404  # the base map has its own bands


def test_the_offline_base_map_per_zoom_band(client):
    country = client.get("/api/basemap/0")
    assert country.mimetype == "application/json"
    piece = country.get_json()
    assert piece["band"] == 0 and piece["tile"] is None
    assert set(piece["fills"]) == {"land", "lakes"} and {"country", "adm1", "adm2", "rivers"} <= set(piece["lines"])
    names = {label[2] for label in piece["labels"]}
    assert {"Kirkuk", "Nineveh", "Salah ad Din", "Diyala", "Erbil", "Baghdad", "Mosul"} <= names  # as people say them
    # The tile of zoom 9 holding Kirkuk city: its villages, with Arabic names where the gazetteer has them.
    tile = client.get("/api/basemap/3/319/201").get_json()
    labels = {label[2]: label for label in tile["labels"]}
    assert labels["Kirkuk"][3] == "كركوك" and labels["Kirkuk"][4] == "city"
    assert sum(1 for label in tile["labels"] if label[4] == "village") > 100
    # What does not exist is a 404 naming why.
    for path, why in (
        ("/api/basemap/9", "no base map band 9"),
        ("/api/basemap/0/1/1", "one piece"),
        ("/api/basemap/3", "cut into tiles"),
        ("/api/basemap/3/600/201", "no tile 600/201"),
    ):
        response = client.get(path)
        assert response.status_code == 404 and why in response.get_json()["error"], path


def test_json_responses_are_gzipped(client, demo):
    response = client.get("/api/incidents?limit=200", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data).startswith(b"{")


# -- writes --------------------------------------------------------------------------------------
def test_writes_need_the_token(client, demo):
    missing = client.post("/api/incidents", json=UCDP_244637)
    assert missing.status_code == 401 and "Bearer" in missing.headers["WWW-Authenticate"]
    wrong = client.post("/api/incidents", json=UCDP_244637, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and "wrong token" in wrong.get_json()["error"]
    assert client.put("/api/incidents/1", json=UCDP_244637).status_code == 401
    assert client.delete("/api/incidents/1").status_code == 401
    assert client.get("/api/incidents?limit=1").get_json()["total"] == demo


def test_post_checks_and_enriches_the_incident(client, demo):
    response = client.post("/api/incidents", json=UCDP_244637, headers=AUTH)
    assert response.status_code == 201
    stored = response.get_json()
    assert response.headers["Location"].endswith(f"/api/incidents/{stored['id']}")
    props = stored["properties"]
    # Forces come from the actors, admin areas and the disputed flag from the point.
    assert (props["force1"], props["force2"]) == ("isf", "islamic_state")
    assert (props["admin1"], props["admin2_pcode"], props["disputed"]) == ("Kirkuk", "IQG13Q04", "inside")
    assert client.get(f"/api/incidents/{stored['id']}", headers=AUTH).get_json() == stored
    assert (props["created_by"], props["reviewed_by"], props["version"]) == ("bootstrap", "bootstrap", 1)


def test_post_accepts_a_geojson_feature(client):
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [44.392222, 35.468056]},
        "properties": {k: v for k, v in UCDP_244637.items() if k not in ("latitude", "longitude")},
    }
    response = client.post("/api/incidents", json=feature, headers=AUTH)
    assert response.status_code == 201
    assert response.get_json()["geometry"]["coordinates"] == [44.392222, 35.468056]


@pytest.mark.parametrize(
    "body, field",
    [
        ({**UCDP_244637, "latitude": 44.392222, "longitude": 35.468056}, "latitude"),  # swapped
        ({**UCDP_244637, "event_date": "2999-01-01"}, "event_date"),
        ({**UCDP_244637, "fatalities": -3}, "fatalities"),
        ({**UCDP_244637, "geo_precision": 7}, "geo_precision"),
        ({**UCDP_244637, "force1": "martians"}, "force1"),
        ({**UCDP_244637, "source_url": "javascript:alert(1)"}, "source_url"),
        ({k: v for k, v in UCDP_244637.items() if k != "event_type"}, "event_type"),
    ],
)
def test_bad_records_are_a_400_naming_the_field(client, body, field):
    response = client.post("/api/incidents", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_a_misspelt_field_is_refused_not_dropped(client, demo):
    response = client.post("/api/incidents", json={**UCDP_244637, "fatalites": 7}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == "fatalites"
    assert client.get("/api/incidents?limit=1").get_json()["total"] == demo  # nothing stored
    # What the API hands out goes back in unchanged: every property of a Feature is a field.
    created = client.post("/api/incidents", json=UCDP_244637, headers=AUTH).get_json()
    again = client.put(f"/api/incidents/{created['id']}", json=created, headers=AUTH)
    assert again.status_code == 200 and again.get_json()["properties"]["fatalities"] == 1


@pytest.mark.parametrize(
    "data, content_type",
    [
        ("{not json", "application/json"),
        ("[1, 2]", "application/json"),
        ("event_date=2017-01-05", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_bodies_are_a_400(client, data, content_type):
    response = client.post("/api/incidents", data=data, content_type=content_type, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == "body"


def test_put_replaces_and_delete_removes(client, demo):
    created = client.post("/api/incidents", json=UCDP_244637, headers=AUTH).get_json()
    url = f"/api/incidents/{created['id']}"
    body = {**UCDP_244637, "fatalities": 4, "notes": "corrected toll"}
    unexplained = client.put(url, json=body, headers=AUTH)
    assert unexplained.status_code == 400 and unexplained.get_json()["field"] == "reason"
    replaced = client.put(url, json={**body, "reason": "a later report"}, headers=AUTH)
    assert replaced.status_code == 200
    assert replaced.get_json()["properties"]["fatalities"] == 4
    assert client.get(url).get_json()["properties"]["notes"] == "corrected toll"
    assert client.put("/api/incidents/999999", json=UCDP_244637, headers=AUTH).status_code == 404
    assert client.delete(url, headers=AUTH).status_code == 400  # no reason
    assert client.delete(url, json={"reason": "a duplicate"}, headers=AUTH).status_code == 204
    assert client.get(url).status_code == 404
    assert client.delete(url + "?reason=again", headers=AUTH).status_code == 409
    assert client.delete("/api/incidents/999999?reason=x", headers=AUTH).status_code == 404
    assert client.get("/api/incidents?limit=1").get_json()["total"] == demo


@pytest.mark.parametrize(
    "method, path, status",
    [
        ("get", "/api/incidents/abc", 404),
        ("get", "/api/no-such-thing", 404),
        ("patch", "/api/districts", 405),
    ],
)
def test_api_errors_are_json_even_for_unknown_routes(client, method, path, status):
    response = getattr(client, method)(path)
    assert response.status_code == status
    assert response.is_json and str(status) in response.get_json()["error"]
