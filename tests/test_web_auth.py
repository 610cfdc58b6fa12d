"""Who may read and write (issue 8, item 6): the token, the login session, CSRF, private mode."""

from __future__ import annotations

import pytest
from helpers import FORM, csrf_token, log_in

from webmap import create_app


def test_the_form_needs_a_login(client):
    response = client.get("/incidents/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/incidents/new")


def test_login_with_the_token_then_add_an_incident(client):
    wrong = log_in(client, "guess")
    assert wrong.status_code == 401 and "wrong token" in wrong.get_data(as_text=True)
    ok = log_in(client)
    assert ok.status_code == 302 and ok.headers["Location"] == "/incidents/new"
    form = client.get("/incidents/new")
    assert form.status_code == 200
    saved = client.post("/incidents/new", data={**FORM, "csrf_token": csrf_token(form.get_data(as_text=True))})
    assert saved.status_code == 302
    listed = client.get("/api/incidents").get_json()
    assert listed["total"] == 1
    assert listed["features"][0]["properties"]["admin2"] == "Kirkuk"


def test_a_form_without_its_csrf_token_is_refused(client):
    log_in(client)
    response = client.post("/incidents/new", data=FORM)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The form has expired or was not sent from this site (The CSRF token is missing.)" in html
    assert client.get("/api/incidents").get_json()["total"] == 0


def test_the_login_form_itself_needs_csrf(client):
    response = client.post("/login", data={"token": "test-token"})
    assert response.status_code == 400


def test_a_logged_in_page_may_call_the_api_with_its_csrf_header(client):
    log_in(client)
    token = csrf_token(client.get("/incidents/new").get_data(as_text=True))
    body = {k: v for k, v in FORM.items()}
    assert client.post("/api/incidents", json=body).status_code == 400  # session alone: CSRF check fails
    created = client.post("/api/incidents", json=body, headers={"X-CSRFToken": token})
    assert created.status_code == 201


def test_logout_ends_the_session(client):
    log_in(client)
    page = client.get("/incidents/new")
    client.post("/logout", data={"csrf_token": csrf_token(page.get_data(as_text=True))})
    assert client.get("/incidents/new").status_code == 302


@pytest.mark.parametrize("target", ["//evil.example/", "https://evil.example/", "javascript:alert(1)"])
def test_login_never_redirects_off_site(client, target):
    page = client.get("/login")
    response = client.post(
        "/login", data={"token": "test-token", "next": target, "csrf_token": csrf_token(page.get_data(as_text=True))}
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_without_a_server_token_nobody_writes(database_url, tmp_path):
    app = create_app({"database_url": database_url, "geodata_dir": tmp_path, "token": None, "secret_key": "k"})
    client = app.test_client()
    response = client.post("/api/incidents", json=FORM, headers={"Authorization": "Bearer anything"})
    assert response.status_code == 401
    assert "WEBMAP_TOKEN" in response.get_json()["error"]
    login = client.get("/login").get_data(as_text=True)
    assert "Writes are disabled" in login
    if app.extensions["webmap"]["store"] is not None:
        app.extensions["webmap"]["store"].dispose()


@pytest.fixture
def private_client(database_url, tmp_path):
    app = create_app(
        {
            "database_url": database_url,
            "geodata_dir": tmp_path,
            "token": "test-token",
            "secret_key": "k",
            "private": True,
        }
    )
    yield app.test_client()
    if app.extensions["webmap"]["store"] is not None:
        app.extensions["webmap"]["store"].dispose()


@pytest.mark.parametrize(
    "path", ["/api/incidents", "/api/points", "/api/districts", "/api/timeline", "/export.geojson", "/export.csv"]
)
def test_private_reads_need_the_token(private_client, path):
    response = private_client.get(path)
    assert response.status_code == 401
    assert "WEBMAP_PRIVATE" in response.get_json()["error"]
    assert private_client.get(path, headers={"Authorization": "Bearer test-token"}).status_code == 200


def test_private_pages_send_to_login_and_health_stays_open(private_client):
    page = private_client.get("/?district=Kirkuk")
    assert page.status_code == 302 and page.headers["Location"] == "/login?next=/?district%3DKirkuk"
    assert private_client.get("/healthz").get_json() == {"status": "ok"}
    assert private_client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    log_in(private_client)
    assert private_client.get("/").status_code == 200
    assert private_client.get("/api/incidents").status_code == 200
