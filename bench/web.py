"""How fast the map draws 1k, 10k and 100k real incidents, against plain Folium pages.

Usage::

    python bench/web.py                 # 1k, 10k, 100k; 5 runs each (1 for Marker+MarkerCluster at 100k)
    python bench/web.py --sizes 1000 --runs 1

The points are real: the geocausal Iraq events of 2006-2008 in ``../shared/data/geocausal-iraq-events``
(insurgent attacks and airstrikes; no actors or casualties in the data, so insurgent attacks are
stored with the force ``unidentified`` as actor 1 and ``coalition`` as actor 2, and airstrikes /
special-operations raids the other way round: every incident involves two forces, as real
incidents do, so the map's membership rule is measured), an evenly spaced sample of N rows,
checked by ``validate_incident``, placed in districts and written through the store into a
temporary SQLite database.

Three pages show the same points, each served by waitress (8 threads, as ``webmap serve``) on
127.0.0.1 and opened in headless Debian Chromium with a cold browser cache:

- ``webmap``: the app's own map (``/``), which fetches ``/api/points`` and clusters in the browser.
  The server's encoded-points cache is emptied right before every run, so each run pays the query
  and encoding of all points while the page loads (the worst case: a visitor at the very moment
  the data changed).
- ``webmap-after-write``: the first visitor 3 s after a write to the database (one incident edited
  through another connection, as ``webmap import`` or another server process writes); the app's
  points warmer (``webmap.web.points.MapPoints``) has seen the new data version and encoded the
  default view again in the background, before anyone asked.
- ``webmap-warm``: the server's cache kept (a later visitor of the same view, the data unchanged).
- ``webmap-window``: a shared link to a 30-day time window with one force unticked
  (``/?force=...&window=...``), the server's cache emptied as for ``webmap``: the page loads the
  filter's points and applies the ticks and the window itself.
  In all four the browser's cache is cold.
- ``marker``: the plain way, a ``folium.Marker`` (with a popup) per incident in a ``MarkerCluster``,
  built by Python on each request.
- ``fast``: Folium's ``FastMarkerCluster`` over ``[lat, lon]`` pairs, built on each request.

Both Folium pages load Leaflet and Leaflet.markercluster from the app's vendored copies (and not
jQuery/Bootstrap/Font Awesome, which they would not use), so their byte counts are a lower bound.

Figures: ``draw`` is navigation start to the markers on screen (``performance.now()`` after the
page's own drawn signal, or the load event, plus two animation frames; the server's time to build
the page and data is included); ``zoom/pan`` is the median and worst of six view changes without
animation (three zooms, three pans), each until two animation frames later; ``MB`` is what crossed
the wire (encoded, so gzip counts) for the page and everything it loaded.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import folium  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from folium.plugins import FastMarkerCluster, MarkerCluster  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402
from waitress import create_server  # noqa: E402

from webmap import create_app, mapview, spatial  # noqa: E402
from webmap.query import IncidentFilter, iter_incidents  # noqa: E402
from webmap.records import validate_incident  # noqa: E402
from webmap.roles import BOOTSTRAP  # noqa: E402
from webmap.store import IncidentStore, incidents  # noqa: E402

GEOCAUSAL = ROOT.parent / "shared" / "data" / "geocausal-iraq-events"
FILES = ("insurgencies_2006.csv", "airstrikes_2006.csv", "insurgencies.csv", "airstrikes.csv")
# geocausal's event types -> (ACLED event type, sub-event type, force key).
TYPES = {
    "IED": ("Explosions/Remote violence", "Remote explosive/landmine/IED", "unidentified", "coalition"),
    "SAF": ("Battles", "Armed clash", "unidentified", "coalition"),
    "other": ("Battles", "Armed clash", "unidentified", "coalition"),
    "Airstrike": ("Explosions/Remote violence", "Air/drone strike", "coalition", "unidentified"),
    "SOF": ("Battles", "Armed clash", "coalition", "unidentified"),
}
PAGES = ("webmap", "webmap-after-write", "webmap-warm", "webmap-window", "fast", "marker")
WEBMAP_PAGES = PAGES[:4]
# The shared link of webmap-window: 30 days in the middle of the data, the coalition unticked.
WINDOW_QUERY = "?force=unidentified,other&window=2007-06-01/2007-06-30"
# How long after a write the visitor of ``webmap-after-write`` arrives.
AFTER_WRITE_S = 3.0
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEW = {"width": 1400, "height": 900}
# Waitress worker threads of both servers: `webmap serve`'s default.
THREADS = 8
# The six view changes of a Leaflet ``map`` (bench/scale.py makes them too), as a JavaScript array:
# zooms around Baghdad (where the points are densest) and pans, without animation.
VIEW_STEPS = """[
    () => map.setView([33.31, 44.37], 9, {animate: false}),
    () => map.panBy([300, 150], {animate: false}),
    () => map.setView([33.31, 44.37], 12, {animate: false}),
    () => map.panBy([-250, 200], {animate: false}),
    () => map.setView([33.8, 43.9], 7, {animate: false}),
    () => map.panBy([200, -100], {animate: false}),
  ]"""
VIEW_CHANGES = """
async () => {
  const map = (window.webmap && window.webmap.current) ? window.webmap.current.map
    : Object.values(window).find(v => v instanceof L.Map);
  const frames = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const steps = VIEW_STEPS;
  const times = [];
  for (const step of steps) {
    await frames();
    const t0 = performance.now();
    step();
    await frames();
    times.push(performance.now() - t0);
  }
  return times;
}
""".replace("VIEW_STEPS", VIEW_STEPS)
DRAWN_FOLIUM = """
() => new Promise(resolve => {
  const done = () => requestAnimationFrame(() => requestAnimationFrame(() => resolve(performance.now())));
  if (document.readyState === "complete") done(); else window.addEventListener("load", done);
})
"""
DRAWN_WEBMAP = """
() => window.webmap.ready.then(() => new Promise(resolve =>
  requestAnimationFrame(() => resolve(performance.getEntriesByName("webmap-drawn")[0].startTime))))
"""


def read_points(n: int) -> list[dict]:
    """An evenly spaced sample of ``n`` geocausal events (all files, in date order)."""
    rows = []
    for name in FILES:
        with open(GEOCAUSAL / name, newline="") as f:
            rows.extend(csv.DictReader(f))
    rows.sort(key=lambda r: r["date"])
    if n > len(rows):
        raise SystemExit(f"only {len(rows)} geocausal events, not {n}")
    step = len(rows) / n
    return [rows[int(i * step)] for i in range(n)]


def build_database(url: str, rows: list[dict]) -> IncidentStore:
    store = IncidentStore(url)
    incidents = []
    for i, row in enumerate(rows):
        event_type, sub_event_type, force, other_side = TYPES[row["type"]]
        incidents.append(
            validate_incident(
                {
                    "source": "geocausal",
                    "source_id": str(i),
                    "event_date": row["date"],
                    "latitude": row["latitude"],
                    "longitude": row["longitude"],
                    "event_type": event_type,
                    "sub_event_type": sub_event_type,
                    "force1": force,
                    "force2": other_side,
                    "geo_precision": 1,
                    "fatalities": 0,
                }
            )
        )
    spatial.place_incidents(incidents)
    with store.transaction() as conn:
        store.save_batch(conn, incidents, by=BOOTSTRAP)
    return store


def edit_one(store: IncidentStore) -> None:
    """A write from outside the app: the first incident's fatalities go up by one."""
    incident = store.get(1)
    incident.fatalities += 1
    store.replace(1, incident, by=BOOTSTRAP, reason="bench: an edit")


def folium_app(store: IncidentStore) -> Flask:
    """The plain pages: Folium maps built from the database on every request."""
    app = Flask("plain-folium", static_folder=str(ROOT / "webmap" / "static"), static_url_path="/static")

    def base_map():
        return folium.Map(location=[33.3, 43.9], zoom_start=6, tiles=None, prefer_canvas=True)

    @app.get("/marker")
    def marker():
        m = base_map()
        cluster = MarkerCluster().add_to(m)
        for inc in iter_incidents(store, IncidentFilter()):
            folium.Marker(
                [inc.latitude, inc.longitude], popup=folium.Popup(f"{inc.event_date} {inc.sub_event_type}")
            ).add_to(cluster)
        mapview.use_vendored_assets(m)
        return m.get_root().render()

    @app.get("/fast")
    def fast():
        m = base_map()
        # The stored coordinates as they are (not webmap's float32 map records, whose long float
        # reprs would make this page bigger than a Folium user's), read as the driver's tuples: the
        # cheapest plain read, so the page is not slowed by the way it reads.
        c = incidents.c
        stmt = sa.select(c.latitude, c.longitude).where(*IncidentFilter().conditions(store.dialect)).order_by(c.id)
        with store.connect() as conn:
            pairs = conn.execute(stmt).cursor.fetchall()
        FastMarkerCluster([list(pair) for pair in pairs]).add_to(m)
        mapview.use_vendored_assets(m)
        return m.get_root().render()

    return app


def serve(app) -> tuple:
    server = create_server(app, host="127.0.0.1", port=0, threads=THREADS)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    return server, f"http://127.0.0.1:{server.effective_port}"


def measure(browser, url: str, drawn_js: str, before=None) -> dict:
    """One cold navigation: draw time (ms), view changes (ms), bytes on the wire."""
    if before:
        before()
    context = browser.new_context(viewport=VIEW)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    received = {}
    cdp.on("Network.loadingFinished", lambda e: received.__setitem__(e["requestId"], e["encodedDataLength"]))
    outside, in_flight = [], set()
    page.on("request", lambda r: outside.append(r.url) if not r.url.startswith("http://127.0.0.1") else None)
    page.on("request", lambda r: in_flight.add(r))
    page.on("requestfinished", lambda r: in_flight.discard(r))
    page.on("requestfailed", lambda r: in_flight.discard(r))
    page.goto(url, wait_until="commit", timeout=300_000)
    if drawn_js is DRAWN_WEBMAP:
        page.wait_for_function("() => window.webmap && window.webmap.ready", timeout=60_000)
    drawn = page.evaluate(drawn_js)
    changes = page.evaluate(VIEW_CHANGES)
    # Let the page finish what it asks the server for (the table and chart under the map), so
    # the next run does not share the server with this one.
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < 0.6:
        page.wait_for_timeout(100)
        if in_flight:
            quiet_since = time.monotonic()
    context.close()
    if outside:
        raise SystemExit(f"{url} asked another host: {outside[:3]}")
    return {
        "draw": drawn,
        "zoom_median": statistics.median(changes),
        "zoom_max": max(changes),
        "bytes": sum(received.values()),
    }


def run(sizes: list[int], runs: int, pages: list[str]) -> None:
    from webmap.web.points import WARM_INTERVAL

    assert WARM_INTERVAL + 0.5 < AFTER_WRITE_S, "the after-write visitor must come after the warmer looked"

    results: dict[tuple[str, int], dict] = {}
    with tempfile.TemporaryDirectory(prefix="webmap-bench-") as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for n in sizes:
            t0 = time.perf_counter()
            url = f"sqlite:///{tmp}/bench-{n}.db"
            store = build_database(url, read_points(n))
            print(f"# {n:,} geocausal events loaded in {time.perf_counter() - t0:.1f} s", flush=True)
            webmap = create_app({"database_url": url, "geodata_dir": Path(tmp) / "geodata"})
            webmap_server, webmap_url = serve(webmap)
            plain_server, plain_url = serve(folium_app(store))
            # Warm each server once (boundary layers read, code paths loaded).
            measure(browser, webmap_url + "/", DRAWN_WEBMAP)
            measure(browser, plain_url + "/fast", DRAWN_FOLIUM)
            variants = {
                "webmap": (webmap_url + "/", DRAWN_WEBMAP, webmap.extensions["webmap"]["points"].clear, runs),
                "webmap-after-write": (
                    webmap_url + "/",
                    DRAWN_WEBMAP,
                    lambda store=store: (edit_one(store), time.sleep(AFTER_WRITE_S)),
                    runs,
                ),
                "webmap-warm": (webmap_url + "/", DRAWN_WEBMAP, None, runs),
                "webmap-window": (
                    webmap_url + "/" + WINDOW_QUERY,
                    DRAWN_WEBMAP,
                    webmap.extensions["webmap"]["points"].clear,
                    runs,
                ),
                "fast": (plain_url + "/fast", DRAWN_FOLIUM, None, runs),
                "marker": (plain_url + "/marker", DRAWN_FOLIUM, None, 1 if n > 20_000 else runs),
            }
            samples: dict[str, list] = {name: [] for name in variants if name in pages}
            # Runs interleave the pages, so a busy moment of the machine falls on all of them alike.
            for run_number in range(runs):
                for name in samples:
                    page_url, drawn_js, before, count = variants[name]
                    if run_number < count:
                        samples[name].append(measure(browser, page_url, drawn_js, before))
            for name, taken in samples.items():
                results[(name, n)] = {key: statistics.median(s[key] for s in taken) for key in taken[0]}
                r = results[(name, n)]
                print(
                    f"  {name:18s} {n:>7,}: draw {r['draw']:8.0f} ms  zoom/pan median {r['zoom_median']:6.1f} ms"
                    f" (worst {r['zoom_max']:6.1f})  {r['bytes'] / 1e6:6.2f} MB  [{len(taken)} run(s)]",
                    flush=True,
                )
            webmap_server.close()
            plain_server.close()
            store.dispose()
        browser.close()
    report(results, sizes, pages)


def report(results: dict, sizes: list[int], pages: list[str]) -> None:
    print()
    print(f"{'incidents':>9}  {'page':18s} {'draw ms':>8} {'zoom/pan ms':>12} {'worst':>7} {'MB':>6}")
    for n in sizes:
        for name in pages:
            r = results[(name, n)]
            print(
                f"{n:>9,}  {name:18s} {r['draw']:8.0f} {r['zoom_median']:12.1f} {r['zoom_max']:7.1f}"
                f" {r['bytes'] / 1e6:6.2f}"
            )
    print()
    print("ratios (plain / webmap; higher is better for webmap): [cold] the server's points cache emptied just")
    print("before the visit; [after write] the first visitor 3 s after a write; [warm] the data unchanged since an")
    print("earlier visitor of the same view; [window] a shared link with a tick and a time window, cache emptied:")
    tags = {
        "webmap": "[cold]",
        "webmap-after-write": "[after write]",
        "webmap-warm": "[warm]",
        "webmap-window": "[window]",
    }
    for n in sizes:
        for name in (p for p in WEBMAP_PAGES if p in pages):
            w, parts = results[(name, n)], []
            if "fast" in pages:
                f = results[("fast", n)]
                parts.append(f"draw vs FastMarkerCluster {f['draw'] / w['draw']:4.2f}x (goal >= 2x)")
                parts.append(f"bytes vs FastMarkerCluster {f['bytes'] / w['bytes']:4.1f}x")
            if "marker" in pages:
                m = results[("marker", n)]
                parts.append(f"request-to-drawn vs Marker+MarkerCluster {m['draw'] / w['draw']:6.1f}x (goal >= 10x)")
            print(f"  {n:>7,} {tags[name]:13s}: " + "; ".join(parts))
    if 100_000 in sizes:
        print()
        for name in (p for p in WEBMAP_PAGES if p in pages):
            w = results[(name, 100_000)]
            print(
                f"{name} at 100k: draw {w['draw'] / 1000:.2f} s (goal <= 1.2 s),"
                f" zoom/pan median {w['zoom_median']:.0f} ms,"
                f" worst {w['zoom_max']:.0f} ms (goal <= 100 ms), {w['bytes'] / 1e6:.2f} MB (goal <= 2.2 MB)"
            )


def main() -> None:
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth" is expected here
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5, help="runs per page and size (median reported)")
    parser.add_argument(
        "--pages",
        nargs="+",
        choices=PAGES,
        default=list(PAGES),
        help="measure only these pages (ratios against the plain pages measured)",
    )
    args = parser.parse_args()
    print(f"# bench/web.py on {dt.date.today()}: {' '.join(sys.argv[1:]) or 'defaults'}")
    run(args.sizes, args.runs, args.pages)


if __name__ == "__main__":
    main()
