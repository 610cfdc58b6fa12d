"""Actor names map to the documented forces (issue 6, item 1)."""

import csv

import pytest
from helpers import SHARED_ACLED

from webmap.forces import FORCE_KEYS, FORCES, match_force, parse_force


@pytest.mark.parametrize(
    "actor, force",
    [
        ("IS", "islamic_state"),
        ("ISIS", "islamic_state"),
        ("ISIL", "islamic_state"),
        ("Daesh", "islamic_state"),
        ("داعش", "islamic_state"),
        ("Islamic State (Iraq)", "islamic_state"),
        ("Hashd al-Shaabi", "pmf"),
        ("PMU", "pmf"),
        ("Military Forces of Iraq (2018-2020) Popular Mobilization Forces", "pmf"),
        ("KRG Peshmerga", "peshmerga"),
        ("Zeravani", "peshmerga"),
        ("PESHMERGA", "peshmerga"),
        ("3rd Division of the Federal Police", "federal_police"),
        ("Military Forces of Iraq (2018-2020) Counter-Terrorism Service", "cts"),
        ("Military Forces of Iraq (2018-2020)", "isf"),
        ("Government of Iraq", "isf"),
        ("Military Forces of Turkey (2016-)", "turkey"),
        ("PKK: Kurdistan Workers Party", "pkk_ybs"),
        ("YBS: Sinjar Resistance Units", "pkk_ybs"),
        ("Global Coalition Against Daesh", "coalition"),
        ("Civilians (Iraq)", "civilians"),
        ("Protesters (Iraq)", "protesters"),
        ("Unidentified Armed Group (Iraq)", "unidentified"),
        # Spellings met in reports: the Arabic without yaa (akhbaralaan.net), "Iraqi soldiers" (nrttv.com),
        # and the ACLED notes' "Turkish airstrikes", "global coalition", "Peace Brigades", "Iraqi airforce".
        ("البشمركة", "peshmerga"),
        ("قوات البشمركة", "peshmerga"),
        ("Iraqi soldiers", "isf"),
        ("Turkish airstrikes", "turkey"),
        ("global coalition", "coalition"),
        ("Peace Brigades", "pmf"),
        ("Iraqi airforce", "isf"),
        ("Iraqi Air Force", "isf"),
    ],
)
def test_aliases(actor, force):
    assert match_force(actor) == (force, True)


def test_case_and_diacritics_do_not_matter():
    assert match_force("ıSİS")[0] == "islamic_state"
    assert match_force("pêşmerge")[0] == "peshmerga"


def test_unknown_actor_is_other_and_reported():
    assert match_force("al-Mahdi Army") == ("other", False)


def test_every_force_has_a_distinct_colour_and_other_comes_last():
    assert len({f.colour for f in FORCES}) == len(FORCES)
    assert FORCE_KEYS[-1] == "other"


def test_parse_force_accepts_key_label_or_alias():
    assert (
        parse_force("federal_police")
        == parse_force("Federal Police")
        == parse_force("3rd Division of the Federal Police")
        == "federal_police"
    )
    with pytest.raises(KeyError):
        parse_force("Martians")


@pytest.mark.shared
def test_real_acled_actors_are_mostly_known():
    with open(SHARED_ACLED, encoding="utf-8-sig") as fh:
        actors = [a for row in csv.DictReader(fh) for a in (row["actor1"], row["actor2"]) if a]
    known = sum(match_force(a)[1] for a in actors)
    print(f"ACLED actors mapped to a force: {known}/{len(actors)}")
    assert known / len(actors) >= 0.9
