"""The base maps without a browser (issue 14, point 1): the user's own PMTiles file
(``WEBMAP_BASEMAP``) checked at start, refused in one line naming the variable, and served tile by
tile; the map page loads protomaps-leaflet only when that file holds vector tiles."""

from __future__ import annotations

import gzip
import os
import sqlite3
import subprocess

import mapbox_vector_tile
import numpy as np
import pytest
from helpers import COMMAND, free_port, write_vector_pmtiles

from webmap import create_app, mapview
from webmap.cli import main
from webmap.errors import ConfigError
from webmap.io.tiles import open_archive

KIRKUK = (44.3922, 35.4681)


@pytest.fixture(scope="module")
def pmtiles_file(tmp_path_factory):
    return write_vector_pmtiles(tmp_path_factory.mktemp("basemap") / "kirkuk.pmtiles")


def _bad_files(folder, good):
    """Files a user might point WEBMAP_BASEMAP at by mistake, each with what the refusal must say."""
    mbtiles = folder / "iraq.mbtiles"
    with sqlite3.connect(mbtiles) as db:
        db.execute("CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer, tile_data blob)")
    geojson = folder / "iraq.pmtiles"
    geojson.write_text('{"type": "FeatureCollection", "features": []}')
    truncated = folder / "truncated.pmtiles"
    truncated.write_bytes(good.read_bytes()[:127])
    version2 = folder / "old.pmtiles"
    version2.write_bytes(b"PMTiles\x02" + good.read_bytes()[8:])
    empty = folder / "empty.pmtiles"
    empty.write_bytes(b"")
    return [
        (folder / "missing.pmtiles", "no such file"),
        (folder, "not a file"),
        (mbtiles, "an MBTiles (SQLite) file, not PMTiles: convert it with `pmtiles convert"),
        (geojson, "not a PMTiles file"),
        (truncated, "holds no tiles"),
        (version2, "PMTiles version 2, not 3"),
        (empty, "not a PMTiles file"),
    ]


def test_a_file_that_is_not_a_pmtiles_base_map_is_refused_naming_the_variable(tmp_path, pmtiles_file):
    for path, problem in _bad_files(tmp_path, pmtiles_file):
        with pytest.raises(ConfigError) as refused:
            open_archive(path)
        assert refused.value.variable == "WEBMAP_BASEMAP"
        assert str(refused.value).startswith(f"WEBMAP_BASEMAP: {path}: ") and problem in str(refused.value), path


def test_serve_refuses_to_start_with_a_bad_basemap_in_one_line(runner, monkeypatch, tmp_path, pmtiles_file):
    for path, problem in _bad_files(tmp_path, pmtiles_file):
        monkeypatch.setenv("WEBMAP_BASEMAP", str(path))
        result = runner.invoke(main, ["serve", "--port", str(free_port())])
        assert result.exit_code == 2, path
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"Error: WEBMAP_BASEMAP: {path}: ") and problem in lines[0]


def test_the_serve_process_stops_at_once_on_a_missing_basemap(database_url, tmp_path):
    missing = tmp_path / "iraq.pmtiles"
    env = {**os.environ, "WEBMAP_DB": database_url, "WEBMAP_BASEMAP": str(missing), "XDG_DATA_HOME": str(tmp_path)}
    done = subprocess.run([*COMMAND, "serve", "--port", str(free_port())], env=env, capture_output=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.decode().strip() == f"Error: WEBMAP_BASEMAP: {missing}: no such file"
    assert "serving the map" not in done.stdout.decode()


def test_the_own_basemap_is_served_tile_by_tile(database_url, tmp_path, pmtiles_file):
    app = create_app({"database_url": database_url, "geodata_dir": tmp_path / "geodata", "basemap_path": pmtiles_file})
    client = app.test_client()
    x, y = (int(v[0]) for v in mapview._tile_of(8, np.array([KIRKUK[0]]), np.array([KIRKUK[1]])))
    tile = client.get(f"/api/basemap/own/8/{x}/{y}")
    assert tile.status_code == 200 and tile.mimetype == "application/vnd.mapbox-vector-tile"
    assert tile.headers["Content-Encoding"] == "gzip"  # the file's own compression, passed on
    layers = mapbox_vector_tile.decode(gzip.decompress(tile.data))
    assert {"earth", "water", "boundaries", "places"} <= set(layers)
    assert "Kirkuk" in {f["properties"]["name"] for f in layers["places"]["features"]}
    # No tile there (outside the file's area, or deeper than its zooms): 204, nothing to draw.
    assert client.get("/api/basemap/own/8/0/0").status_code == 204
    assert client.get(f"/api/basemap/own/12/{x * 16}/{y * 16}").status_code == 204
    assert client.get("/api/basemap/own/3/99/99").status_code == 204
    # The page draws it first, with protomaps-leaflet; the shipped base map stays one choice away.
    page = client.get("/").get_data(as_text=True)
    assert "/static/vendor/protomaps-leaflet/protomaps-leaflet.js" in page
    assert "webmap.ownBasemap(" in page and '"vector": true' in page and '"maxZoom": 8' in page
    assert "Plain map (offline)" in page


def test_without_a_basemap_of_ones_own_the_page_loads_no_tile_library(client):
    page = client.get("/").get_data(as_text=True)
    assert "protomaps-leaflet" not in page and "webmap.ownBasemap(" not in page
    assert "webmap.basemap(" in page and '<link rel="preload" href="/api/basemap/0"' in page
    response = client.get("/api/basemap/own/8/159/100")
    assert response.status_code == 404 and "WEBMAP_BASEMAP" in response.get_json()["error"]
