"""Sessions, login throttling and the security headers (issue 18, item 7; "must be true" 6).

Through the doors a browser and a script use: the Flask test client, and a second ``webmap serve``
process on the same database for what must hold across server processes.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
import urllib.error
import urllib.request

import pytest
from helpers import FORM, csrf_token, webmap_running

from webmap import create_app
from webmap.web import auth


def make_app(database_url, tmp_path, **settings):
    config = {
        "database_url": database_url,
        "geodata_dir": tmp_path / "user-geodata",
        "token": "test-token",
        "secret_key": "test-secret",
        **settings,
    }
    app = create_app(config)
    app.config["TESTING"] = True
    return app


def close(app) -> None:
    state = app.extensions["webmap"]
    if state["store"] is not None:
        state["store"].dispose()


def log_in(client, token="test-token", *, address="127.0.0.1", headers=None):
    """Post the login form (with its CSRF token) as a browser at ``address``."""
    environ = {"REMOTE_ADDR": address}
    page = client.get("/login", environ_base=environ, headers=headers)
    return client.post(
        "/login",
        data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True)), "next": "/incidents/new"},
        environ_base=environ,
        headers=headers,
    )


def session_cookie(client) -> str:
    cookie = client.get_cookie("session")
    assert cookie is not None, "no session cookie was set"
    return cookie.value


def can_edit(client) -> bool:
    response = client.get("/incidents/new")
    assert response.status_code in (200, 302)
    return response.status_code == 200


def log_out(client) -> None:
    page = client.get("/incidents/new")
    assert client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))}).status_code == 302


# -- the cookie ---------------------------------------------------------------------------------------
def test_the_session_cookie_is_httponly_and_samesite_lax_and_not_secure_on_plain_http(client):
    response = log_in(client)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie


def test_behind_tls_the_cookie_is_secure_and_the_proxy_address_is_believed(database_url, tmp_path):
    app = make_app(database_url, tmp_path, behind_tls=True)
    client = app.test_client()
    response = log_in(client)
    assert "Secure" in response.headers["Set-Cookie"] and "SameSite=Lax" in response.headers["Set-Cookie"]
    # The proxy says who the client is: a locked-out address behind it does not lock out another.
    for _ in range(auth.ADDRESS_FAILURES):
        log_in(app.test_client(), "guess", headers={"X-Forwarded-For": "192.0.2.10"})
    assert log_in(app.test_client(), "guess", headers={"X-Forwarded-For": "192.0.2.10"}).status_code == 429
    assert log_in(app.test_client(), headers={"X-Forwarded-For": "192.0.2.11"}).status_code == 302
    close(app)


# -- logout and token changes end the session on the server ---------------------------------------------
def test_a_cookie_copied_before_logout_no_longer_logs_in(client):
    log_in(client)
    assert can_edit(client)
    copied = session_cookie(client)
    log_out(client)
    client.set_cookie("session", copied)  # the attacker's copy, still validly signed
    assert not can_edit(client)
    form = client.get("/login")
    refused = client.post("/api/incidents", json=FORM, headers={"X-CSRFToken": csrf_token(form.get_data(as_text=True))})
    assert refused.status_code == 401
    assert client.get("/api/incidents").get_json()["total"] == 0


def test_each_login_gets_a_new_session_id(client):
    client.get("/login")
    log_in(client)
    first = session_cookie(client)
    log_out(client)
    log_in(client)
    assert session_cookie(client) != first


def test_a_new_token_ends_every_login_made_with_the_old_one_for_good(database_url, tmp_path):
    old = make_app(database_url, tmp_path, token="old-token")
    client = old.test_client()
    log_in(client, "old-token")
    assert can_edit(client)
    cookie = session_cookie(client)
    renewed = make_app(database_url, tmp_path, token="new-token")
    other = renewed.test_client()
    other.set_cookie("session", cookie)
    assert not can_edit(other)
    # Even when the old token comes back, the logins made with it stay ended.
    back = make_app(database_url, tmp_path, token="old-token")
    again = back.test_client()
    again.set_cookie("session", cookie)
    assert not can_edit(again)
    for app in (old, renewed, back):
        close(app)


def test_a_logout_in_one_server_process_ends_the_login_in_another(database_url, tmp_path, client):
    """The live sessions are in the database: ``webmap serve`` in its own process sees the logout."""
    log_in(client)
    cookie = session_cookie(client)
    env = {
        **os.environ,
        "WEBMAP_DB": database_url,
        "WEBMAP_GEODATA": str(tmp_path / "user-geodata"),
        "WEBMAP_TOKEN": "test-token",
        "WEBMAP_SECRET_KEY": "test-secret",
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }
    opener = urllib.request.build_opener(NoRedirect)

    def status_there(server) -> int:
        request = urllib.request.Request(f"{server.url}/incidents/new", headers={"Cookie": f"session={cookie}"})
        try:
            with opener.open(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code

    with webmap_running("serve", env=env) as server:
        assert status_there(server) == 200  # the other process knows the login
        log_out(client)
        assert status_there(server) == 302  # and knows it ended
    assert "Traceback" not in server.err


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_a_login_ends_after_its_hours(client, monkeypatch):
    log_in(client)
    assert can_edit(client)
    later = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=auth.LOGIN_HOURS, minutes=1)
    monkeypatch.setattr(auth, "_now", lambda: later)
    assert not can_edit(client)


# -- throttling -----------------------------------------------------------------------------------------
def test_wrong_logins_from_one_address_are_throttled_with_a_clear_message(app):
    attacker = app.test_client()
    for _ in range(auth.ADDRESS_FAILURES):
        assert log_in(attacker, "guess").status_code == 401
    refused = log_in(attacker, "guess")
    assert refused.status_code == 429
    assert 0 < int(refused.headers["Retry-After"]) <= auth.FAILURE_WINDOW.total_seconds() + 1
    text = refused.get_data(as_text=True)
    assert "too many wrong passwords or tokens from your address: 5 in 15 minutes; try again in" in text
    # The right token from that address is refused too (guessing learns nothing) ...
    assert log_in(attacker).status_code == 429
    assert not can_edit(attacker)
    # ... and so is a guess as a bearer token, with the same message as JSON; nothing is written.
    bearer = attacker.post("/api/incidents", json=FORM, headers={"Authorization": "Bearer test-token"})
    assert bearer.status_code == 429 and "too many wrong passwords or tokens" in bearer.get_json()["error"]
    assert bearer.headers["Retry-After"]
    assert attacker.get("/api/incidents").get_json()["total"] == 0
    # Another address still logs in.
    analyst = app.test_client()
    assert log_in(analyst, address="198.51.100.7").status_code == 302


def test_wrong_bearer_tokens_count_as_failed_logins(client):
    for _ in range(auth.ADDRESS_FAILURES):
        wrong = client.post("/api/incidents", json=FORM, headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 401
    refused = client.post("/api/incidents", json=FORM, headers={"Authorization": "Bearer guess"})
    assert refused.status_code == 429
    assert "too many wrong passwords or tokens from your address" in refused.get_json()["error"]
    assert client.get("/api/incidents").get_json()["total"] == 0


def test_wrong_logins_from_many_addresses_lock_the_account(app):
    for n in range(auth.ACCOUNT_FAILURES):
        assert log_in(app.test_client(), "guess", address=f"203.0.113.{n + 1}").status_code == 401
    refused = log_in(app.test_client(), address="203.0.113.200")
    assert refused.status_code == 429
    assert "too many wrong passwords or tokens for this account: 30 in 15 minutes" in refused.get_data(as_text=True)


def test_the_lockout_ends_with_its_window(app, monkeypatch):
    monkeypatch.setattr(auth, "FAILURE_WINDOW", dt.timedelta(seconds=2))
    attacker = app.test_client()
    for _ in range(auth.ADDRESS_FAILURES):
        log_in(attacker, "guess")
    assert log_in(attacker).status_code == 429
    time.sleep(3)
    assert log_in(attacker).status_code == 302


# -- headers --------------------------------------------------------------------------------------------
PATHS = [
    "/",
    "/?district=Nowhere",  # the error page
    "/extract",
    "/login",
    "/incidents/new",  # a redirect to the login
    "/api/incidents?limit=1",
    "/api/points",
    "/api/layers/kri",
    "/export.csv",
    "/static/js/map.js",
    "/healthz",
    "/no-such-page",
    "/api/no-such-endpoint",
]


@pytest.mark.parametrize("path", PATHS)
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    assert policy["script-src"].startswith("'self'")
    assert "unsafe-inline" not in policy["script-src"] and "unsafe-eval" not in policy["script-src"]
    assert policy["frame-ancestors"] == "'none'"
    assert policy["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_the_map_page_runs_only_scripts_with_its_own_nonce(client):
    first, second = client.get("/"), client.get("/")
    nonces = []
    for response in (first, second):
        nonce = re.search(r"'nonce-([^']+)'", response.headers["Content-Security-Policy"]).group(1)
        html = response.get_data(as_text=True)
        inline = re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html)
        assert inline, "the map page has inline scripts (Folium's)"
        # Every inline script carries the nonce, except data blocks that never run.
        assert all(f'nonce="{nonce}"' in attrs or 'type="application/json"' in attrs for attrs in inline)
        assert " on" not in " ".join(re.findall(r"<[a-z][^>]*\son[a-z]+=", html))  # no inline handlers
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # one per response


def test_the_edit_form_has_no_inline_handler(client):
    created = client.post("/api/incidents", json=FORM, headers={"Authorization": "Bearer test-token"})
    incident_id = created.get_json()["id"]
    log_in(client)
    html = client.get(f"/incidents/{incident_id}/edit").get_data(as_text=True)
    assert re.search(r"<[a-z][^>]*\son[a-z]+=", html) is None
    assert f'data-confirm="Delete incident #{incident_id}?"' in html
