"""The map in a real browser (issues 3 and 8): Debian's headless Chromium through Playwright.

One waitress server on 127.0.0.1 serves the app on a database of the demo incidents: 1,783 real UCDP
GED events (``geodata/demo_incidents.csv``), loaded through the importer as ``webmap demo`` does.
Every request the page makes is recorded, and none may leave 127.0.0.1. Screenshots go to the
``artifacts`` folder.
Chromium is never downloaded: Playwright drives /usr/bin/chromium.
"""

from __future__ import annotations

import json
import threading

import pytest
from waitress import create_server

from webmap import create_app
from webmap.io.demo import load_demo
from webmap.store import IncidentStore

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token"
# A copy of the real UCDP GED event 244637 (Kirkuk, 5 January 2017) whose text is hostile.
HOSTILE = {
    "source": "webmap browser test",
    "source_id": "244637-hostile",
    "event_date": "2017-01-05",
    "latitude": 35.468056,
    "longitude": 44.392222,
    "event_type": "Battles",
    "actor1": "Government of Iraq",
    "actor2": "IS",
    "fatalities": 1,
    "location": "Kirkuk <b>town</b>",
    "notes": '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">',
}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on 127.0.0.1 (a free port) over the demo incidents; yields its base URL."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder / 'webmap.db'}"
    store = IncidentStore(url)
    assert load_demo(store, geodata_dir=folder / "geodata").inserted == 1783
    store.dispose()
    app = create_app({"database_url": url, "geodata_dir": folder / "geodata", "token": TOKEN, "secret_key": "k"})
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.effective_port}"
    httpd.close()
    state = app.extensions["webmap"]
    if state["store"] is not None:
        state["store"].dispose()


@pytest.fixture
def page(browser, server):
    """A fresh page; every URL it requests is kept in ``page.requested``, checked after the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.requested = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    errors = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    outside = [u for u in tab.requested if not u.startswith(server + "/")]
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)


def drawn(page) -> dict:
    """What the map has drawn: total incidents in view and per force (the canvas's own account)."""
    return page.evaluate(
        "() => ({total: webmap.current.engine.drawnTotal, byForce: webmap.current.engine.drawn,"
        " loaded: webmap.current.engine.data.n})"
    )


def api(page, server, path: str) -> dict:
    return page.request.get(server + path).json()


def test_the_map_draws_from_localhost_only(page, server, artifacts):
    open_map(page, server + "/")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('wm-chart-incidents'))")
    assert page.locator(".leaflet-container").count() == 1
    state = drawn(page)
    assert state["loaded"] == api(page, server, "/api/incidents?limit=1")["total"] >= 1783
    assert state["total"] == state["loaded"]  # the view fits the incidents
    assert "incidents in view" in page.inner_text("#wm-status")
    assert page.locator("#wm-table tbody tr").count() == 25
    assert page.evaluate("() => Chart.getChart(document.getElementById('wm-chart-incidents')).data.datasets.length") > 1
    page.screenshot(path=str(artifacts / "browser-map.png"), full_page=True)
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in page.requested)
    assert any("/api/points" in u for u in page.requested)


def test_the_layer_control_lists_the_forces(page, server):
    open_map(page, server + "/")
    labels = page.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    text = "\n".join(labels)
    for label in (
        "Islamic State",
        "Iraqi Security Forces (army)",
        "Peshmerga",
        "Popular Mobilization Forces",
        "Turkish military",
        "PKK / YBS",
        "Civilians",
        "Disputed territories",
        "Kurdistan Region",
    ):
        assert label in text
    # Each force's label counts its incidents (by the first actor's force, as they are coloured).
    isf = next(t for t in labels if "Iraqi Security Forces" in t)
    assert isf.strip().endswith(f"({drawn(page)['byForce']['isf']:,})")


def test_unticking_a_force_removes_its_markers(page, server, artifacts):
    open_map(page, server + "/")
    before = drawn(page)
    assert before["byForce"]["islamic_state"] > 0
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text="Islamic State").locator("input")
    checkbox.uncheck()
    page.wait_for_function("() => webmap.current.engine.drawn.islamic_state === 0")
    after = drawn(page)
    assert after["total"] == before["total"] - before["byForce"]["islamic_state"]
    assert after["byForce"]["isf"] == before["byForce"]["isf"]
    page.screenshot(path=str(artifacts / "browser-without-islamic-state.png"))
    checkbox.check()
    page.wait_for_function(f"() => webmap.current.engine.drawnTotal === {before['total']}")


def test_choosing_a_district_narrows_the_map_and_the_url(page, server, artifacts):
    open_map(page, server + "/")
    everything = drawn(page)["loaded"]
    page.fill("#f-district", "Kirkuk")
    with page.expect_navigation():
        page.click("#wm-filter button[type=submit]")
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    assert "district=Kirkuk" in page.url and "governorate=" not in page.url  # empty fields stay out
    expected = api(page, server, "/api/incidents?district=Kirkuk&limit=1")["total"]
    state = drawn(page)
    assert 0 < state["loaded"] == expected < everything
    assert state["total"] == expected
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    districts = page.locator("#wm-table tbody tr td:nth-child(3)").all_inner_texts()
    assert districts and set(districts) == {"Kirkuk"}
    page.screenshot(path=str(artifacts / "browser-district-kirkuk.png"), full_page=True)


def test_the_download_link_returns_the_features_of_the_view(page, server, tmp_path):
    open_map(page, server + "/?governorate=Kirkuk&from=2017-01-01&to=2017-12-31")
    with page.expect_download() as info:
        page.click("#wm-download-geojson")
    path = tmp_path / "download.geojson"
    info.value.save_as(path)
    downloaded = json.loads(path.read_text())
    listed = api(page, server, "/api/incidents?governorate=Kirkuk&from=2017-01-01&to=2017-12-31&limit=5000")
    assert downloaded["type"] == "FeatureCollection"
    assert len(downloaded["features"]) == listed["total"] == drawn(page)["loaded"] > 0
    assert sorted(f["id"] for f in downloaded["features"]) == sorted(f["id"] for f in listed["features"])


def test_a_popup_shows_hostile_text_as_text(page, server, artifacts):
    created = page.request.post(
        server + "/api/incidents",
        data=json.dumps(HOSTILE),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert created.status == 201
    open_map(page, server + "/?from=2017-01-05&to=2017-01-05")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    row = page.locator("#wm-table tbody tr", has_text="Kirkuk <b>town</b>")
    assert row.count() == 1  # the table shows the tags as text too
    row.click()
    popup = page.locator(".leaflet-popup-content .wm-incident")
    popup.wait_for()
    assert HOSTILE["notes"] in popup.inner_text()
    assert popup.locator("script, img, b").count() == 0
    assert page.evaluate("() => window.__xss") is None
    page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
    page.screenshot(path=str(artifacts / "browser-popup-escaped.png"))


def test_the_table_sorts_and_a_row_click_shows_the_incident(page, server):
    open_map(page, server + "/?governorate=Kirkuk")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    page.click("#wm-table th button[data-sort=fatalities]")
    page.wait_for_selector("#wm-table tbody[data-sort='-fatalities']")
    killed = [int(t) for t in page.locator("#wm-table tbody tr td:nth-child(6)").all_inner_texts()]
    assert killed == sorted(killed, reverse=True) and killed[0] > 0
    first_place = page.locator("#wm-table tbody tr").first.locator("td").nth(1).inner_text()
    page.locator("#wm-table tbody tr").first.click()
    popup = page.locator(".leaflet-popup-content .wm-incident")
    popup.wait_for()
    assert first_place in popup.inner_text()
    assert page.evaluate("() => webmap.current.map.getZoom()") >= 16


def test_the_time_window_plays_through_the_dates(page, server):
    open_map(page, server + "/?governorate=Kirkuk")
    everything = drawn(page)["total"]
    page.select_option(".wm-time select", "365")
    page.wait_for_function(f"() => webmap.current.engine.drawnTotal < {everything}")
    last_year = drawn(page)["total"]
    label = page.inner_text(".wm-time-label")
    page.click(".wm-time .wm-play")
    page.wait_for_function(
        f"() => document.querySelector('.wm-time-label').textContent !== {json.dumps(label)}", timeout=10_000
    )
    page.click(".wm-time .wm-play")  # pause
    assert 0 <= drawn(page)["total"] <= everything and 0 < last_year < everything


def test_the_district_choropleth_follows_the_filter(page, server):
    open_map(page, server + "/?force=turkey")
    page.locator(".leaflet-control-layers-overlays label", has_text="Districts: incidents").locator("input").check()
    page.wait_for_selector(".wm-choro-legend .wm-scale div")
    shaded = page.evaluate("""() => [...document.querySelectorAll('.leaflet-wm-choropleth-pane path')]
        .filter(p => p.getAttribute('fill') !== '#ffffff').length""")
    districts = api(page, server, "/api/districts?force=turkey")["features"]
    assert shaded == sum(1 for f in districts if f["properties"]["incidents"] > 0) > 0
    page.select_option(".wm-choro-legend select", "fatalities")
    assert "fatalities" in page.inner_text(".wm-choro-legend")


def test_a_row_click_keeps_the_rows_until_its_popup_closes(page, server):
    open_map(page, server + "/?governorate=Kirkuk")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    rows = page.locator("#wm-table tbody tr")
    listed = [rows.nth(i).get_attribute("data-id") for i in range(rows.count())]
    assert len(listed) == 25
    rows.nth(1).click()
    page.locator(".leaflet-popup-content .wm-incident").wait_for()
    page.wait_for_timeout(800)  # past the table's 200 ms reload delay and the popup's pan
    assert [rows.nth(i).get_attribute("data-id") for i in range(rows.count())] == listed
    assert rows.nth(1).get_attribute("aria-selected") == "true"
    rows.nth(2).click()  # the next row is still there to pick
    page.wait_for_function(
        f"() => document.querySelector('.leaflet-popup-content').textContent.includes('#{listed[2]}')"
    )
    page.click(".leaflet-popup-close-button")
    page.wait_for_function("() => document.querySelectorAll('#wm-table tbody tr').length < 25")  # the zoomed view's


def test_the_incident_forms_place_search_fills_in_the_point(page, server):
    """The analyst's form (incident-form.js over dom.js): a name found in the gazetteer and picked sets the
    place, its point and, for a district, that only the area is known."""
    page.goto(server + "/login?next=/incidents/new")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(server + "/incidents/new")
    page.fill("#wm-place-search", "Daquq")
    page.press("#wm-place-search", "Enter")  # searches, and does not submit the form
    page.wait_for_selector("#wm-place-results button")
    candidates = api(page, server, "/api/gazetteer?q=Daquq")["candidates"]
    buttons = page.locator("#wm-place-results button")
    assert buttons.all_inner_texts() == [c["name"] for c in candidates]
    district = next(i for i, c in enumerate(candidates) if c["feature_code"] == "ADM2")
    buttons.nth(district).click()
    place = candidates[district]
    assert page.input_value("#location") == place["name"]
    assert float(page.input_value("#latitude")) == place["latitude"]
    assert float(page.input_value("#longitude")) == place["longitude"]
    assert page.input_value("#geo_precision") == "3"
    assert page.inner_text("#wm-place-results").startswith(f"Using {place['name']} (")


@pytest.mark.parametrize("width, height", [(1024, 768), (375, 740)])
def test_a_laptop_or_phone_screen_keeps_the_map_uncovered(page, server, artifacts, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_map(page, server + "/")
    page.locator(".wm-mapbox").scroll_into_view_if_needed()
    boxes = page.evaluate("""() => Object.fromEntries(Object.entries({map: '.leaflet-container',
        layers: '.leaflet-control-layers', legend: '.wm-legend', time: '.wm-time'}).map(([k, s]) => {
          const r = document.querySelector(s).getBoundingClientRect();
          return [k, {left: r.left, right: r.right, top: r.top, bottom: r.bottom, area: r.width * r.height}]; }))""")
    page.screenshot(path=str(artifacts / f"browser-map-{width}x{height}.png"))

    def overlap(a, b):
        return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]

    # The layer list and the legend start folded, so together they cover a sliver of the map...
    assert boxes["layers"]["area"] + boxes["legend"]["area"] < 0.1 * boxes["map"]["area"]
    assert not page.evaluate("() => document.querySelector('.wm-legend').open")
    assert not overlap(boxes["legend"], boxes["time"]) and not overlap(boxes["layers"], boxes["time"])
    # ...every control stays on the map, and nothing makes the page scroll sideways.
    for name in ("layers", "legend", "time"):
        assert boxes["map"]["left"] <= boxes[name]["left"] and boxes[name]["right"] <= boxes["map"]["right"], name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # The folded layer list still opens and its force toggles still work.
    page.hover(".leaflet-control-layers")
    checkbox = page.locator(".leaflet-control-layers-overlays label", has_text="Islamic State").locator("input")
    checkbox.uncheck()
    page.wait_for_function("() => webmap.current.engine.drawn.islamic_state === 0")
