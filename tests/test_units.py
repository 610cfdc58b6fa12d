"""Units stay in the actor text and are searchable (issue 14, point 2): the extraction keeps "3rd
Division", "11th Brigade" with the force they belong to; the ``actor`` filter finds them on the map,
in the API and the CLI alike."""

from __future__ import annotations

import pytest
from helpers import ARTICLE, AUTH, assert_counts_agree, csv_rows, open_map, shown

from webmap.cli import main
from webmap.extract import extract_incidents
from webmap.extract.actors import find_forces, find_units
from webmap.query import IncidentFilter, count_incidents, select_incidents

PUBLISHED = "2021-12-06"


@pytest.mark.parametrize(
    "words, force, units",
    [
        ("the third division of the Federal Police", "federal_police", ["3rd Division"]),
        ("the 11th Federal Police Brigade", "federal_police", ["11th Brigade"]),
        ("the Federal Police's 3rd Division", "federal_police", ["3rd Division"]),
        ("the Iraqi Army 9th Division", "isf", ["9th Division"]),
        ("the 20th Brigade of the Popular Mobilization Forces", "pmf", ["20th Brigade"]),
        ("Brigade 52 of the PMF", "pmf", ["Brigade 52"]),
        ("the Federal Police", "federal_police", []),
        ("the Golden Division", "cts", []),  # a force's name, not a numbered unit
    ],
)
def test_the_units_named_around_a_force(words, force, units):
    [mention] = [m for m in find_forces(words) if m.force == force]
    assert find_units(words, mention) == units


@pytest.fixture
def saved(client, store):
    """The Kurdistan 24 article's drafts, saved as reviewed through the API the extraction page uses."""
    drafts = client.post(
        "/api/extract", json={"text": ARTICLE.read_text(encoding="utf-8"), "date": PUBLISHED}, headers=AUTH
    )
    records = [
        {
            **{k: v for k, v in d.items() if k not in ("evidence", "alternatives", "vague", "place_words")},
            "status": "reviewed",
        }
        for d in drafts.get_json()["drafts"]
    ]
    response = client.post("/api/extract/save", json={"incidents": records}, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return select_incidents(store, IncidentFilter.build())


@pytest.mark.shared
def test_the_article_keeps_its_units_in_the_actors():
    drafts = extract_incidents(ARTICLE.read_text(encoding="utf-8"), PUBLISHED)
    actors = {(d.incident.actor2, d.incident.location) for d in drafts if d.incident.force2 == "federal_police"}
    assert actors == {("Federal Police (3rd Division)", "Ar Riyāḑ"), ("Federal Police (11th Brigade)", "Al Ḩawījah")}


@pytest.mark.shared
@pytest.mark.parametrize(
    "words, places",
    [("11th Brigade", {"Al Ḩawījah"}), ("3RD division", {"Ar Riyāḑ"}), ("federal police", {"Al Ḩawījah", "Ar Riyāḑ"})],
)
def test_the_actor_filter_finds_units_in_the_api_and_sql_alike(client, store, saved, words, places):
    found = client.get("/api/incidents", query_string={"actor": words}).get_json()
    assert {f["properties"]["location"] for f in found["features"]} == places
    assert found["total"] == count_incidents(store, IncidentFilter.build(actor=words)) == len(places)
    # The same through the index's sort (in memory) and SQL's sort (by location).
    by_sql = client.get("/api/incidents", query_string={"actor": words, "sort": "location"}).get_json()
    assert by_sql["total"] == found["total"]


@pytest.mark.shared
def test_the_cli_exports_by_actor(runner, saved, tmp_path):
    out = tmp_path / "brigade.csv"
    result = runner.invoke(main, ["export", "-o", str(out), "--actor", "11th Brigade"])
    assert result.exit_code == 0, result.output
    header, *rows = csv_rows(out)
    assert [row[header.index("actor2")] for row in rows] == ["Federal Police (11th Brigade)"]


def test_the_actor_filter_refuses_an_overlong_text(client):
    response = client.get("/api/incidents", query_string={"actor": "x" * 101})
    assert response.status_code == 400 and "actor" in response.get_json()["error"]


@pytest.mark.shared
@pytest.mark.browser
def test_the_map_searches_actors_and_units(server, browser, saved, artifacts):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        open_map(page, server + "/")
        page.fill("#f-actor", "11th Brigade")
        page.click("#wm-filter button[type=submit]")
        page.wait_for_url("**actor=11th+Brigade**")
        page.wait_for_selector("body[data-map-ready='1']", timeout=30_000)
        assert_counts_agree(page, server)
        assert shown(page)["selected"] == 1
        assert page.input_value("#f-actor") == "11th Brigade"
        assert "Al Ḩawījah" in page.inner_text("#wm-table tbody")
        page.screenshot(path=str(artifacts / "actor_filter.png"))
    finally:
        context.close()
