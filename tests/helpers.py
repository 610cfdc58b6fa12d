"""Paths and plain functions the test modules share (fixtures live in conftest.py).

Test data comes from ``tests/data/`` (built by ``scripts/build_test_data.py``, see its
PROVENANCE.md). The real ACLED sample, the real article and the full UCDP extract stay in the shared
folder beside the checkout (``../shared``); tests reading them carry the ``shared`` marker and are
skipped when that folder is absent.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import logging
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest

from webmap.cli import main
from webmap.io.importer import import_file
from webmap.roles import BOOTSTRAP
from webmap.store import Staging

ROOT = Path(__file__).resolve().parent.parent
TEST_DATA = ROOT / "tests" / "data"
# Real UCDP GED events in the HDX layout (header, HXL tag row, 45 columns).
GED = TEST_DATA / "ucdp_ged_irq_excerpt.csv"
# Real UCDP GED events written in ACLED's export layout (31 columns, YYYYMMDD dates, CRLF).
ACLED_LAYOUT = TEST_DATA / "ucdp_in_acled_layout.csv"
# The real COD-AB district layer, coverage-simplified, with COD-AB's own properties.
CODAB_DISTRICTS = TEST_DATA / "codab_adm2_districts.geojson"
CODAB_NAMES = TEST_DATA / "codab_names.csv"
WOF = TEST_DATA / "wof_iq_gazetteer_excerpt.csv"

SHARED = (ROOT.parent / "shared").resolve()
SHARED_ACLED = SHARED / "data" / "acled-irq" / "ACLED_Iraq_2019-03_sample.csv"
SHARED_GED = SHARED / "data" / "ucdp-ged-irq" / "conflict_data_irq.csv"
ARTICLE = SHARED / "fixtures" / "kurdistan24_isis_attack_kirkuk.txt"

# nrttv.com/En/News.aspx?id=23442&MapID=2 (three paragraphs of the report, quoted)
NRT_REPORT = (
    "SULAIMANI — Two Iraqi soldiers were killed in an Islamic State (ISIS) attack on a security post on the "
    "outskirts of al-Miqdadiyah district in northwest Diyala governorate on Monday night (August 24), "
    "according to a security source.\n\n"
    "On Monday night, Iraq’s Security Media Cell said that ISIS militants attacked a Federal Police "
    "detachment on the Kirkuk-Daquq road, which left four policemen dead and four others wounded.\n\n"
    "Meanwhile, the former head of Qara Tapa Municipal Council told NRT Digital Media that two cars of ISIS "
    "militants raided the sub-district’s Safsaf village, wounding a resident and abducting three others."
)
# noticiasaominuto.com/mundo/1915808/onze-militares-iraquianos-mortos-em-ataque-atribudo-ao-estado-islmico
PORTUGUESE = (
    '"Onze soldados, entre os quais um tenente, foram mortos num ataque coordenado por membros do Estado '
    'Islâmico (...) que teve como objetivo uma unidade do Exército", disse sob anonimato um alto '
    "responsável militar iraquiano em Diyala."
)

# The write token of the test app (conftest's ``app``), as a request header.
AUTH = {"Authorization": "Bearer test-token"}
# ``webmap`` as a command in a fresh interpreter (for ``webmap serve`` run as users run it).
COMMAND = [sys.executable, "-c", "from webmap.cli import main; main()"]

# A real UCDP GED event (id 244637): Iraqi forces against IS near Kirkuk, 5 January 2017, as a
# JSON body of the API ...
UCDP_244637 = {
    "source": "UCDP GED test copy",
    "source_id": "244637",
    "event_date": "2017-01-05",
    "latitude": 35.468056,
    "longitude": 44.392222,
    "event_type": "Battles",
    "actor1": "Government of Iraq",
    "actor2": "IS",
    "fatalities": 1,
    "geo_precision": 1,
    "location": "Kirkuk city",
}
# ... and as the incident form posts it.
FORM = {
    "event_date": "2017-01-05",
    "time_precision": "1",
    "event_type": "Battles",
    "sub_event_type": "Armed clash",
    "actor1": "Government of Iraq",
    "actor2": "IS",
    "location": "Kirkuk city",
    "latitude": "35.468056",
    "longitude": "44.392222",
    "geo_precision": "1",
    "fatalities": "1",
    "source": "UCDP GED test copy",
    "status": "reviewed",
}


def csv_rows(path: Path) -> list[list[str]]:
    """Every row of a UTF-8 CSV (header first), as lists of strings."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return list(csv.reader(fh))


def write_rows(path: Path, rows, *, delimiter=",", encoding="utf-8") -> Path:
    """Write ``rows`` as CSV with CRLF line ends (as spreadsheets save them); returns ``path``."""
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def import_(runner, *args):
    """``webmap import ARGS...`` through the click runner."""
    return runner.invoke(main, ["import", *map(str, args)])


def assert_refused(result, *fragments) -> str:
    """Assert a command ended with exit code 2 and one clear error holding every fragment; the message."""
    assert result.exit_code == 2, result.output
    message = result.stderr
    assert message.startswith("Error: ")
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in message, message
    return message


def run_webmap(args, folder, *, database=None, stdin=None, memory=2_000_000_000, timeout=60):
    """``webmap ARGS`` in a fresh interpreter run in ``folder`` (``WEBMAP_DB``: ``database``, else a
    SQLite file there), with at most ``memory`` bytes of address space, so a reader without limits
    fails there (MemoryError, killed) instead of taking the test run with it."""

    def cap_memory():
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {**os.environ, "WEBMAP_DB": database or f"sqlite:///{folder / 'webmap.db'}", "HOME": str(folder)}
    env["WEBMAP_GEODATA"] = str(folder / "user-geodata")
    try:
        return subprocess.run(
            [sys.executable, "-m", "webmap.cli", *map(str, args)],
            cwd=folder,
            env=env,
            input=stdin,
            capture_output=True,
            timeout=timeout,
            preexec_fn=cap_memory,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"webmap {' '.join(map(str, args))} still ran after {timeout} s")


def one_line_exit_2(result, *fragments) -> str:
    """Assert a :func:`run_webmap` ended with exit code 2 and one line of error holding every fragment; the line."""
    stderr = result.stderr.decode()
    assert result.returncode == 2, (result.returncode, stderr[-2000:])
    assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr, stderr[-2000:]
    for fragment in fragments:
        assert fragment in stderr, stderr
    return stderr


def csrf_token(html: str) -> str:
    """The CSRF token of the first form in ``html``."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the form carries no CSRF token"
    return found.group(1)


def log_in(client, token="test-token"):
    """Log ``client`` in through the login form; the response."""
    page = client.get("/login")
    return client.post(
        "/login", data={"token": token, "csrf_token": csrf_token(page.get_data(as_text=True)), "next": "/incidents/new"}
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None):
    """GET ``url``: (status, headers (names in any case, as HTTP has them), body)."""
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.headers, response.read()


def wait_until_up(process, port: int, timeout: float = 60) -> None:
    """Wait until the server ``process`` answers /healthz on ``port``; fail the test if it stops or is late."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the server stopped: {out.decode()} {err.decode()}")
        try:
            get(f"http://127.0.0.1:{port}/healthz")
            return
        except (urllib.error.URLError, ConnectionError, TimeoutError):  # still starting, or busy loading
            time.sleep(0.2)
    pytest.fail("the server did not answer in time")


@dataclasses.dataclass
class Running:
    """A ``webmap`` process serving on ``port`` (``url``); ``out`` and ``err`` once it has stopped."""

    port: int
    url: str
    out: str = ""
    err: str = ""


@contextlib.contextmanager
def webmap_running(*args, env: dict, timeout: float = 60, command=COMMAND, cwd=None):
    """``webmap ARGS --port P`` (``command``: how webmap is run) in its own process on a free port, up
    (answering /healthz within ``timeout`` s) for the block, then stopped as Ctrl-C does; yields its
    :class:`Running`, whose ``out``/``err`` are filled when the block ends."""
    port = free_port()
    process = subprocess.Popen(
        [*map(str, command), *map(str, args), "--port", str(port)],
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    running = Running(port, f"http://127.0.0.1:{port}")
    try:
        wait_until_up(process, port, timeout)
        yield running
    finally:
        running.out, running.err = stop(process)


def stop(process) -> tuple[str, str]:
    """Stop the server ``process`` as Ctrl-C does (killed if it lingers); its stdout and stderr."""
    process.send_signal(signal.SIGINT)
    try:
        out, err = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
    return out.decode(), err.decode()


# -- the map in Chromium -------------------------------------------------------------------------------
@contextlib.contextmanager
def serve_demo(folder: Path, token: str, **config):
    """The app on 127.0.0.1 (a free port, 4 waitress threads) over the demo incidents in a SQLite file
    of ``folder``, with ``config`` overriding settings; yields its base URL."""
    from waitress import create_server

    from webmap import create_app
    from webmap.io.demo import load_demo
    from webmap.store import IncidentStore

    url = f"sqlite:///{folder / 'webmap.db'}"
    store = IncidentStore(url)
    assert load_demo(store, by=BOOTSTRAP, geodata_dir=folder / "geodata").inserted == 1783
    store.dispose()
    app = create_app(
        {"database_url": url, "geodata_dir": folder / "geodata", "token": token, "secret_key": "k", **config}
    )
    # a page's burst of tile requests queues behind 4 threads by design; waitress warns of each
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    httpd = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=httpd.run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.effective_port}"
    finally:
        httpd.close()
        state = app.extensions["webmap"]
        if state["store"] is not None:
            state["store"].dispose()


@contextlib.contextmanager
def watched_page(browser, server: str, height: int = 1000):
    """A fresh page 1400 px wide and ``height`` high; every URL it requests is kept in
    ``page.requested``, and none may leave ``server``; no JavaScript error may happen."""
    context = browser.new_context(viewport={"width": 1400, "height": height}, accept_downloads=True)
    tab = context.new_page()
    tab.requested = []
    tab.on("request", lambda request: tab.requested.append(request.url))
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield tab
    finally:
        context.close()
    outside = [u for u in tab.requested if not u.startswith(server + "/")]
    assert not outside, f"requests left 127.0.0.1: {outside}"
    assert not errors, f"JavaScript errors: {errors}"


def open_map(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)


def shown(page) -> dict:
    """What the page shows: the map's own account, "This view", the table's total, the URL's state."""
    return page.evaluate(
        """() => { const e = webmap.current.engine;
                   return {selected: e.selectedTotal, inExtent: e.inExtent, loaded: e.data.n, counts: e.forceCounts,
                           forces: e.forces.map(f => f.key), thisView: document.getElementById('wm-total').textContent,
                           query: webmap.view.query()}; }"""
    )


def api(page, server, path: str) -> dict:
    return page.request.get(server + path).json()


def settled(page) -> None:
    """Wait until the map has its counts of the view and the table shows that view (it reloads 200 ms
    after the map moves)."""
    page.wait_for_function(
        """() => { const e = webmap.current.engine, table = document.getElementById('wm-page').dataset,
                         total = document.getElementById('wm-total').textContent;
                   return e.pending === 0 && table.view === webmap.view.query()
                          && table.total === String(e.inExtent) && total === webmap.formatNumber(e.selectedTotal); }""",
        timeout=15_000,
    )


def assert_counts_agree(page, server) -> dict:
    """The three counts of the page and the API's, for the view in the URL."""
    settled(page)
    state = shown(page)
    query = state["query"]
    in_url = parse_qs(urlsplit(page.url).query)
    for name in ("force", "window"):  # the ticks and the window are in the URL, as the page applies them
        assert in_url.get(name) == parse_qs(query).get(name), name
    total = api(page, server, "/api/incidents?limit=1" + ("&" + query if query else ""))["total"]
    assert state["selected"] == total, state
    assert state["thisView"] == f"{total:,}"
    bbox = page.evaluate(
        "() => { const b = webmap.current.map.getBounds(); "
        "return [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(v => v.toFixed(5)).join(','); }"
    )
    in_extent = api(page, server, f"/api/incidents?limit=1&bbox={bbox}" + ("&" + query if query else ""))["total"]
    assert state["inExtent"] == in_extent == int(page.get_attribute("#wm-page", "data-total"))
    return state


# -- a small PMTiles base map, made from the shipped layers -------------------------------------------
KIRKUK_AREA = (43.0, 34.3, 46.2, 36.6)  # west, south, east, north: Kirkuk governorate and its neighbours


def write_vector_pmtiles(path: Path, zooms=range(4, 9), area=KIRKUK_AREA) -> Path:
    """Write a vector PMTiles base map of ``area`` at ``zooms`` to ``path``, in the layers of the
    Protomaps basemap that protomaps-leaflet draws: ``earth`` (the country outline of
    ``geodata/iraq.geojson``), ``water`` (``geodata/lakes.geojson``), ``boundaries`` (the
    governorates' edges) and ``places`` (the cities of ``geodata/basemap_places.csv``). Tiles are
    Mapbox Vector Tiles (mapbox-vector-tile), gzipped, written with the pmtiles package."""
    import gzip

    import geopandas as gpd
    import mapbox_vector_tile
    import shapely
    from pmtiles.tile import Compression, TileType, zxy_to_tileid
    from pmtiles.writer import Writer
    from shapely.affinity import affine_transform

    from webmap import mapview, spatial

    def mercator(frame):
        return frame.set_crs("EPSG:4326", allow_override=True).to_crs("EPSG:3857").geometry.values

    earth = mercator(spatial.load_layer("adm0"))
    water = mercator(gpd.read_file(ROOT / "geodata" / "lakes.geojson"))
    adm1 = spatial.load_layer("adm1")
    edges = mercator(gpd.GeoDataFrame(geometry=[shapely.boundary(shapely.union_all(adm1.geometry.values))]))
    with (ROOT / "geodata" / "basemap_places.csv").open(encoding="utf-8") as f:
        cities = [r for r in csv.DictReader(f) if r["kind"] in ("city", "seat")]
    points = mercator(
        gpd.GeoDataFrame(geometry=shapely.points([(float(r["longitude"]), float(r["latitude"])) for r in cities]))
    )
    layers = (
        ("earth", earth, [{"kind": "earth"}] * len(earth)),
        ("water", water, [{"kind": "water"}] * len(water)),
        ("boundaries", edges, [{"kind": "region", "kind_detail": 4}]),
        (
            "places",
            points,
            [{"kind": "locality", "name": r["name"], "min_zoom": 4, "population_rank": 12} for r in cities],
        ),
    )
    tiles = {}
    for z in zooms:
        west, south, east, north = area
        (x0, x1), (y1, y0) = mapview._tile_of(z, np.array([west, east]), np.array([south, north]))
        for x in range(int(x0), int(x1) + 1):
            for y in range(int(y0), int(y1) + 1):
                bounds = mercator(gpd.GeoDataFrame(geometry=[shapely.box(*mapview.tile_bounds(z, x, y))]))[0].bounds
                clip = shapely.box(*bounds).buffer((bounds[2] - bounds[0]) / 64, join_style="mitre")
                # In the tile's own grid (0..4096, y down), as the encoder stores it.
                minx, miny, maxx, maxy = bounds
                sx, sy = 4096 / (maxx - minx), -4096 / (maxy - miny)
                to_grid = [sx, 0, 0, sy, -sx * minx, -sy * maxy]
                encoded = []
                for name, geometries, properties in layers:
                    features = [
                        {"geometry": affine_transform(part, to_grid), "properties": props}
                        for geometry, props in zip(geometries, properties, strict=True)
                        if not (part := shapely.intersection(geometry, clip)).is_empty
                    ]
                    if features:
                        encoded.append({"name": name, "features": features})
                data = mapbox_vector_tile.encode(encoded, default_options={"y_coord_down": True, "extents": 4096})
                tiles[zxy_to_tileid(z, x, y)] = gzip.compress(data, mtime=0)
    west, south, east, north = area
    with path.open("wb") as f:
        writer = Writer(f)
        for tile_id in sorted(tiles):
            writer.write_tile(tile_id, tiles[tile_id])
        writer.finalize(
            {
                "tile_type": TileType.MVT,
                "tile_compression": Compression.GZIP,
                "min_lon_e7": int(west * 1e7),
                "min_lat_e7": int(south * 1e7),
                "max_lon_e7": int(east * 1e7),
                "max_lat_e7": int(north * 1e7),
                "center_zoom": min(zooms),
                "center_lon_e7": int((west + east) / 2 * 1e7),
                "center_lat_e7": int((south + north) / 2 * 1e7),
            },
            {
                "attribution": "OCHA COD-AB <b>test</b>",
                "vector_layers": [{"id": name, "fields": {}} for name, _, _ in layers],
            },
        )
    return path


@contextlib.contextmanager
def import_paused_after_first_batch(store, monkeypatch, path=GED, fmt="ucdp"):
    """``webmap import`` of ``path`` in a thread, held after its first batch is staged for the
    block (on PostgreSQL its rows are then in the table, uncommitted); yields a dict that holds the
    import's ``summary`` once the block has let it finish."""
    staged_once, go_on = threading.Event(), threading.Event()
    add = Staging.add

    def add_then_pause(self, batch):
        add(self, batch)
        staged_once.set()
        go_on.wait(60)

    monkeypatch.setattr(Staging, "add", add_then_pause)
    done: dict = {}
    importer = threading.Thread(
        target=lambda: done.update(summary=import_file(store, path, fmt, progress=False, by=BOOTSTRAP))
    )
    importer.start()
    try:
        assert staged_once.wait(120)
        yield done
    finally:
        go_on.set()
        importer.join(timeout=300)
