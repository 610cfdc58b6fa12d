"""Accounts at the doors (issue 17, points 1 and 5, and its bad input): logins by name and password
throttled per account and per address, sessions that end, logout everywhere; each refusal a clear
4xx (or exit 2) naming the problem, nothing written, the attempt in the auth log; passwords never
logged or returned; tokens compared in constant time."""

from __future__ import annotations

import datetime as dt
import hmac
import logging

import pytest
from helpers import FORM, csrf_token
from test_role_table import snapshot

from webmap.accounts import hash_password, new_token
from webmap.cli import main
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP, Actor
from webmap.web import auth

PASSWORD = "Tr0ub4dor-and-3-more-words"
ADMIN = Actor("amira", "admin")


@pytest.fixture
def accounts(store):
    """amira (admin), rev1 and rev2 (reviewers), ana (analyst), each with PASSWORD."""
    store.add_account("amira", "admin", hash_password(PASSWORD, "amira"), by=BOOTSTRAP)
    for name, role in (("rev1", "reviewer"), ("rev2", "reviewer"), ("ana", "analyst")):
        store.add_account(name, role, hash_password(PASSWORD, name), by=ADMIN)
    return store


def log_in(client, name, password=PASSWORD, address="192.0.2.1"):
    page = client.get("/login", environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
    return client.post(
        "/login",
        data={"name": name, "password": password, "csrf_token": csrf_token(page), "next": "/"},
        environ_base={"REMOTE_ADDR": address},
    )


def who(client) -> str:
    """The name the page's header shows for this browser ('' when logged out)."""
    html = client.get("/").get_data(as_text=True)
    start = html.find('id="wm-who">')
    return html[start + 12 : html.find(" (", start)] if start >= 0 else ""


def token_of(store, name, **options) -> str:
    token, token_id, digest = new_token()
    store.create_token(name, token_id, digest, by=ADMIN, **options)
    return token


def events(store, event):
    return [e for e in store.auth_events() if e["event"] == event]


# -- logins ---------------------------------------------------------------------------------------------
def test_an_account_logs_in_by_name_and_password_and_a_wrong_one_is_refused_and_logged(accounts, client):
    wrong = log_in(client, "ana", "not the password")
    assert wrong.status_code == 401 and "wrong name or password" in wrong.get_data(as_text=True)
    assert who(client) == ""
    failed = events(accounts, "login_failed")
    assert failed and failed[0]["actor"] == "ana" and failed[0]["address"] == "192.0.2.1"
    assert log_in(client, "ana").status_code == 302
    assert who(client) == "ana"


def test_wrong_passwords_for_one_account_from_many_addresses_lock_it_with_a_message(accounts, app):
    for n in range(auth.ACCOUNT_FAILURES):
        assert log_in(app.test_client(), "rev1", "guess", address=f"203.0.113.{n + 1}").status_code == 401
    refused = log_in(app.test_client(), "rev1", address="198.51.100.9")  # the right password, elsewhere
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert "too many wrong passwords or tokens for this account" in refused.get_data(as_text=True)
    # Another account from that address is not locked.
    assert log_in(app.test_client(), "rev2", address="198.51.100.9").status_code == 302
    assert events(accounts, "locked_out")


def test_wrong_passwords_from_one_address_lock_that_address_for_every_account(accounts, app):
    browser = app.test_client()
    for name in ("ana", "rev1", "rev2", "amira", "nobody"):
        assert log_in(browser, name, "guess").status_code == 401
    refused = log_in(browser, "ana")
    assert refused.status_code == 429
    assert "too many wrong passwords or tokens from your address" in refused.get_data(as_text=True)


def test_a_session_ends_after_its_hours(accounts, client, monkeypatch):
    log_in(client, "ana")
    assert who(client) == "ana"
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=auth.LOGIN_HOURS, minutes=1)
    monkeypatch.setattr(auth, "_now", lambda: later)
    assert who(client) == ""
    assert client.get("/incidents/new").status_code == 302  # to the login


def test_log_out_everywhere_ends_the_accounts_other_sessions(accounts, app):
    laptop, phone, colleague = app.test_client(), app.test_client(), app.test_client()
    for browser, name in ((laptop, "rev1"), (phone, "rev1"), (colleague, "rev2")):
        log_in(browser, name)
    page = laptop.get("/").get_data(as_text=True)
    laptop.post("/logout", data={"csrf_token": csrf_token(page), "everywhere": "1"})
    assert (who(laptop), who(phone), who(colleague)) == ("", "", "rev2")


def test_disabling_an_account_or_resetting_its_password_ends_its_sessions(accounts, app, runner):
    ana, rev1 = app.test_client(), app.test_client()
    log_in(ana, "ana")
    log_in(rev1, "rev1")
    assert runner.invoke(main, ["--as", "amira", "users", "disable", "ana"]).exit_code == 0
    new = "another long password"
    reset = runner.invoke(main, ["--as", "amira", "users", "reset-password", "rev1"], input=new + "\n")
    assert reset.exit_code == 0, reset.output
    assert (who(ana), who(rev1)) == ("", "")
    disabled = log_in(app.test_client(), "ana")
    assert disabled.status_code == 401 and "the account ana is disabled" in disabled.get_data(as_text=True)
    assert log_in(app.test_client(), "rev1", new).status_code == 302


# -- bad input: 4xx / exit 2, nothing written, the attempt recorded ---------------------------------------
def test_expired_revoked_and_disabled_tokens_are_refused_naming_why(accounts, client):
    past = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=1)
    expired = token_of(accounts, "rev1", expires_at=past)
    revoked = token_of(accounts, "rev1")
    accounts.revoke_token(revoked.split("_")[1], by=ADMIN)
    disabled = token_of(accounts, "ana")
    accounts.set_disabled("ana", True, by=ADMIN)
    before = snapshot(accounts)
    for token, problem in (
        (expired, "expired on"),
        (revoked, "was revoked"),
        (disabled, "the account ana is disabled"),
    ):
        refused = client.post("/api/incidents", json=FORM, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 401 and problem in refused.get_json()["error"]
    assert snapshot(accounts) == before
    assert len(events(accounts, "token_refused")) == 3


def test_a_reviewer_approving_their_own_draft_is_refused_everywhere_and_logged(accounts, client):
    draft = accounts.add(validate_incident({**FORM, "status": "draft"}), by=Actor("rev1", "reviewer"))
    headers = {"Authorization": f"Bearer {token_of(accounts, 'rev1')}"}
    before = snapshot(accounts)
    refused = client.post(f"/api/incidents/{draft.id}/approve", headers=headers)
    assert refused.status_code == 403 and "two-person rule" in refused.get_json()["error"]
    as_edit = client.put(f"/api/incidents/{draft.id}", json={**FORM, "status": "reviewed"}, headers=headers)
    assert as_edit.status_code == 403 and "two-person rule" in as_edit.get_json()["error"]
    log_in(client, "rev1")
    page = client.get("/review").get_data(as_text=True)
    assert "Your own draft: another reviewer approves it." in page
    form = client.post(f"/review/{draft.id}", data={"decision": "approve", "csrf_token": csrf_token(page)})
    assert "two-person rule" in client.get(form.headers["Location"]).get_data(as_text=True)
    assert snapshot(accounts) == before
    assert len([e for e in events(accounts, "refused") if "two-person rule" in e["detail"]]) == 3


def test_an_edit_to_a_reviewed_incident_without_a_reason_is_refused_everywhere_and_logged(
    accounts, client, runner, tmp_path
):
    stored = accounts.add(validate_incident(FORM), by=Actor("rev1", "reviewer"))
    headers = {"Authorization": f"Bearer {token_of(accounts, 'rev2')}"}
    before = snapshot(accounts)
    refused = client.put(f"/api/incidents/{stored.id}", json={**FORM, "fatalities": 4}, headers=headers)
    assert refused.status_code == 400 and refused.get_json()["field"] == "reason"
    log_in(client, "rev2")
    form = client.get(f"/incidents/{stored.id}/edit").get_data(as_text=True)
    page = client.post(f"/incidents/{stored.id}/edit", data={**FORM, "fatalities": "4", "csrf_token": csrf_token(form)})
    assert page.status_code == 400 and "say why it changes" in page.get_data(as_text=True)
    deleted = client.post(f"/incidents/{stored.id}/delete", data={"csrf_token": csrf_token(form)})
    assert deleted.status_code == 400 and "say why" in deleted.get_data(as_text=True)
    assert snapshot(accounts) == before
    assert len([e for e in events(accounts, "refused") if e["actor"] == "rev2"]) == 3


def test_the_cli_refuses_an_unknown_or_disabled_name_with_exit_2_and_logs_it(accounts, runner):
    before = snapshot(accounts)
    unknown = runner.invoke(main, ["--as", "mallory", "users", "add", "eve", "--role", "admin"], input=PASSWORD + "\n")
    assert unknown.exit_code == 2 and "no account named 'mallory'" in unknown.output
    accounts.set_disabled("ana", True, by=ADMIN)
    before = snapshot(accounts)
    disabled = runner.invoke(main, ["--as", "ana", "tokens", "create", "--user", "ana"])
    assert disabled.exit_code == 2 and "the account ana is disabled" in disabled.output
    assert snapshot(accounts) == before
    assert {e["actor"] for e in events(accounts, "refused")} >= {"mallory", "ana"}


# -- secrets -----------------------------------------------------------------------------------------------
def test_passwords_are_never_logged_stored_or_returned(accounts, app, client, runner, caplog):
    caplog.set_level(logging.DEBUG)
    secret = "a-password-nobody-should-see"
    seen = []
    added = runner.invoke(main, ["--as", "amira", "users", "add", "zoe", "--role", "viewer"], input=secret + "\n")
    seen.append(added.output)
    seen.append(
        runner.invoke(main, ["--as", "amira", "users", "add", "zed", "--role", "viewer"], input="short\n").output
    )
    seen.append(log_in(client, "zoe", secret + "x").get_data(as_text=True))  # wrong
    response = log_in(client, "zoe", secret)
    seen += [response.get_data(as_text=True), str(response.headers)]
    admin = app.test_client()
    log_in(admin, "amira")
    page = admin.get("/admin/users").get_data(as_text=True)
    for data in (
        {"change": "add", "name": "yan", "role": "viewer", "password": secret},
        {"change": "password", "name": "zoe", "password": secret + "2"},
        {"change": "add", "name": "bad", "role": "viewer", "password": "tiny"},
    ):
        answer = admin.post("/admin/users", data={**data, "csrf_token": csrf_token(page)}, follow_redirects=True)
        seen += [answer.get_data(as_text=True), str(answer.headers)]
    seen.append(admin.get("/admin/users").get_data(as_text=True))
    with accounts.engine.connect() as conn:
        for table in ("users", "auth_log", "login_sessions", "api_tokens", "incident_history"):
            seen.append(repr(conn.exec_driver_sql(f"SELECT * FROM {table}").all()))
    seen.append(caplog.text)
    assert accounts.account("yan") is not None and accounts.account("bad") is None
    for text in seen:
        assert secret not in text and "tiny" not in text


def test_tokens_are_compared_in_constant_time(accounts, client, monkeypatch):
    compared = []
    original = hmac.compare_digest

    def compare_digest(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(hmac, "compare_digest", compare_digest)  # the module webmap.accounts and webmap.web.auth use
    token = token_of(accounts, "ana")
    assert client.get("/api/incidents?drafts=1", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert compared, "the personal token was not compared with hmac.compare_digest"
    compared.clear()
    assert client.post("/api/incidents", json=FORM, headers={"Authorization": "Bearer test-token"}).status_code == 201
    assert compared, "WEBMAP_TOKEN was not compared with hmac.compare_digest"
    # The stored form of a token is its digest, never the token.
    with accounts.engine.connect() as conn:
        assert token not in repr(conn.exec_driver_sql("SELECT * FROM api_tokens").all())


# -- the session and header rules of the hardening issue, for accounts --------------------------------------
def test_an_accounts_session_follows_the_hardening_rules(accounts, client):
    client.get("/login")
    planted = client.get_cookie("session")
    response = log_in(client, "rev1")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get_cookie("session").value != (planted.value if planted else None)  # a new session id
    copied = client.get_cookie("session").value
    page = client.get("/review").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(page)})
    client.set_cookie("session", copied)  # a copy of the cookie from before the logout
    assert who(client) == ""
    assert client.get("/review").status_code == 302
    log_in(client, "amira")
    for path in ("/review", "/admin/users", "/incidents/new", "/login"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert "<script>" not in response.get_data(as_text=True)  # no inline script without its nonce


def test_a_csrf_token_is_needed_for_an_accounts_form_and_api_call(accounts, client, store):
    log_in(client, "rev1")
    assert client.post("/incidents/new", data=FORM).status_code == 400
    assert client.post("/api/incidents", json=FORM).status_code == 400  # a login's page sends X-CSRFToken
    page = client.get("/incidents/new").get_data(as_text=True)
    sent = client.post("/api/incidents", json=FORM, headers={"X-CSRFToken": csrf_token(page)})
    assert sent.status_code == 201 and sent.get_json()["properties"]["created_by"] == "rev1"
