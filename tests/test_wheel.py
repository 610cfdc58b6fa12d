"""The wheel (issue 15, point 2 and its bad input): built from this checkout, installed into a fresh
venv outside it, and run the way a user runs it.

The venv sees the machine's site-packages (``--system-site-packages``), so the dependencies are not
downloaded again, but webmap itself comes from the wheel: every command runs from a temp folder with
no PYTHONPATH, and the first test proves which webmap it imports. A wheel missing a shipped file
(the last tests move one aside, then put it back) stops ``webmap`` with one line naming it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

import pytest
from helpers import free_port, get, stop, wait_until_up
from shapely.geometry import Point

from webmap import spatial

ROOT = Path(__file__).resolve().parent.parent
DATA = "webmap/_data"  # where the wheel carries the checkout's top-level data
pytestmark = pytest.mark.slow


def checkout_files(folder: Path) -> set[str]:
    """The files under ``folder`` (a path of this checkout), relative to ROOT, without bytecode."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A temp folder outside the checkout: the commands' working directory and their data home."""
    folder = tmp_path_factory.mktemp("wheel")
    assert not folder.is_relative_to(ROOT)
    return folder


@pytest.fixture(scope="module")
def wheel(outside) -> Path:
    """The wheel built from this checkout, without build isolation (hatchling comes with the test extra)."""
    dist = outside / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", dist, ROOT],
        cwd=outside,
        check=True,
    )
    (built,) = dist.glob("webmap-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(outside, wheel) -> Path:
    """A fresh venv with the wheel installed; returns its folder."""
    folder = outside / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", folder], check=True)
    pip = [folder / "bin" / "python", "-m", "pip", "install", "-q", "--no-index", "--no-deps", "--force-reinstall"]
    subprocess.run([*pip, wheel], cwd=outside, check=True)
    return folder


@pytest.fixture(scope="module")
def user_env(outside) -> dict:
    """The environment of a user of the installed wheel: no PYTHONPATH, data and caches in ``outside``."""
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH" and not key.startswith("WEBMAP_")}
    return {
        **env,
        "WEBMAP_DB": f"sqlite:///{outside / 'webmap.db'}",
        "XDG_DATA_HOME": str(outside / "data"),
        "XDG_CACHE_HOME": str(outside / "cache"),
    }


def site_packages(venv: Path) -> Path:
    return venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"


@contextlib.contextmanager
def moved_aside(venv: Path, shipped: str, folder: Path):
    """The installed copy of the shipped file ``shipped`` (relative to the data folder) moved away for a while;
    yields its path."""
    installed = site_packages(venv) / DATA / shipped
    aside = folder / "aside"
    shutil.move(installed, aside)
    try:
        yield installed
    finally:
        shutil.move(aside, installed)


def run_webmap(venv: Path, env: dict, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    """The venv's ``webmap`` command with ``args``; a server that should not have started fails the test."""
    return subprocess.run(
        [venv / "bin" / "webmap", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_the_wheel_holds_the_package_and_the_shipped_data_and_nothing_else(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    metadata = {name for name in names if re.match(r"webmap-[^/]+\.dist-info/", name)}
    shipped = {f"{DATA}/{name}" for name in checkout_files(ROOT / "geodata") | checkout_files(ROOT / "templates")} | {
        f"{DATA}/gazetteer.csv"
    }
    assert names - metadata == checkout_files(ROOT / "webmap") | shipped
    assert f"{DATA}/geodata/PROVENANCE.md" in names and "webmap/static/vendor/leaflet/leaflet.js" in names
    assert not [name for name in names if re.search(r"__pycache__|\.pyc$|_cache/|test-artifacts|^tests/", name)]


def test_the_venv_runs_the_webmap_of_the_wheel(venv, user_env, outside):
    script = "import webmap, webmap.config as c; print(webmap.__file__); print(c.SHIPPED_GAZETTEER)"
    result = subprocess.run(
        [venv / "bin" / "python", "-c", script], env=user_env, cwd=outside, capture_output=True, text=True, check=True
    )
    module, gazetteer = map(Path, result.stdout.split())
    assert module == site_packages(venv) / "webmap" / "__init__.py"
    assert gazetteer == site_packages(venv) / DATA / "gazetteer.csv"
    assert gazetteer.stat().st_size == (ROOT / "gazetteer.csv").stat().st_size


@pytest.mark.browser
def test_webmap_demo_serves_a_map_that_draws_the_demo_incidents(venv, user_env, outside, browser, artifacts):
    with (ROOT / "geodata" / "demo_incidents.csv").open(encoding="utf-8", newline="") as handle:
        demo_rows = sum(1 for _ in csv.DictReader(handle))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [venv / "bin" / "webmap", "demo", "--port", str(port)],
        env=user_env,
        cwd=outside,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until_up(process, port)
        status, _, body = get(base + "/")
        html = body.decode()
        assert status == 200 and "folium-map" in html
        referenced = set(re.findall(r'(?:src|href|data-chart-js)="(/(?:static|api)/[^"]+)"', html))
        assert "/api/points" in referenced and "/static/js/map.js" in referenced
        assert "/static/css/webmap.css" in referenced and "/static/vendor/leaflet/leaflet.js" in referenced
        for path in referenced:
            status, _, body = get(base + path)
            assert status == 200 and body, path
        with urllib.request.urlopen(base + "/api/incidents?limit=1", timeout=10) as response:
            assert json.load(response)["total"] == demo_rows

        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        requested, errors = [], []
        page.on("request", lambda request: requested.append(request.url))
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(base + "/")
        page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
        page.wait_for_function(f"() => webmap.current.engine.selectedTotal === {demo_rows}", timeout=30_000)
        page.screenshot(path=str(artifacts / "wheel-demo-map.png"))
        page.close()
        assert not errors
        assert not [url for url in requested if not url.startswith(base + "/")]
    finally:
        out, err = stop(process)
    assert f"{demo_rows} rows read" in out and f"serving the map at {base}/" in out
    assert "Traceback" not in err


def test_webmap_geocode_finds_kirkuk_in_iraq(venv, user_env, outside):
    result = run_webmap(venv, user_env, outside, "geocode", "Kirkuk", "--json")
    assert result.returncode == 0, result.stderr
    match = json.loads(result.stdout)["match"]
    assert match["name"] == "Kirkuk" and match["country_code"] == "IQ"
    iraq = spatial.load_layer("adm0").union_all()
    assert iraq.contains(Point(match["longitude"], match["latitude"]))


@pytest.mark.parametrize("shipped", ["gazetteer.csv", "geodata/adm2.geojson", "templates/map.html"])
@pytest.mark.parametrize("command", ["geocode Kirkuk --json", "demo --port {port}"], ids=["geocode", "demo"])
def test_an_install_missing_a_shipped_file_stops_with_one_line_naming_it(venv, user_env, outside, shipped, command):
    with moved_aside(venv, shipped, outside) as missing:
        result = run_webmap(venv, user_env, outside, *command.format(port=free_port()).split())
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"Error: {missing} is missing: this webmap installation is incomplete (reinstall webmap)"
    ]


def test_an_app_built_on_an_incomplete_install_is_refused(venv, user_env, outside):
    """A WSGI server calling ``create_app`` stops at once too, not on the first page that needs the template."""
    with moved_aside(venv, "templates/map.html", outside) as missing:
        result = subprocess.run(
            [venv / "bin" / "python", "-c", "import webmap; webmap.create_app()"],
            env=user_env,
            cwd=outside,
            capture_output=True,
            text=True,
        )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"webmap.errors.IncompleteInstall: {missing} is missing: this webmap installation is incomplete "
        "(reinstall webmap)"
    )
