"""Extraction through the doors users use: ``webmap extract``, ``POST /api/extract``, the save endpoint,
and bad input (empty, too long, HTML, another language) at each of them.

The report is a real one quoted in ``helpers.NRT_REPORT`` (three paragraphs of an NRT report: two
incidents and one left out for want of a place); the Kurdistan 24 article of ../shared is read by
test_extract_reports.py and test_extract_rules.py."""

from __future__ import annotations

import html
import json

import pytest
from helpers import AUTH, NRT_REPORT, PORTUGUESE, log_in

from webmap.cli import main
from webmap.errors import InvalidRecord
from webmap.extract import MAX_TEXT_CHARS, extract
from webmap.query import IncidentFilter, count_incidents, select_incidents

DATE = "2020-08-25"  # the report's "Monday night (August 24)" was the night before
# akhbaralaan.net/news/arab-world/2015/1/30/six-dead-including-officer-kurdish-peshmerga-iraq-isis-attack
KIRKUK_GOVERNORATE = (
    "قتل ستة من قوات البشمركة الكردية بينهم ضابط برتبة عميد واصيب 46 بجروح في مواجهات مع مسلحي تنظيم داعش "
    "الذين شنوا هجوما على مناطق عدة من محافظة كركوك العراقية"
)


def text() -> str:
    return NRT_REPORT


def report_file(tmp_path):
    """The report saved as a text file, as the command reads it."""
    path = tmp_path / "nrt_report.txt"
    path.write_text(text(), encoding="utf-8")
    return path


def as_html(plain: str) -> str:
    """The report as a web page: paragraphs, a script and a style block that are not text."""
    paragraphs = "".join(f"<p>{html.escape(line)}</p>\n" for line in plain.splitlines() if line.strip())
    return (
        f"<!DOCTYPE html><html><head><title>NRT</title><style>p {{ color: red }}</style>"
        f"<script>var ISIS = 'attack on Sinjar';</script></head><body><article>{paragraphs}</article></body></html>"
    )


# -- bad input -----------------------------------------------------------------------------------------
def test_empty_text_gives_no_drafts():
    result = extract("  \n ", DATE)
    assert result.drafts == [] and result.left_out == [] and result.language is None


def test_text_over_the_limit_is_refused_naming_the_field():
    with pytest.raises(InvalidRecord) as refused:
        extract(text() * (5_000_000 // len(text())), DATE)
    assert refused.value.field == "text" and f"{MAX_TEXT_CHARS:,}" in str(refused.value)


def test_html_gives_the_same_drafts_as_the_text():
    plain = [(d.incident.location, d.incident.fatalities) for d in extract(text(), DATE).drafts]
    assert plain == [("Al Miqdādīyah", 2), ("Kirkuk", 4)]
    assert [(d.incident.location, d.incident.fatalities) for d in extract(as_html(text()), DATE).drafts] == plain


def test_a_saved_web_page_with_megabytes_of_script_is_read_for_its_text():
    page = as_html(text()).replace("</head>", "<script>" + "var tracking = 1;\n" * 80_000 + "</script></head>")
    assert len(page) > 1_000_000
    assert len(extract(page, DATE).drafts) == 2


def test_another_language_is_named_in_the_error():
    with pytest.raises(InvalidRecord) as refused:
        extract(PORTUGUESE, DATE)
    assert refused.value.field == "text" and "Portuguese" in str(refused.value)


@pytest.mark.parametrize("date, words", [("", "is required"), ("6 Dec", "not a date"), ("2999-01-01", "future")])
def test_bad_publication_dates_name_the_date(date, words):
    with pytest.raises(InvalidRecord) as refused:
        extract(text(), date)
    assert refused.value.field == "date" and words in str(refused.value)


# -- the command ---------------------------------------------------------------------------------------
def test_cli_lists_the_drafts_with_their_evidence(runner, tmp_path):
    result = runner.invoke(main, ["extract", str(report_file(tmp_path)), "--date", DATE])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line[:2] in ("1.", "2.", "3.", "4.")]
    assert len(lines) == 2
    assert "Islamic State vs Iraqi Security Forces (army)  Al Miqdādīyah" in lines[0] and "killed 2" in lines[0]
    assert "Islamic State vs Federal Police  Kirkuk" in lines[1] and "killed 4, injured 4" in lines[1]
    assert "« Two Iraqi soldiers were killed" in result.output
    assert "left out, no place named: « Meanwhile" in result.output


def test_cli_json_is_what_the_api_answers(runner, client, tmp_path):
    result = runner.invoke(main, ["extract", str(report_file(tmp_path)), "--date", DATE, "--json"])
    assert result.exit_code == 0
    printed = json.loads(result.stdout)
    records = printed["drafts"]
    assert [r["status"] for r in records] == ["draft"] * 2
    assert {"event_date", "latitude", "longitude", "event_type", "evidence", "notes"} <= set(records[0])
    assert printed == client.post("/api/extract", json={"text": text(), "date": DATE}, headers=AUTH).get_json()


def test_cli_save_stores_drafts_once_and_only_the_drafts_filter_shows_them(runner, store, client, tmp_path):
    path = report_file(tmp_path)
    first = runner.invoke(main, ["extract", str(path), "--date", DATE, "--save"])
    assert first.exit_code == 0 and "saved as drafts: 2 new, 0 already stored" in first.output
    again = runner.invoke(main, ["extract", str(path), "--date", DATE, "--save"])
    assert "saved as drafts: 0 new, 2 already stored" in again.output
    assert count_incidents(store, IncidentFilter.build(drafts=True)) == 2
    assert count_incidents(store, IncidentFilter.build()) == 0
    assert client.get("/api/incidents").get_json()["total"] == 0
    assert client.get("/api/incidents?drafts=1", headers=AUTH).get_json()["total"] == 2


def test_cli_reads_standard_input_and_arabic(runner):
    result = runner.invoke(
        main, ["extract", "-", "--date", DATE], input="قتل ثلاثة من البيشمركة في هجوم لداعش قرب كركوك"
    )
    assert result.exit_code == 0 and "killed 3" in result.output


@pytest.mark.parametrize(
    "stdin, date, code, message",
    [
        ("", DATE, 1, "no incidents found: the text is empty"),
        (PORTUGUESE, DATE, 2, "Error: text: looks like Portuguese"),
        ("ISIS attacked a Peshmerga unit", "yesterday", 2, "Error: date: not a date: 'yesterday'"),
    ],
)
def test_cli_bad_input_is_one_line_and_an_exit_code(runner, stdin, date, code, message):
    result = runner.invoke(main, ["extract", "-", "--date", date], input=stdin)
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output


def test_cli_refuses_a_file_that_is_not_utf8(runner, tmp_path):
    path = tmp_path / "report.txt"
    path.write_bytes(text().encode("utf-16"))
    result = runner.invoke(main, ["extract", str(path), "--date", DATE])
    assert result.exit_code == 2 and "Error: text: " in result.stderr and "is not UTF-8" in result.stderr


def test_cli_refuses_five_megabytes(runner, tmp_path):
    path = tmp_path / "big.txt"
    path.write_text(text() * (5_000_000 // len(text())), encoding="utf-8")
    result = runner.invoke(main, ["extract", str(path), "--date", DATE])
    assert result.exit_code == 2 and "the limit is 200,000" in result.stderr


# -- the API -----------------------------------------------------------------------------------------
def test_api_extract_returns_the_drafts(client):
    response = client.post("/api/extract", json={"text": text(), "date": DATE}, headers=AUTH)
    assert response.status_code == 200
    body = response.get_json()
    assert body["language"] == "en" and len(body["drafts"]) == 2
    assert body["drafts"][0]["evidence"][0]["text"].startswith("Two Iraqi soldiers were killed")


@pytest.mark.parametrize(
    "body, field",
    [
        ({"date": DATE}, "text"),
        ({"text": 42, "date": DATE}, "text"),
        ({"text": "ISIS attacked", "date": "tomorrow"}, "date"),
        ({"text": "ISIS attacked"}, "date"),
        ({"text": PORTUGUESE, "date": DATE}, "text"),
        ({"text": "x" * (MAX_TEXT_CHARS + 1), "date": DATE}, "text"),
    ],
)
def test_api_extract_bad_input_is_a_400_naming_the_field(client, body, field):
    response = client.post("/api/extract", json=body, headers=AUTH)
    assert response.status_code == 400 and response.get_json()["field"] == field


def test_api_extract_refuses_five_megabytes_before_reading_them(client):
    response = client.post(
        "/api/extract",
        data=json.dumps({"text": "x" * 5_000_000, "date": DATE}),
        content_type="application/json",
        headers=AUTH,
    )
    assert response.status_code == 413 and "takes at most" in response.get_json()["error"]


def test_api_extract_reads_html_and_answers_empty_text(client):
    html_answer = client.post("/api/extract", json={"text": as_html(text()), "date": DATE}, headers=AUTH)
    assert len(html_answer.get_json()["drafts"]) == 2
    assert client.post("/api/extract", json={"text": "", "date": DATE}, headers=AUTH).get_json()["drafts"] == []


def reviewed(client, report: str = NRT_REPORT, date: str = DATE) -> list[dict]:
    """The drafts ``POST /api/extract`` proposes for ``report``, marked reviewed as the page sends them."""
    drafts = client.post("/api/extract", json={"text": report, "date": date}, headers=AUTH).get_json()["drafts"]
    return [
        {
            **{k: v for k, v in d.items() if k not in ("evidence", "alternatives", "vague", "place_words")},
            "status": "reviewed",
        }
        for d in drafts
    ]


def test_saving_needs_the_token_or_a_login(client):
    response = client.post("/api/extract/save", json={"incidents": reviewed(client)})
    assert response.status_code == 401


def test_saving_reviewed_incidents_with_a_correction(client, store):
    records = reviewed(client)
    records[1]["fatalities"] = 1  # the analyst corrects a count
    response = client.post("/api/extract/save", json={"incidents": records}, headers=AUTH)
    stored = select_incidents(store, IncidentFilter.build())
    ids = sorted(i.id for i in stored)
    # The answer names the saved incidents and the map of those alone.
    assert response.get_json() == {
        "inserted": 2,
        "updated": 0,
        "unchanged": 0,
        "ids": ids,
        "map_url": "/?ids=" + ",".join(map(str, ids)),
    }
    assert len(stored) == 2 and {i.status for i in stored} == {"reviewed"}
    assert sorted((i.admin1, i.fatalities) for i in stored) == [("Diyala", 2), ("Kirkuk", 1)]


def test_a_saved_governorate_only_incident_has_no_district(client, store):
    [record] = reviewed(client, KIRKUK_GOVERNORATE, "2015-01-30")
    response = client.post("/api/extract/save", json={"incidents": [record]}, headers=AUTH)
    [kirkuk] = select_incidents(store, IncidentFilter.build())
    assert response.get_json() == {
        "inserted": 1,
        "updated": 0,
        "unchanged": 0,
        "ids": [kirkuk.id],
        "map_url": f"/?ids={kirkuk.id}",
    }
    assert (kirkuk.geo_precision, kirkuk.fatalities, kirkuk.injured) == (3, 6, 46)
    assert kirkuk.admin1 == "Kirkuk" and kirkuk.admin2 is None  # only the governorate is known


def test_saving_reviewed_versions_of_cli_drafts_updates_them(runner, client, store, tmp_path):
    runner.invoke(main, ["extract", str(report_file(tmp_path)), "--date", DATE, "--save"])
    response = client.post("/api/extract/save", json={"incidents": reviewed(client)}, headers=AUTH)
    summary = response.get_json()
    assert (summary["inserted"], summary["updated"], summary["unchanged"]) == (0, 2, 0)
    # The ids of the drafts the CLI stored, now reviewed: the same rows, not new ones.
    assert summary["ids"] == sorted(i.id for i in select_incidents(store, IncidentFilter.build()))
    assert count_incidents(store, IncidentFilter.build(drafts=True)) == 2
    assert count_incidents(store, IncidentFilter.build()) == 2


def test_one_bad_record_refuses_the_batch_naming_row_and_field(client, store):
    records = reviewed(client)
    records[1]["latitude"] = "35.2 N"
    response = client.post("/api/extract/save", json={"incidents": records}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json() == {"error": "row 2: latitude: not a number: '35.2 N'", "field": "latitude"}
    assert count_incidents(store, IncidentFilter.build(drafts=True)) == 0


def test_a_logged_in_page_saves_with_its_csrf_header(client, store):
    log_in(client)
    page = client.get("/extract").get_data(as_text=True)
    token = page.split('name="csrf-token" content="')[1].split('"')[0]
    response = client.post("/api/extract/save", json={"incidents": reviewed(client)}, headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["inserted"] == 2
    refused = client.post("/api/extract/save", json={"incidents": reviewed(client)})
    assert refused.status_code == 400 and refused.get_json()["parameter"] == "csrf_token"


def test_the_extraction_page_offers_the_form_and_vendored_leaflet(client):
    page = client.get("/extract").get_data(as_text=True)
    assert 'id="wm-report"' in page and 'type="date"' in page
    assert (
        "/static/vendor/leaflet/leaflet.js" in page
        and "//" not in page.split("/static/vendor/leaflet/leaflet.js")[0][-12:]
    )
    assert "Log in to save" in page
    assert client.get("/static/js/extract.js").status_code == 200


def test_a_misspelt_field_in_a_saved_record_is_refused_not_dropped(client, store):
    records = reviewed(client)
    records[1]["fatalites"] = records[1].pop("fatalities")
    response = client.post("/api/extract/save", json={"incidents": records}, headers=AUTH)
    assert response.status_code == 400
    body = response.get_json()
    assert body["field"] == "fatalites" and body["error"].startswith("row 2: fatalites: not an incident field")
    assert count_incidents(store, IncidentFilter.build(drafts=True)) == 0


# syriacpress.com/blog/2021/12/07/islamic-state-attacks-villages-and-security-forces-in-kurdistan-region-of-iraq/
THREE_FORCES = (
    "Peshmerga forces and civilians in the Kurdistan Region of Iraq sustained multiple casualties in an attack by "
    "Islamic State (ISIS) militants who briefly took control of a village south of Kirkuk (Kerkeslokh) province."
)


def test_a_third_force_is_an_associated_actor_through_extraction_the_save_and_the_form(client, store):
    answer = client.post("/api/extract", json={"text": THREE_FORCES, "date": "2021-12-07"}, headers=AUTH).get_json()
    (draft,) = answer["drafts"]
    assert (draft["actor1"], draft["actor2"], draft["assoc_actor_2"]) == ("Islamic State", "Peshmerga", "Civilians")
    record = {k: v for k, v in draft.items() if k not in ("evidence", "place_words", "alternatives", "vague")}
    assert client.post("/api/extract/save", json={"incidents": [record]}, headers=AUTH).status_code == 200
    # The civilians are among the forces the incident involves: the force filter finds it.
    (stored,) = client.get("/api/incidents?force=civilians&drafts=1", headers=AUTH).get_json()["features"]
    assert stored["properties"]["forces"] == ["islamic_state", "peshmerga", "civilians"]
    # The analyst's form shows the associated actors and keeps them.
    log_in(client)
    form = client.get(f"/incidents/{stored['id']}/edit").get_data(as_text=True)
    assert 'name="assoc_actor_2" value="Civilians"' in form
