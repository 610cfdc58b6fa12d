"""Every door that writes refuses each role that may not use it, and writes nothing (issue 17,
point 5): every write route of the app's URL map, through the API with a personal token and through
the pages with a login and its CSRF token, and every command of the CLI, acting ``--as`` each role.

The tables below must name every write route and every command: a new one that is not in them
fails :func:`test_the_table_names_every_write_route_of_the_app` or
:func:`test_the_table_names_every_command_of_the_cli`, so none can escape the checks.
"""

from __future__ import annotations

import hashlib

import click
import pytest
import sqlalchemy as sa
from helpers import FORM, TEST_DATA, csrf_token

from webmap.accounts import hash_password, new_token
from webmap.cli import main
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP, Actor, may
from webmap.store import metadata

PASSWORD = "correct horse battery"
# One account of each role but admin's (the one whose role the tables do not refuse anything).
NAMES = {"viewer": "vic", "analyst": "ana", "reviewer": "rev"}
ASKERS = ("anonymous", *NAMES)
# Anyone may try to log in and out: the two write routes no role is refused.
OPEN_ROUTES = {"auth.login", "auth.logout"}
# Incidents the requests name (made in `team`): a reviewed one by another reviewer, a draft by
# someone else, a deleted one.
REVIEWED, DRAFT, DELETED = 1, 2, 3
CHANGED = {**FORM, "fatalities": "9", "reason": "a corrected toll"}
# Each write route: (the action of webmap.roles it needs, method, path, JSON body or form data).
ROUTES: dict[str, tuple[str, str, str, dict]] = {
    "api.create_incident": ("create", "POST", "/api/incidents", {**FORM, "status": "draft"}),
    "api.replace_incident": ("edit", "PUT", f"/api/incidents/{REVIEWED}", CHANGED),
    "api.delete_incident": ("delete", "DELETE", f"/api/incidents/{REVIEWED}", {"reason": "a duplicate"}),
    "api.restore_incident": ("restore", "POST", f"/api/incidents/{DELETED}/restore", {}),
    "api.revert_incident": ("edit", "POST", f"/api/incidents/{REVIEWED}/revert", {"version": 1, "reason": "back"}),
    "api.approve_incident": ("review", "POST", f"/api/incidents/{DRAFT}/approve", {}),
    "api.reject_incident": ("delete", "POST", f"/api/incidents/{DRAFT}/reject", {"reason": "not an event"}),
    "api.merge_incident": ("merge", "POST", f"/api/incidents/{DRAFT}/merge", {"into": REVIEWED, "reason": "same"}),
    "api.extract_report": (
        "extract",
        "POST",
        "/api/extract",
        {"text": "Two people were killed.", "date": "2019-03-01"},
    ),
    "api.save_extracted": ("import", "POST", "/api/extract/save", {"incidents": [{**FORM, "status": "draft"}]}),
    "pages.new_incident": ("create", "POST", "/incidents/new", {**FORM, "status": "draft"}),
    "pages.edit_incident": ("edit", "POST", f"/incidents/{REVIEWED}/edit", CHANGED),
    "pages.delete_incident": ("delete", "POST", f"/incidents/{REVIEWED}/delete", {"reason": "a duplicate"}),
    "pages.revert_incident": ("edit", "POST", f"/incidents/{REVIEWED}/revert", {"version": "1", "reason": "back"}),
    "review.decide": ("review", "POST", f"/review/{DRAFT}", {"decision": "approve"}),
    "admin.change_user": ("users", "POST", "/admin/users", {"change": "add", "name": "eve", "role": "admin"}),
}
# The tables whose rows a refused write must leave as they were (the auth log may grow: it records
# the refusal; a token's last use and an account's last login change: they were used).
WRITTEN_TABLES = ("incidents", "incident_history", "users", "api_tokens", "incidents_version")
NOT_WRITES = {"last_used_at", "last_login_at"}


def refused(asker: str, action: str) -> bool:
    """Whether ``asker`` may not do ``action`` to the incidents the requests name: the role lacks
    it, or (an analyst editing) the incident is not their own draft."""
    actor = None if asker == "anonymous" else Actor(NAMES[asker], asker)
    return not may(actor, action) or (asker == "analyst" and action == "edit")


def snapshot(store) -> str:
    """A digest of every row of :data:`WRITTEN_TABLES` and the data version: equal means nothing written."""
    digest = hashlib.sha256()
    with store.engine.connect() as conn:
        for name in WRITTEN_TABLES:
            table = metadata.tables[name]  # the app's own definition (reflection knows no PostGIS geometry)
            columns = [c for c in table.columns if c.name not in NOT_WRITES]
            for row in conn.execute(sa.select(*columns).order_by(columns[0])):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


@pytest.fixture
def team(store):
    """An account of each role, a token for each, and the incidents of REVIEWED, DRAFT, DELETED;
    yields ``{name: token}``."""
    admin = Actor("amira", "admin")
    store.add_account("amira", "admin", hash_password(PASSWORD, "amira"), by=BOOTSTRAP)
    tokens = {}
    for role, name in NAMES.items():
        store.add_account(name, role, hash_password(PASSWORD, name), by=admin)
        token, token_id, digest = new_token()
        store.create_token(name, token_id, digest, by=admin)
        tokens[name] = token
    other = Actor("rev2", "reviewer")
    store.add_account("rev2", "reviewer", hash_password(PASSWORD, "rev2"), by=admin)
    assert store.add(validate_incident(FORM), by=other).id == REVIEWED
    draft = {**FORM, "status": "draft", "source_id": "draft", "latitude": "35.47"}
    assert store.add(validate_incident(draft), by=Actor("ana2", "analyst")).id == DRAFT
    gone = store.add(validate_incident({**FORM, "source_id": "gone"}), by=other)
    store.delete(gone.id, by=other, reason="a duplicate")
    assert gone.id == DELETED
    yield tokens


def test_the_table_names_every_write_route_of_the_app(app):
    written = {
        rule.endpoint for rule in app.url_map.iter_rules() if rule.methods and rule.methods - {"GET", "HEAD", "OPTIONS"}
    }
    assert written - OPEN_ROUTES == set(ROUTES)
    for endpoint, (_, method, path, _) in ROUTES.items():
        adapter = app.url_map.bind("localhost")
        assert adapter.match(path, method=method)[0] == endpoint, endpoint


CASES = [(endpoint, asker) for endpoint, (action, *_) in ROUTES.items() for asker in ASKERS if refused(asker, action)]


@pytest.mark.parametrize(("endpoint", "asker"), CASES)
def test_each_write_route_refuses_each_role_that_may_not_use_it(team, app, client, store, endpoint, asker):
    action, method, path, data = ROUTES[endpoint]
    name = NAMES.get(asker)
    api = endpoint.startswith("api.")
    if not api:
        page = client.get("/login").get_data(as_text=True)
        if name:
            logged = client.post(
                "/login", data={"name": name, "password": PASSWORD, "csrf_token": csrf_token(page), "next": "/"}
            )
            assert logged.status_code == 302
            page = client.get("/").get_data(as_text=True)
        data = {**data, "csrf_token": csrf_token(page)}
    before = snapshot(store)
    headers = {"Authorization": f"Bearer {team[name]}"} if api and name else {}
    response = client.open(path, method=method, headers=headers, **({"json": data} if api else {"data": data}))
    expected = 401 if name is None else 403
    assert response.status_code == expected, (endpoint, asker, response.get_data(as_text=True)[:300])
    assert snapshot(store) == before, f"{endpoint} wrote something for {asker}"
    if name:
        body = response.get_data(as_text=True)
        assert "not allowed" in body or "may change only their own drafts" in body
        refusals = [e for e in store.auth_events(actor=name) if e["event"] == "refused"]
        assert refusals and refusals[0]["target"] == path


# -- the CLI ----------------------------------------------------------------------------------------
# Each command: the action it needs to write (None: it writes nothing) and the arguments of a call
# that would write were it allowed.
def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> set[str]:
    found = set()
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= _commands(command, (*prefix, name))
        else:
            found.add(" ".join((*prefix, name)))
    return found


GED = TEST_DATA / "ucdp_ged_irq_excerpt.csv"
COMMANDS: dict[str, tuple[str | None, list[str], str | None]] = {
    "import": ("import", ["import", str(GED), "--format", "ucdp"], None),
    "geodata import": (
        "geodata",
        ["geodata", "import", str(TEST_DATA / "codab_adm2_districts.geojson"), "--level", "adm2"],
        None,
    ),
    "gazetteer import": (
        "geodata",
        ["gazetteer", "import", str(TEST_DATA / "wof_iq_gazetteer_excerpt.csv"), "--format", "wof"],
        None,
    ),
    "demo": ("import", ["demo", "--host", "no-such-host.invalid"], None),
    "users add": ("users", ["users", "add", "eve", "--role", "admin"], PASSWORD + "\n"),
    "users set-role": ("users", ["users", "set-role", "vic", "admin"], None),
    "users disable": ("users", ["users", "disable", "amira"], None),
    "users reset-password": ("users", ["users", "reset-password", "amira"], PASSWORD + "\n"),
    "users list": ("users", ["users", "list"], None),
    "tokens create": ("users", ["tokens", "create", "--user", "amira"], None),
    "tokens revoke": ("users", ["tokens", "revoke", "TOKEN"], None),
    # Read or serve only: nothing to refuse beyond what a reader may not see (tested elsewhere).
    "export": (None, [], None),
    "serve": (None, [], None),
    "geocode": (None, [], None),
    "extract": ("import", ["extract", "REPORT", "--date", "2019-03-01", "--save"], None),
    "history": (None, [], None),
    "tokens list": (None, [], None),
}


def test_the_table_names_every_command_of_the_cli():
    assert _commands(main) == set(COMMANDS)


CLI_CASES = [
    (command, asker)
    for command, (action, _, _) in COMMANDS.items()
    if action is not None
    for asker in ("nobody", *NAMES)
    if asker == "nobody" or not may(Actor(NAMES[asker], asker), action)
]


@pytest.mark.parametrize(("command", "asker"), CLI_CASES)
def test_each_writing_command_refuses_each_role_that_may_not_use_it(team, runner, store, tmp_path, command, asker):
    _, args, stdin = COMMANDS[command]
    if "TOKEN" in args:  # someone else's token: amira's own
        token, token_id, digest = new_token()
        store.create_token("amira", token_id, digest, by=Actor("amira", "admin"))
        args = [token_id if a == "TOKEN" else a for a in args]
    if "REPORT" in args:
        report = tmp_path / "report.txt"
        report.write_text("KIRKUK, March 1 - Two people were killed in a clash in Kirkuk city.", encoding="utf-8")
        args = [str(report) if a == "REPORT" else a for a in args]
    before = snapshot(store)
    who = [] if asker == "nobody" else ["--as", NAMES[asker]]
    result = runner.invoke(main, [*who, *args], input=stdin)
    assert result.exit_code == 2, (command, asker, result.output)
    assert snapshot(store) == before, f"webmap {command} wrote something for {asker}"
    if asker == "nobody":
        assert "--as NAME or WEBMAP_USER" in result.output
    else:
        assert "not allowed" in result.output and "it needs the role" in result.output
