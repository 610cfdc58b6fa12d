"""Fixtures: an app on a fresh temporary database per test, its client, a CLI runner, a browser.

The database is a new SQLite file per test, or, when ``WEBMAP_TEST_POSTGRES`` holds the URL of a
PostgreSQL server with PostGIS (``.ci/run`` starts one), a new database created on it per test,
so the whole suite runs against both stores. Tests marked ``shared`` read the shared folder beside
the checkout (see ``helpers.SHARED``) and are skipped, with the reason, when it is absent.
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from helpers import ROOT, SHARED
from playwright import sync_api as playwright_api
from waitress import create_server

from webmap import create_app
from webmap.store import IncidentStore

ARTIFACTS = ROOT / "test-artifacts"
POSTGRES = os.environ.get("WEBMAP_TEST_POSTGRES")
# Debian's Chromium, never a downloaded browser; no background traffic to other hosts.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


@pytest.fixture
def database_url(tmp_path):
    """A SQLAlchemy URL of an empty database that lives as long as the test."""
    if not POSTGRES:
        yield f"sqlite:///{tmp_path / 'webmap.db'}"
        return
    name = f"webmap_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = sa.engine.make_url(POSTGRES).set(database=name)
    yield url.render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def store(database_url):
    """The incident store on the test's database."""
    s = IncidentStore(database_url)
    yield s
    s.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    """A webmap Flask app on the test's database, with a known write token."""
    app = create_app(
        {
            "database_url": database_url,
            "geodata_dir": tmp_path / "user-geodata",
            "token": "test-token",
            "secret_key": "test-secret",
        }
    )
    app.config["TESTING"] = True
    yield app
    state = app.extensions["webmap"]
    if state["store"] is not None:
        state["store"].dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def server(app):
    """The test's app (its own empty database, token "test-token") on 127.0.0.1; yields its base URL."""
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=httpd.run, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.effective_port}"
    httpd.close()


@pytest.fixture
def server_env(database_url, tmp_path):
    """The environment for ``webmap`` run as a command (``helpers.COMMAND``) on the test's database."""
    return {
        **os.environ,
        "WEBMAP_DB": database_url,
        "WEBMAP_GEODATA": str(tmp_path / "user-geodata"),
        "XDG_DATA_HOME": str(tmp_path / "xdg"),
    }


@pytest.fixture
def runner(database_url, tmp_path, monkeypatch):
    """A click runner whose commands use the test's database."""
    monkeypatch.setenv("WEBMAP_DB", database_url)
    monkeypatch.setenv("WEBMAP_GEODATA", str(tmp_path / "user-geodata"))
    return CliRunner()


def pytest_collection_modifyitems(items):
    """Skip the ``shared`` tests, saying why, when the shared folder is not beside the checkout."""
    if SHARED.is_dir():
        return
    skip = pytest.mark.skip(
        reason=f"needs {SHARED} (the real ACLED sample, the real article or the full UCDP extract, which the "
        "repository does not hold)"
    )
    for item in items:
        if "shared" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """A folder for screenshots and other test artifacts (kept after the run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium through Playwright, launched once per test module."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with playwright_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
