"""Whole reports through webmap.extract: the Kurdistan 24 article with the expectations of
../shared/fixtures/README.md, the 157 ACLED notes of March 2019 against ACLED's own coding (both read
from ../shared: the tests marked ``shared``), and quoted reports, Arabic among them.
"""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from helpers import ARTICLE, NRT_REPORT, SHARED_ACLED

from webmap.extract import extract, extract_incidents
from webmap.extract.actors import find_forces
from webmap.extract.places import find_places
from webmap.gazetteer.rank import haversine_km

PUBLISHED = dt.date(2021, 12, 6)  # a Monday: "early Saturday" is 4 December
SATURDAY = dt.date(2021, 12, 4)
# Floors reached on the ACLED notes (see test_acled_notes_place_and_fatalities and
# bench/gazetteer_accuracy.py: 87.9 % within 25 km, 91.1 % fatalities equal on main before killed
# became nullable; the fatalities floor stays where it was set); a change that lowers them is a
# regression. Most misses left are areas a note names that the gazetteer places elsewhere than ACLED
# does (Avasin, which the texts of the landmarks table put in Duhok and ACLED in Mergasur), names no
# source has, notes that name no place, and the first end of a road where ACLED takes another. A
# draft whose report gives no figure leaves its killed empty; it agrees with an ACLED 0, which is
# ACLED's code for "no figure reported" (its codebook), not a count (see agrees_with_acled).
PLACE_FLOOR = 0.87
FATALITIES_FLOOR = 0.87


def agrees_with_acled(extracted: int | None, acled: int) -> bool:
    """Whether a draft's killed agree with ACLED's: the same figure, or none where ACLED codes 0."""
    return extracted == acled or (extracted is None and acled == 0)


@pytest.fixture(scope="module")
def drafts():
    return extract_incidents(ARTICLE.read_text(encoding="utf-8"), PUBLISHED)


@pytest.mark.shared
def test_article_gives_one_incident_per_attack(drafts):
    assert 3 <= len(drafts) <= 4
    assert all(d.incident.status == "draft" for d in drafts)
    assert all(d.incident.source == "Kurdistan 24" for d in drafts)  # the dateline's outlet
    assert all(d.incident.event_date == SATURDAY and d.incident.time_precision == 1 for d in drafts)
    assert all(d.incident.force1 == "islamic_state" for d in drafts)


@pytest.mark.shared
def test_peshmerga_incident_is_kirkuk_governorate_at_low_precision(drafts):
    peshmerga = [d for d in drafts if d.incident.force2 == "peshmerga" and d.incident.fatalities]
    assert len(peshmerga) == 1
    incident = peshmerga[0].incident
    assert (incident.fatalities, incident.injured) == (3, 2)
    assert incident.geo_precision == 3 and incident.admin1 == "Kirkuk" and incident.admin2 is None
    assert "killed several terrorists" in peshmerga[0].vague and "several" in incident.notes
    assert any("Three Peshmerga fighters were killed" in e.text for e in peshmerga[0].evidence)


@pytest.mark.shared
def test_federal_police_at_ar_riyad_and_at_hawija(drafts):
    police = [d.incident for d in drafts if d.incident.force2 == "federal_police"]
    assert len(police) == 2
    riyad = min(police, key=lambda i: haversine_km(i.latitude, i.longitude, 35.27, 43.91))
    assert haversine_km(riyad.latitude, riyad.longitude, 35.27, 43.91) < 5
    assert riyad.admin2 == "Al-Hawiga"
    hawija = next(i for i in police if i is not riyad)
    assert hawija.admin2 == "Al-Hawiga" and haversine_km(hawija.latitude, hawija.longitude, 35.33, 43.77) < 5
    # The report gives no casualties for these attacks: not reported, not 0.
    assert all(i.fatalities is None and i.injured is None for i in police)


@pytest.mark.shared
def test_no_incident_at_the_dateline_the_extent_or_in_saudi_arabia(drafts):
    erbil, khanaqin, sinjar = (36.19, 44.01), (34.35, 45.39), (36.32, 41.87)
    for d in drafts:
        i = d.incident
        assert i.admin1 != "Erbil"
        for lat, lon in (erbil, khanaqin, sinjar):
            assert haversine_km(i.latitude, i.longitude, lat, lon) > 30
        assert i.admin1 in ("Kirkuk",) and 29 < i.latitude < 38  # Iraq, never Riyadh in Saudi Arabia


@pytest.mark.shared
def test_saving_the_same_report_twice_gives_the_same_ids(drafts):
    again = extract_incidents(ARTICLE.read_text(encoding="utf-8"), PUBLISHED)
    assert [d.incident.source_id for d in again] == [d.incident.source_id for d in drafts]
    assert len({d.incident.source_id for d in drafts}) == len(drafts)


@pytest.mark.shared
def test_acled_notes_place_and_fatalities():
    with open(SHARED_ACLED, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    near = equal = placed = 0
    for row in rows:
        published = dt.datetime.strptime(row["event_date"], "%Y%m%d").date()
        found = extract(row["notes"], published).drafts
        if not found:
            continue
        placed += 1
        first = found[0].incident
        near += haversine_km(first.latitude, first.longitude, float(row["latitude"]), float(row["longitude"])) <= 25
        equal += agrees_with_acled(first.fatalities, int(row["fatalities"]))
    n = len(rows)
    print(
        f"\nACLED notes (n={n}): a draft for {placed} ({placed / n:.1%}); place within 25 km of ACLED's point "
        f"{near} ({near / n:.1%}; {near / placed:.1%} of those placed); fatalities equal to ACLED's {equal} "
        f"({equal / n:.1%}; {equal / placed:.1%} of those placed)"
    )
    assert n == 157
    assert near / n >= PLACE_FLOOR
    assert equal / n >= FATALITIES_FLOOR


def test_arabic_example_of_the_issue():
    found = extract("قتل ثلاثة من البيشمركة في هجوم لداعش قرب كركوك", PUBLISHED)
    assert found.language == "ar"
    [draft] = found.drafts
    i = draft.incident
    assert (i.fatalities, i.force1, i.force2, i.admin1, i.geo_precision) == (
        3,
        "islamic_state",
        "peshmerga",
        "Kirkuk",
        2,
    )


def test_arabic_report_sentence_with_governorate_and_counts():
    # akhbaralaan.net/news/arab-world/2015/1/30/six-dead-including-officer-kurdish-peshmerga-iraq-isis-attack
    text = (
        "قتل ستة من قوات البشمركة الكردية بينهم ضابط برتبة عميد واصيب 46 بجروح في مواجهات مع مسلحي تنظيم داعش "
        "الذين شنوا هجوما على مناطق عدة من محافظة كركوك العراقية"
    )
    [draft] = extract_incidents(text, dt.date(2015, 1, 30))
    i = draft.incident
    assert (i.fatalities, i.injured, i.admin1, i.geo_precision) == (6, 46, "Kirkuk", 3)


def test_three_incidents_of_one_nrt_report():
    result = extract(NRT_REPORT, dt.date(2020, 8, 25))
    found = result.drafts
    summary = [(d.incident.admin1, d.incident.force2, d.incident.fatalities, d.incident.injured) for d in found]
    assert found[0].incident.force1 == "islamic_state" and found[0].incident.geo_precision == 2
    assert (summary[0][0], summary[0][2]) == ("Diyala", 2)
    assert found[0].incident.force2 == "isf"  # "Two Iraqi soldiers were killed"
    assert summary[1][1:] == ("federal_police", 4, 4) and summary[1][0] == "Kirkuk"
    # "Qara Tapa Municipal Council" names a council, and the gazetteer has no Safsaf village in Diyala:
    # the third event is left out for want of a place, and said so.
    assert len(found) == 2
    assert [e.text[:9] for e in result.left_out] == ["Meanwhile"]
    assert all(d.incident.event_date == dt.date(2020, 8, 24) for d in found[:2])


def test_a_village_of_a_city_and_a_second_attack_read_near_the_first():
    # kurdistan24.net/en/news/d35d0be6-de6e-40e8-92bb-4932f8c7c913 (two sentences, quoted)
    text = (
        "One of the attacks was carried out late Wednesday on a federal police vehicle in the southwestern Kirkuk "
        "village of Riyadh. A second attack took place just a few hours later in the village of Rashad, about 20 "
        "kilometers southeast of the previous incident."
    )
    riyadh, rashad = extract_incidents(text, dt.date(2020, 9, 3))
    assert riyadh.incident.admin3 == "Al-Riyadh" and riyadh.incident.force2 == "federal_police"
    assert riyadh.incident.event_date == dt.date(2020, 9, 2)  # late Wednesday, published on Thursday
    # The gazetteer knows villages called Rashad only in Anbar and Diyala: read near Riyadh it is the
    # Al-Rashad sub-district of Kirkuk, at sub-district precision (2).
    assert (rashad.incident.admin1, rashad.incident.admin3, rashad.incident.geo_precision) == ("Kirkuk", "Al-Rashad", 2)


def _acled_note(words: str) -> dict:
    with open(SHARED_ACLED, encoding="utf-8-sig", newline="") as fh:
        return next(row for row in csv.DictReader(fh) if words in row["notes"])


@pytest.mark.shared
def test_a_road_between_two_towns_is_near_the_first_not_in_it():
    row = _acled_note("Haditha-Baiji road")
    [draft] = extract_incidents(row["notes"], dt.date(2019, 3, 23))
    assert draft.incident.geo_precision == 2 and draft.place_words == "Haditha"


@pytest.mark.shared
def test_a_government_addressed_by_its_capital_is_no_place():
    sentence = next(line for line in ARTICLE.read_text(encoding="utf-8").splitlines() if "urged Baghdad" in line)
    assert "Baghdad" not in [p.words for p in find_places(sentence)]


@pytest.mark.shared
def test_turkish_airstrikes_and_the_global_coalition_are_attackers():
    turkish = find_forces(_acled_note("Turkish airstrikes struck PKK targets in the Qandil region")["notes"])
    assert [f.force for f in turkish] == ["turkey", "pkk_ybs"]
    coalition = extract_incidents(
        _acled_note("killed by a global coalition airstrike near the al-Rashad")["notes"], dt.date(2019, 3, 12)
    )
    assert coalition[0].incident.force1 == "coalition"
