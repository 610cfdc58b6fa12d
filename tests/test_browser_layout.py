"""The map's layout in a real browser (issue 14, points 4 and 5): controls that leave the map free,
and the map first on a phone.

The page is the demo incidents' map (1,783 real UCDP GED events) served on 127.0.0.1, in Debian's
Chromium through Playwright; screenshots go to the ``artifacts`` folder.
"""

from __future__ import annotations

import itertools

import pytest
from helpers import api, open_map, serve_demo, settled, watched_page

pytestmark = pytest.mark.browser

TOKEN = "layout-test-token"
PHONE = {"width": 390, "height": 844}
# What a box is, measured in the page: its edges in viewport pixels.
BOX = """(e) => { const r = e.getBoundingClientRect();
                  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("layout"), TOKEN) as url:
        yield url


@pytest.fixture
def page(browser, server):
    with watched_page(browser, server, height=900) as tab:
        yield tab


@pytest.fixture
def phone(browser, server):
    """A fresh page at a phone's size (390x844), touch and all."""
    with watched_page(browser, server) as tab:
        tab.set_viewport_size(PHONE)
        yield tab


def overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


def area(box: dict) -> float:
    return max(0.0, box["right"] - box["left"]) * max(0.0, box["bottom"] - box["top"])


def box_of(page, selector: str) -> dict:
    return page.locator(selector).evaluate(BOX)


def controls(page) -> dict[str, dict]:
    """Every control drawn on the map (the panel as one, with what it holds), by its classes."""
    return page.evaluate(
        f"""() => Object.fromEntries(
              [...document.querySelectorAll('.leaflet-control-container > div > .leaflet-control')]
              .filter(e => e.offsetWidth && e.offsetHeight).map(e => [e.className, ({BOX})(e)]))"""
    )


# -- point 4: controls that leave the map free ------------------------------------------------------------
@pytest.mark.parametrize("width, height, opened", [(1400, 900, True), (1920, 1080, True), (1024, 768, False)])
def test_the_panel_opens_by_default_only_where_it_leaves_three_quarters_of_the_map_clear(
    page, server, artifacts, width, height, opened
):
    page.set_viewport_size({"width": width, "height": height})
    open_map(page, server + "/")
    panel, map_box = box_of(page, ".wm-controls"), box_of(page, ".leaflet-container")
    assert page.evaluate("() => document.querySelector('.wm-controls').open") is opened
    if opened:
        assert area(panel) <= 0.25 * area(map_box)
        # Layers, forces and legend are all in it.
        for part in (".leaflet-control-layers", ".wm-forces", ".wm-legend"):
            assert page.locator(f".wm-controls {part}").count() == 1, part
    else:
        # Folded to its title; opened, it would cover more than a quarter of the map.
        assert area(panel) < 0.05 * area(map_box)
        page.click(".wm-controls > summary")
        assert area(box_of(page, ".wm-controls")) > 0.25 * area(map_box)
    page.screenshot(path=str(artifacts / f"layout-panel-{width}x{height}.png"))


def test_the_panel_stays_as_the_user_left_it_when_the_map_resizes(page, server):
    open_map(page, server + "/")
    assert page.evaluate("() => document.querySelector('.wm-controls').open")
    page.set_viewport_size({"width": 1024, "height": 768})
    page.wait_for_function("() => !document.querySelector('.wm-controls').open")
    page.click(".wm-controls > summary")
    page.set_viewport_size({"width": 1000, "height": 700})
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.querySelector('.wm-controls').open")


def test_the_legend_and_the_shading_scale_are_never_on_top_of_the_layer_list(page, server, artifacts):
    open_map(page, server + "/")
    page.locator(".leaflet-control-layers-overlays label", has_text="Districts: incidents").locator("input").check()
    page.wait_for_selector(".wm-choro-legend .wm-scale div")
    parts = {
        name: box_of(page, f".wm-controls {name}")
        for name in (".leaflet-control-layers", ".wm-forces", ".wm-legend", ".wm-choro-legend")
    }
    for (a, box_a), (b, box_b) in itertools.combinations(parts.items(), 2):
        assert not overlap(box_a, box_b), (a, b)
    # They stack inside the one panel, whose body scrolls instead of running off the map.
    panel = box_of(page, ".wm-controls")
    for name, box in parts.items():
        assert panel["left"] <= box["left"] and box["right"] <= panel["right"], name
    assert box_of(page, ".wm-controls")["bottom"] <= box_of(page, ".leaflet-container")["bottom"]
    page.locator(".wm-controls").screenshot(path=str(artifacts / "layout-panel-parts.png"))


def test_a_popup_beside_a_control_is_panned_clear_of_every_control(page, server, artifacts):
    """An incident right beside the open panel, near the map's top: its popup would run under the
    panel and off the top; the map pans so that it overlaps no control."""
    found = api(page, server, "/api/incidents?limit=100&governorate=Kirkuk")["features"]
    incident = next(f for f in found if f["properties"]["geo_precision"] == 1)
    lon, lat = incident["geometry"]["coordinates"]
    open_map(page, server + f"/#16/{lat}/{lon}")
    settled(page)
    assert page.evaluate("() => document.querySelector('.wm-controls').open")
    panel = box_of(page, ".wm-controls")
    frame = box_of(page, ".leaflet-container")
    # Drag the incident to just left of the panel, 50 px below the map's top.
    start = page.evaluate(
        "([lat, lon]) => { const p = webmap.current.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    target = [panel["left"] - frame["left"] - 40, 50]
    page.mouse.move(frame["left"] + start[0] + 30, frame["top"] + start[1] + 30)
    page.mouse.down()
    page.mouse.move(frame["left"] + target[0] + 30, frame["top"] + target[1] + 30, steps=8)
    page.wait_for_timeout(300)  # held still before letting go: no inertia carries the map on
    page.mouse.up()
    settled(page)
    at = page.evaluate(
        "([lat, lon]) => { const p = webmap.current.map.latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }",
        [lat, lon],
    )
    assert abs(at[0] - target[0]) < 3 and abs(at[1] - target[1]) < 3, at
    assert page.evaluate("(p) => !!webmap.current.engine.itemAt(L.point(p[0], p[1]))", at)
    page.mouse.click(frame["left"] + at[0], frame["top"] + at[1])
    page.wait_for_selector(".leaflet-popup .wm-popup")
    page.wait_for_function(
        "() => !document.querySelector('.leaflet-popup .wm-popup').textContent.startsWith('Loading')"
    )
    page.wait_for_timeout(600)  # the pan's animation (a quarter of a second)
    popup = box_of(page, ".leaflet-popup-content-wrapper")
    for name, box in controls(page).items():
        assert not overlap(popup, box), (name, popup, box)
    assert frame["top"] <= popup["top"] and popup["bottom"] <= frame["bottom"]
    assert frame["left"] <= popup["left"] and popup["right"] <= frame["right"]
    page.screenshot(path=str(artifacts / "layout-popup-clear-of-controls.png"))
