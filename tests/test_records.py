"""The incident record refuses bad values, naming the field (issue 3, item 3)."""

import datetime as dt

import pytest

from webmap.errors import InvalidRecord
from webmap.records import IRAQ, WORLD, AreaOfInterest, validate_incident, validate_incidents

# A real UCDP GED event (id 274540): car bomb in Tal Afar, 2018-12-25.
TAL_AFAR = {
    "source": "UCDP GED",
    "source_id": "274540",
    "event_date": "2018-12-25",
    "latitude": 36.379134,
    "longitude": 42.448065,
    "event_type": "Violence against civilians",
    "actor1": "IS",
    "actor2": "Civilians",
    "location": "Tall ‘Afar town",
    "fatalities": 2,
}


def test_valid_record_keeps_its_values():
    inc = validate_incident(TAL_AFAR)
    assert inc.event_date == dt.date(2018, 12, 25)
    assert (inc.latitude, inc.longitude) == (36.379134, 42.448065)
    assert inc.fatalities == 2 and inc.injured is None
    assert inc.time_precision == 1 and inc.geo_precision == 1 and inc.status == "reviewed"


@pytest.mark.parametrize("text", ["2018-12-25", "20181225", "25 December 2018", 20181225])
def test_acled_date_layouts(text):
    assert validate_incident({**TAL_AFAR, "event_date": text}).event_date == dt.date(2018, 12, 25)


@pytest.mark.parametrize(
    "change, field, words",
    [
        ({"latitude": 91}, "latitude", "out of range"),
        ({"longitude": -181}, "longitude", "out of range"),
        ({"latitude": 42.448065, "longitude": 36.379134}, "latitude", "swapped"),
        ({"latitude": 24.7136, "longitude": 46.6753}, "latitude", "outside Iraq"),  # Riyadh, Saudi Arabia
        ({"latitude": 0, "longitude": 0}, "latitude", "0,0"),
        ({"latitude": "north"}, "latitude", "not a number"),
        ({"event_date": "2018-13-45"}, "event_date", "not a date"),
        ({"event_date": "yesterday-ish"}, "event_date", "not a date"),
        ({"event_date": (dt.date.today() + dt.timedelta(days=1)).isoformat()}, "event_date", "future"),
        ({"fatalities": -1}, "fatalities", "negative"),
        ({"injured": -3}, "injured", "negative"),
        ({"fatalities": 2.5}, "fatalities", "whole number"),
        ({"time_precision": 4}, "time_precision", "unknown precision code"),
        ({"geo_precision": 0}, "geo_precision", "unknown precision code"),
        ({"event_type": "Skirmish"}, "event_type", "unknown event type"),
        ({"sub_event_type": "Air/drone strike"}, "sub_event_type", "not a sub-event type"),
        ({"status": "published"}, "status", "unknown status"),
        ({"latitude": None}, "latitude", "required"),
        ({"source_url": "javascript:alert(1)"}, "source_url", "http"),
    ],
)
def test_bad_values_are_refused_naming_the_field(change, field, words):
    with pytest.raises(InvalidRecord) as err:
        validate_incident({**TAL_AFAR, **change})
    assert err.value.field == field
    assert words in str(err.value)
    assert str(err.value).startswith(f"{field}: ")


def test_a_batch_is_checked_as_each_row_alone():
    # As a file gives them (texts), and as JSON does: numbers, booleans, blanks, padded and mixed values.
    as_text = {name: str(value) for name, value in TAL_AFAR.items()}
    changes = [
        {},
        {"latitude": " 36.379134 ", "longitude": "42.448065"},
        {"latitude": "", "longitude": ""},
        {"latitude": "nan"},
        {"longitude": "inf"},
        {"latitude": "1e400"},
        {"latitude": True},
        {"fatalities": True},
        {"fatalities": 1.0},
        {"fatalities": "1"},
        {"fatalities": "100001"},
        {"geo_precision": True},
        {"geo_precision": "2"},
        {"geo_precision": ""},
        {"disputed": "yes"},
        {"disputed": "partly"},
        {"disputed": "maybe"},
        {"event_type": "Battles", "sub_event_type": "Armed clash"},
        {"event_type": "Battles", "sub_event_type": "Air/drone strike"},
        {"event_type": "  Battles  ", "status": " draft "},
        {"event_type": None},
        {"actor1": "x" * 501},
        {"event_date": "2018-02-30", "latitude": "north"},
        {"source_url": "https://example.org/a", "place_score": "0.5"},
        {"place_score": "2"},
    ]
    for base in (TAL_AFAR, as_text):
        rows = [{**base, **change} for change in changes] + [{**base, **changes[3]}, {**base, **changes[6]}]
        batch = validate_incidents(rows)
        assert len(batch) == len(rows)
        for row, checked in zip(rows, batch, strict=True):
            try:
                alone = validate_incident(row)
            except InvalidRecord as exc:
                assert isinstance(checked, InvalidRecord), row
                assert (checked.field, checked.problem) == (exc.field, exc.problem)
            else:
                assert checked == alone, row


def test_row_number_is_reported_for_imports():
    with pytest.raises(InvalidRecord) as err:
        validate_incident({**TAL_AFAR, "fatalities": -1})
    assert str(err.value.at_row(7)) == "row 7: fatalities: must not be negative: -1"


def test_area_of_interest_can_be_widened():
    riyadh = {**TAL_AFAR, "latitude": 24.7136, "longitude": 46.6753}
    assert validate_incident(riyadh, area=WORLD).latitude == 24.7136
    kirkuk_only = AreaOfInterest(43.3, 34.9, 44.8, 35.9, name="Kirkuk governorate box")
    with pytest.raises(InvalidRecord, match="outside Kirkuk governorate box"):
        validate_incident(TAL_AFAR, area=kirkuk_only)
    assert IRAQ.contains(42.448065, 36.379134)


def test_to_dict_gives_iso_dates():
    assert validate_incident(TAL_AFAR).to_dict()["event_date"] == "2018-12-25"


def test_every_field_has_one_spec_and_the_store_follows_it():
    from webmap.records import FIELD_SPECS, FIELDS
    from webmap.store import incidents

    assert set(FIELD_SPECS) == set(FIELDS)
    for name, spec in FIELD_SPECS.items():
        column = incidents.c[name]
        if spec.kind == "text" and spec.length <= 2000:
            assert column.type.length == spec.length, name
        assert column.nullable == (spec.nullable and name != "id"), name


def test_a_text_one_character_over_its_spec_is_refused_naming_the_field():
    from webmap.records import FIELD_SPECS

    limit = FIELD_SPECS["location"].length
    record = {**TAL_AFAR, "location": "x" * limit}
    assert validate_incident(record).location == "x" * limit
    with pytest.raises(InvalidRecord) as refused:
        validate_incident({**record, "location": "x" * (limit + 1)})
    assert refused.value.field == "location" and f"longer than {limit}" in str(refused.value)


@pytest.mark.parametrize(
    "word, value", [("YES", True), ("on", True), ("t", True), ("0", False), ("Off", False), ("", None)]
)
def test_one_yes_no_reader_for_records_filters_and_settings(word, value):
    from webmap.config import Config
    from webmap.query import IncidentFilter
    from webmap.records import parse_bool

    assert parse_bool(word) is value
    # Exports of earlier webmaps wrote disputed as yes/no: it reads as inside / outside.
    assert validate_incident({**TAL_AFAR, "disputed": word}).disputed == {True: "inside", False: "outside"}.get(value)
    assert IncidentFilter.build(drafts=word).include_drafts is bool(value)
    assert Config.from_env({"WEBMAP_PRIVATE": word}).private is bool(value)


def test_a_setting_that_is_no_yes_or_no_names_the_variable():
    from webmap.config import Config
    from webmap.errors import ConfigError

    with pytest.raises(ConfigError) as refused:
        Config.from_env({"WEBMAP_PRIVATE": "ture"})
    assert str(refused.value).startswith("WEBMAP_PRIVATE: not a yes/no value: 'ture'")
