"""Reads while reports are being read (issue 18, item 3): the map's API answers while 8 long reports
are posted to ``POST /api/extract`` at once.

Usage::

    python bench/extract_load.py [--reports 8] [--chars 199000] [--runs 3]

The report is the issue's case, built from real text: the first sentence of the Kurdistan 24 article
(``../shared/fixtures``) repeated to ``--chars`` characters (every copy joins one incident). The app
holds the demo incidents (real UCDP GED events) in a temporary SQLite database and is served by
waitress with 8 threads, as ``webmap serve``. ``--reports`` requests (with the token) start together;
meanwhile one client asks ``GET /api/incidents?limit=1`` again and again until the last report is
answered. Two set-ups of the same app:

- ``pool``: as shipped (:mod:`webmap.web.extraction`): 2 reports read at once off the request
  threads, 2 more waiting, the rest answered 503 with ``Retry-After`` at once;
- ``plain``: the plain way, every request thread reading its own report (a pool as wide as the
  server, nothing refused), which is what the server did before the pool.

Figures: how the reports were answered, the seconds until the last answer, and the reads' median,
99th percentile and worst latency (ms); the ratio is plain p99 / pool p99. (Before this issue's
fixes a 199,000-character report also took 20 s of CPU instead of about 2 s: the issue measured a
223 s wait for one read under 8 such reports.)
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from waitress import create_server  # noqa: E402

from webmap import create_app  # noqa: E402
from webmap.io.demo import load_demo  # noqa: E402
from webmap.roles import BOOTSTRAP  # noqa: E402
from webmap.store import IncidentStore  # noqa: E402
from webmap.web.extraction import Extractions  # noqa: E402

ARTICLE = ROOT.parent / "shared" / "fixtures" / "kurdistan24_isis_attack_kirkuk.txt"
TOKEN = "bench-token"


def report(chars: int) -> str:
    line = next(x for x in ARTICLE.read_text(encoding="utf-8").splitlines() if "attacked a Peshmerga unit" in x)
    sentence = line.split(" – ", 1)[1] + " "
    return (sentence * (chars // len(sentence) + 1))[:chars]


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(
        url, data=body, headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def run(base: str, reports: int, body: bytes) -> tuple[Counter, float, list[float]]:
    """Post ``reports`` reports at once and read meanwhile; (statuses, seconds to the last answer, read ms)."""
    start = threading.Barrier(reports + 1)
    statuses: Counter = Counter()
    done = threading.Event()

    def ask():
        start.wait()
        statuses[post(f"{base}/api/extract", body)] += 1

    askers = [threading.Thread(target=ask) for _ in range(reports)]
    for asker in askers:
        asker.start()
    start.wait()
    began = time.perf_counter()
    reads: list[float] = []

    def read():
        while not done.is_set():
            t = time.perf_counter()
            with urllib.request.urlopen(f"{base}/api/incidents?limit=1", timeout=600) as response:
                response.read()
            reads.append((time.perf_counter() - t) * 1000)
            time.sleep(0.05)

    reader = threading.Thread(target=read)
    reader.start()
    for asker in askers:
        asker.join()
    elapsed = time.perf_counter() - began
    done.set()
    reader.join()
    return statuses, elapsed, reads


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=8)
    parser.add_argument("--chars", type=int, default=199_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    body = json.dumps({"text": report(args.chars), "date": "2021-12-06"}).encode()
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)  # "Task queue depth is 1" is the point here

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/webmap.db"
        store = IncidentStore(url)
        load_demo(store, by=BOOTSTRAP, geodata_dir=Path(folder) / "geodata")
        store.dispose()
        app = create_app({"database_url": url, "token": TOKEN, "geodata_dir": Path(folder) / "geodata"})
        server = create_server(app, host="127.0.0.1", port=0, threads=8)
        threading.Thread(target=server.run, daemon=True).start()
        base = f"http://127.0.0.1:{server.effective_port}"
        urllib.request.urlopen(f"{base}/api/incidents?limit=1").read()  # the store opened, the caches warm
        post(f"{base}/api/extract", json.dumps({"text": report(2_000), "date": "2021-12-06"}).encode())

        print(f"{args.reports} reports of {args.chars:,} characters at once, {args.runs} runs each\n")
        print(f"{'set-up':8} {'answers':22} {'last s':>7} {'reads':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
        p99 = {}
        for name, extractions in (("pool", Extractions()), ("plain", Extractions(workers=8, waiting=0))):
            app.extensions["webmap"]["extractions"] = extractions
            every: list[float] = []
            for _ in range(args.runs):
                statuses, elapsed, reads = run(base, args.reports, body)
                every += reads
                answers = ", ".join(f"{n}x {code}" for code, n in sorted(statuses.items()))
                print(
                    f"{name:8} {answers:22} {elapsed:7.1f} {len(reads):6} {statistics.median(reads):8.0f} "
                    f"{percentile(reads, 0.99):8.0f} {max(reads):8.0f}"
                )
            p99[name] = percentile(every, 0.99)
        server.close()
    print(
        f"\nreads' p99 over all runs: pool {p99['pool']:.0f} ms, plain {p99['plain']:.0f} ms "
        f"({p99['plain'] / p99['pool']:.1f}x)"
    )


if __name__ == "__main__":
    main()
