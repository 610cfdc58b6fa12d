"""Accuracy on records the gazetteer was not built from: the UCDP GED events it leaves out (held out by
event id) and the ACLED sample, each name with its record's district and governorate.

The same figures, with a confusion table of the misses, come from ``python bench/gazetteer_accuracy.py``.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest
from helpers import ROOT, SHARED_ACLED, SHARED_GED

from webmap import spatial
from webmap.gazetteer import get_gazetteer, resolve_place
from webmap.gazetteer.rank import haversine_km
from webmap.gazetteer.sources import ucdp_held_out

# Reached when these tests were written (bench/gazetteer_accuracy.py): UCDP held-out precision-1
# events 97.0 % within 10 km; ACLED sample precision-1 names 89.1 % within 10 km, none placed outside
# the stated governorate.
UCDP_FLOOR = 0.96
ACLED_FLOOR = 0.87
ACLED_OUTSIDE_CEILING = 0.02


def _within_10_km(records: list[tuple[str, str, str, float, float]]) -> tuple[int, list]:
    gaz = get_gazetteer(ROOT / "gazetteer.csv")
    answers: dict[tuple, object] = {}
    within = 0
    for name, district, governorate, lat, lon in records:
        key = (name, district, governorate)
        if key not in answers:
            answers[key] = resolve_place(name, district=district, governorate=governorate, gazetteer=gaz)
        best = answers[key]
        within += best is not None and haversine_km(best.latitude, best.longitude, lat, lon) <= 10
    return within, [answers[(r[0], r[1], r[2])] for r in records]


def _governorate_pcode(written: str) -> str:
    """The COD-AB P-code of a governorate as a dataset writes it ("Sala al-Din", "Babylon")."""
    gaz = get_gazetteer(ROOT / "gazetteer.csv")
    return gaz.place(gaz.row_of(resolve_place("", governorate=written, gazetteer=gaz).place_id)).own_pcode


@pytest.mark.shared
def test_held_out_ucdp_events_resolve_within_10_km():
    events = pd.read_csv(SHARED_GED, skiprows=[1], low_memory=False)
    held = events[(events["where_prec"] == 1) & events["id"].map(ucdp_held_out)].fillna({"adm_1": "", "adm_2": ""})
    records = list(held[["where_coordinates", "adm_2", "adm_1", "latitude", "longitude"]].itertuples(index=False))
    within, _ = _within_10_km(records)
    share = within / len(records)
    print(f"\nUCDP GED held-out events, where_prec 1: {within} of {len(records)} ({share:.1%}) within 10 km")
    assert len(records) > 1000
    assert share >= UCDP_FLOOR


@pytest.mark.shared
def test_acled_names_resolve_within_10_km_and_inside_the_stated_governorate():
    with SHARED_ACLED.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    records = [(r["location"], r["admin2"], r["admin1"], float(r["latitude"]), float(r["longitude"])) for r in rows]
    _, answers = _within_10_km(records)
    exact = [(rec, best) for rec, best, row in zip(records, answers, rows, strict=True) if row["geo_precision"] == "1"]
    within = sum(haversine_km(b.latitude, b.longitude, r[3], r[4]) <= 10 for r, b in exact if b is not None)
    points = pd.DataFrame({"latitude": [b.latitude for b in answers], "longitude": [b.longitude for b in answers]})
    placed = spatial.join_admin_areas(points)["admin1_pcode"]
    outside = sum(got != _governorate_pcode(r[2]) for got, r in zip(placed, records, strict=True))
    print(
        f"\nACLED sample: {within} of {len(exact)} precision-1 names ({within / len(exact):.1%}) within 10 km; "
        f"{outside} of {len(records)} names placed outside the stated governorate"
    )
    assert all(answer is not None for answer in answers)
    assert within / len(exact) >= ACLED_FLOOR
    assert outside / len(records) <= ACLED_OUTSIDE_CEILING
