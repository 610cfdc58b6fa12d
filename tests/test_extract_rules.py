"""Each rule of webmap.extract on a real sentence.

Sentences come from the Kurdistan 24 fixture and the ACLED notes, read from ../shared at test time
(ACLED rows are picked by their event id; those tests are marked ``shared``), or are single
sentences of public news reports quoted with their source.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache

import pytest
from helpers import ARTICLE, SHARED_ACLED

from webmap.extract import extract
from webmap.extract.actors import find_forces, pick_actors
from webmap.extract.counts import INJURED, KILLED, find_counts, total, vague_phrases
from webmap.extract.dates import find_dates
from webmap.extract.events import NEW_EVENT, SUMMARY, classify, find_triggers, reports_event
from webmap.extract.places import choose_place, find_places
from webmap.extract.sentences import split_article, split_clauses
from webmap.gazetteer.rank import haversine_km

# Public reports, one sentence each, quoted for the rules they exercise.
DAILY_BEAST = (
    "Islamic State militants launched an attack on the Iraqi city of Kirkuk early Friday morning, killing at "
    "least six police officers and 16 civilians."
)  # thedailybeast.com/isis-launches-deadly-attack-on-kirkuk
# news.antiwar.com/2021/12/03/isis-attacks-iraqi-kurdish-village-12-killed/
ANTIWAR = "Officials say 10 Peshmerga and three civilians were killed."
ANF = (
    "In the clashes that continued until midnight, 3 peshmergas lost their lives and 8 others were wounded, who "
    "were then taken to hospitals in Dakuk."
)  # anfenglishmobile.com/news/three-peshmergas-killed-in-isis-attack-on-kakai-kurds-in-dakuk-21501
PALPRESS = (
    '"Elements of the terrorist organization ISIL attacked late last night an Iraqi army outpost located at the '
    "outskirts of the Matiepja area, between Diyala and Salah al-Din governorates, and the attack killed Four "
    "soldiers and five others were wounded and taken to hospital."
)  # palpress.net/?View=News&id=78&dep=3
KUNA = (
    "BAGHDAD, Jan 21 (KUNA) -- A terror attack in Diyala governorate, eastern Iraq, had led to the death of 11 "
    "soldiers, said governor Muthana Al-Timimi Friday"
)  # kuna.net.kw/ArticleDetails.aspx?id=3022892&Language=en
IRAQINEWS = (
    "A security source revealed that a Peshmerga member was killed and two others injured in an IED explosion "
    "at Daquq district in southern Kirkuk."
)  # iraqinews.com/iraq-war/peshmerga-patrol-attacked-in-kirkuk-three-casualties/
SPUTNIK = (
    "MOSCOW (Sputnik) — An Islamic State terror group (Daesh) attack on Kurdish military forces Peshmerga in "
    "Iraq’s northern Kirkuk governorate left two people killed and 15 others injured, local media said Thursday."
)
# ^ southafricatoday.net/world-news/middle-east/daesh-attack-on-kurds-in-northern-iraq-leaves-2-killed-15-more-injured/
NRT = (
    "SULAIMANI — Two Iraqi soldiers were killed in an Islamic State (ISIS) attack on a security post on the "
    "outskirts of al-Miqdadiyah district in northwest Diyala governorate on Monday night (August 24), according "
    "to a security source."
)  # nrttv.com/En/News.aspx?id=23442&MapID=2
ANTIWAR_OVERNIGHT = (
    "An overnight ISIS attack on the village of Khidir Jija in Iraqi Kurdistan saw several homes "
    "attacked, and at least 13 killed."
)  # news.antiwar.com/2021/12/03/isis-attacks-iraqi-kurdish-village-12-killed/
BAGHDAD_POST = (
    "The jihadists carried out a similar attack on the pro-Iranian Hashd al-Shaabi militias in Diyala on "
    "Sunday night, killing seven militiamen and injuring five others, among them were the head of mayoral "
    "council of Uzem and a tribal leader."
)  # thebaghdadpost.com/en/Story/48154/ISIS-attacks-Iraqi-army-in-Diyala-again-casualties-reported


@lru_cache(maxsize=1)
def _acled() -> dict[str, dict]:
    with open(SHARED_ACLED, encoding="utf-8-sig", newline="") as fh:
        return {row["event_id_cnty"]: row for row in csv.DictReader(fh)}


def note(event_id: str) -> str:
    """The notes of the ACLED row ``event_id``."""
    return _acled()[event_id]["notes"]


def published(event_id: str) -> dt.date:
    return dt.datetime.strptime(_acled()[event_id]["event_date"], "%Y%m%d").date()


def article() -> str:
    return ARTICLE.read_text(encoding="utf-8")


def sentence_with(words: str) -> str:
    """The fixture's sentence holding ``words``."""
    found = [s.text for s in split_article(article()).sentences if words in s.text]
    assert len(found) == 1, words
    return found[0]


def shared_text(key: str) -> str:
    """The notes of ACLED row ``key`` (``IRQ...``), else the fixture's sentence holding ``key``."""
    return note(key) if key.startswith("IRQ") else sentence_with(key)


# -- sentences -----------------------------------------------------------------------------------
@pytest.mark.shared
def test_the_articles_dateline_is_cut_off_and_names_the_outlet():
    split = split_article(article())
    assert [(d.place, d.outlet) for d in split.datelines] == [("ERBIL", "Kurdistan 24")]
    assert not any(s.text.startswith("ERBIL") for s in split.sentences)


def test_dateline_is_cut_off_and_names_the_outlet():
    assert split_article(SPUTNIK).datelines[0].place == "MOSCOW"
    assert split_article(KUNA).datelines[0].outlet == "KUNA"
    assert split_article(NRT).datelines[0].place == "SULAIMANI"


@pytest.mark.shared
def test_read_more_lines_and_repeated_captions_are_not_read():
    texts = [s.text for s in split_article(article()).sentences]
    assert not any(t.startswith("Read More") for t in texts)
    assert sum("stands guard at an outpost" in t for t in texts) == 1
    assert not any(t.startswith("Editing by") for t in texts)


@pytest.mark.shared
def test_a_sentence_with_two_attacks_is_cut_at_while():
    sentence = sentence_with("The first assault targeted")
    clauses = [c for c, _ in split_clauses(sentence, reports_event)]
    assert len(clauses) == 2
    assert "Riyadh" in clauses[0] and "Hawija" in clauses[1]


@pytest.mark.shared
def test_while_without_an_event_on_both_sides_does_not_cut():
    sentence = note("IRQ19263")  # gunfire ", while" the victims were at work: one event
    assert len(split_clauses(sentence, reports_event)) == 1


# -- dates ----------------------------------------------------------------------------------------
SATURDAY = dt.date(2021, 12, 4)


@pytest.mark.shared
@pytest.mark.parametrize("published_on", [SATURDAY, SATURDAY + dt.timedelta(days=2)])
def test_early_saturday_is_the_saturday_on_or_before_publication(published_on):
    found = find_dates(sentence_with("early Saturday."), published_on)
    assert [(d.text, d.date, d.time_precision) for d in found] == [("early Saturday", SATURDAY, 1)]


def test_weekday_night_and_day_month_in_brackets():
    found = find_dates(NRT, dt.date(2020, 8, 25))
    assert [(d.date, d.time_precision) for d in found] == [(dt.date(2020, 8, 24), 1), (dt.date(2020, 8, 24), 1)]


def test_last_night_and_overnight_are_the_day_before_publication():
    assert [(d.date, d.time_precision) for d in find_dates(PALPRESS, dt.date(2019, 7, 2))] == [(dt.date(2019, 7, 1), 1)]
    assert find_dates(ANTIWAR_OVERNIGHT, dt.date(2021, 12, 3))[0].date == dt.date(2021, 12, 2)


@pytest.mark.shared
def test_acled_day_month_with_and_without_year():
    assert find_dates(note("IRQ19313"), published("IRQ19313"))[0].date == dt.date(
        2019, 3, 28
    )  # "as reported on" + month + day
    assert find_dates(note("IRQ19185"), published("IRQ19185"))[0].date == dt.date(2019, 3, 9)  # day, month name, year


@pytest.mark.shared
def test_a_date_after_publication_is_not_an_event_date():
    # An event of March 30 whose note also gives the later day of an announcement, read as published on March 30.
    assert [d.date for d in find_dates(note("IRQ19285"), published("IRQ19285"))] == [dt.date(2019, 3, 30)]


@pytest.mark.shared
def test_a_yearless_date_far_ahead_of_publication_is_last_year():
    # "On Mar 1" in a report of 2 January is the previous March.
    assert find_dates(note("IRQ19146"), dt.date(2020, 1, 2))[0].date == dt.date(2019, 3, 1)


def test_arabic_dawn_today_and_last_night():
    # akhbaralaan.net/news/arab-world/2015/1/30/six-dead-including-officer-kurdish-peshmerga-iraq-isis-attack
    dawn = (
        "واشتبكت القوات الكردية مع المسلحين المتشددين الذين شنوا فجر اليوم "
        "ما وصف بـأعنف هجوم منذ عدة أشهر على محافظة كركوك"
    )
    assert [d.date for d in find_dates(dawn, dt.date(2015, 1, 30))] == [dt.date(2015, 1, 30)]
    # elaph.com/Web/News/2015/1/978722.html
    night = "قالت مصادر كردية إن مقاتلي تنظيم داعش هاجموا منتصف الليلة الماضية مناطق انتشار قوات البيشمركة الكردية"
    assert [d.date for d in find_dates(night, dt.date(2015, 1, 30))] == [dt.date(2015, 1, 29)]


def test_yesterday_today_and_last_week():
    # albawaba.com/news/angry-basra-mob-set-government-buildings-fire-1182802 (published 7 September 2018)
    slain = "The protesters slain yesterday in downtown Basra were killed by unknown gunmen in a car"
    assert [(d.date, d.time_precision) for d in find_dates(slain, dt.date(2018, 9, 7))] == [(dt.date(2018, 9, 6), 1)]
    # kirkuknow.com/en/news/66446
    today = "One of the injured passed away today Sunday in Daquq hospital, the source said today."
    assert {d.date for d in find_dates(today, dt.date(2020, 9, 13))} == {dt.date(2020, 9, 13)}
    # iraqinews.com/iraq-war/peshmerga-patrol-attacked-in-kirkuk-three-casualties/
    week = (
        "It may be mentioned here that Peshmerga forces thwarted two ISIS attacks last week in Tuz Khurmatu and Daquq."
    )
    assert [(d.date, d.time_precision) for d in find_dates(week, dt.date(2016, 5, 10))] == [(dt.date(2016, 5, 3), 2)]


def test_arabic_yesterday_friday():
    # djazairess.com/alfadjr/296697, published on Saturday 31 January 2015
    text = "يوم أمس الجمعة، في معارك بمناطق متفرقة من محافظة كركوك العراقية ومركزها"
    assert {d.date for d in find_dates(text, dt.date(2015, 1, 31))} == {dt.date(2015, 1, 30)}


def test_no_date_gives_the_publication_date_at_week_precision(gazetteer_ready):
    drafts = extract(IRAQINEWS, dt.date(2016, 5, 10)).drafts
    assert [(d.incident.event_date, d.incident.time_precision) for d in drafts] == [(dt.date(2016, 5, 10), 2)]


# -- counts ---------------------------------------------------------------------------------------
def counts(text: str) -> tuple[int | None, int | None]:
    found = find_counts(text)
    return total(found, KILLED), total(found, INJURED)


@pytest.mark.shared
@pytest.mark.parametrize(
    "key, expected",
    [
        ("Three Peshmerga fighters were killed", (3, 2)),  # number words, "two were wounded"
        ("IRQ19322", (2, 1)),  # verb-number, "a <noun> was killed", number-passive
        ("IRQ19165", (1, 1)),  # "injuring his <relative>" is one
        ("IRQ19323", (1, 1)),  # "killing a <noun>", "injuring another"
        ("IRQ19155", (2, None)),  # "killing them" takes the number before it
        ("IRQ19185", (2, None)),  # number, noun phrase, "dead"
        ("IRQ19178", (1, None)),  # "a <noun> of the <force> was killed"
        ("IRQ19329", (1, 1)),  # "another was injured"
        ("IRQ19189", (3, None)),  # number word + "fatalities"
        ("IRQ19299", (8, None)),  # suicide deaths plus the others killed
        ("IRQ19247", (1, None)),  # "the killing of" + number
    ],
)
def test_killed_and_wounded_numbers_in_the_article_and_acled_notes(key, expected):
    assert counts(shared_text(key)) == expected


@pytest.mark.parametrize(
    "text, expected",
    [
        (DAILY_BEAST, (22, None)),  # "killing at least six police officers and 16 civilians"
        (ANTIWAR, (13, None)),  # "10 Peshmerga and three civilians were killed"
        (ANF, (3, 8)),  # "lost their lives"
        (PALPRESS, (4, 5)),  # "killed Four soldiers and five others were wounded"
        (KUNA, (11, None)),  # "the death of 11 soldiers"
        (IRAQINEWS, (1, 2)),  # "a Peshmerga member was killed and two others injured"
    ],
)
def test_killed_and_wounded_numbers(text, expected):
    assert counts(text) == expected


@pytest.mark.shared
def test_no_casualties_is_an_explicit_zero():
    assert counts(note("IRQ19280")) == (0, 0)


@pytest.mark.shared
@pytest.mark.parametrize(
    "key, words",
    [
        ("killed several terrorists", "killed several terrorists"),
        ("IRQ19324", "killed and injured 8"),  # killed and injured not told apart: no number
        ("IRQ19319", "Unknown fatalities"),
    ],
)
def test_vague_amounts_are_words_for_the_notes_not_numbers(key, words):
    found = find_counts(shared_text(key))
    assert any(phrase.startswith(words) for phrase in vague_phrases(found))
    assert total(found, KILLED) is None


@pytest.mark.shared
def test_an_article_before_a_bomb_is_no_count():
    # "a suspected IS planted car bomb ... killing 2 civilians ..., and wounded 10 others": the bomb is not a person.
    assert counts(note("IRQ19180")) == (2, 10)


def test_arabic_killed_and_wounded():
    assert counts("قتل ثلاثة من البيشمركة في هجوم لداعش قرب كركوك") == (3, None)  # the example of issue 7
    # akhbaralaan.net/news/arab-world/2015/1/30/six-dead-including-officer-kurdish-peshmerga-iraq-isis-attack
    assert counts(
        "قتل ستة من قوات البشمركة الكردية بينهم ضابط برتبة عميد واصيب 46 بجروح في مواجهات مع مسلحي "
        "تنظيم داعش الذين شنوا هجوما على مناطق عدة من محافظة كركوك العراقية"
    ) == (6, 46)
    # masress.com/shorouk/852973
    assert counts(
        "كما اندلعت اشتباكات بين البيشمركة ومسلحي داعش في سهل قراج جنوبي مخمور بمحافظة نينوي أسفرت عن "
        "استشهاد 4 من مقاتلى البيشمركة وإصابة 10 آخرين بجراح"
    ) == (4, 10)


# -- actors ---------------------------------------------------------------------------------------
@pytest.mark.shared
def test_the_verb_is_is_not_the_islamic_state():
    sentence = sentence_with("it is directed against both civilians")
    assert [m.force for m in find_forces(sentence)] == ["islamic_state", "civilians"]  # "ISIS", not "is"


@pytest.mark.shared
def test_attacker_and_target_from_the_words_around_them():
    assert pick_actors(find_forces(sentence_with("attacked a Peshmerga unit"))) == ("islamic_state", "peshmerga")
    assert pick_actors(find_forces(sentence_with("Three Peshmerga fighters"))) == ("islamic_state", "peshmerga")
    assert pick_actors(find_forces(note("IRQ19313"))) == (
        "federal_police",
        "islamic_state",
    )  # police repel an IS attack
    assert pick_actors(find_forces(note("IRQ19303"))) == ("pmf", "islamic_state")  # a date, then the PMF acting


@pytest.mark.shared
def test_anti_isis_coalition_is_the_coalition_not_isis():
    forces = find_forces(sentence_with("anti-ISIS Coalition"))
    assert "islamic_state" not in [m.force for m in forces]


def test_arabic_forces_with_written_on_prefixes():
    forces = find_forces("قتل ثلاثة من البيشمركة في هجوم لداعش قرب كركوك")
    assert pick_actors(forces) == ("islamic_state", "peshmerga")


# -- events ---------------------------------------------------------------------------------------
@pytest.mark.shared
@pytest.mark.parametrize(
    "event_id, expected",
    [
        ("IRQ19313", ("Battles", "Armed clash")),
        ("IRQ19363", ("Explosions/Remote violence", "Air/drone strike")),  # "Turkish jets hit"
        ("IRQ19180", ("Explosions/Remote violence", "Remote explosive/landmine/IED")),  # car bomb
        ("IRQ19303", ("Explosions/Remote violence", "Suicide bomb")),
        ("IRQ19173", ("Explosions/Remote violence", "Grenade")),
        ("IRQ19263", ("Violence against civilians", "Attack")),  # IS militants opened fire at civilians
        ("IRQ19226", ("Violence against civilians", "Abduction/forced disappearance")),
        ("IRQ19146", ("Protests", "Peaceful protest")),
        ("IRQ19171", ("Protests", "Protest with intervention")),  # dispersed with shots in the air and tear gas
        ("IRQ19327", ("Riots", "Mob violence")),  # "was badly beaten"
        ("IRQ19307", ("Strategic developments", "Disrupted weapons use")),
        ("IRQ19300", ("Strategic developments", "Looting/property destruction")),
        ("IRQ19174", ("Strategic developments", "Other")),  # mass grave
    ],
)
def test_event_types_in_acled_taxonomy(event_id, expected):
    text = note(event_id)
    forces = find_forces(text)
    assert classify(find_triggers(text), pick_actors(forces)[1], text) == expected


def test_protesters_storming_and_burning_a_building_is_a_riot():
    # latimes.com/world/la-fg-iraq-protests-fire-20180906-story.html
    text = (
        "Iraqi protesters stormed and set fire to a provincial government building in the southern city of Basra "
        "despite a curfew imposed by authorities Thursday to try to quell demonstrations against poor public "
        "services and unemployment that have turned violent."
    )
    assert classify(find_triggers(text), None, text) == ("Riots", "Violent demonstration")


@pytest.mark.parametrize(
    "text, expected",
    [
        # archive.pakistantoday.com.pk/2018/09/08/basra-people-go-against-iran-torch-buildings/
        (
            "BASRA: Assailants fired three Katyusha rockets at Iraq’s Basra airport Saturday, "
            "an airport official said.",
            ("Explosions/Remote violence", "Shelling/artillery/missile attack"),
        ),
        # counteriedreport.com/iraq-three-iraqi-soldiers-killed-in-suspected-isis-attack-in-rural-diyala/
        (
            "The terrorists killed three Iraqi army soldiers and wounded another one, the source added, "
            "noting that the security forces retook control of the area.",
            ("Battles", "Government regains territory"),
        ),
        # syriacpress.com/blog/2021/12/07/
        #   islamic-state-attacks-villages-and-security-forces-in-kurdistan-region-of-iraq/
        (
            "Peshmerga forces and civilians in the Kurdistan Region of Iraq sustained multiple casualties "
            "in an attack by Islamic State (ISIS) militants who briefly took control of a village "
            "south of Kirkuk (Kerkeslokh) province.",
            ("Battles", "Non-state actor overtakes territory"),
        ),
        # latimes.com/world/la-fg-iraq-protests-fire-20180906-story.html
        (
            "Three protesters were shot dead by security forces, according to a medical and a security official.",
            ("Protests", "Excessive force against protesters"),
        ),
        # masress.com/shorouk/852973
        (
            "إن عبوة ناسفة انفجرت اليوم في رتل عسكري من البيشمركة في قرية البو دراجي التابعة لناحية جلولاء أسفرت عن "
            "استشهاد 7 مقاتلين من البيشمركة",
            ("Explosions/Remote violence", "Remote explosive/landmine/IED"),
        ),
        # elaph.com/Web/News/2015/1/978722.html
        (
            "فيما ساندت طائرات التحالف المقاتلين الاكراد بشن غارات على مواقع وعناصر التنظيم",
            ("Explosions/Remote violence", "Air/drone strike"),
        ),
        # masress.com/shorouk/852973
        ("كما اندلعت اشتباكات بين البيشمركة ومسلحي داعش في سهل قراج جنوبي مخمور", ("Battles", "Armed clash")),
    ],
)
def test_event_types_of_public_reports(text, expected):
    assert classify(find_triggers(text), None, text) == expected


@pytest.mark.shared
def test_a_negated_clash_is_no_event():
    assert not any(
        t.text.lower().startswith("clash") for t in find_triggers(note("IRQ19300"))
    )  # a clash that did not happen


def test_new_incident_cues():
    assert NEW_EVENT.search("The first assault targeted") and NEW_EVENT.search("while the second one targeted")
    assert NEW_EVENT.search(BAGHDAD_POST)  # "a similar attack"


@pytest.mark.shared
def test_summary_cues_in_the_article():
    assert SUMMARY.search(sentence_with("two armed assaults"))
    assert not reports_event(sentence_with("still poses a serious threat"))


# -- places ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def gazetteer_ready():
    """The shipped gazetteer, loaded once for the module."""
    from webmap.gazetteer import get_gazetteer

    return get_gazetteer()


def place_of(text: str):
    forces = find_forces(text)
    return choose_place(find_places(text, forbidden=[(f.start, f.end) for f in forces]))


@pytest.mark.shared
def test_direction_from_a_governorate_is_the_governorate_at_low_precision(gazetteer_ready):
    place = place_of(sentence_with("northwest of the disputed Kirkuk province"))
    assert (place.level, place.name, place.geo_precision) == ("governorate", "Kirkuk", 3)


@pytest.mark.shared
def test_riyadh_district_southwest_of_kirkuk_is_ar_riyad_not_the_saudi_capital(gazetteer_ready):
    clause = split_clauses(sentence_with("The first assault targeted"), reports_event)[0][0]
    place = place_of(clause)
    assert abs(place.latitude - 35.27) < 0.05 and abs(place.longitude - 43.91) < 0.05
    assert place.geo_precision == 2


@pytest.mark.shared
def test_region_extent_and_second_spelling_are_not_places(gazetteer_ready):
    words = [p.words for p in find_places(sentence_with("starting from Khanaqin"))]
    assert not {"Khanaqin", "Sinjar", "Shingal"} & set(words)


@pytest.mark.shared
def test_names_inside_organisations_and_persons_are_not_places(gazetteer_ready):
    assert find_places(sentence_with("Kurdistan Region Prime Minister")) != []  # Kirkuk only
    assert {p.name for p in find_places(sentence_with("Kurdistan Region Prime Minister"))} == {"Kirkuk"}
    assert "Azadi" not in [p.words for p in find_places(note("IRQ19214"))]  # part of a party's name
    assert "Serkan" not in [p.words for p in find_places(note("IRQ19238"))]  # a person's first name


def test_a_governors_name_is_not_a_place(gazetteer_ready):
    assert all(p.words != "Muthana" for p in find_places(KUNA))  # governor Muthana Al-Timimi


@pytest.mark.shared
def test_a_village_must_lie_in_the_district_the_sentence_names(gazetteer_ready):
    place = place_of(note("IRQ19329"))  # a village in a district in a governorate
    assert place.governorate == "Kirkuk"
    assert place.words == "Daquq"


@pytest.mark.shared
def test_a_place_in_a_city_must_lie_near_it(gazetteer_ready):
    place = place_of(note("IRQ19220"))  # an area of Mosul whose name is also elsewhere
    assert place.governorate == "Ninewa"


@pytest.mark.shared
def test_a_district_named_with_the_wrong_governorate_wins(gazetteer_ready):
    place = place_of(note("IRQ19208"))  # a district given the wrong governorate
    assert place.words.startswith("Makhm") and place.level == "district"


@pytest.mark.shared
def test_a_district_with_a_town_of_its_name_is_the_town_at_precision_2(gazetteer_ready):
    place = place_of(note("IRQ19149"))  # "<district> district in <governorate> province"
    assert (place.geo_precision, place.level) == (2, "district")
    assert abs(place.latitude - 35.33) < 0.05


def test_near_and_outskirts_give_precision_2(gazetteer_ready):
    place = place_of(NRT)
    assert place.geo_precision == 2 and place.governorate == "Diyala"


def test_arabic_place_near_kirkuk(gazetteer_ready):
    place = place_of("قتل ثلاثة من البيشمركة في هجوم لداعش قرب كركوك")
    assert place.governorate == "Kirkuk" and place.geo_precision == 2


# The examples of a landmark in a city (issue 13, kind 4): a square or bridge never becomes a
# village of the same name elsewhere; it is the landmark, or its city at precision 2.
@pytest.mark.parametrize(
    "text, city",
    [
        ("A bomb exploded in Tahrir square, Baghdad city, killing two people.", (33.34, 44.40)),
        ("Gunmen opened fire on protesters on al-Nasr bridge in Nassiriya, killing one.", (31.05, 46.26)),
        ("An IED exploded in Baghdad's Tahrir Square, killing one.", (33.34, 44.40)),
        ("انفجرت عبوة ناسفة في ساحة التحرير ببغداد مما أسفر عن مقتل شخصين", (33.34, 44.40)),
    ],
)
def test_a_square_or_bridge_in_a_city_is_in_that_city(gazetteer_ready, text, city):
    place = place_of(text)
    assert haversine_km(place.latitude, place.longitude, *city) < 10
    assert place.geo_precision in (1, 2) and place.level == "place"


def test_a_region_of_a_governorate_is_an_area_in_it(gazetteer_ready):
    place = place_of("Turkish warplanes bombed PKK positions in the Haftanin region of Dahuk, killing three.")
    assert (place.name, place.words, place.governorate, place.geo_precision) == ("Haftanin", "Haftanin", "Duhok", 2)
    assert haversine_km(place.latitude, place.longitude, 37.06, 42.99) > 15  # not Duhok's centre


@pytest.mark.shared
def test_a_direction_from_a_governorate_is_kept_in_the_location(gazetteer_ready):
    [draft] = extract(sentence_with("northwest of the disputed Kirkuk province"), dt.date(2021, 12, 6)).drafts
    incident = draft.incident
    assert (incident.location, incident.geo_precision, incident.admin1, incident.admin2) == (
        "northwest of Kirkuk governorate",
        3,
        "Kirkuk",
        None,
    )
    assert "northwest of the disputed Kirkuk province" in incident.notes


@pytest.mark.parametrize(
    ("text", "name", "governorate", "point"),
    [
        # A village called Qandil lies in Ninewa, far from the range; Gara is also a town in Morocco.
        ("Turkish warplanes struck PKK positions in the Qandil region.", "Qandil Mountains", "Erbil", (36.54, 45.0)),
        ("Turkish jets bombed PKK hideouts in the Qandil area.", "Qandil Mountains", "Erbil", (36.54, 45.0)),
        ("Turkish airstrikes hit PKK shelters in the Gara region.", "Gara Mountain", "Duhok", None),
        ("Turkish airstrikes hit PKK shelters in the Gara (Chiya-e Gara) region.", "Gara Mountain", "Duhok", None),
    ],
)
def test_a_region_is_the_range_or_area_of_its_name_not_a_village_elsewhere(
    gazetteer_ready, text, name, governorate, point
):
    place = place_of(text)
    assert (place.name, place.governorate, place.geo_precision) == (name, governorate, 2)
    if point is not None:
        assert haversine_km(place.latitude, place.longitude, *point) < 5


def test_a_village_in_the_region_of_its_name_stands_for_the_region(gazetteer_ready):
    place = place_of("Turkish jets hit PKK targets in the Metina region.")
    assert (place.name, place.governorate, place.geo_precision) == ("Metina", "Duhok", 2)


@pytest.mark.parametrize(
    ("text", "governorate", "capital"),
    [
        ("On Mar 7, gunmen killed two farmers in Diyala province.", "Diyala", (33.754, 44.605)),
        ("An IED exploded near a police patrol in Salahuddin province.", "Salah Al-Din", (34.616, 43.679)),
        ("Security forces found a mass grave in western Ninewa province.", "Ninewa", (36.335, 43.119)),
        ("Protesters gathered in front of the oil company in Basra province.", "Al-Basrah", (30.509, 47.78)),
    ],
)
def test_a_governorate_alone_is_placed_at_its_capital_and_says_so(gazetteer_ready, text, governorate, capital):
    [draft] = extract(text, dt.date(2020, 5, 1)).drafts
    incident = draft.incident
    assert haversine_km(incident.latitude, incident.longitude, *capital) < 2
    assert incident.geo_precision == 3 and incident.admin1 == governorate and incident.admin2 is None
    assert incident.location.endswith(" governorate")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Turkish jets struck PKK positions in Xakurk region, northern Iraq.", "Khakurk"),
        ("Turkish jets struck PKK positions in Khwakurk area.", "Khakurk"),
        ("Turkish drones struck PKK hideouts in the Qarachokh mountains.", "Qarachogh Mountain"),
    ],
)
def test_an_area_spelled_otherwise_is_found_among_ranges_valleys_and_areas(gazetteer_ready, text, name):
    place = place_of(text)
    assert (place.name, place.geo_precision) == (name, 2)


def test_a_place_spelled_otherwise_is_found_inside_the_area_the_sentence_names(gazetteer_ready):
    # Khanasor, north of Mount Sinjar, written as Kurdish and Turkish reports write it.
    place = place_of("Militants attacked a checkpoint in Hanasor, in Sinjar district.")
    assert (place.name, place.governorate, place.geo_precision) == ("Khānah Sūr", "Ninewa", 1)
    assert haversine_km(place.latitude, place.longitude, 36.48, 41.61) < 5


def test_a_place_spelled_otherwise_is_not_guessed_without_an_area_named(gazetteer_ready):
    assert place_of("Militants attacked a checkpoint in Hanasor.") is None
