"""Accuracy measured on real data: UCDP GED place names against UCDP's own coordinates.

A floor measured on the whole extract (5,345 exact places), so it reads the full UCDP file in ../shared.
"""

from __future__ import annotations

import pandas as pd
import pytest
from helpers import ROOT, SHARED_GED

from webmap.gazetteer import get_gazetteer, resolve
from webmap.gazetteer.rank import haversine_km

FLOOR = 0.95  # measured 0.969 (5,177 of 5,345 events) when this test was written


@pytest.mark.shared
def test_ucdp_exact_locations_resolve_within_10_km():
    events = pd.read_csv(SHARED_GED, skiprows=[1], low_memory=False)
    exact = events[events["where_prec"] == 1]
    gaz = get_gazetteer(ROOT / "gazetteer.csv")
    answers: dict[tuple[str, str], tuple[float, float] | None] = {}
    within = 0
    for name, province, lat, lon in exact[["where_coordinates", "adm_1", "latitude", "longitude"]].itertuples(
        index=False
    ):
        province = province if isinstance(province, str) else ""
        if (name, province) not in answers:
            best = resolve(name, province or None, gazetteer=gaz, limit=1)
            answers[(name, province)] = (best[0].latitude, best[0].longitude) if best else None
        point = answers[(name, province)]
        if point is not None and haversine_km(point[0], point[1], lat, lon) <= 10:
            within += 1
    share = within / len(exact)
    print(
        f"\nUCDP GED Iraq, where_prec 1: {within} of {len(exact)} events ({share:.1%}) resolved within 10 km "
        f"({len(answers)} distinct name/province pairs)"
    )
    assert len(exact) > 5000
    assert share >= FLOOR
