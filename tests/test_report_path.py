"""Reports to incidents as a first-class path (issue 14, point 2), in Debian's Chromium: "Add from
report" in the header and the map's toolbar, the review map's numbered and labelled pins, and the
map of the incidents just saved."""

from __future__ import annotations

import pytest
from helpers import NRT_REPORT, open_map, settled, shown, watched_page

from webmap import create_app
from webmap.query import IncidentFilter, select_incidents

pytestmark = pytest.mark.browser


@pytest.fixture
def tab(browser, server):
    with watched_page(browser, server, height=900) as page:
        yield page


def log_in(tab, base, then="/"):
    tab.goto(f"{base}/login?next={then}")
    tab.fill("input[name=token]", "test-token")
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}{then}")


def test_add_from_report_is_in_the_header_and_the_toolbar_disabled_with_why_until_logged_in(tab, server, artifacts):
    open_map(tab, server + "/")
    header = tab.locator("header .wm-add-report")
    toolbar = tab.locator(".leaflet-control .wm-add-report")
    for item in (header, toolbar):
        assert item.is_visible()
        assert item.get_attribute("aria-disabled") == "true"
        assert "log in to add incidents from a report" in item.inner_text()
        assert item.evaluate("node => node.tagName") == "SPAN"  # no link to follow
    tab.screenshot(path=str(artifacts / "add_from_report-logged_out.png"))

    log_in(tab, server)
    tab.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    assert header.get_attribute("href") == "/extract" and header.get_attribute("aria-disabled") is None
    assert toolbar.get_attribute("href") == "/extract"
    tab.screenshot(path=str(artifacts / "add_from_report-logged_in.png"))
    toolbar.click()
    tab.wait_for_url(f"{server}/extract")
    assert tab.locator("header a.wm-add-report").is_visible()  # on the extraction page too


def test_a_server_without_a_token_says_adding_is_switched_off(database_url, tmp_path):
    app = create_app({"database_url": database_url, "geodata_dir": tmp_path / "geodata", "secret_key": "k"})
    html = app.test_client().get("/extract").get_data(as_text=True)  # the page opens no database
    assert 'aria-disabled="true"' in html
    assert "adding incidents is switched off on this server (it has no WEBMAP_TOKEN and no accounts)" in html


def test_the_review_pins_are_numbered_and_named_and_the_saved_incidents_open_ringed_on_the_map(
    tab, server, store, artifacts
):
    log_in(tab, server, "/extract")
    tab.fill("#wm-report", NRT_REPORT)
    tab.fill("#wm-published", "2020-08-25")
    tab.click("#wm-propose")
    tab.wait_for_selector("#wm-drafts tbody tr:not(.wm-evidence) >> nth=1")
    rows = tab.locator("#wm-drafts tbody tr:not(.wm-evidence)")
    places = [rows.nth(i).locator("input[name=location]").input_value() for i in range(2)]
    assert tab.locator(".wm-draft-pin").all_inner_texts() == ["1", "2"]
    labels = tab.locator(".wm-draft-label").all_inner_texts()
    assert labels == [f"#1 {places[0]}", f"#2 {places[1]}"]
    # A corrected place name relabels its pin.
    rows.nth(1).locator("input[name=location]").fill("Kirkuk-Daquq road")
    rows.nth(1).locator("input[name=location]").dispatch_event("change")
    assert tab.locator(".wm-draft-label").nth(1).inner_text() == "#2 Kirkuk-Daquq road"
    tab.screenshot(path=str(artifacts / "review_pins.png"))

    tab.click("#wm-save")
    tab.click("#wm-save-status a")
    tab.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    saved = select_incidents(store, IncidentFilter.build())
    ids = ",".join(str(i.id) for i in sorted(saved, key=lambda i: i.id))
    assert len(saved) == 2 and f"?ids={ids}#" in tab.url
    settled(tab)
    assert shown(tab)["selected"] == 2
    assert "Only the 2 incidents just saved" in tab.inner_text("#wm-ids-note")
    tab.wait_for_function("() => document.querySelectorAll('.wm-chosen-ring').length === 2")
    # Fitted: both saved incidents are in the map's extent, closer than the whole region's view.
    in_view = tab.evaluate(
        """points => points.every(p => webmap.current.map.getBounds().contains(p))""",
        [[i.latitude, i.longitude] for i in saved],
    )
    assert in_view and tab.evaluate("() => webmap.current.map.getZoom()") >= 8
    tab.screenshot(path=str(artifacts / "saved_from_report_on_map.png"))

    tab.click("#wm-ids-note a")
    tab.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
    assert "ids=" not in tab.url and tab.locator("#wm-ids-note").count() == 0


def test_a_report_without_numbers_leaves_killed_and_injured_empty_and_stores_none(tab, server, store):
    log_in(tab, server, "/extract")
    tab.fill("#wm-report", "ISIS militants attacked a Federal Police detachment on the Kirkuk-Daquq road on Monday.")
    tab.fill("#wm-published", "2020-08-25")
    tab.click("#wm-propose")
    tab.wait_for_selector("#wm-drafts tbody tr")
    row = tab.locator("#wm-drafts tbody tr:not(.wm-evidence)").first
    assert row.locator("input[name=fatalities]").input_value() == ""
    assert row.locator("input[name=injured]").input_value() == ""
    tab.click("#wm-save")
    tab.wait_for_selector("#wm-save-status a")
    [stored] = select_incidents(store, IncidentFilter.build())
    assert (stored.fatalities, stored.injured) == (None, None)
