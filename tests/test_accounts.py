"""Accounts, roles, the two-person rule and the append-only history (issue 17), through the CLI,
the API and the database itself; on SQLite, and on PostGIS with WEBMAP_TEST_POSTGRES."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from helpers import FORM

from webmap.cli import main

PASSWORD = "correct horse battery"


def cli(runner, *args, user=None, stdin=None):
    return runner.invoke(main, [*(["--as", user] if user else []), *args], input=stdin)


@pytest.fixture
def team(runner):
    """An admin (made by the bootstrap admin of the empty database), two reviewers and an analyst."""
    assert cli(runner, "users", "add", "amira", "--role", "admin", stdin=PASSWORD + "\n").exit_code == 0
    for name, role in (("rev1", "reviewer"), ("rev2", "reviewer"), ("ana", "analyst"), ("vic", "viewer")):
        result = cli(runner, "users", "add", name, "--role", role, user="amira", stdin=PASSWORD + "\n")
        assert result.exit_code == 0, result.output
    return runner


def test_the_first_account_must_be_an_admin(runner):
    # The command acts as the bootstrap admin only while there is no account: a first analyst
    # would leave no one to add the others.
    refused = cli(runner, "users", "add", "ana", "--role", "analyst", stdin=PASSWORD + "\n")
    assert refused.exit_code == 2 and "the first account must be an admin" in refused.output
    assert cli(runner, "users", "list").exit_code == 0
    assert "ana" not in cli(runner, "users", "list").output
    assert cli(runner, "users", "add", "amira", "--role", "admin", stdin=PASSWORD + "\n").exit_code == 0


def token_for(runner, name):
    result = cli(runner, "tokens", "create", "--user", name, user="amira")
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()[0]


def test_the_cli_manages_accounts_and_refuses_the_unnamed_and_other_roles(team, store):
    listed = cli(team, "users", "list", user="amira")
    assert listed.exit_code == 0 and "ana\tanalyst\tenabled" in listed.output
    refused = cli(team, "users", "add", "eve", "--role", "admin", user="ana", stdin=PASSWORD + "\n")
    assert refused.exit_code == 2 and "it needs the role admin" in refused.output
    assert cli(team, "users", "list").exit_code == 2  # accounts exist: name yourself
    short = cli(team, "users", "add", "bob", "--role", "viewer", user="amira", stdin="short\n")
    assert short.exit_code == 2 and "password: too short" in short.output and "short\n" not in short.output
    assert store.account("bob") is None
    stored = store.account("ana")
    assert stored["password_hash"].startswith("$argon2id$") and PASSWORD not in stored["password_hash"]
    assert any(e["event"] == "refused" and e["actor"] == "ana" for e in store.auth_events())
    assert cli(team, "users", "set-role", "amira", "viewer", user="amira").exit_code == 2  # the last admin


def test_tokens_are_shown_once_work_until_revoked_and_list_their_last_use(team, client, store):
    token = token_for(team, "rev1")
    assert token.startswith("wm_")
    assert all(token not in str(row) for row in store.tokens(by=store_admin(store)))
    headers = {"Authorization": f"Bearer {token}"}
    created = client.post("/api/incidents", json=FORM, headers=headers)
    assert created.status_code == 201 and created.get_json()["properties"]["created_by"] == "rev1"
    listed = cli(team, "tokens", "list", user="rev1")
    assert listed.exit_code == 0 and "last used never" not in listed.output
    token_id = token.split("_")[1]
    assert cli(team, "tokens", "revoke", token_id, user="amira").exit_code == 0
    refused = client.post("/api/incidents", json=FORM, headers=headers)
    assert refused.status_code == 401 and "revoked" in refused.get_json()["error"]


def store_admin(store):
    from webmap.roles import Actor

    return Actor("amira", "admin")


def test_two_person_rule_reasons_history_and_restore_through_the_api(team, client, store):
    auth = {name: {"Authorization": f"Bearer {token_for(team, name)}"} for name in ("rev1", "rev2", "ana", "vic")}
    assert client.post("/api/incidents", json=FORM, headers=auth["ana"]).status_code == 403  # FORM says reviewed
    unstated = {name: value for name, value in FORM.items() if name != "status"}
    made = client.post("/api/incidents", json=unstated, headers=auth["ana"])
    assert made.status_code == 201, made.get_json()
    draft = made.get_json()
    url = f"/api/incidents/{draft['id']}"
    assert draft["properties"]["status"] == "draft"
    assert client.post(f"{url}/approve", headers=auth["ana"]).status_code == 403
    assert client.delete(f"{url}?reason=x", headers=auth["vic"]).status_code == 403
    own = client.post("/api/incidents", json={**FORM, "status": "draft"}, headers=auth["rev1"]).get_json()
    refused = client.post(f"/api/incidents/{own['id']}/approve", headers=auth["rev1"])
    assert refused.status_code == 403 and "two-person rule" in refused.get_json()["error"]
    approved = client.post(f"{url}/approve", headers=auth["rev1"]).get_json()["properties"]
    assert (approved["status"], approved["reviewed_by"], approved["version"]) == ("reviewed", "rev1", 2)
    edit = {**FORM, "fatalities": 7}
    assert client.put(url, json=edit, headers=auth["rev2"]).get_json()["field"] == "reason"
    assert client.put(url, json={**edit, "reason": "hospital toll"}, headers=auth["rev2"]).status_code == 200
    assert client.delete(url, json={"reason": "duplicate"}, headers=auth["rev2"]).status_code == 204
    assert client.get(url).status_code == 404
    assert client.post(f"{url}/restore", headers=auth["rev1"]).status_code == 200
    history = client.get(f"{url}/history", headers=auth["vic"]).get_json()["history"]
    assert [(e["actor"], e["action"]) for e in history] == [
        ("ana", "create"),
        ("rev1", "approve"),
        ("rev2", "edit"),
        ("rev2", "delete"),
        ("rev1", "restore"),
    ]
    assert history[2]["changes"]["fatalities"] == [FORM_FATALITIES, 7] and history[2]["reason"] == "hospital toll"
    reverted = client.post(f"{url}/revert", json={"version": 2, "reason": "the toll was wrong"}, headers=auth["rev1"])
    assert reverted.get_json()["properties"]["fatalities"] == FORM_FATALITIES


FORM_FATALITIES = int(FORM["fatalities"])


@pytest.mark.parametrize("table", ["incident_history", "auth_log"])
def test_the_history_and_the_auth_log_are_append_only_in_the_database(team, store, table):
    from webmap.records import validate_incident
    from webmap.roles import Actor

    store.add(validate_incident(FORM), by=Actor("rev1", "reviewer"))
    for statement in (f"UPDATE {table} SET actor = 'forger'", f"DELETE FROM {table}"):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with store.engine.begin() as conn:
                conn.exec_driver_sql(statement)
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {table} WHERE actor = 'forger'").scalar() == 0
