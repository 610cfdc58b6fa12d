"""A view too large to send whole, in Chromium: the server clusters the tiles on screen (issue 16).

The same demo incidents as tests/test_browser.py, served with ``map_points_limit`` 100, so every
view of more than 100 incidents comes as tiles of clusters and a summary instead of every point:
the page must show what it shows with every point, the counts agreeing with the API after every
change of filter, tick and window.
"""

from __future__ import annotations

import collections

import pytest
from helpers import api, assert_counts_agree, open_map, serve_demo, shown, watched_page

from webmap.mapview import tile_bounds

pytestmark = pytest.mark.browser

TOKEN = "tiles-test-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("tiles"), TOKEN, map_points_limit=100) as url:
        yield url


@pytest.fixture
def page(browser, server):
    with watched_page(browser, server) as tab:
        yield tab


def test_a_large_view_comes_as_tiles_and_counts_as_the_api_does(page, server, artifacts):
    open_map(page, server + "/")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    state = assert_counts_agree(page, server)
    assert state["selected"] == 1783
    assert any("/api/tiles/" in u for u in page.requested) and not any("/api/points" in u for u in page.requested)
    # The clusters drawn hold every incident drawn at its point, once.
    drawn = page.evaluate(
        "() => webmap.current.engine.items.filter(i => !i.area).reduce((n, i) => n + i.cell.count, 0)"
    )
    at_points = api(page, server, "/api/incidents?precision=1,2&limit=1")["total"]
    assert drawn == at_points
    # ... though only the tiles that meet the view's points were asked for, not all on screen.
    (south, west), (north, east) = api(page, server, "/api/summary")["bounds"]
    asked = {
        tuple(int(v) for v in u.split("/api/tiles/")[1].split("?")[0].split("/"))
        for u in page.requested
        if "/api/tiles/" in u
    }
    for z, x, y in asked:
        tile_west, tile_south, tile_east, tile_north = tile_bounds(z, x, y)
        assert tile_west <= east and west <= tile_east and tile_south <= north and south <= tile_north, (z, x, y)
    zoom, (left, top), (right, bottom) = page.evaluate(
        "() => { const m = webmap.current.map, b = m.getPixelBounds();"
        " return [m.getZoom(), [b.min.x, b.min.y], [b.max.x, b.max.y]]; }"
    )
    on_screen = (right // 256 - left // 256 + 1) * (bottom // 256 - top // 256 + 1)
    assert len({(x, y) for z, x, y in asked if z == zoom}) < on_screen
    page.screenshot(path=str(artifacts / "browser-tiles.png"))
    # The forces, the window and the filter: the same agreement after each.
    page.locator(".wm-force-row[data-force='civilians'] .wm-only").click()
    page.wait_for_function("() => webmap.view.query() === 'force=civilians'")
    assert_counts_agree(page, server)
    page.select_option(".wm-time select", "365")
    page.wait_for_function("() => webmap.view.query().includes('window=')")
    narrowed = assert_counts_agree(page, server)
    assert 0 < narrowed["selected"] < 231
    counts = dict(zip(narrowed["forces"], narrowed["counts"], strict=True))
    assert counts["civilians"] == api(page, server, "/api/incidents?limit=1&" + narrowed["query"])["total"]


# The drawn item nearest the map's centre, in page pixels (the corners carry the controls).
NEAREST_CENTRE = """(kind) => { const e = webmap.current.engine, map = webmap.current.map;
    const b = map.getContainer().getBoundingClientRect(), size = map.getSize();
    const on = i => Math.abs(i.x - e._pad.x - size.x / 2) < size.x / 2 - 60
                    && Math.abs(i.y - e._pad.y - size.y / 2) < size.y / 2 - 60;
    const wanted = e.items.filter(i => on(i) && (kind === 'single' ? i.single : kind === 'area' ? i.area
                                                                               : (!i.area && i.cell.count > 1)));
    if (!wanted.length) return null;
    const it = wanted.map(i => [Math.hypot(i.x - e._pad.x - size.x / 2, i.y - e._pad.y - size.y / 2), i])
      .sort((a, c) => a[0] - c[0])[0][1];
    return {x: it.x - e._pad.x + b.left, y: it.y - e._pad.y + b.top, id: it.single && it.single.id,
            count: it.group ? it.group.count : it.cell.count, pcode: it.area && it.area.pcode,
            level: it.area && it.area.level}; }"""


def test_zooming_in_brings_points_and_their_popups(page, server):
    # A place of Kirkuk governorate with one incident only, seen close up.
    listed = api(page, server, "/api/incidents?governorate=Kirkuk&precision=1&limit=2000")["features"]
    places = collections.Counter(tuple(f["geometry"]["coordinates"]) for f in listed)
    lone = next(f for f in listed if places[tuple(f["geometry"]["coordinates"])] == 1)
    lon, lat = lone["geometry"]["coordinates"]
    open_map(page, server + f"/?governorate=Kirkuk#15/{lat}/{lon}")
    page.wait_for_function(f"() => ({NEAREST_CENTRE})('single') !== null")
    assert_counts_agree(page, server)
    point = page.evaluate(NEAREST_CENTRE, "single")
    page.mouse.click(point["x"], point["y"])
    popup = page.locator(".leaflet-popup-content .wm-incident")
    popup.wait_for()
    assert f"#{point['id']}" in popup.inner_text()


def test_a_place_and_an_area_list_their_incidents_from_the_server(page, server):
    open_map(page, server + "/?governorate=Kirkuk#16/35.4681/44.3922")
    page.wait_for_function(f"() => ({NEAREST_CENTRE})('cluster') !== null")
    place = page.evaluate(NEAREST_CENTRE, "cluster")
    page.mouse.click(place["x"], place["y"])
    page.wait_for_selector(".wm-leaves li button")
    header = page.inner_text(".wm-leaves strong")
    total = int(header.split(" incidents here")[0].replace(",", ""))
    assert total >= place["count"] and page.locator(".wm-leaves li").count() == min(50, total)
    # An area's symbol lists the incidents known only to that area, newest first.
    page.click(".leaflet-popup-close-button")
    open_map(page, server + "/?governorate=Kirkuk")
    area = page.evaluate(NEAREST_CENTRE, "area")
    page.mouse.click(area["x"], area["y"])
    page.wait_for_selector(".wm-leaves li button")
    expected = api(page, server, f"/api/incidents?governorate=Kirkuk&area={area['pcode']}&limit=1")
    assert area["count"] == expected["total"]
    assert page.locator(".wm-leaves li").count() == min(50, area["count"])
    page.wait_for_selector("path.wm-area-outline")


def test_a_copied_tiled_view_opens_the_same(page, server, browser):
    open_map(page, server + "/?governorate=Ninewa&window=2016-10-01/2016-12-31#9/36.34/43.13")
    first = assert_counts_agree(page, server)
    with watched_page(browser, server) as other:
        open_map(other, page.url)
        again = assert_counts_agree(other, server)
        assert {k: again[k] for k in ("selected", "inExtent", "counts")} == {
            k: first[k] for k in ("selected", "inExtent", "counts")
        }
        assert shown(other)["query"] == first["query"]
