"""The extraction page in Debian's Chromium: paste a real report (``helpers.NRT_REPORT``), review,
correct, save."""

from __future__ import annotations

import pytest
from helpers import NRT_REPORT, PORTUGUESE

from webmap.query import IncidentFilter, select_incidents

pytestmark = pytest.mark.browser


@pytest.fixture
def page(browser, server):
    """A fresh page; yields (page, base URL, requests to other hosts); JavaScript errors fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    outside, errors = [], []
    tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server + "/") else None)
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab, server, outside
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def public(app):
    """The app as with WEBMAP_PUBLIC_EXTRACT=1: anyone may have a report read."""
    app.extensions["webmap"]["config"].public_extract = True


def propose_the_report(tab, base):
    """Log in, paste the NRT report with its date, wait for the two proposed rows; the rows."""
    tab.goto(f"{base}/login?next=/extract")
    tab.fill("input[name=token]", "test-token")
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/extract")
    tab.fill("#wm-report", NRT_REPORT)
    tab.fill("#wm-published", "2020-08-25")
    tab.click("#wm-propose")
    tab.wait_for_selector("#wm-drafts tbody tr:not(.wm-evidence) >> nth=1")
    return tab.locator("#wm-drafts tbody tr:not(.wm-evidence)")


def test_paste_review_correct_and_save(page, store, artifacts):
    tab, base, outside = page
    rows = propose_the_report(tab, base)
    assert "2 incidents proposed" in tab.inner_text("#wm-extract-status")
    assert tab.locator(".leaflet-marker-icon").count() == 2
    assert rows.nth(1).locator("input[name=fatalities]").input_value() == "4"
    assert rows.nth(1).locator("input[name=injured]").input_value() == "4"
    assert "Two Iraqi soldiers were killed" in tab.inner_text("#wm-drafts")

    # The analyst corrects the second incident's count and drops the first.
    rows.nth(1).locator("input[name=fatalities]").fill("1")
    rows.nth(0).locator("input[name=keep]").uncheck()
    tab.screenshot(path=str(artifacts / "extract_page.png"), full_page=True)
    tab.click("#wm-save")
    tab.wait_for_selector("#wm-save-status a")
    assert "Saved as reviewed: 1 new" in tab.inner_text("#wm-save-status")

    stored = select_incidents(store, IncidentFilter.build())
    assert [(i.status, i.admin1, i.fatalities, i.injured) for i in stored] == [("reviewed", "Kirkuk", 1, 4)]
    assert outside == []  # nothing loaded from another host


def test_a_bad_value_is_shown_at_its_field_and_nothing_is_saved(page, store):
    tab, base, _ = page
    rows = propose_the_report(tab, base)
    rows.nth(1).locator("input[name=latitude]").fill("35.2 N")
    tab.click("#wm-save")
    tab.wait_for_selector("#wm-save-status .wm-error")
    assert "row 2: latitude: not a number" in tab.inner_text("#wm-save-status")
    assert "wm-bad" in rows.nth(1).locator("input[name=latitude]").get_attribute("class")
    assert select_incidents(store, IncidentFilter.build(drafts=True)) == []


def test_without_login_the_page_proposes_but_cannot_save(page, public):
    tab, base, _ = page
    tab.goto(f"{base}/extract")
    tab.fill("#wm-report", "قتل ثلاثة من البيشمركة في هجوم لداعش قرب كركوك")
    tab.click("#wm-propose")
    tab.wait_for_selector("#wm-drafts tbody tr")
    assert "1 incident proposed" in tab.inner_text("#wm-extract-status")
    assert tab.locator("#wm-save").is_disabled()
    tab.fill("#wm-report", PORTUGUESE)
    tab.click("#wm-propose")
    tab.wait_for_selector("#wm-extract-status .wm-error")
    assert "Portuguese" in tab.inner_text("#wm-extract-status")


def test_the_work_done_before_logging_in_is_still_there_after_it(page, store, public):
    tab, base, _ = page
    tab.goto(f"{base}/extract")
    # The way to log in is offered before any work is done, not only once incidents are proposed.
    assert tab.locator("#wm-extract-form a.wm-login-to-save").is_visible()
    tab.fill("#wm-report", NRT_REPORT)
    tab.fill("#wm-published", "2020-08-25")
    tab.fill("#wm-source", "NRT")
    tab.click("#wm-propose")
    tab.wait_for_selector("#wm-drafts tbody tr:not(.wm-evidence) >> nth=1")
    rows = tab.locator("#wm-drafts tbody tr:not(.wm-evidence)")
    rows.nth(0).locator("input[name=location]").fill("Outskirts of al-Miqdadiyah")
    rows.nth(0).locator("input[name=latitude]").fill("33.98")
    rows.nth(1).locator("input[name=fatalities]").fill("1")
    rows.nth(1).locator("input[name=keep]").uncheck()

    tab.click("#wm-review a.wm-login-to-save")
    tab.fill("input[name=token]", "test-token")
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{base}/extract")
    tab.wait_for_selector("#wm-drafts tbody tr:not(.wm-evidence) >> nth=1")

    assert tab.input_value("#wm-report") == NRT_REPORT
    assert tab.input_value("#wm-published") == "2020-08-25"
    assert tab.input_value("#wm-source") == "NRT"
    assert "are back: 2 incidents proposed" in tab.inner_text("#wm-extract-status")
    assert rows.count() == 2 and tab.locator(".leaflet-marker-icon").count() == 2
    assert rows.nth(0).locator("input[name=location]").input_value() == "Outskirts of al-Miqdadiyah"
    assert rows.nth(0).locator("input[name=fatalities]").input_value() == "2"
    assert rows.nth(1).locator("input[name=fatalities]").input_value() == "1"
    assert not rows.nth(1).locator("input[name=keep]").is_checked()
    assert "wm-dropped" in rows.nth(1).get_attribute("class")
    assert tab.locator("#wm-save").is_enabled()

    tab.click("#wm-save")
    tab.wait_for_selector("#wm-save-status a")
    assert "Saved as reviewed: 1 new" in tab.inner_text("#wm-save-status")
    stored = select_incidents(store, IncidentFilter.build())
    assert [(i.location, i.latitude, i.longitude, i.fatalities, i.source) for i in stored] == [
        ("Outskirts of al-Miqdadiyah", 33.98, 44.93694, 2, "NRT"),
    ]
    # Saved work is forgotten: opening the page again starts clean.
    tab.goto(f"{base}/extract")
    assert tab.input_value("#wm-report") == ""
    assert tab.locator("#wm-review").is_hidden()


@pytest.mark.parametrize("width, height", [(1024, 768), (375, 740)])
def test_the_review_table_fits_a_laptop_and_scrolls_in_its_box_on_a_phone(page, artifacts, width, height):
    tab, base, _ = page
    tab.set_viewport_size({"width": width, "height": height})
    rows = propose_the_report(tab, base)
    tab.screenshot(path=str(artifacts / f"extract_page-{width}x{height}.png"), full_page=True)
    assert tab.evaluate("() => document.documentElement.scrollWidth") <= width  # the page never scrolls sideways
    table = tab.evaluate("() => document.getElementById('wm-drafts').getBoundingClientRect().width")
    if width >= 1024:
        assert table <= width  # every column in sight, the long selects shrunk to their column
    # Each field is still usable: wide enough to read a place name.
    assert rows.nth(0).locator("input[name=location]").bounding_box()["width"] >= 100
