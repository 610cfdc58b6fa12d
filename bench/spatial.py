"""Benchmark of the spatial join (issue 5, item 5): our join against the plain ways, on real points.

Usage::

    python bench/spatial.py [--sizes 10000 100000 1000000] [--repeat 3]

Points: the 112,313 real insurgent-attack and airstrike locations of 2006-2008 in
``../shared/data/geocausal-iraq-events/`` (sampled without replacement up to their number, beyond it
resampled with a Gaussian jitter of 0.005 degrees, about 500 m). Every method starts from the same
DataFrame of longitude/latitude and ends with the seven admin fields per point:

- ``join``: :func:`webmap.spatial.join_admin_areas`, one ``sjoin`` with the sub-districts, parents
  looked up by P-code, nearest area within 2 km for points outside every polygon;
- ``3 sjoins``: three plain ``geopandas.sjoin`` calls, one per level, disputed from the district P-code;
- ``naive loop``: a Python loop over points and polygons with shapely (smallest size only).

Each timing runs in a fresh process (best of ``--repeat``); peak memory is that process's peak
resident set size (``resource.ru_maxrss``) above its size before the run, so GEOS memory counts too.
The layers are loaded and indexed before the clock starts (once per process, cached in the app).
Identical assignments are checked in this process for every point the plain joins put inside a
sub-district.
"""

from __future__ import annotations

import argparse
import glob
import multiprocessing
import resource
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from webmap import spatial  # noqa: E402

EVENTS = ROOT.parent / "shared" / "data" / "geocausal-iraq-events"
JITTER_DEG = 0.005
PCODES = ["admin1_pcode", "admin2_pcode", "admin3_pcode"]


def real_points(size: int, seed: int = 0) -> pd.DataFrame:
    """``size`` points (longitude, latitude) from the geocausal events, jittered when resampled."""
    files = sorted(glob.glob(str(EVENTS / "*.csv")))
    if not files:
        sys.exit(f"no CSV files in {EVENTS}")
    events = pd.concat([pd.read_csv(f, usecols=["longitude", "latitude"]) for f in files], ignore_index=True)
    rng = np.random.default_rng(seed)
    if size <= len(events):
        return events.iloc[rng.choice(len(events), size, replace=False)].reset_index(drop=True)
    picked = events.iloc[rng.integers(0, len(events), size)].reset_index(drop=True)
    return picked + rng.normal(0.0, JITTER_DEG, picked.shape)


def three_sjoins(points: pd.DataFrame, levels: dict, disputed: set) -> pd.DataFrame:
    """The plain way: one ``geopandas.sjoin`` per level."""
    out = points.copy()
    geometry = gpd.points_from_xy(points.longitude, points.latitude)
    frame = gpd.GeoDataFrame(geometry=geometry, index=points.index, crs=4326)
    for level, layer in levels.items():
        n = level[-1]
        joined = gpd.sjoin(frame, layer[["pcode", "name", "geometry"]], predicate="within", how="left")
        joined = joined[~joined.index.duplicated()]
        out[f"admin{n}"] = joined["name"]
        out[f"admin{n}_pcode"] = joined["pcode"]
    out["disputed"] = out["admin2_pcode"].isin(disputed).where(out["admin2_pcode"].notna(), None)
    return out


def naive_loop(points: pd.DataFrame, levels: dict, disputed: set) -> pd.DataFrame:
    """A Python loop over points and, per level, over polygons until one contains the point."""
    rows = []
    # Fresh copies: the layers' own polygons were prepared (indexed) by the spatial index queries.
    polygons = {
        level: list(zip(shapely.from_wkb(shapely.to_wkb(layer.geometry.values)), layer.pcode, layer.name, strict=False))
        for level, layer in levels.items()
    }
    for lon, lat in zip(points.longitude, points.latitude, strict=False):
        point = shapely.Point(lon, lat)
        row = {}
        for level, candidates in polygons.items():
            n = level[-1]
            row[f"admin{n}"] = row[f"admin{n}_pcode"] = None
            for polygon, pcode, name in candidates:
                if polygon.contains(point):
                    row[f"admin{n}"], row[f"admin{n}_pcode"] = name, pcode
                    break
        row["disputed"] = None if row["admin2_pcode"] is None else row["admin2_pcode"] in disputed
        rows.append(row)
    return points.join(pd.DataFrame(rows, index=points.index))


def _prepared():
    levels = {level: spatial.load_layer(level) for level in spatial.LEVELS}
    for layer in levels.values():
        _ = layer.sindex
    disputed = set(spatial.load_layer("disputed").pcode)
    spatial.AdminLayers.current()  # build and cache our index too
    return levels, disputed


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _measure(method: str, size: int, queue) -> None:
    points = real_points(size)
    levels, disputed = _prepared()
    run = {
        "join": lambda: spatial.join_admin_areas(points),
        "3 sjoins": lambda: three_sjoins(points, levels, disputed),
        "naive loop": lambda: naive_loop(points, levels, disputed),
    }[method]
    before = _rss_bytes()
    start = time.perf_counter()
    run()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    queue.put((seconds, max(0, peak - before)))


def measure(method: str, size: int, repeat: int) -> tuple[float, int]:
    """Best time (s) and largest peak memory increase (bytes) over ``repeat`` fresh processes."""
    context = multiprocessing.get_context("spawn")
    results = []
    for _ in range(repeat):
        queue = context.Queue()
        process = context.Process(target=_measure, args=(method, size, queue))
        process.start()
        results.append(queue.get())
        process.join()
        if process.exitcode:
            sys.exit(f"{method} at {size} points failed (exit code {process.exitcode})")
    return min(r[0] for r in results), max(r[1] for r in results)


def compare(ours: pd.DataFrame, reference: pd.DataFrame) -> tuple[int, int, int]:
    """(points inside a sub-district per the reference, of those with a different assignment, extra by nearest)."""
    inside = reference["admin3_pcode"].notna()
    fields = [*PCODES, "disputed"]
    differ = (ours.loc[inside, fields].astype(object) != reference.loc[inside, fields].astype(object)).any(axis=1)
    extra = int((ours["admin3_pcode"].notna() & ~inside).sum())
    return int(inside.sum()), int(differ.sum()), extra


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    levels, disputed = _prepared()
    print(
        f"layers: {', '.join(f'{k} {len(v)}' for k, v in levels.items())} polygons (shipped); "
        f"points: geocausal-iraq-events, jitter {JITTER_DEG} deg when resampled"
    )
    print(f"{'points':>9} {'method':<11} {'seconds':>8} {'points/s':>11} {'peak MB':>8} {'vs 3 sjoins':>12}")
    for size in args.sizes:
        timings = {}
        methods = ["join", "3 sjoins"] + (["naive loop"] if size == min(args.sizes) else [])
        for method in methods:
            timings[method] = measure(method, size, args.repeat)
        plain = timings["3 sjoins"][0]
        for method, (seconds, peak) in timings.items():
            print(
                f"{size:>9,} {method:<11} {seconds:>8.3f} {size / seconds:>11,.0f} {peak / 2**20:>8.0f} "
                f"{plain / seconds:>11.2f}x"
            )
        points = real_points(size)
        ours = spatial.join_admin_areas(points)
        inside, differ, extra = compare(ours, three_sjoins(points, levels, disputed))
        print(
            f"{'':>9} check: {inside:,} points inside a sub-district, {differ} assigned differently; "
            f"{extra} more placed by the 2 km nearest rule, {spatial.count_unassigned(ours)} unassigned"
        )
        if "naive loop" in timings:
            inside, naive_differ, _ = compare(ours, naive_loop(points, levels, disputed))
            print(
                f"{'':>9} check vs naive loop: {naive_differ} of {inside:,} assigned differently; join is "
                f"{timings['naive loop'][0] / timings['join'][0]:.0f}x faster than the naive loop"
            )
            differ += naive_differ
        if differ:
            sys.exit("assignments differ: the join is wrong")
    print(f"ratio at {args.sizes[-1]:,} points: join is {plain / timings['join'][0]:.2f}x faster than 3 sjoins")


if __name__ == "__main__":
    main()
