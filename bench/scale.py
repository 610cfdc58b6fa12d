"""How the map scales from 100,000 to 1,000,000 incidents (issue 16): import, first picture, bytes,
zoom/pan, a filter change and every summary endpoint, cold and warm, with the ratio 1M/100k.

Usage::

    python bench/scale.py                              # 100k and 1M on SQLite
    python bench/scale.py --sizes 100000 --runs 1
    python bench/scale.py --postgres --sizes 1000000 10000000   # PostGIS on a throwaway cluster
    python bench/scale.py --postgres postgresql+psycopg://user@host/db

The incidents are real points resampled: the geocausal Iraq events of 2006-2008 in
``../shared/data/geocausal-iraq-events`` (112k insurgent attacks, airstrikes and raids), drawn with
replacement and moved by a Gaussian jitter of 0.005 degrees (about 500 m; a point the jitter takes
out of Iraq keeps its own place), with their real dates; insurgent attacks have the unidentified
armed group as actor 1 and the coalition as actor 2, airstrikes and raids the other way round. They
are written to a CSV (``source_id`` 1..N) and loaded the way a user does.

Each size runs in a fresh database, through the real doors:

- ``import``: ``webmap import FILE`` in its own process into the empty database (wall time, start-up
  included), as rows per second;
- ``webmap serve`` (waitress, 8 threads) in its own process, which builds the map's index of every
  incident as it starts: ``start to summary`` is the process's start to its first ``/api/summary``
  answer (``first summary``: that answer alone);
- each summary endpoint, ``cold`` (the first request for a filter nobody asked for before, the
  index built) and ``warm`` (the same request again, without ``If-None-Match``): the map's counts
  ``/api/summary``, the chart's ``/api/timeline``, the shading's ``/api/districts``, the table's
  ``/api/incidents`` and one ``/api/tiles`` tile;
- in headless Debian Chromium with a cold cache at 1400x900: ``first picture`` (navigation start to
  the last of: the page's drawn mark, the end of its last long task, the end of its last tile
  response), ``MB`` (what crossed the wire, gzip counted, until the page was quiet), ``zoom/pan``
  (six view changes without animation, median and worst: ``drawn`` is the change until two
  animation frames later, as ``bench/web.py`` measures it; ``complete`` until the tiles and counts
  it asked for are in and drawn), ``filter change`` (the "only" button of the coalition in the
  forces panel until the map, its counts and the table show the new view), and ``cold link``
  (first picture of a shared link to a view no one asked for before, ``/?event_type=Battles``);
- a write: a delete through the JSON API, until ``/api/summary`` counts one incident fewer, at the
  server that wrote (``write seen here``) and at a second ``webmap serve`` on the same database
  (``write seen elsewhere``, asked every 20 ms; issue 16 asks for 2 s); then, in this process, the
  map's index read whole (``index whole``, the plain way) against the same index brought up to date
  after one more write (``index up to date``), and their ratio.

Each browser figure is the median of ``--runs`` runs. With ``--postgres URL`` the databases are
created on that server (and dropped after), with ``--postgres`` alone on a throwaway cluster
(``bench/store.py``'s); the import goal there is 30k rows/s.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import shape

from webmap.mapindex import MapIndex
from webmap.query import data_version
from webmap.roles import BOOTSTRAP
from webmap.store import IncidentStore

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from store import fresh_database, throwaway_postgres  # noqa: E402  (bench/store.py)
from web import CHROMIUM_ARGS, VIEW, VIEW_STEPS  # noqa: E402  (bench/web.py: the same browser and moves)

GEOCAUSAL = ROOT.parent / "shared" / "data" / "geocausal-iraq-events"
JITTER_DEG = 0.005
UNIDENTIFIED, COALITION = "Unidentified Armed Group (Iraq)", "Global Coalition"
# geocausal's event types -> (ACLED event type, sub-event type, actor 1, actor 2).
TYPES = {
    "IED": ("Explosions/Remote violence", "Remote explosive/landmine/IED", UNIDENTIFIED, COALITION),
    "SAF": ("Battles", "Armed clash", UNIDENTIFIED, COALITION),
    "other": ("Battles", "Armed clash", UNIDENTIFIED, COALITION),
    "Airstrike": ("Explosions/Remote violence", "Air/drone strike", COALITION, UNIDENTIFIED),
    "SOF": ("Battles", "Armed clash", COALITION, UNIDENTIFIED),
}
COMMAND = [sys.executable, "-c", "from webmap.cli import main; main()"]
BAGHDAD_BBOX = "44.0,33.0,44.8,33.6"
# Each endpoint's cold request uses a filter no earlier request used.
ENDPOINTS = (
    ("summary", f"/api/summary?bbox={BAGHDAD_BBOX}", "force=coalition"),
    ("timeline", "/api/timeline?period=month", "force=unidentified"),
    ("districts", "/api/districts", "event_type=Battles"),
    ("table", f"/api/incidents?limit=50&sort=-event_date&bbox={BAGHDAD_BBOX}", "from=2007-01-01"),
    ("tile", "/api/tiles/7/79/50", "from=2006-06-01"),
)
GOALS = {
    "import rows/s": "≥ 20,000 (SQLite), ≥ 30,000 (PostGIS)",
    "first picture ms": "≤ 1,500 and ≤ 1.3x 100k",
    "MB": "≤ 1.5",
    "zoom/pan drawn ms": "≤ 100",
    "filter change ms": "≤ 1,000",
    "write seen elsewhere ms": "≤ 2,000",
    "cold": "≤ 300 ms",
}
# Counts fetches in flight and long tasks, before any script of the page runs.
WATCH = """
window.__inflight = 0;
window.__longtaskEnd = 0;
const plainFetch = window.fetch;
window.fetch = function () {
  window.__inflight++;
  return plainFetch.apply(this, arguments).finally(() => { window.__inflight--; });
};
new PerformanceObserver(list => {
  for (const e of list.getEntries()) window.__longtaskEnd = Math.max(window.__longtaskEnd, e.startTime + e.duration);
}).observe({ type: "longtask", buffered: true });
"""
SETTLED = """
() => { const e = window.webmap && webmap.current && webmap.current.engine, table = document.getElementById('wm-page');
        return e && window.__inflight === 0 && e.pending === 0 && table && table.dataset.view === webmap.view.query(); }
"""
FIRST_PICTURE = """
() => {
  const drawn = performance.getEntriesByName("webmap-drawn")[0].startTime;
  const tiles = performance.getEntriesByType("resource").filter(r => r.name.includes("/api/tiles/"));
  return Math.max(drawn, window.__longtaskEnd, ...tiles.map(r => r.responseEnd));
}
"""
VIEW_CHANGES = """
async () => {
  const map = webmap.current.map;
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const complete = async () => {
    await frames();
    while (window.__inflight > 0 || webmap.current.engine.pending > 0) await new Promise(r => setTimeout(r, 5));
    await frames();
  };
  const drawn = [], done = [];
  for (const step of VIEW_STEPS) {
    await complete();
    const t0 = performance.now();
    step();
    await frames();
    drawn.push(performance.now() - t0);
    await complete();
    done.push(performance.now() - t0);
  }
  return { drawn, done };
}
""".replace("VIEW_STEPS", VIEW_STEPS)


def build_csv(rows: int, folder: Path) -> Path:
    """``rows`` resampled geocausal events as the generic CSV (see the module docstring)."""
    events = pd.concat([pd.read_csv(f) for f in sorted(GEOCAUSAL.glob("*.csv"))], ignore_index=True)
    rng = np.random.default_rng(0)
    picked = events.iloc[rng.integers(0, len(events), rows)].reset_index(drop=True)
    lon = picked["longitude"].to_numpy() + rng.normal(0.0, JITTER_DEG, rows)
    lat = picked["latitude"].to_numpy() + rng.normal(0.0, JITTER_DEG, rows)
    iraq = json.loads((ROOT / "geodata" / "iraq.geojson").read_text(encoding="utf-8"))
    border = shapely.union_all([shape(f["geometry"]) for f in iraq["features"]])
    inside = shapely.contains_xy(border, lon, lat)
    kinds = picked["type"].map(TYPES)
    frame = pd.DataFrame(
        {
            "source": "geocausal resampled",
            "source_id": np.arange(1, rows + 1),
            "event_date": picked["date"],
            "event_type": kinds.str[0],
            "sub_event_type": kinds.str[1],
            "actor1": kinds.str[2],
            "actor2": kinds.str[3],
            "latitude": np.where(inside, lat, picked["latitude"]).round(5),
            "longitude": np.where(inside, lon, picked["longitude"]).round(5),
            "geo_precision": 1,
            "fatalities": 0,
        }
    )
    path = folder / f"incidents_{rows}.csv"
    frame.to_csv(path, index=False)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def database(postgres: str | None, folder: Path, rows: int):
    """A new empty database URL: a SQLite file in ``folder``, or a database on the ``postgres`` server."""
    if not postgres:
        yield f"sqlite:///{folder / f'scale_{rows}.db'}"
        return
    with fresh_database(postgres) as url:
        yield url


def timed_get(url: str) -> tuple[float, bytes]:
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        body = response.read()
    return (time.perf_counter() - t0) * 1000, body


@contextmanager
def server(env: dict):
    """``webmap serve`` on a free port; yields its base URL and when the process was started."""
    started = time.perf_counter()
    port = free_port()
    # A file, not a pipe nobody reads: waitress warns of every queued burst of tile requests, and a
    # full pipe would stop the server mid-run.
    errors = tempfile.TemporaryFile()
    process = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), "--threads", "8"], env=env, stdout=subprocess.DEVNULL, stderr=errors
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while True:
            if process.poll() is not None:
                errors.seek(0)
                raise SystemExit(f"webmap serve stopped: {errors.read().decode()[-2000:]}")
            try:
                timed_get(base + "/healthz")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("webmap serve did not answer in 300 s") from None
                time.sleep(0.2)
        yield base, started
    finally:
        process.terminate()
        process.wait(timeout=60)
        errors.close()


def endpoint_figures(base: str, started: float) -> dict[str, float]:
    first = timed_get(base + "/api/summary")[0]
    figures = {"start to summary s": time.perf_counter() - started, "first summary ms": first}
    for name, path, cold_filter in ENDPOINTS:
        url = f"{base}{path}{'&' if '?' in path else '?'}{cold_filter}"
        figures[f"{name} cold ms"] = timed_get(url)[0]
        figures[f"{name} warm ms"] = min(timed_get(url)[0] for _ in range(3))
    return figures


def write_figures(base: str, other: str, token: str, incident_id: int) -> dict[str, float]:
    """A delete through ``base`` (the JSON API), then until ``/api/summary`` counts one incident
    fewer: at ``base`` (the writer's own next read) and at ``other`` (another server on the same
    database, asked every 20 ms)."""

    def total(at: str) -> int:
        return json.loads(timed_get(at + "/api/summary")[1])["total"]

    before = total(other)
    assert total(base) == before
    request = urllib.request.Request(
        f"{base}/api/incidents/{incident_id}",
        data=json.dumps({"reason": "bench: a write seen by every server"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="DELETE",
    )
    t0 = time.perf_counter()
    urllib.request.urlopen(request, timeout=600).close()
    if total(base) != before - 1:
        raise SystemExit("the writer's own server does not show its delete")
    here = time.perf_counter() - t0
    while total(other) != before - 1:
        if time.perf_counter() - t0 > 600:
            raise SystemExit("the other server did not show the delete in 600 s")
        time.sleep(0.02)
    return {"write seen here ms": here * 1000, "write seen elsewhere ms": (time.perf_counter() - t0) * 1000}


def refresh_figures(url: str) -> dict[str, float]:
    """The index read whole (the plain way) against the same index brought up to date after one
    write (a restore of incident 1, deleted by :func:`write_figures`), in this process."""
    store = IncidentStore(url)
    try:
        t0 = time.perf_counter()
        index = MapIndex.build(store)
        whole = time.perf_counter() - t0
        store.restore(1, by=BOOTSTRAP, reason="bench: the index brought up to date")
        t0 = time.perf_counter()
        refreshed = index.refreshed(store)
        up_to_date = time.perf_counter() - t0
        if refreshed.version != data_version(store) or refreshed.n != index.n:
            raise SystemExit("the index brought up to date is not at the store's version")
    finally:
        store.dispose()
    return {
        "index whole ms": whole * 1000,
        "index up to date ms": up_to_date * 1000,
        "whole/up to date": whole / up_to_date,
    }


def page_figures(browser, base: str) -> dict[str, float]:
    """One cold visit: first picture, bytes, zoom/pan, a filter change; then a cold shared link."""
    context = browser.new_context(viewport=VIEW)
    context.add_init_script(WATCH)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received: dict[str, int] = {}
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], e["encodedDataLength"]))
    page.goto(base + "/", wait_until="commit", timeout=600_000)
    page.wait_for_function("() => window.webmap && webmap.ready", timeout=600_000)
    page.evaluate("() => webmap.ready.then(() => true)")
    page.wait_for_function(SETTLED, timeout=600_000, polling=20)
    page.wait_for_timeout(1000)  # quiet: anything late would still count
    figures = {"first picture ms": page.evaluate(FIRST_PICTURE), "MB": sum(received.values()) / 1e6}
    changes = page.evaluate(VIEW_CHANGES)
    figures["zoom/pan drawn ms"] = statistics.median(changes["drawn"])
    figures["zoom/pan drawn worst ms"] = max(changes["drawn"])
    figures["zoom/pan complete ms"] = statistics.median(changes["done"])
    t0 = time.perf_counter()
    page.locator(".wm-force-row[data-force='coalition'] .wm-only").click()
    page.wait_for_function("() => webmap.view.query() === 'force=coalition'", polling=10)
    page.wait_for_function(SETTLED, timeout=600_000, polling=10)
    figures["filter change ms"] = (time.perf_counter() - t0) * 1000
    context.close()

    context = browser.new_context(viewport=VIEW)
    context.add_init_script(WATCH)
    page = context.new_page()
    page.goto(base + "/?event_type=Battles", wait_until="commit", timeout=600_000)
    page.wait_for_function("() => window.webmap && webmap.ready", timeout=600_000)
    page.evaluate("() => webmap.ready.then(() => true)")
    page.wait_for_function(SETTLED, timeout=600_000, polling=20)
    page.wait_for_timeout(1000)
    figures["cold link ms"] = page.evaluate(FIRST_PICTURE)
    context.close()
    return figures


def run_size(rows: int, folder: Path, postgres: str | None, runs: int, browser) -> dict[str, float]:
    t0 = time.perf_counter()
    csv = build_csv(rows, folder)
    print(f"# {rows:,} incidents written to {csv.name} in {time.perf_counter() - t0:.1f} s", flush=True)
    with database(postgres, folder, rows) as url:
        env = {
            **os.environ,
            "WEBMAP_DB": url,
            "WEBMAP_GEODATA": str(folder / "geodata"),
            "XDG_DATA_HOME": str(folder / "xdg"),
        }
        t0 = time.perf_counter()
        subprocess.run([*COMMAND, "import", str(csv)], env=env, check=True, stdout=subprocess.DEVNULL)
        seconds = time.perf_counter() - t0
        figures = {"import rows/s": rows / seconds}
        print(f"  import: {seconds:.1f} s, {rows / seconds:,.0f} rows/s", flush=True)
        token = secrets.token_urlsafe(16)
        with server({**env, "WEBMAP_TOKEN": token}) as (base, started):
            figures.update(endpoint_figures(base, started))
            visits = [page_figures(browser, base) for _ in range(runs)]
            with server(env) as (other, _):
                timed_get(other + "/api/summary")  # its index built
                figures.update(write_figures(base, other, token, incident_id=1))
        figures.update(refresh_figures(url))
        for key in visits[0]:
            figures[key] = statistics.median(v[key] for v in visits)
    for key, value in figures.items():
        print(f"  {key:24s} {value:12,.1f}", flush=True)
    return figures


def goal_of(key: str) -> str:
    if key.endswith("cold ms"):
        return GOALS["cold"]
    return GOALS.get(key, "")


def report(results: dict[int, dict[str, float]]) -> None:
    sizes = sorted(results)
    print()
    head = f"{'figure':26s}" + "".join(f"{n:>14,}" for n in sizes)
    if len(sizes) > 1:
        head += f"{'ratio':>10s}"
    print(head + "  goal at the largest size")
    for key in results[sizes[0]]:
        line = f"{key:26s}" + "".join(f"{results[n][key]:14,.1f}" for n in sizes)
        if len(sizes) > 1:
            first, last = results[sizes[0]][key], results[sizes[-1]][key]
            line += f"{last / first:10.2f}" if first else f"{'-':>10s}"
        print(line + f"  {goal_of(key)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--runs", type=int, default=3, help="browser visits per size (median)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const="throwaway",
        help="PostgreSQL + PostGIS: the databases are made on this server URL, or without one on a"
        " throwaway cluster started for the run",
    )
    args = parser.parse_args(argv)
    if not GEOCAUSAL.is_dir():
        raise SystemExit(f"no {GEOCAUSAL}: the benchmark reads the shared geocausal events")
    from playwright.sync_api import sync_playwright

    results = {}
    with ExitStack() as stack:
        postgres = args.postgres
        if postgres == "throwaway":
            postgres = stack.enter_context(throwaway_postgres())
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="webmap-scale-"))
        browser = stack.enter_context(sync_playwright()).chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        for rows in args.sizes:
            folder = Path(tmp) / str(rows)
            folder.mkdir()
            results[rows] = run_size(rows, folder, postgres, args.runs, browser)
        browser.close()
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
