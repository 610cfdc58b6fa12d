"""ACLED imports on ACLED's export layout: real UCDP GED events written in it by
``scripts/build_test_data.py`` (``tests/data/ucdp_in_acled_layout.csv``, October-November 2016), and
the real ACLED sample of March 2019 when the shared folder is there.
"""

from __future__ import annotations

import datetime as dt

import pytest
from helpers import ACLED_LAYOUT, SHARED_ACLED, assert_refused, csv_rows, import_, write_rows

from webmap.cli import main
from webmap.query import IncidentFilter, count_incidents, select_incidents

ALL = IncidentFilter.build(drafts=True)
EVENTS = len(csv_rows(ACLED_LAYOUT)) - 1  # 171


def by_id(store) -> dict:
    return {i.source_id: i for i in select_incidents(store, ALL)}


def test_acled_export_imports_every_row_with_its_fields(runner, store):
    result = runner.invoke(main, ["import", str(ACLED_LAYOUT), "--format", "acled"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(
        f"{EVENTS} rows read (UTF-8, comma-separated): {EVENTS} inserted, 0 updated, 0 unchanged"
    )
    records = by_id(store)
    assert len(records) == EVENTS == 171
    bashiqa = records["IRQ233391"]  # GED 233391: Iraqi forces against IS at Bashiqa, 7-11 November 2016
    assert bashiqa.source == "ACLED"
    assert bashiqa.event_date == dt.date(2016, 11, 7)
    assert (bashiqa.time_precision, bashiqa.geo_precision) == (2, 1)
    assert (bashiqa.event_type, bashiqa.sub_event_type) == ("Battles", None)
    assert (bashiqa.actor1, bashiqa.actor2) == ("Government of Iraq", "IS")
    assert (bashiqa.force1, bashiqa.force2) == ("isf", "islamic_state")
    assert (bashiqa.location, bashiqa.latitude, bashiqa.longitude) == ("Ba‘shīqah town", 36.4495, 43.3518)
    # COD-AB's Bashiqa sub-district is in Al-Mosul district (UCDP's adm_2 says al Hamdaniyah)
    assert (bashiqa.admin1_pcode, bashiqa.admin2, bashiqa.admin3) == ("IQG15", "Al-Mosul", "Bashiqa")
    assert bashiqa.fatalities == 94
    assert bashiqa.notes.startswith("UCDP GED event 233391 (Iraq: Government): Government of Iraq against IS")
    assert bashiqa.notes.endswith("Source (ACLED): Associated Press Newswires")  # no source_scale: no brackets
    # UCDP's sides in these months are all forces of the taxonomy
    assert "unknown actors" not in result.output
    assert all(i.force1 != "other" and i.force2 != "other" for i in records.values())


@pytest.mark.shared
def test_the_real_acled_sample_imports_every_row_with_its_fields(runner, store):
    result = runner.invoke(main, ["import", str(SHARED_ACLED), "--format", "acled"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("157 rows read (UTF-8, comma-separated): 157 inserted, 0 updated, 0 unchanged")
    records = by_id(store)
    assert len(records) == 157
    # Associated actors are kept and count among the forces involved: the police with the army
    # against IS (IRQ19321), the coalition with the army (IRQ19222).
    assert records["IRQ19321"].assoc_actor_1 == "Police Forces of Iraq (2018-2020)"
    police = {i.source_id for i in select_incidents(store, IncidentFilter.build(force=["federal_police"]))}
    coalition = {i.source_id for i in select_incidents(store, IncidentFilter.build(force=["coalition"]))}
    assert "IRQ19321" in police and "IRQ19222" in coalition
    assert not any("Associated with actor" in (i.notes or "") for i in records.values())
    hatra = records["IRQ19328"]
    assert hatra.source == "ACLED"
    assert hatra.event_date == dt.date(2019, 3, 31)
    assert (hatra.time_precision, hatra.geo_precision) == (2, 2)
    assert (hatra.event_type, hatra.sub_event_type) == ("Battles", "Armed clash")
    assert hatra.actor1 == "Military Forces of Iraq (2018-2020) Counter-Terrorism Service"
    assert (hatra.force1, hatra.force2) == ("cts", "islamic_state")
    assert (hatra.location, hatra.latitude, hatra.longitude) == ("Hatra", 35.5729, 42.7339)
    assert (hatra.admin1_pcode, hatra.admin2) == ("IQG15", "Al-Hatra")
    assert hatra.fatalities == 0
    assert hatra.notes.startswith("As reported on Mar 31, a force from the counterterrorism forces attacked IS")
    assert hatra.notes.endswith("Source (ACLED): Iraqi News [National]")
    # every actor of this sample is a known force
    assert "unknown actors" not in result.output
    assert all(i.force1 != "other" for i in records.values())


def test_reimport_adds_nothing_and_update_replaces_changed_rows(runner, store, tmp_path):
    assert import_(runner, ACLED_LAYOUT).exit_code == 0
    again = import_(runner, ACLED_LAYOUT)
    assert f"0 inserted, 0 updated, {EVENTS} unchanged" in again.output
    rows = csv_rows(ACLED_LAYOUT)
    header = rows[0]
    rows[3][header.index("fatalities")] = str(int(rows[3][header.index("fatalities")]) + 2)
    changed = write_rows(tmp_path / "acled_corrected.csv", rows)
    without_update = import_(runner, changed)
    assert f"0 inserted, 0 updated, {EVENTS} unchanged" in without_update.output
    assert "1 of the unchanged differ from the stored incident" in without_update.output
    assert "--update" in without_update.output
    assert "differ" not in again.output
    with_update = import_(runner, changed, "--update", "--reason", "the corrected toll")
    assert f"0 inserted, 1 updated, {EVENTS - 1} unchanged" in with_update.output
    event_id = rows[3][header.index("event_id_cnty")]
    assert by_id(store)[event_id].fatalities == int(rows[3][header.index("fatalities")])
    assert count_incidents(store, ALL) == EVENTS


@pytest.mark.parametrize("style", ["%Y-%m-%d", "%d %B %Y"])
def test_acled_date_styles_give_the_same_records(runner, store, tmp_path, style):
    """ACLED's own date styles (its API's ISO dates, its export's "7 November 2016") read like YYYYMMDD."""
    assert import_(runner, ACLED_LAYOUT).exit_code == 0
    rows = csv_rows(ACLED_LAYOUT)
    column = rows[0].index("event_date")
    for row in rows[1:]:
        row[column] = dt.datetime.strptime(row[column], "%Y%m%d").strftime(style)
    result = import_(runner, write_rows(tmp_path / "acled_dates.csv", rows), "--update")
    assert f"0 inserted, 0 updated, {EVENTS} unchanged" in result.output, result.output


def test_bad_rows_are_all_listed_and_nothing_is_written(runner, store, tmp_path):
    assert import_(runner, ACLED_LAYOUT).exit_code == 0
    before = {k: v.to_dict() for k, v in by_id(store).items()}
    rows = csv_rows(ACLED_LAYOUT)
    h = rows[0]
    next_year = dt.date.today().year + 1
    rows[4][h.index("event_date")] = f"{next_year}0315"  # row 5: in the future
    rows[8][h.index("latitude")] = "0"  # row 9: 0,0
    rows[8][h.index("longitude")] = "0"
    rows[11][h.index("event_id_cnty")] = rows[1][h.index("event_id_cnty")]  # row 12: same id as row 2
    rows[20][h.index("fatalities")] = "-3"  # row 21: negative count
    rows[30][h.index("geo_precision")] = "4"  # row 31: unknown code
    rows[40][h.index("latitude")], rows[40][h.index("longitude")] = (
        rows[40][h.index("longitude")],
        rows[40][h.index("latitude")],
    )
    rows[50][h.index("event_type")] = "Skirmish"  # row 51: not ACLED's taxonomy
    rows[3][h.index("fatalities")] = "99"  # a valid change that must not land either
    result = import_(runner, write_rows(tmp_path / "acled_bad.csv", rows), "--update")
    message = assert_refused(result, "import refused, nothing written: 7 bad row(s)", "the header is row 1")
    expected = [
        f"row 5: event_date: {next_year}-03-15 is in the future",
        "row 9: latitude: 0,0 is not a place",
        f"row 12: event_id_cnty: '{rows[1][h.index('event_id_cnty')]}' is already on row 2 (duplicate id in the file)",
        "row 21: fatalities: must not be negative: -3",
        "row 31: geo_precision: unknown precision code '4'",
        "row 41: latitude: point",
        "(latitude and longitude swapped?)",
        "row 51: event_type: unknown event type 'Skirmish'",
    ]
    for line in expected:
        assert line in message, message
    assert {k: v.to_dict() for k, v in by_id(store).items()} == before


def test_error_list_is_capped(runner, store, tmp_path):
    rows = csv_rows(ACLED_LAYOUT)
    column = rows[0].index("fatalities")
    for row in rows[1:31]:
        row[column] = "many"
    message = assert_refused(
        import_(runner, write_rows(tmp_path / "acled.csv", rows)),
        "30 bad row(s)",
        "row 2: fatalities: not a number: 'many'",
        "... and 10 more",
    )
    assert message.count("fatalities: not a number") == 20
    assert count_incidents(store, ALL) == 0
