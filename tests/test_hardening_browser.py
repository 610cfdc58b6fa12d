"""No user text runs as script, and the pages work under their CSP (issue 18, items 2 and 7; "must be
true" 3 and 6), in Debian's Chromium driven by Playwright.

One ``webmap serve`` process serves a database whose every user-supplied text is hostile: the
shipped demo incidents (real UCDP GED events) re-joined to a user's boundary layers (``webmap
geodata import``) whose Kirkuk governorate and district names carry a payload, a user gazetteer
(``WEBMAP_GAZETTEER``) in which a real place's name and district carry one, and a copy of a real
UCDP GED event posted through the API with a payload in every text field. Each payload, if it ever
became HTML, would set ``window.__xss`` to the name of the field it came through (from an ``<img
onerror>`` or a ``<script>``) and leave an element of class ``xss``.

The escaping tests run with the CSP bypassed, so that they test the escaping alone; the CSP tests
run with it, on the same hostile data, and fail on any violation the page reports.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from helpers import ARTICLE, COMMAND, ROOT, UCDP_244637, webmap_running

from webmap.config import SHIPPED_GAZETTEER, SHIPPED_GEODATA

pytestmark = pytest.mark.browser

TOKEN = "hardening-browser-token"


def payload(field: str) -> str:
    """Text that breaks out of an attribute or becomes two elements if it is ever parsed as HTML."""
    return (
        f"\"'><img src=x class=xss onerror=\"window.__xss='{field}'\"><script class=xss>window.__xss='{field}'</script>"
    )


# A copy of the real UCDP GED event 244637 (Kirkuk, 5 January 2017) with a payload in every text field.
TEXT_FIELDS = ("actor1", "actor2", "location", "notes", "source", "source_id")
HOSTILE = {
    **UCDP_244637,
    "sub_event_type": "Armed clash",
    **{field: payload(field) for field in TEXT_FIELDS},
    "source_url": "https://ucdp.uu.se/event/244637?" + payload("source_url"),
}
# Gazetteer rows the Kurdistan 24 report resolves to: Ar Riyāḑ (the place of one incident) gets a
# hostile name and district; the Al-Hawiga district row (offered as another place for "Hawija") a
# hostile district.
RIYADH, HAWIJA_DISTRICT = "gn:98697", "gn:6770659"
PLACE_NAME = "Ar Riyad " + payload("gazetteer-name")


def hostile_gazetteer(path) -> None:
    with SHIPPED_GAZETTEER.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    changed = 0
    for row in rows:
        if row["place_id"] == RIYADH:
            row["name"], row["admin2"] = PLACE_NAME, payload("gazetteer-district")
            changed += 1
        elif row["place_id"] == HAWIJA_DISTRICT:
            row["admin2"] = payload("gazetteer-district")
            changed += 1
    assert changed == 2, "the shipped gazetteer lacks the rows the test changes"
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def hostile_layer(level: str, path) -> None:
    """The shipped ``level`` layer with a payload in the names of Kirkuk governorate (IQG13) and its districts."""
    layer = json.loads((SHIPPED_GEODATA / f"{level}.geojson").read_text(encoding="utf-8"))
    for feature in layer["features"]:
        props = feature["properties"]
        if props["pcode"].startswith("IQG13"):
            props["name"] += " " + payload("governorate" if level == "adm1" else "district")
        if props.get("parent_pcode") == "IQG13":
            props["parent_name"] += " " + payload("governorate")
    path.write_text(json.dumps(layer), encoding="utf-8")


def run(env, *args) -> str:
    done = subprocess.run([*COMMAND, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """``webmap serve`` over the hostile data (see the module docstring); yields (base URL, incident id)."""
    folder = tmp_path_factory.mktemp("hostile")
    hostile_gazetteer(folder / "gazetteer.csv")
    env = {
        **os.environ,
        "WEBMAP_DB": f"sqlite:///{folder / 'webmap.db'}",
        "WEBMAP_GEODATA": str(folder / "geodata"),
        "WEBMAP_GAZETTEER": str(folder / "gazetteer.csv"),
        "WEBMAP_TOKEN": TOKEN,
        "WEBMAP_SECRET_KEY": "hardening",
        "XDG_DATA_HOME": str(folder / "data"),
        "XDG_CACHE_HOME": str(folder / "cache"),
    }
    run(env, "import", str(SHIPPED_GEODATA / "demo_incidents.csv"))
    for level in ("adm1", "adm2"):
        hostile_layer(level, folder / f"{level}-hostile.geojson")
        assert "stored incidents re-joined" in run(
            env, "geodata", "import", str(folder / f"{level}-hostile.geojson"), "--level", level
        )
    with webmap_running("serve", env=env, timeout=120) as server:
        yield server.url
    assert "Traceback" not in server.err


@pytest.fixture(scope="module")
def hostile_id(site, browser) -> int:
    context = browser.new_context()
    created = context.request.post(
        site + "/api/incidents",
        data=json.dumps(HOSTILE),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    assert created.status == 201, created.text()
    feature = created.json()
    context.close()
    assert "<img" in feature["properties"]["admin2"]  # joined to the hostile district
    return feature["id"]


CSP_WATCH = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + (e.sample || '')));
"""


@contextmanager
def opened_tab(browser, site: str, enforce_csp: bool):
    """A fresh page, with the CSP bypassed or enforced. JavaScript errors, requests to other hosts and
    console reports of a CSP violation (``page.csp_reports``, which a test may empty) fail the test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, bypass_csp=not enforce_csp)
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    requested, errors, page.csp_reports = [], [], []
    page.on("request", lambda r: requested.append(r.url))
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: page.csp_reports.append(m.text) if "Content Security Policy" in m.text else None)
    yield page
    assert_inert(page)
    context.close()
    assert not errors, f"JavaScript errors: {errors}"
    assert not page.csp_reports, f"CSP violations in the console: {page.csp_reports}"
    outside = [u for u in requested if not u.startswith(site + "/")]
    assert not outside, f"requests left 127.0.0.1: {outside}"


@pytest.fixture(params=[False, True], ids=["escaping", "csp"])
def tab(request, browser, site):
    """A page with the CSP bypassed (``escaping``: the escaping alone keeps the payloads inert) or
    enforced (``csp``: the same pages report no violation)."""
    with opened_tab(browser, site, enforce_csp=request.param) as page:
        yield page


@pytest.fixture
def strict(browser, site):
    """A page under the app's CSP."""
    with opened_tab(browser, site, enforce_csp=True) as page:
        yield page


def assert_inert(page) -> None:
    """No payload ran or became an element on the page, and (under the CSP) nothing was refused."""
    page.wait_for_timeout(300)  # time for an <img onerror> to fire, had one been made
    state = page.evaluate(
        "() => ({xss: window.__xss || null, elements: document.querySelectorAll('.xss').length, csp: window.__csp})"
    )
    assert state["xss"] is None, f"the payload of {state['xss']!r} ran"
    assert state["elements"] == 0, "a payload became an element"
    assert state["csp"] == [], f"CSP violations: {state['csp']}"


def log_in(page, site) -> None:
    page.goto(f"{site}/login")
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site}/")


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-map-ready='1']", timeout=60_000)


# -- the escaping (and, with the CSP, no violation on the same pages) -------------------------------------
def test_the_map_shows_hostile_incident_and_district_text_as_text(tab, site, hostile_id):
    log_in(tab, site)
    open_map(tab, site + "/?from=2017-01-05&to=2017-01-05")
    tab.wait_for_selector("#wm-table tbody[data-sort] tr")
    row = tab.locator("#wm-table tbody tr", has_text=payload("location"))
    assert row.count() == 1
    assert payload("district") in row.inner_text()  # its district, from the user's layer
    row.click()
    popup = tab.locator(".leaflet-popup-content .wm-incident")
    popup.wait_for()
    shown = popup.inner_text()
    for field in ("actor1", "actor2", "location", "notes", "source", "district", "governorate"):
        assert payload(field) in shown, field
    assert popup.locator("a").first.get_attribute("href") == HOSTILE["source_url"]
    assert_inert(tab)
    # The governorates' names on the base map (drawn on its canvas with fillText, never as markup),
    # the filter's options, the district list.
    names = tab.evaluate("() => webmap.offlineBasemap._pieces['0'].labels.map(l => l.name)")
    assert any(payload("governorate") in name for name in names)
    options = tab.locator("#f-governorate option").all_inner_texts()
    assert any(payload("governorate") in t for t in options)
    districts = tab.locator("#wm-districts option").evaluate_all("os => os.map(o => o.value + ' ' + o.label)")
    assert any(payload("district") in t for t in districts)
    # The districts' tooltips on the choropleth.
    tab.locator(".leaflet-control-layers-overlays label", has_text="Districts: incidents").locator("input").check()
    tab.wait_for_selector(".wm-choro-legend .wm-scale div")
    tab.evaluate("""() => webmap.current.map.eachLayer(l => {
        const kirkuk = l.feature && l.feature.properties.pcode === 'IQG13Q04';
        if (kirkuk && l.getTooltip()) l.openTooltip(l.getCenter()); })""")
    tooltip = tab.locator(".leaflet-tooltip", has_text="incidents,")
    tooltip.wait_for()
    assert payload("district") in tooltip.inner_text()
    assert_inert(tab)


def test_the_edit_form_and_its_refusal_show_hostile_text_as_text(tab, site, hostile_id):
    log_in(tab, site)
    tab.goto(f"{site}/incidents/{hostile_id}/edit")
    for field in TEXT_FIELDS:
        assert tab.locator(f"#{field}").input_value() == payload(field), field
    assert_inert(tab)
    tab.fill("#latitude", payload("latitude"))
    tab.fill("#reason", "a test of the refusal")  # the incident is reviewed: a change says why
    tab.click("#wm-incident-form button[type=submit]")
    tab.wait_for_selector("#wm-form-error")
    assert "<img src=x" in tab.inner_text("#wm-form-error")
    assert "<img src=x" in tab.inner_text("#latitude-problem")
    assert tab.locator("#notes").input_value() == payload("notes")  # kept for the analyst to fix


def test_the_gazetteer_search_shows_a_hostile_place_name_as_text(tab, site):
    log_in(tab, site)
    tab.goto(f"{site}/incidents/new")
    tab.fill("#wm-place-search", "Nahiyat ar Riyad")
    tab.click("#wm-place-find")
    button = tab.locator("#wm-place-results button", has_text=PLACE_NAME)
    button.first.wait_for(timeout=60_000)
    assert payload("gazetteer-district") in tab.inner_text("#wm-place-results")
    button.first.click()
    assert tab.locator("#location").input_value() == PLACE_NAME
    assert PLACE_NAME in tab.inner_text("#wm-place-results")


@pytest.mark.shared
def test_the_extract_page_shows_a_hostile_place_name_as_text(tab, site):
    """The stored XSS of issue 18, item 2: a gazetteer name in the marker's tooltip."""
    log_in(tab, site)
    tab.goto(f"{site}/extract")
    tab.fill("#wm-report", ARTICLE.read_text(encoding="utf-8"))
    tab.fill("#wm-published", "2021-12-06")
    tab.click("#wm-propose")
    tab.wait_for_function("() => /proposed/.test(document.getElementById('wm-extract-status').textContent)")
    places = tab.locator("#wm-drafts input[name=location]").evaluate_all("inputs => inputs.map(i => i.value)")
    assert PLACE_NAME in places
    n = places.index(PLACE_NAME) + 1
    options = tab.locator("#wm-drafts select[name=other_place] option").all_inner_texts()
    assert any(payload("gazetteer-district") in t for t in options)
    marker = tab.locator(".leaflet-marker-icon").nth(n - 1)
    assert marker.get_attribute("title") == f"#{n} {PLACE_NAME}"
    # Every pin is labelled with its number and place, always shown.
    tooltip = tab.locator(".leaflet-tooltip.wm-draft-label").nth(n - 1)
    tooltip.wait_for()
    assert tooltip.inner_text() == f"#{n} {PLACE_NAME}"
    assert_inert(tab)


def test_hostile_query_parameters_are_shown_as_text(tab, site):
    response = tab.goto(f"{site}/?district={quote(payload('parameter'))}")
    assert response.status == 400
    assert "unknown district '\"\\'><img src=x class=xss onerror=" in tab.inner_text(".wm-error")  # quoted, cut
    assert_inert(tab)
    tab.goto(f"{site}/login?next=/{quote(payload('next'))}")
    assert tab.locator("input[name=next]").input_value() == "/" + payload("next")


# -- the pages under their CSP ----------------------------------------------------------------------------
def test_under_the_csp_the_map_table_chart_and_overlays_work(strict, site, hostile_id):
    open_map(strict, site + "/")
    strict.wait_for_selector("#wm-table tbody[data-sort] tr")
    strict.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('wm-chart-incidents'))")
    assert strict.evaluate("() => webmap.current.engine.selectedTotal") > 1000
    for overlay in ("Districts: incidents", "Disputed territories"):
        strict.locator(".leaflet-control-layers-overlays label", has_text=overlay).locator("input").check()
    strict.wait_for_selector(".wm-choro-legend .wm-scale div")
    strict.wait_for_selector(".leaflet-wm-overlays-pane path")
    policy = strict.evaluate("async () => (await fetch('/')).headers.get('Content-Security-Policy')")
    assert "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.shared
def test_under_the_csp_the_extract_page_proposes_and_draws(strict, site):
    log_in(strict, site)
    strict.goto(f"{site}/extract")
    strict.fill("#wm-report", ARTICLE.read_text(encoding="utf-8"))
    strict.fill("#wm-published", "2021-12-06")
    strict.click("#wm-propose")
    strict.wait_for_function("() => /proposed/.test(document.getElementById('wm-extract-status').textContent)")
    drafts = strict.locator("#wm-drafts tbody tr:not(.wm-evidence)").count()
    assert drafts >= 2 and strict.locator(".leaflet-marker-icon").count() == drafts
    assert f"{drafts} incidents proposed" in strict.inner_text("#wm-extract-status")


def test_under_the_csp_the_incident_form_saves_and_deletes(strict, site):
    log_in(strict, site)
    strict.goto(f"{site}/incidents/new")
    strict.fill("#wm-place-search", "Daquq")
    strict.click("#wm-place-find")
    strict.locator("#wm-place-results button").first.click()
    strict.fill("#event_date", "2017-01-05")
    strict.fill("#actor1", "Government of Iraq")
    strict.fill("#source", "UCDP GED test copy")
    strict.click("#wm-incident-form button[type=submit]")
    strict.wait_for_selector(".wm-flash")
    saved = int(strict.inner_text(".wm-flash").split("#")[1].split()[0])
    strict.goto(f"{site}/incidents/{saved}/edit")
    dialogs = []
    strict.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.accept()))
    strict.fill("#delete-reason", "a test incident")
    strict.click(".wm-delete button")
    strict.wait_for_selector(".wm-flash")
    assert dialogs == [f"Delete incident #{saved}?"]
    assert f"Incident #{saved} deleted" in strict.inner_text(".wm-flash")


def test_the_edit_and_delete_forms_cannot_be_framed(strict, site, hostile_id):
    log_in(strict, site)
    edit = f"{site}/incidents/{hostile_id}/edit"
    strict.goto(edit)
    assert strict.locator("#wm-incident-form").count() == 1 and strict.locator(".wm-delete").count() == 1
    # A page of the same site (its cookie would be sent) that frames the form, as a clickjacker's would.
    framer = f"{site}/framing-test"
    strict.route(framer, lambda route: route.fulfill(content_type="text/html", body=f'<iframe src="{edit}"></iframe>'))
    refused = []
    strict.on("console", lambda m: refused.append(m.text) if "frame-ancestors" in m.text else None)
    strict.goto(framer)
    strict.wait_for_timeout(1500)
    framed = strict.evaluate(
        "() => { const d = document.querySelector('iframe').contentDocument;"
        " return d ? d.querySelectorAll('#wm-incident-form, .wm-delete').length : 0; }"
    )
    assert framed == 0
    assert refused, "Chromium did not report refusing the frame"
    strict.csp_reports.clear()  # that refusal is the point of the test
    strict.goto(edit)  # the assertions at the end look at a page of the site
