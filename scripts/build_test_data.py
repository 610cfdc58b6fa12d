"""Build ``tests/data/``: small excerpts of the openly licensed data the tests read, from ``../shared/data``.

Usage::

    python scripts/build_test_data.py [--shared ../shared/data] [--out tests/data]

Files (each described, with its source, licence, attribution, row counts and sha256, in
``tests/data/PROVENANCE.md``, which the script rewrites):

* ``ucdp_ged_irq_excerpt.csv``: UCDP GED events for Iraq in the HDX layout (45 columns, the HXL tag
  row kept): every :data:`GED_STEP`-th event of the source in file order, plus the events the tests
  name (:data:`GED_NAMED`), the first event of every code of :data:`GED_CODES` (so each mapping is
  tested) and the first events whose place name is Latin-1 only (a test writes them in that
  encoding). Values unchanged.
* ``ucdp_in_acled_layout.csv``: the GED events of :data:`ACLED_LAYOUT_MONTHS` that are not in the
  excerpt, written in ACLED's export layout (the 31 columns and value formats of the ACLED copy
  in ``acled-irq/``: ``event_date`` as YYYYMMDD, 4-decimal coordinates, CRLF line ends), so the
  ACLED importer is tested on real events without a row of ACLED data in the repository. How
  each column is filled: :func:`acled_row`.
* ``codab_adm2_districts.geojson``: the 101 COD-AB districts with the source's properties,
  simplified as one coverage (``shapely.coverage_simplify``, :data:`TOLERANCE_DEG`) so neighbours
  keep common edges; a boundary file as a user would import it.
* ``codab_names.csv``: P-code, English and Arabic name of every COD-AB governorate, district and
  sub-district (no geometry).
* ``wof_iq_gazetteer_excerpt.csv``: the Who's On First rows the gazetteer tests pick
  (:data:`WOF_PICKS`), in file order, every column.

Rerunnable: the same sources give byte-identical files.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import sys
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from provenance import sha256  # noqa: E402  (scripts/ is on sys.path)

from webmap.io.ucdp import GEO_PRECISION, TIME_PRECISION, VIOLENCE  # noqa: E402  (the repo's package)
from webmap.spatial import METRIC_CRS  # noqa: E402

DEFAULT_SHARED = ROOT.parent / "shared" / "data"
DEFAULT_OUT = ROOT / "tests" / "data"
GED_SOURCE = Path("ucdp-ged-irq/conflict_data_irq.csv")
ACLED_SOURCE = Path("acled-irq/ACLED_Iraq_2019-03_sample.csv")  # read for its header only
CODAB_SOURCE = "ocha-codab-irq/irq_admbnda_adm{}_cso_20190603.geojson"
WOF_SOURCE = Path("wof-iraq-gazetteer/wof_iq_gazetteer.csv")

GED_OUT = "ucdp_ged_irq_excerpt.csv"
ACLED_LAYOUT_OUT = "ucdp_in_acled_layout.csv"
ADM2_OUT = "codab_adm2_districts.geojson"
NAMES_OUT = "codab_names.csv"
WOF_OUT = "wof_iq_gazetteer_excerpt.csv"

GED_STEP = 15
# Events the tests name: Fallujah (field by field), Kirkuk city, Tal Afar, Baghdad's Karrada, a point
# just over the Turkish border, two beyond the Saudi and Syrian borders, one known only to its province.
GED_NAMED = ("114064", "244637", "274540", "197060", "144881", "267814", "145092", "140683")
GED_LATIN1 = 5
GED_CODES = ("where_prec", "date_prec", "type_of_violence")
ACLED_LAYOUT_MONTHS = ("2016-10", "2016-11")  # the first weeks of the Mosul offensive

# Visvalingam-Whyatt tolerance in degrees (about the square root of the largest triangle removed):
# every district still lies more than 99% in its shipped governorate, as an authoritative file does.
TOLERANCE_DEG = 0.005
COORDINATE_DECIMALS = 5
DROPPED_PROPERTIES = ("Shape_Leng", "Shape_Area")  # the source's lengths and areas, not the simplified ones'

# (what the tests take, predicate, how many of the first matching rows in file order)
WOF_PICKS: tuple[tuple[str, Callable[[dict], bool], int], ...] = (
    ("localities of WOF's Kirkuk county", lambda r: r["county_name"] == "Kirkuk" and r["placetype"] == "locality", 60),
    ("Laylan, GeoNames 94001", lambda r: r["gn_geonameid"] == "94001", 1),
    (
        "GeoNames rows of Diyala region",
        lambda r: bool(r["gn_geonameid"] and r["gn_name"]) and r["region_name"] == "Diyala",
        30,
    ),
    ("rows of WOF's Daquq county", lambda r: r["county_name"] == "Daquq", 6),
    (
        "rows whose Arabic names Windows-1256 can write",
        lambda r: bool(r["name_ara"]) and r["name_ara"].encode("cp1256", "ignore").decode("cp1256") == r["name_ara"],
        3,
    ),
)


# -- UCDP GED ---------------------------------------------------------------------------------------
def read_ged(path: Path) -> tuple[list[str], list[str], list[list[str]]]:
    """Header, HXL tag row and event rows of the HDX GED CSV."""
    with path.open(encoding="utf-8", newline="") as fh:
        header, hxl, *rows = csv.reader(fh)
    return header, hxl, rows


def ged_excerpt(header: list[str], rows: list[list[str]]) -> list[list[str]]:
    """The excerpt's rows in source order (see the module docstring)."""
    col = {name: i for i, name in enumerate(header)}
    place = col["where_coordinates"]
    latin1 = [i for i, r in enumerate(rows) if not r[place].isascii() and all(ord(c) < 256 for c in r[place])][
        :GED_LATIN1
    ]
    named = {i for i, r in enumerate(rows) if r[col["id"]] in GED_NAMED}
    if len(named) != len(GED_NAMED):
        sys.exit(f"{GED_SOURCE}: events {GED_NAMED} not all found")
    first_of_code = {
        next(i for i, r in enumerate(rows) if r[col[name]] == code)
        for name in GED_CODES
        for code in {r[col[name]] for r in rows}
    }
    keep = set(range(0, len(rows), GED_STEP)) | named | first_of_code | set(latin1)
    return [r for i, r in enumerate(rows) if i in keep]


def csv_bytes(rows: list[list[str]], lineterminator: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator=lineterminator).writerows(rows)
    return buffer.getvalue().encode("utf-8")


# -- GED events in ACLED's layout -------------------------------------------------------------------
def inter_code(actor: str) -> str:
    """ACLED's actor-type code for a UCDP actor: 1 state forces (Iraq's), 8 other (foreign) states'
    forces, 7 civilians, 2 any other armed group (UCDP's sides are organised armed groups)."""
    if actor == "Government of Iraq":
        return "1"
    if actor.startswith("Government of"):
        return "8"
    return "7" if actor == "Civilians" else "2"


def coordinate(text: str) -> str:
    """A GED coordinate in ACLED's format: 4 decimals, trailing zeros dropped."""
    return f"{float(text):.4f}".rstrip("0").rstrip(".")


def acled_notes(event: dict) -> str:
    """A one-line description made from the event's structured GED fields (GED has no notes)."""
    when = event["date_start"]
    if event["date_end"] != when:
        when = f"between {when} and {event['date_end']}"
    else:
        when = f"on {when}"
    return (
        f"UCDP GED event {event['id']} ({event['conflict_name']}): {event['side_a']} against {event['side_b']} "
        f"at {event['where_coordinates']} {when}; deaths: best estimate {event['best']} "
        f"(low {event['low']}, high {event['high']})."
    )


def acled_row(event: dict) -> dict:
    """One GED event (column -> value) as an ACLED export row."""
    date = dt.date.fromisoformat(event["date_start"])
    inter1, inter2 = inter_code(event["side_a"]), inter_code(event["side_b"])
    return {
        "data_id": event["id"],
        "iso": "368",
        "event_id_cnty": f"IRQ{event['id']}",
        "event_id_no_cnty": event["id"],
        "event_date": date.strftime("%Y%m%d"),
        "year": str(date.year),
        "time_precision": str(TIME_PRECISION[int(event["date_prec"])]),
        "event_type": VIOLENCE[int(event["type_of_violence"])][1],
        "sub_event_type": "",
        "actor1": event["side_a"],
        "assoc_actor_1": "",
        "inter1": inter1,
        "actor2": event["side_b"],
        "assoc_actor_2": "",
        "inter2": inter2,
        "interaction": "".join(sorted((inter1, inter2))),
        "region": "Middle East",
        "country": "Iraq",
        "admin1": event["adm_1"],
        "admin2": event["adm_2"],
        "admin3": "",
        "location": event["where_coordinates"],
        "latitude": coordinate(event["latitude"]),
        "longitude": coordinate(event["longitude"]),
        "geo_precision": str(GEO_PRECISION[int(event["where_prec"])]),
        "source": event["source_office"],
        "source_scale": "",
        "notes": acled_notes(event),
        "fatalities": event["best"],
        "timestamp": "",
        "iso3": "IRQ",
    }


def acled_layout(acled_header: list[str], ged_header: list[str], rows: list[list[str]], taken: set[str]):
    """The ACLED-layout rows: GED events of :data:`ACLED_LAYOUT_MONTHS` whose ids are not in ``taken``."""
    events = [dict(zip(ged_header, r, strict=True)) for r in rows]
    chosen = [e for e in events if e["date_start"][:7] in ACLED_LAYOUT_MONTHS and e["id"] not in taken]
    chosen.sort(key=lambda e: (e["date_start"], -int(e["id"])), reverse=True)  # newest first, as ACLED exports
    converted = [acled_row(e) for e in chosen]
    if list(converted[0]) != acled_header:
        sys.exit(f"the ACLED layout written here is not the header of {ACLED_SOURCE}")
    return [acled_header, *([row[c] for c in acled_header] for row in converted)], chosen


# -- COD-AB -----------------------------------------------------------------------------------------
def rounded(coords):
    if isinstance(coords[0], float | int):
        return [round(c, COORDINATE_DECIMALS) for c in coords]
    return [rounded(c) for c in coords]


def simplified_districts(source: Path) -> tuple[bytes, float]:
    """The districts' GeoJSON with coverage-simplified polygons; the largest displacement in metres."""
    doc = json.loads(source.read_text(encoding="utf-8"))
    frame = gpd.read_file(source)
    simple = shapely.coverage_simplify(frame.geometry.values, TOLERANCE_DEG)
    simple = shapely.set_precision(simple, 10**-COORDINATE_DECIMALS)
    if not shapely.coverage_is_valid(simple) or not shapely.is_valid(simple).all():
        sys.exit(f"{source.name}: the simplified districts are no valid coverage; lower TOLERANCE_DEG")
    metric = gpd.GeoSeries(simple, crs=4326).to_crs(METRIC_CRS).values
    moved = float(shapely.hausdorff_distance(frame.to_crs(METRIC_CRS).geometry.values, metric).max())
    features = []
    for feature, geom in zip(doc["features"], simple, strict=True):
        properties = {k: v for k, v in feature["properties"].items() if k not in DROPPED_PROPERTIES}
        geometry = shapely.geometry.mapping(geom)
        geometry = {"type": geometry["type"], "coordinates": rounded(json.loads(json.dumps(geometry["coordinates"])))}
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    out = {"type": "FeatureCollection", "name": doc["name"], "crs": doc["crs"], "features": features}
    text = json.dumps(out, ensure_ascii=False, separators=(",", ":"))
    return (text + "\n").encode("utf-8"), moved


def codab_names(shared: Path) -> list[list[str]]:
    rows = [["level", "pcode", "name_en", "name_ar"]]
    for n in (1, 2, 3):
        doc = json.loads((shared / CODAB_SOURCE.format(n)).read_text(encoding="utf-8"))
        for feature in doc["features"]:
            p = feature["properties"]
            rows.append([f"adm{n}", p[f"ADM{n}_PCODE"], p[f"ADM{n}_EN"], p[f"ADM{n}_AR"]])
    return rows


# -- Who's On First ---------------------------------------------------------------------------------
def wof_excerpt(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
    keep: set[int] = set()
    for what, predicate, limit in WOF_PICKS:
        found = [i for i, r in enumerate(rows) if predicate(r)][:limit]
        if len(found) < limit:
            sys.exit(f"{path.name}: only {len(found)} {what}")
        keep.update(found)
    return [reader.fieldnames, *([r[c] for c in reader.fieldnames] for i, r in enumerate(rows) if i in keep)]


# -- PROVENANCE.md ----------------------------------------------------------------------------------
def provenance(out: Path, counts: dict[str, str], moved_m: float) -> str:
    table = "\n".join(
        f"| `{name}` | {counts[name]} | {(out / name).stat().st_size} | `{sha256(out / name)}` |"
        for name in (GED_OUT, ACLED_LAYOUT_OUT, ADM2_OUT, NAMES_OUT, WOF_OUT)
    )
    return f"""# Test data: provenance

Small excerpts of openly licensed data, read by the tests so that they run from the repository
alone. Built by `python scripts/build_test_data.py` from `../shared/data` (each source folder there
has its own PROVENANCE.md); a rerun gives the same bytes. No ACLED row and no article text is here: the
tests that need the real ACLED sample or the real article are marked `shared` and skipped without
`../shared`.

| file | rows | bytes | sha256 |
| --- | --- | --- | --- |
{table}

## UCDP GED (`{GED_OUT}`, `{ACLED_LAYOUT_OUT}`)

**Source**: UCDP Georeferenced Event Dataset (GED), Uppsala Conflict Data Program, the Iraq events
as distributed on HDX (`{GED_SOURCE.name}`, 7,473 events 1989-2018, GED version not stated in
the file). **Licence**: Creative Commons Attribution 4.0 (CC BY 4.0), as UCDP states for its
datasets; the copy read carries no licence statement of its own. **Attribution**: Uppsala Conflict Data Program
(UCDP), https://ucdp.uu.se. **Cite**: Sundberg, Ralph and Erik Melander (2013), "Introducing the UCDP
Georeferenced Event Dataset", *Journal of Peace Research* 50(4): 523-532.

`{GED_OUT}`: the source's layout unchanged (header, HXL tag row, 45 columns, values as
published, among them UCDP's reference to the report it coded: outlet, date, headline, which the
importer never copies): every {GED_STEP}th event in file order (the 1st, {GED_STEP + 1}th, ...), the
events the tests name ({", ".join(GED_NAMED)}), the first event of every code of
{", ".join(GED_CODES)}, and the first {GED_LATIN1} events whose place name is Latin-1 only.

`{ACLED_LAYOUT_OUT}`: the GED events with `date_start` in {" and ".join(ACLED_LAYOUT_MONTHS)}
that are not in the excerpt above, written in ACLED's export layout: the 31 columns of ACLED's Iraq
export (the header of `acled-irq/{ACLED_SOURCE.name}`, from which no value is taken), newest
first (then by GED id), CRLF line ends, no BOM.
They are GED's events, not ACLED's: `event_id_cnty` is `IRQ` + the GED id (`data_id` and
`event_id_no_cnty` the GED id); `event_date` is `date_start` as YYYYMMDD (the form of the ACLED copy);
`time_precision`, `event_type` and `geo_precision` are GED's `date_prec`, `type_of_violence` and
`where_prec` mapped as `webmap/io/ucdp.py` documents; `sub_event_type` is empty (GED does not say);
`actor1`/`actor2` are `side_a`/`side_b`; `inter1`/`inter2` are ACLED actor-type codes given by the
actor (1 Government of Iraq, 8 another government, 7 Civilians, 2 any other group) and
`interaction` the two codes, lower first; `admin1`/`admin2` are GED's `adm_1`/`adm_2`; `location` is
`where_coordinates`; latitude and longitude are rounded to ACLED's 4 decimals; `source` is
`source_office` (`source_scale` empty); `notes` is one sentence made from the event's fields (id,
conflict, sides, place, dates, best/low/high deaths); `fatalities` is `best`; `timestamp` is empty.

## OCHA COD-AB (`{ADM2_OUT}`, `{NAMES_OUT}`)

**Source**: OCHA Iraq Common Operational Dataset - Administrative Boundaries (COD-AB), Iraq Central
Statistics Office (CSO) / OCHA Iraq, valid on 2019-06-03 (`irq_admbnda_adm1/2/3_cso_20190603`, read
from `ocha-codab-irq/`). **Licence**: Creative Commons Attribution 3.0 IGO (CC BY 3.0 IGO).
**Attribution**: OCHA / Iraq CSO, https://data.humdata.org/dataset/iraq-admin-level-1-boundaries.

`{ADM2_OUT}`: the 101 districts with the source's properties (less `Shape_Leng` and
`Shape_Area`, which describe the unsimplified polygons), simplified as one coverage with
`shapely.coverage_simplify` (Visvalingam-Whyatt, tolerance {TOLERANCE_DEG} degrees; neighbours keep
common edges, no gaps or overlaps), coordinates rounded to {COORDINATE_DECIMALS} decimals. Largest
displacement of a boundary from the source: {moved_m:,.0f} m (Hausdorff distance, UTM 38N).

`{NAMES_OUT}`: level, P-code, English and Arabic name of every feature of the adm1, adm2 and
adm3 files, in their order.

## Who's On First (`{WOF_OUT}`)

**Source**: Who's On First, Iraq (whosonfirst-data-admin-iq, snapshot 2024-03-05), flattened in
`wof-iraq-gazetteer/{WOF_SOURCE.name}`. **Licence**: WOF's own work CC0; its GeoNames-derived
fields (`gn_*`, names) CC BY 4.0 (GeoNames, https://www.geonames.org); other sources as listed at
https://whosonfirst.org/docs/licenses/. **Attribution**: Data from Who's On First; GeoNames.

Every column; the rows, in file order, are the first rows of each kind a test takes:

{chr(10).join(f"- {limit} {what}" for what, _, limit in WOF_PICKS)}
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED, help="the shared data folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    header, hxl, events = read_ged(args.shared / GED_SOURCE)
    excerpt = ged_excerpt(header, events)
    (out / GED_OUT).write_bytes(csv_bytes([header, hxl, *excerpt], "\n"))
    with (args.shared / ACLED_SOURCE).open(encoding="utf-8-sig", newline="") as fh:
        acled_header = next(csv.reader(fh))
    taken = {r[header.index("id")] for r in excerpt}
    acled_rows, chosen = acled_layout(acled_header, header, events, taken)
    (out / ACLED_LAYOUT_OUT).write_bytes(csv_bytes(acled_rows, "\r\n"))

    districts, moved = simplified_districts(args.shared / CODAB_SOURCE.format(2))
    (out / ADM2_OUT).write_bytes(districts)
    names = codab_names(args.shared)
    (out / NAMES_OUT).write_bytes(csv_bytes(names, "\n"))
    wof = wof_excerpt(args.shared / WOF_SOURCE)
    (out / WOF_OUT).write_bytes(csv_bytes(wof, "\n"))

    counts = {
        GED_OUT: f"{len(excerpt)} events",
        ACLED_LAYOUT_OUT: f"{len(chosen)} events",
        ADM2_OUT: "101 districts",
        NAMES_OUT: f"{len(names) - 1} areas",
        WOF_OUT: f"{len(wof) - 1} places",
    }
    (out / "PROVENANCE.md").write_text(provenance(out, counts, moved), encoding="utf-8")
    for name, count in counts.items():
        print(f"{out / name}: {count}, {(out / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
