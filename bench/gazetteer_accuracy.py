"""Gazetteer accuracy on data it was not built from (issue 13, point 6).

    python bench/gazetteer_accuracy.py

Two held-out sets, each a place name with the record's own district and governorate as context:

- the ACLED sample in ``../shared`` (157 rows of March 2019; ACLED data never enter the build);
- UCDP GED events of the held-out fold (event id divisible by 5): the build reads the names of the
  other events only. Reported for every held-out event and for those whose name no built event has.

Printed: the share of precision-1 names within 10 km of the coded point, the share of all names
placed outside the stated governorate, and a confusion table of the kinds of miss:

- ``area for town``: the answer is a district or governorate while a place of that name lies within 10 km;
- ``outside governorate``: the answer lies outside the stated governorate;
- ``missing``: no candidate of the name lies within 10 km of the coded point (a place the gazetteer lacks);
- ``ranked below``: a candidate within 10 km exists, another ranked first;
- ``no answer``: nothing resolved.

Then the extraction figures on the ACLED notes: incidents within 25 km of ACLED's point, fatalities
equal (a draft without a figure equals ACLED's 0, its code for "none reported"), and the misses by
kind (:func:`extraction_miss_kind`). The same floors are asserted by
tests/test_gazetteer_accuracy.py and tests/test_extract_reports.py.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
from collections import Counter
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webmap import spatial  # noqa: E402
from webmap.gazetteer import get_gazetteer, resolve, resolve_place  # noqa: E402
from webmap.gazetteer.rank import haversine_km  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
ACLED = SHARED / "acled-irq" / "ACLED_Iraq_2019-03_sample.csv"
UCDP = SHARED / "ucdp-ged-irq" / "conflict_data_irq.csv"
HOLDOUT_MODULUS = 5
KINDS = ("area for town", "outside governorate", "missing", "ranked below", "no answer")


def acled_records() -> list[dict]:
    with ACLED.open(encoding="utf-8-sig", newline="") as handle:
        return [
            {
                "name": row["location"],
                "district": row["admin2"],
                "governorate": row["admin1"],
                "latitude": float(row["latitude"]),
                "longitude": float(row["longitude"]),
                "precision": int(row["geo_precision"]),
            }
            for row in csv.DictReader(handle)
        ]


def ucdp_records() -> tuple[list[dict], list[dict]]:
    """Held-out UCDP events with where_prec 1-2: all of them, and those whose name no built event has."""
    events = pd.read_csv(UCDP, skiprows=[1], low_memory=False)
    events = events[events["where_prec"].isin([1, 2])].fillna({"adm_1": "", "adm_2": ""})
    held = events["id"] % HOLDOUT_MODULUS == 0
    built_names = set(events.loc[~held, "where_coordinates"])
    records = [
        {
            "name": e.where_coordinates,
            "district": e.adm_2,
            "governorate": e.adm_1,
            "latitude": e.latitude,
            "longitude": e.longitude,
            "precision": e.where_prec,
        }
        for e in events[held].itertuples()
    ]
    return records, [r for r in records if r["name"] not in built_names]


def answer(record: dict, gazetteer) -> tuple[object | None, list]:
    """What the importer's geocoding gives (``resolve_place``: the first of these) and the other candidates."""
    candidates = resolve(
        record["name"],
        gazetteer=gazetteer,
        limit=50,
        district=record["district"] or None,
        governorate=record["governorate"] or None,
        online=False,
    )
    return (candidates[0] if candidates else None), candidates


def evaluate(records: list[dict], gazetteer) -> dict:
    """Within-10-km share of precision-1 names, outside-governorate share and miss kinds."""
    cache: dict[tuple, tuple] = {}
    for record in records:
        key = (record["name"], record["district"], record["governorate"])
        if key not in cache:
            cache[key] = answer(record, gazetteer)
    answered = [(r, *cache[(r["name"], r["district"], r["governorate"])]) for r in records]
    points = pd.DataFrame(
        {
            "latitude": [best.latitude if best else r["latitude"] for r, best, _ in answered],
            "longitude": [best.longitude if best else r["longitude"] for r, best, _ in answered],
        }
    )
    joined = spatial.join_admin_areas(points)
    stated = [resolve_place("", governorate=r["governorate"] or None, gazetteer=gazetteer) for r in records]
    stated = [gazetteer.place(gazetteer.row_of(s.place_id)).own_pcode if s else None for s in stated]
    kinds: Counter = Counter()
    within = exact = outside = 0
    for (record, best, candidates), got, want in zip(answered, joined["admin1_pcode"], stated, strict=True):
        off_governorate = best is not None and want is not None and got != want
        outside += off_governorate
        if record["precision"] != 1:
            continue
        exact += 1
        if (
            best is not None
            and haversine_km(best.latitude, best.longitude, record["latitude"], record["longitude"]) <= 10
        ):
            within += 1
            continue
        near = [
            c
            for c in candidates
            if haversine_km(c.latitude, c.longitude, record["latitude"], record["longitude"]) <= 10
        ]
        if best is None:
            kinds["no answer"] += 1
        elif best.feature_code in ("ADM1", "ADM2") and near:
            kinds["area for town"] += 1
        elif off_governorate:
            kinds["outside governorate"] += 1
        elif not near:
            kinds["missing"] += 1
        else:
            kinds["ranked below"] += 1
    return {"n": len(records), "exact": exact, "within": within, "outside": outside, "kinds": kinds}


EXTRACTION_KINDS = ("no draft", "area for place", "name missing", "same name elsewhere", "another name")


def extraction_miss_kind(row: dict, first, gazetteer) -> str:
    """The kind of an extraction miss (``first``: the first draft's incident, None when no draft):

    - ``area for place``: the draft stands for a district or governorate (precision 3), ACLED names a place;
    - ``name missing``: no candidate of ACLED's location lies within 25 km of its point;
    - ``same name elsewhere``: the draft is a candidate of ACLED's location, another than the one near its point;
    - ``another name``: the draft is another name of the note.
    """
    if first is None:
        return "no draft"
    if first.geo_precision == 3 and int(row["geo_precision"]) < 3:
        return "area for place"
    _, candidates = answer(
        {"name": row["location"], "district": row["admin2"], "governorate": row["admin1"]}, gazetteer
    )
    point = (float(row["latitude"]), float(row["longitude"]))
    if not any(haversine_km(c.latitude, c.longitude, *point) <= 25 for c in candidates):
        return "name missing"
    if any(haversine_km(c.latitude, c.longitude, first.latitude, first.longitude) <= 1 for c in candidates):
        return "same name elsewhere"
    return "another name"


def extraction_figures(gazetteer) -> tuple[int, int, int, Counter]:
    """Notes, incidents within 25 km of ACLED's point, fatalities equal, and the misses by kind."""
    from webmap.extract import extract

    near = equal = 0
    kinds: Counter = Counter()
    with ACLED.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        drafts = extract(row["notes"], dt.datetime.strptime(row["event_date"], "%Y%m%d").date()).drafts
        first = drafts[0].incident if drafts else None
        if first is not None:
            # ACLED codes 0 where no figure is reported; a draft leaves such a count empty.
            acled = int(row["fatalities"])
            equal += first.fatalities == acled or (first.fatalities is None and acled == 0)
            distance = haversine_km(first.latitude, first.longitude, float(row["latitude"]), float(row["longitude"]))
            if distance <= 25:
                near += 1
                continue
        kinds[extraction_miss_kind(row, first, gazetteer)] += 1
    return len(rows), near, equal, kinds


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(description=__doc__.split("\n\n")[0]).parse_args(argv)
    for path in (ACLED, UCDP):
        if not path.exists():
            sys.exit(f"{path}: missing (the evaluation reads ../shared)")
    gazetteer = get_gazetteer()
    held, unseen = ucdp_records()
    sets = {"ACLED sample": acled_records(), "UCDP held-out": held, "UCDP held-out, unseen names": unseen}
    print("| data | names | precision 1 | within 10 km | outside stated governorate | " + " | ".join(KINDS) + " |")
    print("| --- " * (5 + len(KINDS)) + "|")
    for label, records in sets.items():
        r = evaluate(records, gazetteer)
        print(
            f"| {label} | {r['n']} | {r['exact']} | {r['within'] / max(r['exact'], 1):.1%} "
            f"| {r['outside'] / max(r['n'], 1):.1%} | " + " | ".join(str(r["kinds"][k]) for k in KINDS) + " |"
        )
    n, near, equal, kinds = extraction_figures(gazetteer)
    print(
        f"\nACLED notes (n={n}): extracted incident within 25 km {near / n:.1%}, fatalities equal {equal / n:.1%}; "
        f"misses ({n - near}): " + ", ".join(f"{k} {kinds[k]}" for k in EXTRACTION_KINDS)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
