"""Placing an incident on the form's map (issue 14, points 3 and 7), in Debian's Chromium.

The app serves the demo incidents (real UCDP GED events) and the shipped gazetteer; the places are
the gazetteer's own answers, the incident saved is a copy of the UCDP GED event of ``helpers.FORM``
(Kirkuk city, where the demo incidents cluster). No request may leave 127.0.0.1; screenshots go to
the artifacts folder."""

from __future__ import annotations

import re

import pytest
from helpers import FORM, api, serve_demo, watched_page

pytestmark = pytest.mark.browser

TOKEN = "form-map-test-token"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_demo(tmp_path_factory.mktemp("form-map"), TOKEN) as url:
        yield url


@pytest.fixture
def page(browser, server):
    """The new-incident form, logged in, its map drawn."""
    with watched_page(browser, server, height=1100) as tab:
        tab.goto(f"{server}/login?next=/incidents/new")
        tab.fill("input[name=token]", TOKEN)
        tab.click("button[type=submit]")
        tab.wait_for_url(f"{server}/incidents/new")
        tab.wait_for_selector("#wm-form-map .leaflet-interactive")  # the district lines
        yield tab


def place_of(page, server, name: str, feature_code: str) -> dict:
    """The gazetteer's first Iraqi candidate for ``name`` of ``feature_code`` (PPLA2: a district seat)."""
    found = api(page, server, f"/api/gazetteer?q={name}&disputed=1")["candidates"]
    return next(c for c in found if c["feature_code"] == feature_code and c["country_code"] == "IQ")


def point(page) -> tuple[float, float]:
    """Where the incident's marker is."""
    return tuple(page.evaluate("() => { const p = webmap.formMap.point().getLatLng(); return [p.lat, p.lng]; }"))


def boxes(page) -> tuple[float, float]:
    return float(page.input_value("#latitude")), float(page.input_value("#longitude"))


def screen_xy(page, lat: float, lon: float) -> tuple[float, float]:
    """The page pixel of a point on the form's map (it must be in view)."""
    return tuple(
        page.evaluate(
            """([lat, lon]) => { const map = webmap.formMap.map, p = map.latLngToContainerPoint([lat, lon]),
                                         box = map.getContainer().getBoundingClientRect();
                                   return [box.left + p.x, box.top + p.y]; }""",
            [lat, lon],
        )
    )


def district_shown(page, expected: str) -> str:
    page.wait_for_function(
        "name => (document.getElementById('wm-placement-district') || {}).textContent?.startsWith(name)",
        arg=expected,
        timeout=10_000,
    )
    return page.inner_text("#wm-placement")


def search(page, name: str) -> None:
    page.fill("#wm-place-search", name)
    page.press("#wm-place-search", "Enter")  # searches, and does not submit the form
    page.wait_for_selector("#wm-form-map .wm-candidate-pin")


def test_typing_hawija_shows_numbered_candidates_and_picking_one_places_the_point(page, server, artifacts):
    search(page, "Hawija")
    candidates = api(page, server, "/api/gazetteer?q=Hawija&disputed=1")["candidates"]
    numbers = [str(n) for n in range(1, len(candidates) + 1)]
    assert page.locator("#wm-form-map .wm-candidate-pin").all_inner_texts() == numbers
    labels = page.locator("#wm-form-map .wm-candidate-label").all_inner_texts()
    rows = page.locator("#wm-place-results li").all_inner_texts()
    for n, place, label, row in zip(numbers, candidates, labels, rows, strict=True):
        where = f"{place['district']}, {place['governorate']}"
        assert label.startswith(f"{n} {place['name']}") and where in label  # the marker's label
        assert row.startswith(n) and place["name"] in row and where in row  # its row of the list
    page.screenshot(path=str(artifacts / "form-map-hawija-candidates.png"))

    # A marker is picked like its row: the Diyala Hawijah (in Al-Khalis) lies far from the others.
    diyala = next(n for n, c in zip(numbers, candidates, strict=True) if c["governorate"] == "Diyala")
    page.locator("#wm-form-map .wm-candidate-pin", has_text=re.compile(f"^{diyala}$")).click()
    district_shown(page, "Khalis")
    assert page.locator("#wm-form-map .wm-candidate-pin").count() == 0

    search(page, "Hawija")
    town = place_of(page, server, "Hawija", "PPLA2")
    page.locator("#wm-place-results li button", has_text=town["name"]).first.click()
    text = district_shown(page, "Hawija")
    assert boxes(page) == (round(town["latitude"], 5), round(town["longitude"], 5))
    assert point(page) == pytest.approx((town["latitude"], town["longitude"]), abs=1e-6)
    assert page.input_value("#location") == town["name"]
    assert page.input_value("#geo_precision") == "1"
    assert "Governorate: Kirkuk" in text and "Disputed territories: inside" in text
    page.screenshot(path=str(artifacts / "form-map-hawija-picked.png"))


def test_clicking_dragging_and_typing_move_the_point_and_its_district(page, server, artifacts):
    search(page, "Hawija")
    town = place_of(page, server, "Hawija", "PPLA2")
    page.locator("#wm-place-results li button", has_text=town["name"]).first.click()
    district_shown(page, "Hawija")
    daquq = place_of(page, server, "Daquq", "PPLA2")
    kirkuk = (float(FORM["latitude"]), float(FORM["longitude"]))
    page.evaluate("() => webmap.formMap.map.setView([35.3, 44.1], 9, {animate: false})")

    # A click in Kirkuk district moves the point there; the precision the gazetteer gave is dropped.
    page.mouse.click(*screen_xy(page, *kirkuk))
    text = district_shown(page, "Kirkuk")
    assert boxes(page) == pytest.approx(kirkuk, abs=0.01)
    assert point(page) == pytest.approx(boxes(page), abs=1e-5)
    assert page.input_value("#geo_precision") == ""
    assert "until you choose the precision" in text

    # Dragged into Daquq district.
    page.mouse.move(*screen_xy(page, *kirkuk))
    page.mouse.down()
    page.mouse.move(*screen_xy(page, daquq["latitude"], daquq["longitude"]), steps=12)
    page.mouse.up()
    district_shown(page, "Daquq")
    assert boxes(page) == pytest.approx((daquq["latitude"], daquq["longitude"]), abs=0.01)
    assert point(page) == pytest.approx(boxes(page), abs=1e-5)
    page.screenshot(path=str(artifacts / "form-map-dragged-to-daquq.png"))

    # Typed coordinates move the point back to Hawija.
    page.fill("#latitude", str(town["latitude"]))
    page.fill("#longitude", str(town["longitude"]))
    district_shown(page, "Hawija")
    page.wait_for_function(
        "([lat, lon]) => { const p = webmap.formMap.point().getLatLng();"
        " return Math.abs(p.lat - lat) < 1e-6 && Math.abs(p.lng - lon) < 1e-6; }",
        arg=[town["latitude"], town["longitude"]],
        timeout=5_000,
    )
    assert point(page) == pytest.approx((town["latitude"], town["longitude"]), abs=1e-6)

    # Coordinates outside Iraq: the point cannot be placed, and the reason names the box.
    page.fill("#latitude", str(town["longitude"]))
    page.fill("#longitude", str(town["latitude"]))
    page.wait_for_selector("#wm-placement .wm-error")
    assert "latitude" in page.inner_text("#wm-placement") and "swapped" in page.inner_text("#wm-placement")


def test_saving_needs_a_precision_then_the_map_opens_on_the_incident(page, server, artifacts):
    page.fill("#event_date", FORM["event_date"])
    page.select_option("#event_type", FORM["event_type"])
    page.select_option("#sub_event_type", FORM["sub_event_type"])
    page.fill("#actor1", FORM["actor1"])
    page.fill("#actor2", FORM["actor2"])
    page.fill("#fatalities", FORM["fatalities"])
    page.fill("#source", FORM["source"])
    page.fill("#location", FORM["location"])
    page.fill("#latitude", FORM["latitude"])
    page.fill("#longitude", FORM["longitude"])
    district_shown(page, "Kirkuk")

    page.click("#wm-incident-form button[type=submit]")
    page.wait_for_selector("#wm-form-error")
    assert "choose how precise the point is" in page.inner_text("#wm-form-error")
    # The page's script puts the cursor there once it runs, after the message is on the page.
    page.wait_for_function("() => document.activeElement && document.activeElement.id === 'geo_precision'")
    assert page.input_value("#location") == FORM["location"]  # nothing typed is lost
    assert point(page) == pytest.approx((float(FORM["latitude"]), float(FORM["longitude"])), abs=1e-6)
    page.screenshot(path=str(artifacts / "form-map-precision-refused.png"))

    page.select_option("#geo_precision", "1")
    # A window tall enough for the incident card whole: fitting a long card to a shorter map (a
    # scrolled popup) is the map's own controls' work (issue 14, point 4), not the form's.
    page.set_viewport_size({"width": 1400, "height": 1400})
    page.click("#wm-incident-form button[type=submit]")
    page.wait_for_url(re.compile(r"/\?ids=\d+(#.*)?$"))
    # The map may already have written its view after the hash.
    incident_id = int(re.search(r"\?ids=(\d+)", page.url).group(1))
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    popup = page.wait_for_selector(".leaflet-popup .wm-incident", timeout=15_000)
    assert FORM["location"] in popup.inner_text()
    assert page.locator(f".leaflet-popup a[href='/incidents/{incident_id}/edit']").count() == 1
    # Not hidden in a cluster: the map holds it alone, ringed, in view, its popup inside the map.
    assert page.evaluate("() => webmap.current.engine.selectedTotal") == 1
    page.wait_for_function("() => webmap.current.engine.inExtent === 1")
    assert page.locator(".wm-chosen-ring").count() == 1
    # The popup is panned into view once its card is in (an animated pan): wait for where it ends.
    page.wait_for_function(
        """() => { const [p, m] = ['.leaflet-popup', '.leaflet-container']
                     .map(s => document.querySelector(s).getBoundingClientRect());
                   return m.left <= p.left && p.right <= m.right && m.top <= p.top && p.bottom <= m.bottom; }""",
        timeout=5_000,
    )
    popup_box, map_box = page.evaluate(
        """() => ['.leaflet-popup', '.leaflet-container'].map(s => {
                   const r = document.querySelector(s).getBoundingClientRect();
                   return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"""
    )
    page.screenshot(path=str(artifacts / "form-map-saved-popup.png"))
    assert map_box["left"] <= popup_box["left"] and popup_box["right"] <= map_box["right"], (popup_box, map_box)
    assert map_box["top"] <= popup_box["top"] and popup_box["bottom"] <= map_box["bottom"], (popup_box, map_box)
