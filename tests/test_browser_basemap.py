"""The base maps in a real browser (issue 14, points 1 and 7): Debian's headless Chromium.

At zoom 12 around Kirkuk the offline base map draws the names of towns and villages, none over
another, as text on its canvas; the Arabic tick switches them; a PMTiles file made here from the
shipped layers is drawn when ``WEBMAP_BASEMAP`` names it; OpenStreetMap without a network says so
on the map. Screenshots go to the ``artifacts`` folder. No request may leave 127.0.0.1, except the
OpenStreetMap tiles the offline test asks for (and cannot get).
"""

from __future__ import annotations

import csv
import json
import re

import geopandas as gpd
import numpy as np
import pytest
import shapely
from helpers import ROOT, serve_demo, write_vector_pmtiles

from webmap import spatial

pytestmark = pytest.mark.browser

KIRKUK_Z12 = "#12/35.4681/44.3922"
TOKEN = "basemap-browser-token"
ARABIC = re.compile(r"[\u0600-\u06ff]")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app over the demo incidents with the shipped base map; yields its base URL."""
    with serve_demo(tmp_path_factory.mktemp("basemap-browser"), TOKEN) as base:
        yield base


@pytest.fixture(scope="module")
def own_server(tmp_path_factory):
    """The same with WEBMAP_BASEMAP: a vector PMTiles file of the Kirkuk area written by the test."""
    folder = tmp_path_factory.mktemp("own-basemap")
    with serve_demo(folder, TOKEN, basemap_path=write_vector_pmtiles(folder / "kirkuk.pmtiles")) as base:
        yield base


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    yield context
    context.close()


def open_page(context, url: str, server: str, allowed_hosts: tuple[str, ...] = ()):
    """A page at ``url`` once the map is drawn; ``page.requested`` and ``page.errors`` record what
    it asked for and the JavaScript errors it raised (checked by :func:`check_page`)."""
    page = context.new_page()
    page.requested, page.errors, page.server, page.allowed = [], [], server, allowed_hosts
    page.on("request", lambda request: page.requested.append(request.url))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    # Nothing of the base maps may need what the Content-Security-Policy refuses (eval, inline script, workers).
    page.on("console", lambda m: page.errors.append(m.text) if "Content Security Policy" in m.text else None)
    page.goto(url)
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    return page


def check_page(page) -> None:
    outside = [u for u in page.requested if not u.startswith(page.server + "/") and not u.startswith(page.allowed)]
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not page.errors, f"JavaScript errors: {page.errors}"


def drawn_labels(page) -> list[dict]:
    """The base map's labels drawn inside the map's frame (container pixels), once its detailed tiles are in."""
    page.wait_for_function(
        """() => { const b = webmap.offlineBasemap, z = webmap.current.map.getZoom();
                   if (!b || Object.keys(b._loading).length) return false;
                   const pieces = b._drawable();
                   return pieces.length > 0 && pieces[0].band === b._bandAt(z); }""",
        timeout=30_000,
    )
    return page.evaluate(
        """() => { const size = webmap.current.map.getSize();
                   return webmap.offlineBasemap.drawnLabels.filter(
                     l => l.box[0] >= 0 && l.box[1] >= 0 && l.box[2] <= size.x && l.box[3] <= size.y); }"""
    )


def ink_in(page, box) -> int:
    """Dark pixels the base map's canvas holds inside ``box`` (container pixels): text is drawn there."""
    return page.evaluate(
        """(box) => {
             const canvas = document.querySelector('canvas.wm-basemap'), r = canvas.getBoundingClientRect();
             const map = webmap.current.map.getContainer().getBoundingClientRect();
             const sx = canvas.width / r.width, sy = canvas.height / r.height;
             const x = Math.round((box[0] + map.left - r.left) * sx), y = Math.round((box[1] + map.top - r.top) * sy);
             const w = Math.max(1, Math.round((box[2] - box[0]) * sx));
             const h = Math.max(1, Math.round((box[3] - box[1]) * sy));
             const data = canvas.getContext('2d').getImageData(x, y, w, h).data;
             let dark = 0;
             for (let i = 0; i < data.length; i += 4) {
               if (data[i + 3] > 200 && data[i] + data[i + 1] + data[i + 2] < 360) dark++;
             }
             return dark; }""",
        box,
    )


def overlapping(labels: list[dict]) -> list[tuple[str, str]]:
    return [
        (a["text"], b["text"])
        for i, a in enumerate(labels)
        for b in labels[i + 1 :]
        if a["box"][0] < b["box"][2]
        and b["box"][0] < a["box"][2]
        and a["box"][1] < b["box"][3]
        and b["box"][1] < a["box"][3]
    ]


def gazetteer_names() -> tuple[set[str], set[str]]:
    """The English and Arabic names the shipped base map may draw: its places and the boundary layers' areas."""
    with (ROOT / "geodata" / "basemap_places.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    english, arabic = {r["name"] for r in rows}, {r["name_ar"] for r in rows if r["name_ar"]}
    for level in ("adm1", "adm2", "adm3"):
        layer = spatial.load_layer(level)
        english |= {n.upper() for n in layer["name"]} | set(layer["name"])
        arabic |= set(layer["name_ar"].dropna())
    return english, arabic


# -- the shipped base map ----------------------------------------------------------------------------
def test_town_and_village_names_are_drawn_at_zoom_12_around_kirkuk(context, server, artifacts):
    page = open_page(context, server + "/" + KIRKUK_Z12, server)
    labels = drawn_labels(page)
    english, _ = gazetteer_names()
    texts = [label["text"] for label in labels]
    kinds = [label["kind"] for label in labels]
    assert "Kirkuk" in texts and kinds[texts.index("Kirkuk")] == "city"
    assert kinds.count("village") >= 20, kinds
    assert set(texts) <= english, set(texts) - english  # every name is the gazetteer's or a boundary layer's
    assert not overlapping(labels)
    # Text really is on the canvas where the base map says it drew a name (and not elsewhere).
    for label in labels[:10]:
        assert ink_in(page, label["box"]) > 10, label
    # Under the incidents: the base map's pane is below the points' and the overlays'.
    z = page.evaluate(
        """() => ['wm-basemap', 'wm-points', 'overlayPane']
                   .map(p => +getComputedStyle(webmap.current.map.getPane(p)).zIndex)"""
    )
    assert z[0] < z[2] < z[1]
    page.screenshot(path=str(artifacts / "browser-basemap-kirkuk-z12.png"))
    # Panning keeps the names apart and follows the view.
    page.evaluate("() => webmap.current.map.panBy([400, 200], {animate: false})")
    moved = drawn_labels(page)
    assert moved and not overlapping(moved) and [m["text"] for m in moved] != texts
    check_page(page)


def test_the_default_view_names_governorates_and_cities_only(context, server, artifacts):
    page = open_page(context, server + "/", server)
    labels = drawn_labels(page)
    assert page.evaluate("() => webmap.current.map.getZoom()") <= 8
    assert {label["kind"] for label in labels} <= {"governorate", "city", "seat"}
    assert "KIRKUK" in {label["text"] for label in labels} or "Kirkuk" in {label["text"] for label in labels}
    assert not overlapping(labels)
    page.screenshot(path=str(artifacts / "browser-basemap-default.png"))
    check_page(page)


def test_the_arabic_tick_switches_the_names_and_is_kept(context, server, artifacts):
    page = open_page(context, server + "/" + KIRKUK_Z12, server)
    before = drawn_labels(page)
    page.get_by_label("Arabic names").check()
    page.wait_for_function("() => webmap.offlineBasemap.drawnLabels.some(l => l.text === 'كركوك')")
    after = drawn_labels(page)
    _, arabic = gazetteer_names()
    in_arabic = [label["text"] for label in after if ARABIC.search(label["text"])]
    assert len(in_arabic) >= 0.6 * len(after) and set(in_arabic) <= arabic
    assert not overlapping(after)
    page.screenshot(path=str(artifacts / "browser-basemap-arabic.png"))
    # Kept for the next visit; unticked, the English names come back.
    page.reload()
    page.wait_for_selector("body[data-map-ready='1']")
    assert page.get_by_label("Arabic names").is_checked()
    assert "كركوك" in {label["text"] for label in drawn_labels(page)}
    page.get_by_label("Arabic names").uncheck()
    page.wait_for_function("() => webmap.offlineBasemap.drawnLabels.some(l => l.text === 'Kirkuk')")
    assert {label["text"] for label in drawn_labels(page)} == {label["text"] for label in before}
    check_page(page)


def test_openstreetmap_without_a_network_says_so_on_the_map(context, server, artifacts):
    page = open_page(context, server + "/" + KIRKUK_Z12, server, allowed_hosts=("https://tile.openstreetmap.org/",))
    context.set_offline(True)
    assert page.locator(".wm-online-notice").count() == 0
    page.locator(".leaflet-control-layers-base label", has_text="OpenStreetMap").locator("input").check()
    notice = page.locator(".wm-online-notice")
    notice.wait_for(timeout=15_000)
    assert "OpenStreetMap cannot be loaded" in notice.inner_text() and "offline base map" in notice.inner_text()
    page.screenshot(path=str(artifacts / "browser-osm-offline-notice.png"))
    page.locator(".leaflet-control-layers-base label", has_text="Plain map").locator("input").check()
    notice.wait_for(state="detached")
    context.set_offline(False)
    check_page(page)


# -- the user's own PMTiles base map -------------------------------------------------------------------
def pixel(page, lat: float, lon: float) -> list[int]:
    """The colour protomaps-leaflet painted at ``lat``/``lon`` on its tile (not the overlays above it)."""
    return page.evaluate(
        """([lat, lon]) => {
             const map = webmap.current.map, layer = webmap.ownBasemapLayer.getLayers()[0], z = map.getZoom();
             const world = map.project([lat, lon], z), size = layer.getTileSize();
             const key = [Math.floor(world.x / size.x), Math.floor(world.y / size.y), z].join(':');
             const tile = layer._tiles[key] && layer._tiles[key].el;
             if (!tile) return null;
             const px = Math.floor((world.x % size.x) * tile.width / size.x);
             const py = Math.floor((world.y % size.y) * tile.height / size.y);
             return Array.from(tile.getContext('2d').getImageData(px, py, 1, 1).data); }""",
        [lat, lon],
    )


def test_a_pmtiles_file_of_ones_own_is_drawn(context, own_server, artifacts):
    page = open_page(context, own_server + "/#8/35.5/44.6", own_server)
    page.wait_for_function(
        "() => document.querySelectorAll('.leaflet-tile-container canvas.leaflet-tile-loaded').length >= 4",
        timeout=30_000,
    )
    page.screenshot(path=str(artifacts / "browser-own-pmtiles-basemap.png"))
    lakes = gpd.read_file(ROOT / "geodata" / "lakes.geojson")
    dukan = lakes[lakes.intersects(gpd.points_from_xy([44.95], [35.95])[0].buffer(0.1))].geometry.iloc[0]
    iraq = shapely.union_all(spatial.load_layer("adm0").geometry.values)
    assert iraq.contains(shapely.Point(44.0, 35.3)) and not iraq.contains(shapely.Point(46.0, 34.6))
    land, abroad = pixel(page, 35.3, 44.0), pixel(page, 34.6, 46.0)
    # Iraq is the file's "earth", Iran outside it only the style's background, Lake Dukan its "water".
    assert land and abroad, (land, abroad)
    assert land[:3] != abroad[:3]
    # On the lake, away from the labels drawn over it, the pixels are its water.
    inner = dukan.buffer(-0.01)
    grid = [
        shapely.Point(x, y) for x in np.linspace(*dukan.bounds[0::2], 12) for y in np.linspace(*dukan.bounds[1::2], 12)
    ]
    colours = [pixel(page, point.y, point.x) for point in grid if inner.contains(point)]
    watery = [c for c in colours if c[2] > c[0] + 40]
    assert len(colours) >= 8 and len(watery) >= 0.6 * len(colours), colours
    tiles = [u for u in page.requested if "/api/basemap/own/" in u]
    assert tiles and any("/static/vendor/protomaps-leaflet/protomaps-leaflet.js" in u for u in page.requested)
    assert page.evaluate("() => !document.querySelector('canvas.wm-basemap')")  # the shipped one is not drawn
    # The file's attribution is shown as its text, never as markup.
    attribution = page.locator(".leaflet-control-attribution")
    assert "OCHA COD-AB <b>test</b>" in attribution.inner_text() and attribution.locator("b").count() == 0
    # The shipped base map is still one choice away.
    page.locator(".leaflet-control-layers-base label", has_text="Plain map").locator("input").check()
    page.wait_for_selector("canvas.wm-basemap")
    check_page(page)
    assert json.loads(page.evaluate("() => JSON.stringify(webmap.current.map.getZoom())")) == 8
