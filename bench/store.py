"""Benchmark of the incident store (issue 6, item 6): import and filtered export of 100k real points.

Usage::

    python bench/store.py [--rows 100000] [--postgres URL | --no-postgres]

Data: the insurgent-attack points of 2006-2008 in ``../shared/data/geocausal-iraq-events/``
(``insurgencies.csv`` then ``insurgencies_2006.csv``, the first ``--rows`` rows), shaped as the
generic CSV an analyst would have: ``date, longitude, latitude, event_type, sub_event_type``. The
geocausal ``type`` becomes an ACLED event type for this benchmark only: ``IED`` -> Explosions/Remote
violence / Remote explosive/landmine/IED; ``SAF`` (small-arms fire) -> Battles / Armed clash;
``other`` -> Explosions/Remote violence without a sub-event type (the package does not say what
"other" is; the incidents are never shipped). The CSV has no id column, so rows get content ids.

Measured, each in a fresh process (peak memory = that process's peak resident set size, Python,
pandas and GEOS included; CPU s = that process's user + system time, without PostgreSQL's server
processes, to tell the work from the waiting on a busy machine):

- ``import``: ``webmap import FILE --map date=event_date`` through :func:`import_file` (validation,
  forces, the spatial join, one transaction) into an empty database;
- ``export``: a filter (2006-01-01 to 2008-12-31, i.e. every row) exported as GeoJSON with
  ``export_file(iter_incidents(...))``, streamed from the database;
- the plain ways, for the ratios: a row-by-row import (validate, join one point, ``store.add``: one
  transaction per row; on ``--plain-rows`` rows) and an in-memory export (``select_incidents`` into
  a list, one dict, ``json.dump``).

On PostGIS the benchmark starts a throwaway cluster (``initdb`` + ``pg_ctl`` in a temp dir, on a free
local port, default settings, removed at the end) unless ``--postgres`` gives a server URL, on which
it creates and drops a database.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EVENTS = ROOT.parent / "shared" / "data" / "geocausal-iraq-events"
TYPES = {
    "IED": ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
    "SAF": ("Battles", "Armed clash"),
    "other": ("Explosions/Remote violence", ""),
}
FILTER = {"since": "2006-01-01", "until": "2008-12-31"}
TARGETS = {"import": "≥ 20,000 rows/s", "export": "< 3 s", "memory": "< 1 GB"}


def build_csv(rows: int, folder: Path) -> Path:
    """The benchmark's generic CSV of ``rows`` real points (see the module docstring)."""
    frames = [pd.read_csv(EVENTS / name) for name in ("insurgencies.csv", "insurgencies_2006.csv")]
    events = pd.concat(frames, ignore_index=True).head(rows)
    if len(events) < rows:
        sys.exit(f"only {len(events)} insurgency rows in {EVENTS}")
    events["event_type"] = events["type"].map(lambda t: TYPES[t][0])
    events["sub_event_type"] = events["type"].map(lambda t: TYPES[t][1])
    path = folder / f"geocausal_{rows}.csv"
    events[["date", "longitude", "latitude", "event_type", "sub_event_type"]].to_csv(path, index=False)
    return path


# -- phases, each run in its own process -------------------------------------------------------------
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def phase(name: str, url: str, csv: Path, out: Path, plain_rows: int) -> dict:
    """Run one measured step in this process; returns its figures."""
    from webmap import spatial
    from webmap.io.exporters import export_file, feature
    from webmap.io.importer import import_file
    from webmap.query import IncidentFilter, iter_incidents, select_incidents
    from webmap.records import validate_incident
    from webmap.roles import BOOTSTRAP
    from webmap.store import IncidentStore

    store = IncidentStore(url)
    spatial.AdminLayers.current()  # the app loads the layers once; do it before the clock
    flt = IncidentFilter.build(**FILTER)
    cpu = _cpu_seconds()
    start = time.perf_counter()
    if name == "import":
        summary = import_file(store, csv, "csv", column_map={"date": "event_date"}, progress=False, by=BOOTSTRAP)
        rows = summary.inserted
    elif name == "export":
        rows = export_file(iter_incidents(store, flt), out, "geojson")
    elif name == "plain import":
        data = pd.read_csv(csv, nrows=plain_rows, keep_default_na=False)
        for record in data.to_dict("records"):
            incident = validate_incident({**record, "event_date": record["date"]})
            spatial.place_incidents([incident])
            store.add(incident, by=BOOTSTRAP)
        rows = len(data)
    elif name == "plain export":
        selected = select_incidents(store, flt)
        with out.open("w", encoding="utf-8") as fh:
            json.dump({"type": "FeatureCollection", "features": [feature(i) for i in selected]}, fh, ensure_ascii=False)
        rows = len(selected)
    else:
        raise ValueError(name)
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu
    store.dispose()
    return {"phase": name, "rows": rows, "seconds": seconds, "cpu": cpu, "peak_mb": _peak_mb()}


def run_phase(name: str, url: str, csv: Path, out: Path, plain_rows: int) -> dict:
    command = [
        sys.executable,
        __file__,
        "--phase",
        name,
        "--url",
        url,
        "--csv",
        str(csv),
        "--out",
        str(out),
        "--plain-rows",
        str(plain_rows),
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# -- databases --------------------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def throwaway_postgres():
    """A PostgreSQL cluster in a temp dir for the benchmark's duration; yields its admin URL."""
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
    if not bins:
        sys.exit("PostgreSQL is not installed (apt-get install postgresql postgis) or give --postgres URL")
    folder = Path(tempfile.mkdtemp(prefix="webmap-bench-pg-"))
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(folder, "postgres")
    port = _free_port()
    data = folder / "data"
    subprocess.run(
        [*as_postgres, str(bins[-1] / "initdb"), "-D", str(data), "-U", "webmap", "--auth=trust"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            *as_postgres,
            str(bins[-1] / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-k {folder} -p {port} -c listen_addresses=127.0.0.1",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://webmap@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run(
            [*as_postgres, str(bins[-1] / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def fresh_database(admin_url: str):
    """A new empty database on ``admin_url``'s server, dropped afterwards."""
    import sqlalchemy as sa

    name = f"webmap_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    try:
        yield sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(backend: str, url_of, csv: Path, folder: Path, plain_rows: int) -> list[dict]:
    """The four phases on one backend; ``url_of()`` is a context manager giving an empty database."""
    results = []
    with url_of() as url:
        for name in ("import", "export", "plain export"):
            results.append({"backend": backend, **run_phase(name, url, csv, folder / f"{backend}.geojson", plain_rows)})
    with url_of() as url:
        results.append(
            {"backend": backend, **run_phase("plain import", url, csv, folder / "plain.geojson", plain_rows)}
        )
    return results


def report(results: list[dict]) -> None:
    print(f"{'backend':<9} {'step':<13} {'rows':>8} {'seconds':>8} {'rows/s':>9} {'CPU s':>6} {'peak MB':>8}")
    for r in results:
        print(
            f"{r['backend']:<9} {r['phase']:<13} {r['rows']:>8,} {r['seconds']:>8.2f} "
            f"{r['rows'] / r['seconds']:>9,.0f} {r['cpu']:>6.2f} {r['peak_mb']:>8.0f}"
        )
    print()
    for backend in dict.fromkeys(r["backend"] for r in results):
        by = {r["phase"]: r for r in results if r["backend"] == backend}
        imp, exp, plain_imp, plain_exp = by["import"], by["export"], by["plain import"], by["plain export"]
        rate = imp["rows"] / imp["seconds"]
        peak = max(r["peak_mb"] for r in by.values() if r["phase"] in ("import", "export"))
        print(
            f"{backend}: import {rate:,.0f} rows/s ({TARGETS['import']}: {'ok' if rate >= 20_000 else 'MISSED'}), "
            f"{rate / (plain_imp['rows'] / plain_imp['seconds']):.0f}x the row-by-row import; "
            f"export {exp['seconds']:.2f} s ({TARGETS['export']}: {'ok' if exp['seconds'] < 3 else 'MISSED'}), "
            f"{plain_exp['seconds'] / exp['seconds']:.1f}x faster and {plain_exp['peak_mb'] / exp['peak_mb']:.1f}x "
            f"less memory than in memory; peak {peak:.0f} MB ({TARGETS['memory']}: {'ok' if peak < 1024 else 'MISSED'})"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--plain-rows", type=int, default=2_000, help="rows of the row-by-row import")
    parser.add_argument("--postgres", help="URL of a PostgreSQL server with PostGIS (default: start one)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase, args.url, args.csv, args.out, args.plain_rows)))
        return 0

    folder = Path(tempfile.mkdtemp(prefix="webmap-bench-"))
    load = os.getloadavg()[0]
    try:
        csv = build_csv(args.rows, folder)

        @contextmanager
        def sqlite_url():
            path = folder / f"{uuid.uuid4().hex[:8]}.db"
            yield f"sqlite:///{path}"

        results = measure("SQLite", sqlite_url, csv, folder, args.plain_rows)
        if not args.no_postgres:
            if args.postgres:
                results += measure("PostGIS", lambda: fresh_database(args.postgres), csv, folder, args.plain_rows)
            else:
                with throwaway_postgres() as admin:
                    results += measure("PostGIS", lambda: fresh_database(admin), csv, folder, args.plain_rows)
        print(
            f"{args.rows:,} geocausal points; {os.cpu_count()} CPUs; load average before {load:.1f}, "
            f"after {os.getloadavg()[0]:.1f}\n"
        )
        report(results)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
