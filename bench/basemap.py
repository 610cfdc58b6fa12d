"""How fast and how heavy the offline base map is, in Chromium.

Usage::

    python bench/basemap.py              # 3 runs
    python bench/basemap.py --runs 1

The app serves the demo incidents (1,783 real UCDP GED events, ``geodata/demo_incidents.csv``) with
waitress on 127.0.0.1 (``tests/helpers.serve_demo``); headless Debian Chromium opens it at
1400x900 with a cold cache. Figures:

- ``bytes at the default view``: what the page fetched of the base map (``/api/basemap/...``)
  when it opens without a view in its URL, once everything is drawn: on the wire (gzip counts)
  and decoded; the limit of issue 14 is 300 KB.
- ``pan at zoom 12 around Kirkuk``: a requestAnimationFrame probe records the time between frames
  while the map is dragged with the mouse (8 drags of 300 px, 20 steps each) and panned by script
  (8 animated ``panBy`` of 350 px), starting from zoom 12 on Kirkuk with its tiles loaded; the new
  tiles the pans reach are fetched and drawn meanwhile. Printed: the longest frame, the 95th
  percentile, the frames over 50 ms (issue 14: none), the base map's own redraws (median and
  longest, timed around its paint) and the main thread's tasks over 50 ms (the Long Tasks API: a
  long frame with no long task is the browser's own scheduling, not the page's work). The same pans
  are measured with the base map taken off the map, alternating with the runs above, to show what
  the rest of the page (incidents, table) and the machine's load cost on their own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from helpers import serve_demo  # noqa: E402  (tests/helpers.py: the demo incidents served in a thread)
from playwright.sync_api import sync_playwright  # noqa: E402

CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-background-networking", "--no-first-run", "--disable-sync"]
VIEW = {"width": 1400, "height": 900}
KIRKUK_Z12 = "#12/35.4681/44.3922"
LIMIT_KB = 300
FRAME_LIMIT_MS = 50
SETTLED = """() => { const b = webmap.offlineBasemap, z = webmap.current.map.getZoom();
                     if (!b || Object.keys(b._loading).length) return false;
                     const pieces = b._drawable();
                     return pieces.length > 0 && pieces[0].band === b._bandAt(z); }"""
BYTES = """() => performance.getEntriesByType('resource').filter(e => e.name.includes('/api/basemap/'))
                  .reduce((s, e) => [s[0] + e.transferSize, s[1] + e.decodedBodySize, s[2] + 1], [0, 0, 0])"""
PROBE = """() => { const b = webmap.offlineBasemap, paint = b._paint;
                   window.__paints = [];
                   b._paint = function () { const t = performance.now(); paint.call(this);
                                            window.__paints.push(performance.now() - t); };
                   window.__frames = []; window.__probing = true; window.__long = [];
                   new PerformanceObserver(list => list.getEntries().forEach(e => window.__long.push(e.duration)))
                     .observe({entryTypes: ['longtask']});
                   let last = performance.now();
                   (function tick(now) { window.__frames.push(now - last); last = now;
                                         if (window.__probing) requestAnimationFrame(tick); })(last);
                   requestAnimationFrame(function (now) { last = now; }); }"""
PANS = """async () => { const map = webmap.current.map, done = () => new Promise(r => map.once('moveend', r));
                      const steps = [[350, 0], [0, 350], [-350, 0], [0, -350], [250, 250], [-250, 250], [-250, -250],
                                     [250, -250]];
                      for (const [x, y] of steps) { const moved = done(); map.panBy([x, y], {duration: 0.4});
                                                    await moved; } }"""


def default_view_bytes(browser, base: str) -> tuple[int, int, int, int]:
    context = browser.new_context(viewport=VIEW)
    page = context.new_page()
    page.goto(base + "/")
    page.wait_for_selector("body[data-map-ready='1']", timeout=60_000)
    page.wait_for_function(SETTLED, timeout=60_000)
    page.wait_for_timeout(500)
    wire, decoded, requests = page.evaluate(BYTES)
    zoom = page.evaluate("() => webmap.current.map.getZoom()")
    context.close()
    return wire, decoded, requests, zoom


def pan_frames(browser, base: str, with_basemap: bool = True) -> tuple[list[float], list[float], list[float]]:
    context = browser.new_context(viewport=VIEW)
    page = context.new_page()
    page.goto(base + "/" + KIRKUK_Z12)
    page.wait_for_selector("body[data-map-ready='1']", timeout=60_000)
    page.wait_for_function(SETTLED, timeout=60_000)
    page.wait_for_timeout(500)
    if not with_basemap:  # the same page and pans with the base map taken off the map
        page.evaluate("() => webmap.current.map.removeLayer(webmap.offlineBasemap)")
        page.wait_for_timeout(500)
    page.evaluate(PROBE)
    box = page.locator(".leaflet-container").bounding_box()
    x, y = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.5
    for dx, dy in ((300, 0), (0, 300), (-300, 0), (0, -300), (200, 200), (-200, 200), (-200, -200), (200, -200)):
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(x + dx, y + dy, steps=20)
        page.mouse.up()
        page.wait_for_timeout(150)
    page.evaluate(PANS)
    page.wait_for_timeout(300)
    if with_basemap:
        page.wait_for_function(SETTLED, timeout=60_000)
    frames, paints, long = page.evaluate(
        "() => { window.__probing = false; return [window.__frames.slice(2), window.__paints, window.__long]; }"
    )
    context.close()
    return frames, paints, long


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="webmap-bench-basemap-") as tmp,
        serve_demo(Path(tmp), token="bench") as base,
        sync_playwright() as pw,
    ):
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            sizes = [default_view_bytes(browser, base) for _ in range(args.runs)]
            pans, without = [], []
            for _ in range(args.runs):  # alternated, so the machine's load weighs on both alike
                pans.append(pan_frames(browser, base))
                without.append(pan_frames(browser, base, with_basemap=False))
        finally:
            browser.close()
    wire, decoded, requests, zoom = sizes[-1]
    print(
        f"base map bytes at the default view (zoom {zoom}, {requests} requests): {wire / 1024:.1f} KB on the wire, "
        f"{decoded / 1024:.1f} KB decoded (limit {LIMIT_KB} KB: {'ok' if wire < LIMIT_KB * 1024 else 'OVER'})"
    )
    print(f"pan at zoom 12 around Kirkuk, {args.runs} run(s) of 8 drags and 8 animated pans:")
    worst_overall = 0.0
    for run, (frames, paints, long) in enumerate(pans, 1):
        over = sum(1 for f in frames if f > FRAME_LIMIT_MS)
        worst_overall = max(worst_overall, max(frames))
        print(
            f"  run {run}: {len(frames)} frames, longest {max(frames):.1f} ms, 95th percentile "
            f"{percentile(frames, 0.95):.1f} ms, over {FRAME_LIMIT_MS} ms: {over}; base map redraws: {len(paints)}, "
            f"median {statistics.median(paints):.1f} ms, longest {max(paints):.1f} ms; main-thread tasks over "
            f"{FRAME_LIMIT_MS} ms: {len(long)}{f' (longest {max(long):.0f} ms)' if long else ''}"
        )
    for run, (frames, _, long) in enumerate(without, 1):
        over = sum(1 for f in frames if f > FRAME_LIMIT_MS)
        print(
            f"  run {run} without the base map: {len(frames)} frames, longest {max(frames):.1f} ms, 95th percentile "
            f"{percentile(frames, 0.95):.1f} ms, over {FRAME_LIMIT_MS} ms: {over}; "
            f"main-thread tasks over {FRAME_LIMIT_MS} ms: {len(long)}{f' (longest {max(long):.0f} ms)' if long else ''}"
        )
    print(
        f"longest frame of all runs with the base map: {worst_overall:.1f} ms (limit {FRAME_LIMIT_MS} ms: "
        f"{'ok' if worst_overall <= FRAME_LIMIT_MS else 'OVER'})"
    )


if __name__ == "__main__":
    main()
