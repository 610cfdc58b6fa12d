"""The team's pages (issue 17, points 2-4): the review queue in Chromium (oldest first, evidence
and maker, approve, edit and approve, reject with a reason, merge into a candidate keeping every
source), drafts drawn apart on the map for analysts and reviewers only, the page hiding what a
role may not do, the admins' accounts page, and exports with who made and reviewed each incident."""

from __future__ import annotations

import csv
import io
import re

import pytest
from helpers import FORM, csrf_token, open_map

from webmap.accounts import hash_password, new_token
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP, Actor

PASSWORD = "correct horse battery"
ROLES = {"amira": "admin", "rev1": "reviewer", "ana": "analyst", "vic": "viewer"}
ANA, REV2 = Actor("ana", "analyst"), Actor("rev2", "reviewer")
# Real UCDP GED events: 244637 (the army against IS in Kirkuk city, 5 January 2017), and Tal Afar
# (274540, IS against civilians), far from it.
TAL_AFAR = {"latitude": "36.379134", "longitude": "42.448065", "location": "Tal Afar", "actor2": "Civilians"}


@pytest.fixture
def team(store):
    """The accounts of ROLES (and rev2), a reviewed incident by rev2 and three drafts by ana, oldest
    first: the same event as the reviewed one (another outlet, 3 km away, the day after), one in Tal
    Afar, one more in Kirkuk. Yields the ids: reviewed, same, tal_afar, other."""
    for name, role in {**ROLES, "rev2": "reviewer"}.items():
        store.add_account(name, role, hash_password(PASSWORD, name), by=BOOTSTRAP)
    reviewed = store.add(validate_incident({**FORM, "source_url": "https://ucdp.uu.se/event/244637"}), by=REV2)
    same = {
        **FORM,
        "status": "draft",
        "event_date": "2017-01-06",
        "latitude": "35.49",
        "source": "Kurdistan 24",
        "source_id": "k24-1",
        "source_url": "https://www.kurdistan24.net/en/story/1",
        "notes": "Clashes between the army and IS fighters in Kirkuk; one soldier was killed.",
    }
    drafts = [
        same,
        {**FORM, **TAL_AFAR, "status": "draft", "source_id": "t-1", "notes": "IS shelled Tal Afar."},
        {**FORM, "status": "draft", "source_id": "k-2", "fatalities": "3", "notes": "Three killed near Kirkuk."},
    ]
    ids = [store.add(validate_incident(d), by=ANA).id for d in drafts]
    return reviewed.id, *ids


def log_in(client, name):
    page = client.get("/login").get_data(as_text=True)
    data = {"name": name, "password": PASSWORD, "csrf_token": csrf_token(page), "next": "/"}
    assert client.post("/login", data=data).status_code == 302


def browser_log_in(page, server, name):
    page.goto(f"{server}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}/")


# -- the review queue, in Chromium ------------------------------------------------------------------------
def test_a_reviewer_works_through_the_queue(team, server, browser, store):
    reviewed, same, tal_afar, other = team
    page = browser.new_page()
    browser_log_in(page, server, "rev1")
    page.goto(f"{server}/review")
    items = page.locator(".wm-review-item")
    assert [int(items.nth(i).get_attribute("data-id")) for i in range(items.count())] == [same, tal_afar, other]
    first = page.locator(f"#draft-{same}")
    assert "Made by ana" in first.inner_text()
    assert "one soldier was killed" in first.locator(".wm-evidence").inner_text()  # the evidence
    # Candidates: the reviewed incident (the day before, 2.4 km away, the army and IS) and the other
    # Kirkuk draft; not Tal Afar.
    candidates = first.locator(".wm-candidates li").all_inner_texts()
    assert any(text.startswith(f"#{reviewed} (reviewed)") for text in candidates)
    assert not any(text.startswith(f"#{tal_afar} ") for text in candidates)

    first.locator(f"button[name=decision][value=merge]:has-text('#{reviewed}')").click()
    assert f"Draft #{same} merged into #{reviewed}" in page.inner_text(".wm-flash")
    merged = store.get(reviewed)
    assert merged.source == "UCDP GED test copy; Kurdistan 24"
    assert merged.source_url == "https://ucdp.uu.se/event/244637"
    assert "https://www.kurdistan24.net/en/story/1" in merged.notes and "one soldier was killed" in merged.notes
    assert store.get(same).status == "deleted"

    reject = page.locator(f"#draft-{tal_afar}")
    reject.locator("input[name=reason]").fill("not in the reports we follow")
    reject.locator("button[value=reject]").click()
    assert f"Draft #{tal_afar} rejected." in page.inner_text(".wm-flash")
    assert store.history(tal_afar)[-1]["reason"] == "not in the reports we follow"

    page.locator(f"#draft-{other} a:has-text('Edit and approve')").click()
    assert page.input_value("#status") == "reviewed"
    page.fill("#fatalities", "2")
    page.click("#wm-incident-form button[type=submit]")
    page.wait_for_selector(".wm-flash")
    approved = store.get(other)
    assert (approved.status, approved.reviewed_by, approved.fatalities) == ("reviewed", "rev1", 2)
    page.goto(f"{server}/review")
    assert "No drafts are waiting." in page.inner_text("main, body")
    page.close()


def test_approve_from_the_queue_and_the_two_person_rule(team, client, store):
    reviewed, same, *_ = team
    store.add_account("ana2", "reviewer", hash_password(PASSWORD, "ana2"), by=BOOTSTRAP)
    own = store.add(validate_incident({**FORM, "status": "draft", "source_id": "own"}), by=Actor("rev1", "reviewer"))
    log_in(client, "rev1")
    page = client.get("/review").get_data(as_text=True)
    assert page.count('value="approve"') == 3  # not on rev1's own draft
    done = client.post(f"/review/{same}", data={"decision": "approve", "csrf_token": csrf_token(page)})
    assert done.status_code == 302
    assert (store.get(same).status, store.get(same).reviewed_by) == ("reviewed", "rev1")
    refused = client.post(f"/review/{own.id}", data={"decision": "approve", "csrf_token": csrf_token(page)})
    assert "two-person rule" in client.get(refused.headers["Location"]).get_data(as_text=True)
    assert store.get(own.id).status == "draft"


# -- drafts on the map --------------------------------------------------------------------------------------
def ring_ink(page, lat: float, lon: float) -> int:
    """Dark pixels on the incident layer's canvas in a ring 8-10 px around the point (lat, lon)."""
    return page.evaluate(
        """([lat, lon]) => {
             const map = webmap.current.map, p = map.latLngToContainerPoint([lat, lon]);
             const canvas = document.querySelector('canvas.wm-points'), r = canvas.getBoundingClientRect();
             const box = map.getContainer().getBoundingClientRect(), s = canvas.width / r.width;
             const ctx = canvas.getContext('2d');
             let dark = 0;
             for (let a = 0; a < 360; a += 5) {
               for (const d of [8, 9, 10]) {
                 const x = (p.x + box.left - r.left + d * Math.cos(a * Math.PI / 180)) * s;
                 const y = (p.y + box.top - r.top + d * Math.sin(a * Math.PI / 180)) * s;
                 const px = ctx.getImageData(Math.round(x), Math.round(y), 1, 1).data;
                 if (px[3] > 150 && px[0] + px[1] + px[2] < 200) dark++;
               }
             }
             return dark; }""",
        [lat, lon],
    )


def test_drafts_are_drawn_apart_for_analysts_and_hidden_from_viewers(team, server, browser):
    reviewed, same, tal_afar, other = team
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    browser_log_in(page, server, "ana")
    assert page.locator("input[name=drafts]").count() == 1
    open_map(page, f"{server}/?drafts=1&ids={reviewed},{tal_afar}")
    page.wait_for_function("() => webmap.current.engine.data && webmap.current.engine.data.n === 2")
    page.evaluate("() => webmap.current.map.setZoom(9, {animate: false})")
    page.evaluate(
        f"() => webmap.current.map.panTo([{TAL_AFAR['latitude']}, {TAL_AFAR['longitude']}], {{animate: false}})"
    )
    page.wait_for_timeout(300)
    assert ring_ink(page, float(TAL_AFAR["latitude"]), float(TAL_AFAR["longitude"])) > 10  # the draft's ring
    page.evaluate(f"() => webmap.current.map.panTo([{FORM['latitude']}, {FORM['longitude']}], {{animate: false}})")
    page.wait_for_timeout(300)
    assert ring_ink(page, float(FORM["latitude"]), float(FORM["longitude"])) == 0  # a reviewed one has none
    page.close()

    viewer = browser.new_page()
    browser_log_in(viewer, server, "vic")
    assert viewer.locator("input[name=drafts]").count() == 0
    assert viewer.goto(f"{server}/?drafts=1").status == 403
    viewer.close()


def test_drafts_are_refused_to_viewers_and_anonymous_readers_everywhere(team, client):
    for path in ("/?drafts=1", "/api/incidents?drafts=1", "/api/points?drafts=1", "/export.csv?drafts=1"):
        assert client.get(path).status_code == 403, path
    assert client.get(f"/api/incidents/{team[1]}").status_code == 404  # a draft is not there for them
    log_in(client, "vic")
    assert client.get("/api/incidents?drafts=1").status_code == 403
    log_in(client, "ana")
    assert client.get("/api/incidents?drafts=1").get_json()["total"] == 4


# -- what each role is shown --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "shown", "hidden"),
    [
        (None, ["Log in"], ["Add incident", "Review</a>", "Users</a>", 'name="drafts"']),
        (
            "vic",
            ["vic (viewer)", "your role (viewer) may not add incidents"],
            ["Add incident", "Review</a>", "Users</a>"],
        ),
        ("ana", ["Add incident", 'name="drafts"', 'href="/extract"'], ["Review</a>", "Users</a>"]),
        ("rev1", ["Add incident", "Review</a>", 'name="drafts"'], ["Users</a>"]),
        ("amira", ["Add incident", "Review</a>", "Users</a>"], []),
    ],
)
def test_the_map_page_shows_only_what_the_role_may_do(team, client, name, shown, hidden):
    if name:
        log_in(client, name)
    html = client.get("/").get_data(as_text=True)
    for text in shown:
        assert text in html, text
    for text in hidden:
        assert text not in html, text


def test_the_edit_page_shows_an_analyst_only_their_draft_and_a_reviewer_everything(team, client):
    reviewed, same, *_ = team
    log_in(client, "ana")
    form = client.get(f"/incidents/{same}/edit").get_data(as_text=True)
    assert '<option value="reviewed"' not in form and "wm-delete" not in form
    assert client.get(f"/incidents/{reviewed}/edit").status_code == 403  # not their own draft
    log_in(client, "rev1")
    form = client.get(f"/incidents/{reviewed}/edit").get_data(as_text=True)
    assert '<option value="reviewed"' in form and "wm-delete" in form and "required: the incident is reviewed" in form


# -- accounts for admins --------------------------------------------------------------------------------------
def test_an_admin_manages_accounts_on_the_web(team, client, store):
    log_in(client, "amira")
    page = client.get("/admin/users").get_data(as_text=True)
    token = csrf_token(page)

    def change(**data):
        answer = client.post("/admin/users", data={**data, "csrf_token": token}, follow_redirects=True)
        return answer.get_data(as_text=True)

    assert "Account bea added." in change(change="add", name="bea", role="analyst", password=PASSWORD)
    assert store.account("bea")["role"] == "analyst"
    assert "bea is now reviewer." in change(change="role", name="bea", role="reviewer")
    assert "Account bea disabled." in change(change="disable", name="bea")
    assert store.account("bea")["disabled"]
    assert "New password set for bea" in change(change="password", name="bea", password="a brand new password")
    assert "Not done: password: too short" in change(change="password", name="bea", password="short")
    assert "Not done" in change(change="role", name="amira", role="viewer")  # the last admin stays
    assert store.account("amira")["role"] == "admin"
    api_token, token_id, digest = new_token()
    store.create_token("ana", token_id, digest, by=Actor("amira", "admin"))
    assert client.get("/api/incidents?drafts=1", headers={"Authorization": f"Bearer {api_token}"}).status_code == 200
    listed = client.get("/admin/users").get_data(as_text=True)
    assert token_id in listed
    assert api_token not in listed
    assert re.search(r"<td>never</td><td>\d{4}-\d\d-\d\d \d\d:\d\d", listed.split(token_id)[1])  # its last use
    revoked = change(change="revoke", token_id=token_id)
    assert "Token revoked." in revoked, re.findall(r"<p[^>]*>.*?</p>", revoked, re.S)
    assert client.get("/api/incidents", headers={"Authorization": f"Bearer {api_token}"}).status_code == 401


# -- exports with provenance ----------------------------------------------------------------------------------
def test_exports_can_include_who_made_and_reviewed_each_incident(team, client):
    reviewed = team[0]
    assert client.get("/export.csv?provenance=1").status_code == 403  # anonymous: not the team's names
    plain = list(csv.DictReader(io.StringIO(client.get("/export.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert "reviewed_by" not in plain[0]
    log_in(client, "vic")
    rows = client.get("/export.csv?provenance=1").get_data(as_text=True).lstrip("\ufeff")
    (row,) = list(csv.DictReader(io.StringIO(rows)))
    assert (row["id"], row["created_by"], row["reviewed_by"], row["version"]) == (str(reviewed), "rev2", "rev2", "1")
    assert row["reviewed_at"]
    feature = client.get("/export.geojson?provenance=1").get_json()["features"][0]
    assert feature["properties"]["reviewed_by"] == "rev2"
    assert client.get("/export.csv?provenance=maybe").status_code == 400


# -- history ------------------------------------------------------------------------------------------------
def test_imports_re_joins_edits_and_restores_are_in_the_readable_history(team, client, runner, store, tmp_path):
    from helpers import GED, TEST_DATA

    from webmap.cli import main

    imported = runner.invoke(main, ["--as", "ana", "import", str(GED), "--format", "ucdp"])
    assert imported.exit_code == 0 and "imported as drafts" in imported.output, imported.output
    assert runner.invoke(main, ["--as", "ana", "export", "-o", str(tmp_path / "x.csv"), "--drafts"]).exit_code == 0
    first = max(i for i in range(1, 50) if _exists(store, i))  # the import's last incident
    assert store.get(first).status == "draft"
    assert [(e["actor"], e["action"]) for e in store.history(first)] == [("ana", "import")]
    districts = TEST_DATA / "codab_adm2_districts.geojson"
    rejoined = runner.invoke(main, ["--as", "amira", "geodata", "import", str(districts), "--level", "adm2"])
    assert rejoined.exit_code == 0, rejoined.output
    assert any(e["action"] == "rejoin" and e["actor"] == "amira" for i in (1, 2, 3, 4) for e in store.history(i))
    reviewed = team[0]
    log_in(client, "rev1")
    form = client.get(f"/incidents/{reviewed}/edit").get_data(as_text=True)
    edited = {**FORM, "fatalities": "5", "reason": "the hospital's toll", "csrf_token": csrf_token(form)}
    assert client.post(f"/incidents/{reviewed}/edit", data=edited).status_code == 302
    page = client.get(f"/incidents/{reviewed}/edit").get_data(as_text=True)
    version = store.get(reviewed).version  # after the re-join's, if it moved the incident
    assert f"Version {version}: edit by rev1" in page and "Why: the hospital&#39;s toll" in page
    assert "<tr><td>fatalities</td><td><del>1</del></td><td><ins>5</ins></td></tr>" in page
    back = {"version": "1", "reason": "the first toll was right", "csrf_token": csrf_token(page)}
    assert client.post(f"/incidents/{reviewed}/revert", data=back).status_code == 302
    assert store.get(reviewed).fatalities == 1 and store.get(reviewed).version == version + 1
    shown = runner.invoke(main, ["--as", "vic", "history", str(reviewed)])
    assert f"v{version + 1} " in shown.output and "revert because: the first toll was right" in shown.output
    assert "fatalities: 5 -> 1" in shown.output


def _exists(store, incident_id: int) -> bool:
    from webmap.errors import NotFound

    try:
        store.get(incident_id)
    except NotFound:
        return False
    return True


def test_with_webmap_private_only_accounts_and_the_token_read(team, database_url, tmp_path):
    from webmap import create_app

    app = create_app(
        {"database_url": database_url, "geodata_dir": tmp_path / "g", "private": True, "secret_key": "s", "token": "t"}
    )
    client = app.test_client()
    assert client.get("/api/incidents").status_code == 401
    assert client.get("/").status_code == 302  # to the login
    log_in(client, "vic")
    assert client.get("/api/incidents").get_json()["total"] == 1


def test_the_tiles_of_a_large_view_mark_the_drafts_too(team, client):
    import math

    reviewed, same, tal_afar, other = team
    log_in(client, "ana")
    z, lat, lon = 12, float(FORM["latitude"]), float(FORM["longitude"])
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    points = client.get(f"/api/tiles/{z}/{x}/{y}?drafts=1").get_json()["points"]
    flags = dict(zip(points["id"], points["draft"], strict=True))
    assert flags[reviewed] == 0 and flags[other] == 1


def test_an_analyst_saves_a_report_as_drafts_from_the_extract_page(team, server, browser, store):
    from helpers import NRT_REPORT

    from webmap.query import IncidentFilter, count_incidents

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    browser_log_in(page, server, "ana")
    page.goto(f"{server}/extract")
    assert "as drafts" in page.inner_text("#wm-save")
    page.fill("#wm-report", NRT_REPORT)
    page.fill("#wm-published", "2020-08-25")
    page.click("#wm-propose")
    # The server's first report loads the extraction's models (webmap serve does that before it serves).
    page.wait_for_selector("#wm-drafts tbody tr:not(.wm-evidence)", timeout=120_000)
    before = count_incidents(store, IncidentFilter.build(drafts=True))
    page.click("#wm-save")
    page.wait_for_selector("#wm-save-status a")
    assert page.inner_text("#wm-save-status").startswith("Saved as drafts: ")
    saved = count_incidents(store, IncidentFilter.build(drafts=True)) - before
    assert saved >= 1 and count_incidents(store, IncidentFilter.build()) == 1  # only the reviewed one of `team`
    assert not errors
    page.close()


def test_an_analyst_edits_their_own_drafts_only_and_never_marks_them_reviewed(team, client, store):
    reviewed, same, *_ = team
    log_in(client, "ana")
    form = client.get(f"/incidents/{same}/edit").get_data(as_text=True)
    edited = {**FORM, "status": "draft", "fatalities": "2", "csrf_token": csrf_token(form)}
    assert client.post(f"/incidents/{same}/edit", data=edited).status_code == 302
    assert (store.get(same).fatalities, store.get(same).status) == (2, "draft")
    promoted = client.post(f"/incidents/{same}/edit", data={**edited, "status": "reviewed"})
    assert promoted.status_code == 403 and store.get(same).status == "draft"


def test_a_viewer_reads_an_incidents_history_on_its_page(team, client, store):
    reviewed, same, *_ = team
    store.replace(
        reviewed,
        validate_incident({**FORM, "fatalities": "4", "source_url": "https://ucdp.uu.se/event/244637"}),
        by=Actor("rev1", "reviewer"),
        reason="the hospital's toll",
    )
    assert client.get(f"/incidents/{reviewed}/history").status_code == 302  # to the login
    log_in(client, "vic")
    page = client.get(f"/incidents/{reviewed}/history").get_data(as_text=True)
    assert "Version 2: edit by rev1" in page and "Version 1: create by rev2" in page
    assert "<tr><td>fatalities</td><td><del>1</del></td><td><ins>4</ins></td></tr>" in page
    assert "Restore version" not in page and "Edit this incident" not in page  # a viewer may not
    assert client.get(f"/incidents/{same}/history").status_code == 403  # a draft: analysts and up
    log_in(client, "rev1")
    page = client.get(f"/incidents/{reviewed}/history").get_data(as_text=True)
    assert "Restore version 1" in page and "Edit this incident" in page
