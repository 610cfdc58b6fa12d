"""The map in a real browser: Debian's headless Chromium through Playwright.

One waitress server on 127.0.0.1 serves the app on a database of the demo incidents: 1,783 real UCDP
GED events (``geodata/demo_incidents.csv``), loaded through the importer as ``webmap demo`` does.
Every request the page makes is recorded, and none may leave 127.0.0.1. Screenshots go to the
``artifacts`` folder. Chromium is never downloaded: Playwright drives /usr/bin/chromium.

The view state (issue 12): whatever the analyst changes (the filter, a force's tick, the time
window), the map's count, "This view", the table and the API say the same, and the URL holds it.
"""

from __future__ import annotations

import csv
import io
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers import UCDP_244637, api, assert_counts_agree, open_map, serve_demo, shown, watched_page

from webmap import spatial

pytestmark = pytest.mark.browser

TOKEN = "browser-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
# A copy of the real UCDP GED event 244637 (Kirkuk, 5 January 2017) whose text is hostile.
HOSTILE = {
    **UCDP_244637,
    "source": "webmap browser test",
    "source_id": "244637-hostile",
    "location": "Kirkuk <b>town</b>",
    "notes": '<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2">',
}


def kirkuk_governorate_point() -> tuple[float, float]:
    adm1 = spatial.load_layer("adm1")
    point = adm1[adm1["name"] == "Kirkuk"].geometry.representative_point().iloc[0]
    return round(point.y, 5), round(point.x, 5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app on 127.0.0.1 (a free port) over the demo incidents; yields its base URL."""
    with serve_demo(tmp_path_factory.mktemp("browser"), TOKEN) as url:
        yield url


@pytest.fixture
def page(browser, server):
    """A fresh page; every URL it requests is kept in ``page.requested``, checked after the test."""
    with watched_page(browser, server) as tab:
        yield tab


# -- drawing, offline ---------------------------------------------------------------------------------
def test_the_map_draws_from_localhost_only(page, server, artifacts):
    open_map(page, server + "/")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('wm-chart-incidents'))")
    assert page.locator(".leaflet-container").count() == 1
    state = assert_counts_agree(page, server)
    assert state["loaded"] == state["selected"] == 1783
    assert "incidents of this view lie in the map's extent" in page.inner_text("#wm-status")
    assert page.locator("#wm-table tbody tr").count() == 25
    assert page.evaluate("() => Chart.getChart(document.getElementById('wm-chart-incidents')).data.datasets.length") > 1
    page.screenshot(path=str(artifacts / "browser-map.png"), full_page=True)
    assert any("/static/vendor/leaflet/leaflet.js" in u for u in page.requested)
    assert any("/api/points" in u for u in page.requested)


# -- one meaning of force ---------------------------------------------------------------------------------
def test_the_forces_panel_counts_every_force_an_incident_involves(page, server, artifacts):
    open_map(page, server + "/")
    state = shown(page)
    rows = page.locator(".wm-forces-list .wm-force-row")
    listed = [rows.nth(i).get_attribute("data-force") for i in range(rows.count())]
    counts = dict(zip(state["forces"], state["counts"], strict=True))
    # Most first; each count is what the force filter finds (as actor 1, actor 2 or associated).
    assert [counts[k] for k in listed] == sorted((counts[k] for k in listed), reverse=True)
    for key in listed:
        found = api(page, server, f"/api/incidents?force={key}&limit=1")["total"]
        assert counts[key] == found > 0, key
        label = rows.nth(listed.index(key)).inner_text()
        assert f"({found:,})" in label
    # UCDP's side A is the government: the army is in most battles, Islamic State in nearly all.
    assert counts["islamic_state"] > 1500 and counts["isf"] > 1000
    # Forces with none in this view are listed apart, greyed, without a "(0)".
    none = page.locator(".wm-forces-none .wm-force-row")
    apart = [none.nth(i).get_attribute("data-force") for i in range(none.count())]
    assert "peshmerga" in apart and set(apart) == {k for k, n in counts.items() if n == 0}
    assert "(0)" not in page.inner_text(".wm-forces")
    assert "initiating side" in page.inner_text(".wm-legend") and "initiating side" in page.inner_text(".wm-forces")
    page.locator(".wm-forces").screenshot(path=str(artifacts / "browser-forces-panel.png"))


def test_unticking_a_force_hides_the_incidents_whose_forces_are_all_unticked(page, server, artifacts):
    open_map(page, server + "/")
    before = assert_counts_agree(page, server)
    page.locator(".wm-force-row[data-force='islamic_state'] input").uncheck()
    page.wait_for_function("() => webmap.view.query().includes('force=')")
    after = assert_counts_agree(page, server)
    others = [k for k in before["forces"] if k != "islamic_state"]
    # What stays: every incident involving another force: IS attacks on civilians and IS battles
    # against the army stay, since UCDP codes the other side of every demo incident.
    assert after["selected"] == api(page, server, f"/api/incidents?force={','.join(others)}&limit=1")["total"]
    assert after["selected"] == before["selected"]
    assert parse_qs(urlsplit(page.url).query)["force"] == [",".join(others)]
    # Unticking the army too: its battles with IS go, IS attacks on civilians stay.
    page.locator(".wm-force-row[data-force='isf'] input").uncheck()
    page.wait_for_function("() => !webmap.view.query().includes('isf')")
    fewer = assert_counts_agree(page, server)
    assert 0 < fewer["selected"] < before["selected"]
    page.screenshot(path=str(artifacts / "browser-without-islamic-state-and-army.png"))
    page.locator(".wm-force-row[data-force='isf'] input").check()
    page.locator(".wm-force-row[data-force='islamic_state'] input").check()
    page.wait_for_function(f"() => webmap.current.engine.selectedTotal === {before['selected']}")
    assert "force=" not in page.url


def test_a_view_changed_while_chart_js_loads_is_charted_by_one_copy_of_it(page, server):
    held = []
    page.route("**/chart.umd.min.js", lambda route: held.append(route))  # Chart.js held back
    page.goto(server + "/?governorate=Kirkuk", wait_until="domcontentloaded")  # its "load" waits for Chart.js
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    page.wait_for_function("() => document.querySelectorAll('script[src*=\"chart.umd\"]').length === 1")
    page.locator(".wm-force-row[data-force='civilians'] .wm-only").click()
    page.wait_for_timeout(1000)  # past the chart's 300 ms wait: it asks for the new view
    assert page.evaluate("() => document.querySelectorAll('script[src*=\"chart.umd\"]').length") == 1
    for route in held:
        route.continue_()
    page.unroute("**/chart.umd.min.js")
    datasets = "Chart.getChart(document.getElementById('wm-chart-incidents')).data.datasets"
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('wm-chart-incidents')) && "
        f"{datasets}.some(d => d.label === 'Civilians')"
    )


def test_only_one_force_narrows_every_part_of_the_page(page, server):
    open_map(page, server + "/?governorate=Kirkuk")
    page.locator(".wm-force-row[data-force='civilians'] .wm-only").click()
    page.wait_for_function("() => webmap.view.query().endsWith('force=civilians')")
    state = assert_counts_agree(page, server)
    assert 0 < state["selected"] < state["loaded"]
    # The chart asks for the same view; the table lists only incidents involving civilians.
    chart = "window.Chart && Chart.getChart(document.getElementById('wm-chart-incidents'))"
    datasets = "Chart.getChart(document.getElementById('wm-chart-incidents')).data.datasets"
    # Chart.js loads after the map: there may be no chart yet
    page.wait_for_function(f"() => {chart} && {datasets}.length === 2 && {datasets}.some(d => d.label === 'Civilians')")
    labels = page.evaluate(f"() => {datasets}.map(d => d.label)")
    assert set(labels) == {"All incidents of the view (each once)", "Civilians"}
    forces = page.locator("#wm-table tbody tr td:nth-child(4)").all_inner_texts()
    assert forces and all("Civilians" in f for f in forces)
    # The last force ticked cannot be unticked: the map never empties by a stray click.
    assert page.locator(".wm-force-row[data-force='civilians'] input").is_disabled()


def test_a_saved_peshmerga_incident_raises_the_peshmerga_count(page, server):
    open_map(page, server + "/")
    assert "peshmerga" in page.locator(".wm-forces-none").inner_html()
    # As the analyst saves it from a report: "three Peshmerga fighters killed" by IS, Kirkuk governorate.
    lat, lon = kirkuk_governorate_point()
    saved = page.request.post(
        server + "/api/extract/save",
        data=json.dumps(
            {
                "incidents": [
                    {
                        "event_date": "2021-12-04",
                        "event_type": "Battles",
                        "actor1": "Islamic State",
                        "actor2": "Peshmerga",
                        "location": "Kirkuk",
                        "latitude": lat,
                        "longitude": lon,
                        "geo_precision": 3,
                        "fatalities": 3,
                        "injured": 2,
                        "source": "Kurdistan 24",
                        "source_id": "browser-peshmerga",
                    }
                ]
            }
        ),
        headers=AUTH,
    )
    assert saved.status == 200, saved.text()
    open_map(page, server + "/")
    row = page.locator(".wm-forces-list .wm-force-row[data-force='peshmerga']")
    assert "(1)" in row.inner_text()
    assert_counts_agree(page, server)


# -- one view state -----------------------------------------------------------------------------------------
def test_the_window_narrows_everything_and_the_chart_marks_it(page, server, tmp_path, artifacts):
    open_map(page, server + "/?governorate=Kirkuk")
    before = shown(page)
    page.select_option(".wm-time select", "30")
    page.wait_for_function("() => webmap.view.query().includes('window=')")
    state = assert_counts_agree(page, server)
    assert 0 < state["selected"] < before["selected"]
    window = parse_qs(urlsplit(page.url).query)["window"][0]
    page.wait_for_function(
        f"() => document.getElementById('wm-chart-incidents').dataset.window === {json.dumps(window)}"
    )
    # The counts of the forces follow the window too.
    assert sum(state["counts"]) < sum(before["counts"])
    # The download holds exactly the incidents on screen.
    on_screen = page.evaluate(
        """() => { const e = webmap.current.engine, d = e.data, ids = [];
                   for (let i = 0; i < d.n; i++) if (e._passes(i)) ids.push(d.id[i]); return ids; }"""
    )
    with page.expect_download() as info:
        page.click("#wm-download-csv")
    path = tmp_path / "view.csv"
    info.value.save_as(path)
    rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert sorted(int(r["id"]) for r in rows) == sorted(on_screen) and len(rows) == state["selected"]
    page.screenshot(path=str(artifacts / "browser-window.png"), full_page=True)


def test_a_copied_url_restores_the_same_view(page, server, browser):
    open_map(page, server + "/?governorate=Ninewa")
    page.locator(".wm-force-row[data-force='civilians'] input").uncheck()
    page.select_option(".wm-time select", "365")
    page.wait_for_function("() => webmap.view.query().includes('window=')")
    page.evaluate("() => webmap.current.map.setView([36.34, 43.13], 9, {animate: false})")
    page.wait_for_function("() => location.hash.startsWith('#9/')")
    first = assert_counts_agree(page, server)
    copied = page.url
    fresh = browser.new_context(viewport={"width": 1400, "height": 1000})
    other = fresh.new_page()
    try:
        open_map(other, copied)
        again = assert_counts_agree(other, server)
        assert {k: again[k] for k in ("selected", "inExtent", "counts", "query")} == {
            k: first[k] for k in ("selected", "inExtent", "counts", "query")
        }
        assert other.evaluate("() => webmap.current.map.getZoom()") == 9
        assert other.inner_text(".wm-time-label") == page.inner_text(".wm-time-label")
        assert not other.locator(".wm-force-row[data-force='civilians'] input").is_checked()
    finally:
        fresh.close()


def test_back_and_forward_and_an_edited_address_move_the_view(page, server):
    open_map(page, server + "/")
    everything = shown(page)["selected"]
    page.locator(".wm-force-row[data-force='turkey'] .wm-only").click()
    page.wait_for_function("() => webmap.view.query() === 'force=turkey'")
    turkey = assert_counts_agree(page, server)["selected"]
    page.go_back()
    page.wait_for_function(f"() => webmap.current.engine.selectedTotal === {everything}")
    assert page.locator(".wm-force-row[data-force='turkey'] input").is_checked()
    page.go_forward()
    page.wait_for_function(f"() => webmap.current.engine.selectedTotal === {turkey}")
    assert_counts_agree(page, server)
    # Editing the fragment moves the map; editing the query loads that view.
    page.evaluate("() => { location.hash = '#11/35.4681/44.3922'; }")
    page.wait_for_function("() => webmap.current.map.getZoom() === 11")
    open_map(page, server + "/?force=pkk_ybs#8/36.3/41.9")
    assert shown(page)["selected"] == api(page, server, "/api/incidents?force=pkk_ybs&limit=1")["total"]


def test_the_filter_form_keeps_the_ticks_and_the_window(page, server):
    open_map(page, server + "/?force=islamic_state&window=2017-01-01/2017-06-30")
    page.fill("#f-district", "Kirkuk")
    with page.expect_navigation():
        page.click("#wm-filter button[type=submit]")
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    query = parse_qs(urlsplit(page.url).query)
    assert query["district"] == ["Kirkuk"] and query["force"] == ["islamic_state"]
    assert query["window"] == ["2017-01-01/2017-06-30"] and "governorate" not in query  # empty fields stay out
    state = assert_counts_agree(page, server)
    assert 0 < state["selected"] < state["loaded"]
    districts = page.locator("#wm-table tbody tr td:nth-child(3)").all_inner_texts()
    assert districts and set(districts) == {"Kirkuk"}


# -- disputed, precision ---------------------------------------------------------------------------------------
def test_a_kirkuk_governorate_only_incident_is_disputed_and_drawn_as_its_area(page, server, artifacts):
    lat, lon = kirkuk_governorate_point()
    created = page.request.post(
        server + "/api/incidents",
        data=json.dumps(
            {
                "event_date": "2021-12-04",
                "time_precision": 2,
                "event_type": "Battles",
                "actor1": "Islamic State",
                "actor2": "Peshmerga",
                "location": "Kirkuk",
                "latitude": lat,
                "longitude": lon,
                "geo_precision": 3,
                "fatalities": 3,
                "source": "Kurdistan 24",
                "source_id": "browser-kirkuk-governorate",
            }
        ),
        headers=AUTH,
    )
    assert created.status == 201
    stored = created.json()
    assert (stored["properties"]["admin2"], stored["properties"]["disputed"]) == (None, "inside")
    open_map(page, server + "/?disputed=inside,partly&window=2021-11-01/2021-12-31")
    page.wait_for_selector("#f-disputed")
    assert page.input_value("#f-disputed") == "inside,partly"
    assert "Disputed only (wholly or partly inside)" in page.inner_text("#f-disputed")
    state = assert_counts_agree(page, server)
    assert state["selected"] >= 1
    # Not a point: its count is on the governorate, and hovering it outlines Kirkuk governorate.
    item = page.evaluate(
        """(id) => { const e = webmap.current.engine, it = e.items.find(i => i.area && i.area.pcode === 'IQG13');
                     const box = webmap.current.map.getContainer().getBoundingClientRect();
                     const points = e.items.filter(i => i.single && i.single.id === id).length;
                     return it && {x: it.x - e._pad.x + box.left, y: it.y - e._pad.y + box.top, points: points}; }""",
        stored["id"],
    )
    assert item and item["points"] == 0
    page.mouse.move(item["x"], item["y"])
    page.wait_for_selector("path.wm-area-outline")
    page.screenshot(path=str(artifacts / "browser-governorate-area.png"))
    page.mouse.move(5, 5)
    page.wait_for_function("() => !document.querySelector('path.wm-area-outline')")
    # The table's row fits the map to the governorate, never zooms to a point it does not have.
    page.wait_for_selector(f"#wm-table tbody tr[data-id='{stored['id']}']")
    row = page.locator(f"#wm-table tbody tr[data-id='{stored['id']}']")
    assert "week of 2021-11-29" in row.inner_text()
    row.click()
    popup = page.locator(".leaflet-popup-content .wm-incident")
    popup.wait_for()
    text = popup.inner_text()
    assert "week of 2021-11-29" in text and "district or governorate only" in text and "Disputed territory" in text
    assert page.evaluate("() => webmap.current.map.getZoom()") <= 9
    page.wait_for_selector("path.wm-area-outline")
    # "Outside only" leaves it out.
    assert "browser-kirkuk-governorate" not in json.dumps(
        api(page, server, "/api/incidents?disputed=outside&window=2021-11-01/2021-12-31&limit=100")
    )


def test_the_table_sorts_and_a_row_click_shows_the_incident(page, server):
    open_map(page, server + "/?governorate=Kirkuk")
    page.wait_for_selector("#wm-table tbody[data-sort] tr")
    page.click("#wm-table th button[data-sort=fatalities]")
    page.wait_for_selector("#wm-table tbody[data-sort='-fatalities']")
    killed = [int(t.replace(",", "")) for t in page.locator("#wm-table tbody tr td:nth-child(6)").all_inner_texts()]
    assert killed == sorted(killed, reverse=True) and killed[0] > 0
    listed = api(page, server, "/api/incidents?governorate=Kirkuk&sort=-fatalities&limit=25")["features"]
    precise = next(i for i, f in enumerate(listed) if f["properties"]["geo_precision"] == 1)
    row = page.locator("#wm-table tbody tr").nth(precise)
    place = row.locator("td").nth(1).inner_text()
    row.click()
    popup = page.locator(".leaflet-popup-content .wm-incident")
    popup.wait_for()
    assert place in popup.inner_text() and "Forces involved" in popup.inner_text()
    assert page.evaluate("() => webmap.current.map.getZoom()") >= 16


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
    page.wait_for_function("() => document.getElementById('wm-page').dataset.total !== undefined")


def test_the_time_window_plays_through_the_dates(page, server):
    open_map(page, server + "/?governorate=Kirkuk")
    everything = shown(page)["selected"]
    page.select_option(".wm-time select", "365")
    page.wait_for_function(f"() => webmap.current.engine.selectedTotal < {everything}")
    last_year = shown(page)["selected"]
    label = page.inner_text(".wm-time-label")
    page.click(".wm-time .wm-play")
    page.wait_for_function(
        f"() => document.querySelector('.wm-time-label').textContent !== {json.dumps(label)}", timeout=10_000
    )
    page.click(".wm-time .wm-play")  # pause
    assert 0 <= shown(page)["selected"] <= everything and 0 < last_year < everything
    # Playing replaces the URL's window as it goes: one history entry, not one per step.
    assert "window=" in page.url
    assert_counts_agree(page, server)


def test_the_district_choropleth_follows_the_view(page, server):
    open_map(page, server + "/?force=turkey")
    page.locator(".leaflet-control-layers-overlays label", has_text="Districts: incidents").locator("input").check()
    page.wait_for_selector(".wm-choro-legend .wm-scale div")

    def shaded():
        return page.evaluate("""() => [...document.querySelectorAll('.leaflet-wm-choropleth-pane path')]
            .filter(p => p.getAttribute('fill') !== '#ffffff').length""")

    districts = api(page, server, "/api/districts?force=turkey")["features"]
    assert shaded() == sum(1 for f in districts if f["properties"]["incidents"] > 0) > 0
    # A tick changes the shading without reloading the page.
    page.locator(".wm-force-row[data-force='pkk_ybs'] input").check()
    wider = api(page, server, "/api/districts?force=turkey,pkk_ybs")["features"]
    expected = sum(1 for f in wider if f["properties"]["incidents"] > 0)
    page.wait_for_function(
        """(n) => [...document.querySelectorAll('.leaflet-wm-choropleth-pane path')]
            .filter(p => p.getAttribute('fill') !== '#ffffff').length === n""",
        arg=expected,
    )
    page.select_option(".wm-choro-legend select", "fatalities")
    assert "fatalities" in page.inner_text(".wm-choro-legend")


# -- text, forms, screens -----------------------------------------------------------------------------------------
def test_a_popup_shows_hostile_text_as_text(page, server, artifacts):
    created = page.request.post(server + "/api/incidents", data=json.dumps(HOSTILE), headers=AUTH)
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
        panel: '.wm-controls', time: '.wm-time'})
        .map(([k, s]) => {
          const r = document.querySelector(s).getBoundingClientRect();
          return [k, {left: r.left, right: r.right, top: r.top, bottom: r.bottom, area: r.width * r.height}]; }))""")
    page.screenshot(path=str(artifacts / f"browser-map-{width}x{height}.png"))

    def overlap(a, b):
        return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]

    # Layers, forces and legend are one panel, folded to its title where open it would cover more
    # than a quarter of the map...
    assert boxes["panel"]["area"] < 0.12 * boxes["map"]["area"]
    assert not page.evaluate("() => document.querySelector('.wm-controls').open")
    assert not overlap(boxes["panel"], boxes["time"])
    # ...every control stays on the map, and nothing makes the page scroll sideways.
    for name in ("panel", "time"):
        assert boxes["map"]["left"] <= boxes[name]["left"] and boxes[name]["right"] <= boxes["map"]["right"], name
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    # The folded panel opens and the forces' ticks still work.
    page.click(".wm-controls > summary")
    page.locator(".wm-force-row[data-force='islamic_state'] input").uncheck()
    page.wait_for_function("() => webmap.view.query().includes('force=')")
