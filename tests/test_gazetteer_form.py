"""The incident form's place search (issue 13, point 5): Iraqi places first, those of the governorate
chosen and of the disputed territories before the rest, foreign places last and marked with their
country; through GET /api/gazetteer and in Debian's Chromium."""

from __future__ import annotations

import re

import pytest


def candidates(client, **params) -> list[dict]:
    response = client.get("/api/gazetteer", query_string={"limit": 50, **params})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["candidates"]


def test_bashir_is_the_kirkuk_village_first_and_never_muscat(client):
    found = candidates(client, q="Bashir", disputed=1)
    assert (found[0]["governorate"], found[0]["district"]) == (
        "Kirkuk",
        "Kirkuk",
    )  # Bayshir, in the disputed territories
    names = [c["name"] for c in found]
    assert names.index("Bay Shīr") > 0  # Bay Shir (Sulaymaniyah) comes after it
    countries = [c["country_code"] for c in found]
    assert "OM" in countries  # Bawshar, Muscat: listed, after every Iraqi place
    assert countries == sorted(countries, key=lambda code: code != "IQ")


def test_the_governorate_chosen_in_the_form_comes_first(client):
    found = candidates(client, q="Bashir", disputed=1, governorate="Al-Sulaymaniyah")
    assert (found[0]["name"], found[0]["governorate"]) == ("Bay Shīr", "Al-Sulaymaniyah")
    assert found[1]["governorate"] == "Kirkuk"  # then the disputed territories
    by_pcode = candidates(client, q="Bashir", governorate="IQG06")
    assert by_pcode[0]["name"] == "Bay Shīr"


def test_without_preferences_the_answer_is_the_cli_answer(client, runner):
    import json

    from webmap.cli import main

    cli = json.loads(runner.invoke(main, ["geocode", "Bashir", "--json", "--limit", "50"]).output)
    assert candidates(client, q="Bashir") == cli["candidates"]


@pytest.mark.parametrize(
    "params, parameter",
    [({"governorate": "Qxzvb"}, "governorate"), ({"disputed": "yes"}, "disputed")],
)
def test_bad_preferences_are_400_naming_the_parameter(client, params, parameter):
    response = client.get("/api/gazetteer", query_string={"q": "Bashir", **params})
    assert response.status_code == 400
    assert response.get_json()["parameter"] == parameter


# -- in Chromium ------------------------------------------------------------------------------------
@pytest.mark.browser
def test_the_form_lists_iraqi_places_first_and_fills_the_point(browser, server, artifacts):
    context = browser.new_context(viewport={"width": 1200, "height": 1000})
    tab = context.new_page()
    errors, outside = [], []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("request", lambda r: outside.append(r.url) if not r.url.startswith(server + "/") else None)
    tab.goto(f"{server}/login?next=/incidents/new")
    tab.fill("input[name=token]", "test-token")
    tab.click("button[type=submit]")
    tab.wait_for_url(f"{server}/incidents/new")
    tab.fill("#wm-place-search", "Bashir")
    tab.click("#wm-place-find")
    tab.wait_for_selector("#wm-place-results li button")
    rows = tab.locator("#wm-place-results li")
    assert "Kirkuk" in rows.nth(0).inner_text()
    texts = rows.all_inner_texts()
    abroad = [bool(re.search(r", [A-Z]{2} ·", text)) for text in texts]  # "Bawshar Muscat, OM · PPL"
    assert any(abroad) and abroad == sorted(abroad)  # marked with their country, after every Iraqi place
    tab.select_option("#wm-place-governorate", "Al-Sulaymaniyah")
    tab.click("#wm-place-find")
    tab.wait_for_function("() => document.querySelector('#wm-place-results li').innerText.includes('Sulaymaniyah')")
    tab.locator("#wm-place-results li button").first.click()
    assert tab.input_value("#location") == "Bay Shīr"
    assert tab.input_value("#geo_precision") == "1"
    assert abs(float(tab.input_value("#latitude")) - 36.14) < 0.01
    tab.screenshot(path=str(artifacts / "incident-form-place-search.png"))
    context.close()
    assert not errors and not outside
