"""The Folium map and the map's data encodings (mapview), built without a database."""

from __future__ import annotations

import json
import re
import struct

import folium
import numpy as np
import pytest
import shapely
from folium.plugins import FastMarkerCluster

from webmap import mapview
from webmap.forces import FORCE_KEYS, FORCES, forces_mask
from webmap.records import STORED_STATUSES


def test_the_map_has_the_forces_panel_and_the_overlays():
    m = mapview.build_map("district=IQG13Q04")
    parts = mapview.render_parts(m)
    script = parts["script"]
    for force in FORCES:
        assert f'"key": "{force.key}"' in script and f'"colour": "{force.colour}"' in script
    assert script.count("webmap.forcePanel(") == 1
    assert '"url": "/api/points?district=IQG13Q04"' in script and '"base": "district=IQG13Q04"' in script
    assert '"url": "/api/districts?district=IQG13Q04"' in script
    assert "webmap.timeSlider(" in script and "webmap.legend(" in script
    # Only the offline base map is shown at first; OpenStreetMap waits to be chosen.
    assert script.count(".addTo(map_") >= 1
    osm = re.search(r"var (tile_layer_\w+) = L.tileLayer", script).group(1)
    assert f"{osm}.addTo(" not in script
    assert '<link rel="preload" href="/api/points?district=IQG13Q04" as="fetch"' in parts["header"]


def test_every_asset_is_vendored_and_nothing_is_inlined():
    html = mapview.build_map("").get_root().render()
    assert "cdn." not in html and "code.jquery.com" not in html and "bootstrap" not in html
    assert "/static/vendor/leaflet/leaflet.js" in html and "/static/js/map.js" in html


def test_plain_folium_plugins_are_repointed_too():
    m = folium.Map(tiles=None)
    FastMarkerCluster([[35.468056, 44.392222]]).add_to(m)
    mapview.use_vendored_assets(m)
    html = m.get_root().render()
    assert "/static/vendor/leaflet.markercluster/leaflet.markercluster.js" in html
    assert "cdnjs" not in html and "jsdelivr" not in html


def test_an_asset_without_a_vendored_copy_is_refused():
    m = folium.Map(tiles=None)
    m.default_js = [*m.default_js, ("some_plugin", "https://cdn.example/plugin.js")]
    with pytest.raises(KeyError, match="some_plugin"):
        mapview.use_vendored_assets(m)


def test_encode_points_layout():
    # Three real UCDP GED events (ids 244637, 197060, 274540): Kirkuk, Baghdad, Tal Afar.
    columns = {
        "id": np.array([3, 7, 8]),
        "longitude": np.array([44.392222, 44.400876, 42.448065]),
        "latitude": np.array([35.468056, 33.340582, 36.379134]),
        "day": np.array([17171, 16567, 17890]),
        "force": np.array(
            [FORCE_KEYS.index("isf"), FORCE_KEYS.index("islamic_state"), FORCE_KEYS.index("islamic_state")]
        ),
        "geo_precision": np.array([1, 2, 1]),
        "fatalities": np.array([1, 10, 2]),
        # Kirkuk: the army against IS; Baghdad and Tal Afar: IS against civilians.
        "forces": np.array([forces_mask(["isf", "islamic_state"]), forces_mask(["islamic_state", "civilians"]), 1]),
    }
    body = mapview.encode_points(columns)
    assert body[:4] == b"WMP3" and struct.unpack("<I", body[4:8]) == (3,)
    assert len(body) == 8 + 3 * 27 + 4 + 2  # the columns, the area table's length and "[]"
    assert np.frombuffer(body[8:20], "<u4").tolist() == [3, 4, 1]  # id deltas
    assert np.frombuffer(body[20:32], "<f4").tolist() == pytest.approx([44.392222, 44.400876, 42.448065], abs=1e-5)
    columns_end = 8 + 3 * 27
    assert body[columns_end - 21 : columns_end - 15] == bytes([5, 0, 0, 1, 2, 1])  # force, geo_precision
    assert np.frombuffer(body[columns_end - 15 : columns_end - 9], "<u2").tolist() == columns["forces"].tolist()
    assert np.frombuffer(body[columns_end - 9 : columns_end - 3], "<u2").tolist() == [0, 0, 0]  # all at their points
    assert body[columns_end - 3 : columns_end] == bytes([0, 0, 0])  # no status given: none a draft
    assert body[columns_end:] == struct.pack("<I", 2) + b"[]"
    draft, reviewed = STORED_STATUSES.index("draft"), STORED_STATUSES.index("reviewed")
    with_status = mapview.encode_points({**columns, "status": np.array([reviewed, draft, reviewed])})
    assert with_status[columns_end - 3 : columns_end] == bytes([0, 1, 0])  # the second is a draft
    with pytest.raises(ValueError, match="ascending"):
        mapview.encode_points({**columns, "id": np.array([8, 7, 3])})


def test_layers_are_simplified_geojson_with_names():
    adm2 = json.loads(mapview.layer_geojson("adm2"))
    names = {f["properties"]["name"] for f in adm2["features"]}
    assert {"Kirkuk", "Sinjar", "Khanaqin", "Makhmour"} <= names
    assert {"pcode", "name", "parent_name"} <= set(adm2["features"][0]["properties"])
    with pytest.raises(KeyError):
        mapview.layer_geojson("adm9")


def test_the_base_map_bands_simplify_less_as_the_zoom_grows():
    kirkuk = (43.3, 34.9, 44.9, 36.0)
    vertices = []
    for band, spec in enumerate(mapview.BASEMAP_BANDS):
        tiles = [None] if spec.tile_zoom is None else [tuple(t) for t in _tiles_of_kirkuk_governorate(spec.tile_zoom)]
        pieces = [json.loads(mapview.basemap_piece(band, tile)) for tile in tiles]
        for piece in pieces:
            for rings in piece["fills"].values():
                assert all(_points(ring)[0].tolist() == _points(ring)[-1].tolist() for ring in rings)  # closed
        lines = shapely.MultiLineString([_points(line) for p in pieces for line in p["lines"]["adm2"]])
        inside = shapely.clip_by_rect(lines, *kirkuk)
        vertices.append(shapely.get_num_coordinates(inside))
    # Kirkuk governorate's district lines: more detail in each band, as shipped in the last.
    assert vertices == sorted(set(vertices)), vertices


def _points(served: list[int]) -> np.ndarray:
    """A served line or ring (whole 1e-5 degrees, first point then differences) as lon/lat rows."""
    return np.cumsum(np.reshape(served, (-1, 2)), axis=0) / 1e5


def _tiles_of_kirkuk_governorate(zoom: int) -> list[list[int]]:
    west, south, east, north = 43.3, 34.9, 44.9, 36.0
    x0, y0 = (int(v[0]) for v in mapview._tile_of(zoom, np.array([west]), np.array([north])))
    x1, y1 = (int(v[0]) for v in mapview._tile_of(zoom, np.array([east]), np.array([south])))
    return [[x, y] for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def test_each_label_is_in_one_tile_and_shown_at_its_kinds_zooms():
    spec = mapview.BASEMAP_BANDS[3]
    tiles = _tiles_of_kirkuk_governorate(spec.tile_zoom)
    seen: dict[tuple, int] = {}
    for tile in tiles:
        west, south, east, north = mapview.tile_bounds(spec.tile_zoom, *tile)
        piece = json.loads(mapview.basemap_piece(3, tuple(tile)))
        for label in piece["labels"]:
            lon, lat, name, _, kind, _rank = label
            low, high = piece["kinds"][kind]
            assert west <= lon <= east and south <= lat <= north, name
            assert (low, high) == mapview.LABEL_KINDS[kind] and low <= 18 and high >= spec.min_zoom
            seen[(lon, lat, name)] = seen.get((lon, lat, name), 0) + 1
    assert seen and max(seen.values()) == 1
    # Band 0 (the country) has the governorates and the cities, not the villages.
    kinds = {label[4] for label in json.loads(mapview.basemap_piece(0))["labels"]}
    assert kinds == {"governorate", "city"}
    with pytest.raises(KeyError, match="no tile"):
        mapview.basemap_piece(3, (2**9, 0))


def test_district_features_carry_counts():
    collection = mapview.district_features({"IQG13Q04": {"incidents": 56, "fatalities": 310}})
    kirkuk = next(f for f in collection["features"] if f["properties"]["pcode"] == "IQG13Q04")
    assert (kirkuk["properties"]["incidents"], kirkuk["properties"]["fatalities"]) == (56, 310)
    assert sum(f["properties"]["incidents"] for f in collection["features"]) == 56
