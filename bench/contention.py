"""Reads while writing (issue 18, item 5): the map's reads during a 200k-row import and web writes.

Usage::

    python bench/contention.py [--rows 200000] [--posters 10] [--idle 15] [--threads 8]

What runs, all as a user would run it:

- a SQLite database with the shipped demo incidents (``webmap import geodata/demo_incidents.csv``);
- ``webmap serve --threads 8`` on it (another process), with a write token;
- two readers per endpoint, each asking again as soon as it has its answer: ``GET
  /api/incidents?limit=1`` and the map page's ``GET /api/points`` (gzip, as the browser asks);
- ``--posters`` writers, each ``POST /api/incidents`` in a loop (a copy of a real demo event with
  its own ``source_id``), 0.1 s apart, retrying a 503 after the same pause (not after Retry-After:
  the worst case);
- ``webmap import`` (another process) of ``--rows`` real points: the geocausal insurgent attacks of
  2006-2008 in ``../shared/data/geocausal-iraq-events`` (106,275 rows, as ``bench/store.py`` shapes
  them) repeated from the top until there are ``--rows`` (a repeated row is a distinct content id,
  so every row is inserted).

After one write to warm the server up (its first loads the boundary layers), measured twice:
``idle`` (readers and writers for ``--idle`` seconds, no import) and ``import``
(from the start of ``webmap import`` to its end). Printed: per endpoint and phase the number of
requests and the p50, p99 and worst latency; the POSTs answered 201, 503 and otherwise, with
their p99; the import's wall time; and the longest stretch in which a probe (``BEGIN IMMEDIATE``
with no wait, every 20 ms) found the write lock taken. The goal: p99 of both reads during the
import at most 1 s.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
EVENTS = ROOT.parent / "shared" / "data" / "geocausal-iraq-events"
COMMAND = [sys.executable, "-c", "from webmap.cli import main; main()"]
TOKEN = "bench-contention"
TYPES = {
    "IED": ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    "SAF": ("Battles", "Armed clash"),
    "other": ("Explosions/Remote violence", ""),
}
READS = {"incidents": "/api/incidents?limit=1", "points": "/api/points"}
GOAL_SECONDS = 1.0


def build_csv(rows: int, folder: Path) -> Path:
    """``rows`` real insurgent-attack points as a generic CSV (the rows repeated from the top)."""
    frames = [pd.read_csv(EVENTS / name) for name in ("insurgencies.csv", "insurgencies_2006.csv")]
    events = pd.concat(frames, ignore_index=True)
    events = pd.concat([events] * (rows // len(events) + 1), ignore_index=True).head(rows)
    events["event_type"] = events["type"].map(lambda t: TYPES[t][0])
    events["sub_event_type"] = events["type"].map(lambda t: TYPES[t][1])
    path = folder / f"geocausal_{rows}.csv"
    events[["date", "longitude", "latitude", "event_type", "sub_event_type"]].to_csv(path, index=False)
    return path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def request(method: str, url: str, body: dict | None = None) -> tuple[int, float]:
    """(status, seconds) of one request; the body is read whole, as a browser would."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept-Encoding": "gzip", "Authorization": f"Bearer {TOKEN}"}
    if data is not None:
        headers["Content-Type"] = "application/json"
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data, headers, method=method), timeout=300) as r:
            payload = r.read()
            if r.headers.get("Content-Encoding") == "gzip":
                gzip.decompress(payload)
            status = r.status
    except urllib.error.HTTPError as exc:
        exc.read()
        status = exc.code
    return status, time.perf_counter() - start


def up(base: str) -> bool:
    try:
        return request("GET", base + "/healthz")[0] == 200
    except urllib.error.URLError:
        return False


class Load:
    """Readers and writers against the server until :meth:`stop`; latencies kept per phase."""

    def __init__(self, base: str, events: list[dict], posters: int):
        self.base = base
        self.events = events
        self.phase = "warm-up"
        self.samples: dict[tuple[str, str], list[tuple[int, float]]] = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._read, args=(name,)) for name in READS for _ in range(2)]
        self._threads += [threading.Thread(target=self._post, args=(n,)) for n in range(posters)]

    def _keep(self, what: str, sample: tuple[int, float]) -> None:
        with self._lock:
            self.samples.setdefault((self.phase, what), []).append(sample)

    def _read(self, name: str) -> None:
        while not self._stop.is_set():
            self._keep(name, request("GET", self.base + READS[name]))

    def _post(self, poster: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            event = self.events[(poster + n) % len(self.events)]
            body = {**event, "source": "bench contention", "source_id": f"{poster}-{n}"}
            self._keep("POST", request("POST", self.base + "/api/incidents", body))
            self._stop.wait(0.1)

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()


class LockProbe:
    """How long the database's write lock stays taken: ``BEGIN IMMEDIATE`` without waiting, every 20 ms."""

    def __init__(self, path: Path):
        self.path = path
        self.longest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        taken_since = None
        while not self._stop.is_set():
            now = time.perf_counter()
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                taken_since = None
            except sqlite3.OperationalError:
                taken_since = taken_since or now
                self.longest = max(self.longest, now - taken_since)
            self._stop.wait(0.02)
        conn.close()

    def __enter__(self) -> LockProbe:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(load: Load, import_seconds: float, longest_lock: float) -> bool:
    print(f"{'phase':<7} {'request':<34} {'n':>6} {'p50 s':>7} {'p99 s':>7} {'max s':>7}  answers")
    verdict = True
    for phase in ("idle", "import"):
        for what in (*READS, "POST"):
            samples = load.samples.get((phase, what), [])
            if not samples:
                continue
            seconds = [s for _, s in samples]
            statuses: dict[int, int] = {}
            for status, _ in samples:
                statuses[status] = statuses.get(status, 0) + 1
            label = f"GET {READS[what]}" if what in READS else "POST /api/incidents"
            p99 = percentile(seconds, 99)
            answers = ", ".join(f"{n} x {code}" for code, n in sorted(statuses.items()))
            print(
                f"{phase:<7} {label:<34} {len(seconds):>6} {percentile(seconds, 50):>7.3f} {p99:>7.3f} "
                f"{max(seconds):>7.3f}  {answers}"
            )
            if phase == "import" and what in READS:
                verdict = verdict and p99 <= GOAL_SECONDS and set(statuses) == {200}
    print()
    print(f"import: {import_seconds:.1f} s; the write lock was held at most {longest_lock:.1f} s at a stretch")
    for what in READS:
        idle = percentile([s for _, s in load.samples[("idle", what)]], 99)
        busy = percentile([s for _, s in load.samples[("import", what)]], 99)
        print(f"p99 of GET {READS[what]} during the import / idle: {busy / idle:.2f}x")
    print(f"goal: p99 of both reads during the import <= {GOAL_SECONDS:g} s: {'met' if verdict else 'NOT met'}")
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--posters", type=int, default=10)
    parser.add_argument("--idle", type=float, default=15.0, help="seconds of load without an import")
    parser.add_argument("--threads", type=int, default=8, help="webmap serve --threads")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="webmap-bench-contention-") as tmp:
        folder = Path(tmp)
        database = folder / "webmap.db"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "WEBMAP_DB": f"sqlite:///{database}",
            "WEBMAP_GEODATA": str(folder / "geodata"),
            "WEBMAP_TOKEN": TOKEN,
            "XDG_DATA_HOME": str(folder / "data"),
        }
        subprocess.run(
            [*COMMAND, "import", str(ROOT / "geodata" / "demo_incidents.csv")], env=env, check=True, capture_output=True
        )
        csv_path = build_csv(args.rows, folder)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [*COMMAND, "serve", "--port", str(port), "--threads", str(args.threads)],
            env=env,
            # Never read: a pipe would fill with waitress's queue warnings and stop the server.
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 120
            while not up(base):
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("webmap serve did not start")
                time.sleep(0.3)
            with urllib.request.urlopen(base + "/api/incidents?limit=50") as r:
                features = json.load(r)["features"]
            writable = ("event_date", "event_type", "sub_event_type", "actor1", "actor2", "location", "fatalities")
            events = [
                {
                    **{k: f["properties"][k] for k in writable if f["properties"].get(k) is not None},
                    "longitude": f["geometry"]["coordinates"][0],
                    "latitude": f["geometry"]["coordinates"][1],
                }
                for f in features
            ]
            # The server loads the boundary layers on its first write (seconds of CPU that stall
            # every thread): once, before the clock.
            status, _ = request("POST", base + "/api/incidents", {**events[0], "source_id": "warm-up"})
            assert status == 201, status
            load = Load(base, events, args.posters)
            load.start()
            time.sleep(2)
            load.phase = "idle"
            time.sleep(args.idle)
            with LockProbe(database) as probe:
                load.phase = "import"
                start = time.perf_counter()
                done = subprocess.run(
                    [*COMMAND, "import", str(csv_path), "--map", "date=event_date"],
                    env=env,
                    capture_output=True,
                    text=True,
                )
                import_seconds = time.perf_counter() - start
                load.phase = "after"
            load.stop()
            if done.returncode != 0:
                sys.exit(f"webmap import failed: {done.stderr}")
            print(f"python bench/contention.py --rows {args.rows} --posters {args.posters} --threads {args.threads}")
            print(done.stdout.strip().splitlines()[0])
            print()
            met = report(load, import_seconds, probe.longest)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
