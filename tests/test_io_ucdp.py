"""UCDP GED imports: real events in the HDX layout (``tests/data``, 518 of the 7,473 events of Iraq,
HXL tag row kept), and the code mappings."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pandas as pd
from helpers import GED, assert_refused, csv_rows, import_, write_rows

from webmap import spatial
from webmap.query import IncidentFilter, count_incidents, select_incidents

ALL = IncidentFilter.build(drafts=True)


def ged() -> pd.DataFrame:
    return pd.read_csv(GED, skiprows=[1], dtype=str, keep_default_na=False)


def test_every_event_imports_with_ucdp_codes_mapped(runner, store):
    result = import_(runner, GED)
    assert result.exit_code == 0, result.output
    assert "518 rows read (UTF-8, comma-separated, HXL tag row skipped): 518 inserted" in result.output
    # UCDP names that are no force of the taxonomy are reported, not guessed
    assert (
        "unknown actors, mapped to force 'other': al-Mahdi Army (17), Ansar al-Islam (15), KDP (10), PUK (9), "
        "Government of Kuwait (6)" in result.output
    )
    source = ged()
    stored = {i.source_id: i for i in select_incidents(store, ALL)}
    assert set(stored) == set(source["id"])
    assert sum(i.fatalities for i in stored.values()) == source["best"].astype(int).sum()
    types = Counter(i.event_type for i in stored.values())
    violence = source["type_of_violence"].value_counts()
    assert types["Violence against civilians"] == violence["3"]
    assert types["Battles"] == violence["1"] + violence["2"]
    precision = Counter(i.time_precision for i in stored.values())
    date_prec = source["date_prec"].value_counts()
    assert precision == {1: date_prec["1"], 2: date_prec["2"] + date_prec["3"], 3: date_prec["4"] + date_prec["5"]}
    geo = Counter(i.geo_precision for i in stored.values())
    where = source["where_prec"].astype(int).value_counts()
    assert geo == {1: where[1], 2: where[2], 3: where[where.index >= 3].sum()}


def test_one_event_field_by_field(runner, store):
    assert import_(runner, GED).exit_code == 0
    event = {i.source_id: i for i in select_incidents(store, ALL)}["114064"]
    assert event.source == "UCDP GED"
    assert event.event_date == dt.date(2014, 1, 24)
    assert (event.time_precision, event.geo_precision) == (2, 1)
    assert (event.event_type, event.sub_event_type) == ("Battles", None)
    assert (event.actor1, event.actor2, event.force1, event.force2) == (
        "Government of Iraq",
        "IS",
        "isf",
        "islamic_state",
    )
    assert (event.location, event.latitude, event.longitude) == ("Al Fallūjah town", 33.355813, 43.786124)
    assert (event.admin1, event.admin2_pcode) == ("Al-Anbar", "IQG01Q01")
    assert event.fatalities == 8
    assert event.notes.splitlines() == [
        "UCDP GED state-based conflict: Iraq: Government",
        "Deaths: best 8 (low 8, high 8, side A 0, side B 0, civilians 1, unknown 7).",
        "Date between 2014-01-24 and 2014-01-25 (UCDP date_prec 2).",
        "Source: Agence France Presse, 2014-01-25",
    ]
    # the headline is not copied
    assert "January toll tops 800" not in event.notes


def test_admin_levels_follow_where_prec(runner, store):
    assert import_(runner, GED).exit_code == 0
    where = dict(zip(ged()["id"], ged()["where_prec"].astype(int), strict=False))
    by_prec: dict[int, list] = {}
    for incident in select_incidents(store, ALL):
        by_prec.setdefault(where[incident.source_id], []).append(incident)
    # governorate only: the governorate is kept, district and sub-district are not claimed
    assert all(i.admin1_pcode and i.admin2_pcode is None and i.admin3_pcode is None for i in by_prec[4])
    # ... and is disputed as its governorate: wholly (Kirkuk), partly (unknown), or not at all
    districts = spatial.admin_areas("adm2")
    disputed = set(spatial.load_layer("disputed")["pcode"])
    share = districts.assign(disputed=districts["pcode"].isin(disputed)).groupby("parent_pcode")["disputed"].mean()
    expected = {pcode: "inside" if s == 1 else "outside" if s == 0 else "partly" for pcode, s in share.items()}
    for incident in by_prec[4]:
        assert incident.disputed == expected[incident.admin1_pcode], incident.admin1
    assert {i.admin1_pcode for i in by_prec[4] if i.disputed == "inside"} == {"IQG13"}
    # district only: no sub-district
    assert all(i.admin2_pcode and i.admin3_pcode is None for i in by_prec[3])
    # wider than a governorate (5), the country (6), waters (7): no admin area at all
    assert all(i.admin1_pcode is None for p in (5, 6, 7) for i in by_prec[p])
    # exact places are joined to a sub-district (all but points outside every polygon)
    exact = by_prec[1]
    assert sum(i.admin3_pcode is not None for i in exact) >= len(exact) - 5


def test_unknown_ucdp_code_names_the_column_and_row(runner, store, tmp_path):
    rows = csv_rows(GED)
    header = rows[0]
    rows[6][header.index("type_of_violence")] = "4"  # spreadsheet row 7
    rows[7][header.index("where_prec")] = ""  # row 8
    result = import_(runner, write_rows(tmp_path / "ged.csv", rows[:300]))
    assert_refused(
        result,
        "2 bad row(s)",
        "row 7: type_of_violence: unknown code 4 (known: 1, 2, 3)",
        "row 8: where_prec: not a UCDP code: ''",
    )
    assert count_incidents(store, ALL) == 0
