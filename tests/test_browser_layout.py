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


@pytest.mark.parametrize("width, height", [(1400, 900), (PHONE["width"], PHONE["height"])])
def test_a_popup_beside_a_control_is_panned_clear_of_every_control(page, server, artifacts, width, height):
    """An incident right beside the panel (open on a desktop, folded on a phone), near the map's
    top: its popup would run under the panel and off the top; the map pans so that it overlaps no
    control."""
    page.set_viewport_size({"width": width, "height": height})
    found = api(page, server, "/api/incidents?limit=100&governorate=Kirkuk")["features"]
    incident = next(f for f in found if f["properties"]["geo_precision"] == 1)
    lon, lat = incident["geometry"]["coordinates"]
    open_map(page, server + f"/#16/{lat}/{lon}")
    settled(page)
    page.locator(".wm-mapbox").scroll_into_view_if_needed()
    assert page.evaluate("() => document.querySelector('.wm-controls').open") is (width > PHONE["width"])
    # The shared link's view holds on a phone too (Leaflet ignored it while zooming to Iraq there).
    assert page.evaluate("() => webmap.current.map.getZoom()") == 16
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
    page.screenshot(path=str(artifacts / f"layout-popup-clear-of-controls-{width}x{height}.png"))


# -- point 5: the map first on a phone ----------------------------------------------------------------------
def test_on_a_phone_the_map_fills_the_first_screen_with_the_count_and_filters(phone, server, artifacts):
    open_map(phone, server + "/")
    settled(phone)
    screen = {"left": 0, "right": PHONE["width"], "top": 0, "bottom": PHONE["height"]}
    map_box = box_of(phone, ".leaflet-container")
    # The map starts within the first screen, under the header and the count, and covers most of it...
    assert map_box["top"] < 0.2 * PHONE["height"]
    seen = {k: max(screen[k], map_box[k]) if k in ("left", "top") else min(screen[k], map_box[k]) for k in screen}
    assert area(seen) > 0.7 * area(screen)
    # ...with the view's count and the Filters button above it, and the filter form out of the way.
    bar = box_of(phone, ".wm-mapbar")
    assert 0 <= bar["top"] and bar["bottom"] <= map_box["top"]
    assert phone.inner_text(".wm-mapbar").startswith("1,783 incidents")
    assert phone.get_by_role("button", name="Filters", exact=True).is_visible()
    assert not phone.locator("#wm-filter").is_visible()
    assert phone.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    # It opens closer than all Iraq, and the base map's place names do not overlap.
    assert phone.evaluate("() => webmap.current.map.getZoom()") >= 6
    labels = phone.evaluate(
        """() => { const size = webmap.current.map.getSize();
                   return webmap.offlineBasemap.drawnLabels.filter(
                     l => l.box[0] >= 0 && l.box[1] >= 0 && l.box[2] <= size.x && l.box[3] <= size.y); }"""
    )
    assert len(labels) >= 5
    boxes = [dict(zip(("left", "top", "right", "bottom"), label["box"], strict=True)) for label in labels]
    assert not [
        (a["text"], b["text"])
        for (a, p), (b, q) in itertools.combinations(zip(labels, boxes, strict=True), 2)
        if overlap(p, q)
    ]
    phone.screenshot(path=str(artifacts / "layout-phone-first-screen.png"))


def test_on_a_phone_the_filters_open_as_a_sheet_that_applies_and_closes(phone, server, artifacts):
    open_map(phone, server + "/")
    settled(phone)
    phone.get_by_role("button", name="Filters", exact=True).click()
    sheet = box_of(phone, "#wm-filter")
    assert phone.locator("#wm-filter").is_visible()
    # A sheet over the map from the screen's bottom edge, across the whole width.
    assert sheet["bottom"] == pytest.approx(PHONE["height"], abs=1) and sheet["left"] <= 1
    assert sheet["right"] >= PHONE["width"] - 1 and sheet["top"] > 0
    assert phone.get_by_role("button", name="Filters", exact=True).get_attribute("aria-expanded") == "true"
    phone.screenshot(path=str(artifacts / "layout-phone-filters-sheet.png"))
    # Closed by its button, by Escape and by a tap beside it.
    phone.get_by_role("button", name="Close the filters").click()
    assert not phone.locator("#wm-filter").is_visible()
    phone.get_by_role("button", name="Filters", exact=True).click()
    phone.keyboard.press("Escape")
    assert not phone.locator("#wm-filter").is_visible()
    phone.get_by_role("button", name="Filters", exact=True).click()
    phone.mouse.click(PHONE["width"] / 2, 20)
    assert not phone.locator("#wm-filter").is_visible()
    # Applied, a filter changes the count above the map (and what the API counts).
    phone.get_by_role("button", name="Filters", exact=True).click()
    phone.select_option("#f-governorate", label="Kirkuk")
    phone.get_by_role("button", name="Apply").click()
    phone.wait_for_url("**governorate=**")
    phone.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    settled(phone)
    expected = api(phone, server, "/api/incidents?limit=1&" + phone.evaluate("() => webmap.view.query()"))["total"]
    assert 0 < expected < 1783
    assert phone.inner_text(".wm-mapbar") == f"{expected:,} incidents\nFilters"
    assert not phone.locator("#wm-filter").is_visible()


def test_on_a_phone_the_table_is_a_list_of_cards(phone, server, artifacts):
    open_map(phone, server + "/")
    settled(phone)
    phone.locator("#wm-table").scroll_into_view_if_needed()
    phone.wait_for_selector("#wm-table tbody[data-sort] tr")
    # The cards as drawn, read at once (the table reloads when the map moves).
    cards = phone.evaluate(
        f"""() => [...document.querySelectorAll('#wm-table tbody tr')].map(tr => ({{
              id: tr.dataset.id, display: getComputedStyle(tr).display,
              cells: Object.fromEntries([...tr.cells].map(td => [td.dataset.label,
                {{text: td.innerText, box: ({BOX})(td), before: getComputedStyle(td, '::before').content}}]))}}))"""
    )
    assert len(cards) == 25
    for card in cards:
        assert card["display"] == "grid"
        incident = api(phone, server, f"/api/incidents/{card['id']}")["properties"]
        cells = card["cells"]
        # Each card says when, where, who and how many were killed, all of it on the screen.
        if incident["time_precision"] == 1:
            assert cells["Date"]["text"] == incident["event_date"]
        else:  # a week or a month, as known
            assert incident["event_date"][:4] in cells["Date"]["text"]
        assert cells["Place"]["text"] == incident["location"]
        assert cells["Forces"]["text"].count(" · ") == len(incident["forces"]) - 1 >= 0
        killed = "–" if incident["fatalities"] is None else f"{incident['fatalities']:,}"
        assert cells["Killed"]["text"] == killed
        assert cells["Killed"]["before"].startswith('"Killed')
        for name in ("Date", "Place", "Forces", "Killed"):
            box = cells[name]["box"]
            assert box["right"] > box["left"] and 0 <= box["left"] and box["right"] <= PHONE["width"], (card, name)
        # The killed figure beside the date, at the card's top.
        assert abs(cells["Killed"]["box"]["top"] - cells["Date"]["box"]["top"]) < 2
    phone.screenshot(path=str(artifacts / "layout-phone-cards.png"))
