"""Strict query parameters on every endpoint (issue 18, found item 8 and "must be true" 7): an unknown
parameter, a single-valued one given twice, a malformed ``sort`` are a 400 naming the parameter.

The endpoints are read from the app's own URL map, so a new one is covered without being listed here.
"""

from __future__ import annotations

import pytest
from helpers import AUTH

from webmap import create_app

# Values for the variable parts of the routes.
ROUTE_VALUES = {"incident_id": 1, "name": "adm1", "filename": "js/map.js", "band": 1, "z": 6, "x": 39, "y": 25}


def endpoints():
    """Every (method, URL) the app answers, its variable parts filled in."""
    app = create_app({"database_url": "sqlite:////nonexistent/never-opened.db", "secret_key": "x"})
    out = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            values = {arg: ROUTE_VALUES[arg] for arg in rule.arguments}
            url = app.url_for(rule.endpoint, **values)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                out.append((method, url))
    return out


@pytest.fixture
def strict_client(app):
    """The test client with Flask-WTF's form check off, so that form posts reach the parameter check."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app.test_client()


@pytest.mark.parametrize("method, url", endpoints(), ids=lambda v: str(v))
def test_every_endpoint_refuses_an_unknown_parameter_naming_it(strict_client, method, url):
    response = strict_client.open(f"{url}?colour=red", method=method, headers=AUTH)
    assert response.status_code == 400, (method, url, response.status_code)
    if response.is_json:
        assert response.get_json()["parameter"] == "colour"
    else:
        assert "colour: unknown parameter" in response.get_data(as_text=True)


def test_an_unknown_address_stays_a_404_whatever_its_parameters(client):
    assert client.get("/api/nowhere?colour=red").status_code == 404
    assert client.delete("/api/points?colour=red", headers=AUTH).status_code == 405


def test_the_endpoints_include_every_door():
    found = {url for _, url in endpoints()}
    for url in (
        "/",
        "/api/incidents",
        "/api/tiles/6/39/25",
        "/api/basemap/1",
        "/api/basemap/1/39/25",
        "/api/basemap/own/6/39/25",
        "/api/summary",
        "/api/gazetteer",
        "/export.csv",
        "/login",
        "/extract",
        "/static/js/map.js",
    ):
        assert url in found


@pytest.mark.parametrize(
    "url, parameter",
    [
        ("/api/incidents?limit=1&limit=2", "limit"),  # the first was used silently
        ("/api/incidents?offset=0&offset=5", "offset"),
        ("/api/incidents?sort=fatalities&sort=-fatalities", "sort"),
        ("/api/incidents?limit=1&limit=1", "limit"),  # even the same value twice
        ("/api/timeline?period=week&period=month", "period"),
        ("/api/gazetteer?q=Kirkuk&q=Erbil", "q"),
        ("/api/gazetteer?q=Kirkuk&limit=1&limit=2", "limit"),
        ("/api/gazetteer?q=Kirkuk&context=a&context=b", "context"),
        ("/export.csv?raw=1&raw=0", "raw"),
        ("/api/incidents?from=2017-01-01&from=2017-01-01", "from"),
        ("/api/incidents?from=2017-01-01&since=2016-01-01", "from"),  # an alias is the same parameter
        ("/api/points?to=2017-01-01&date_to=2017-01-01", "to"),
        ("/api/districts?window=2017-01-01/2017-02-01&window=2017-01-01/2017-02-01", "window"),
        ("/export.geojson?drafts=1&drafts=", "drafts"),
        ("/api/incidents?bbox=43,35,44,36&bbox=43,35,45,37", "bbox"),
        ("/api/summary?until=2017-01-01&to=2017-01-01", "to"),
        ("/api/tiles/6/39/25?area=IQG13&area=IQG13", "area"),
        ("/api/gazetteer?q=Kirkuk&governorate=Kirkuk&governorate=Ninewa", "governorate"),
    ],
)
def test_a_single_valued_parameter_given_twice_is_a_400_naming_it(client, url, parameter):
    response = client.get(url)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["parameter"] == parameter


def test_the_map_page_names_a_repeated_or_unknown_parameter(client):
    for url, parameter in (("/?from=2017-01-01&from=2017-02-01", "from"), ("/?colour=red", "colour")):
        response = client.get(url)
        assert response.status_code == 400
        assert f"{parameter}: " in response.get_data(as_text=True)


def test_a_value_repeated_thousands_of_times_is_looked_up_once_and_too_many_are_refused(client):
    # 20,000 copies of one district cost 20,000 searches (4 s of CPU for one request) before.
    query = "district=" + ",".join(["Kirkuk"] * 20_000) + "&governorate=" + ",".join(["IQG13"] * 20_000)
    response = client.get(f"/api/incidents?{query}")
    assert response.status_code == 200
    many = ",".join(f"IQG{n}" for n in range(300))
    response = client.get(f"/api/incidents?governorate={many}")
    assert response.status_code == 400 and response.get_json()["parameter"] == "governorate"
    assert response.get_json()["error"] == "governorate: 300 values; at most 200"


def test_parameters_that_take_several_values_may_repeat(client):
    response = client.get("/api/incidents?force=pmf&force=islamic_state&governorate=Kirkuk&governorate=Ninewa")
    assert response.status_code == 200


@pytest.mark.parametrize("sort", ["--fatalities", "-+fatalities", "++id", "fatalities-", "-", "", "fatalities,id"])
def test_a_malformed_sort_is_a_400_naming_sort(client, sort):
    if not sort:
        assert client.get("/api/incidents?sort=").status_code == 200  # blank: the default order
        return
    response = client.get("/api/incidents", query_string={"sort": sort})
    assert response.status_code == 400 and response.get_json()["parameter"] == "sort"
    assert f"cannot sort by {sort!r}" in response.get_json()["error"]


@pytest.mark.parametrize("sort", ["-fatalities", "fatalities", "+fatalities", "event_date"])
def test_a_sort_with_at_most_one_sign_is_accepted(client, sort):
    assert client.get("/api/incidents", query_string={"sort": sort}).status_code == 200


def test_the_gazetteer_refuses_unknown_parameters(client):
    response = client.get("/api/gazetteer?q=Kirkuk&country=IQ")
    assert response.status_code == 400 and response.get_json()["parameter"] == "country"
    assert "known: q, context, limit" in response.get_json()["error"]


def test_a_parameter_is_checked_before_a_private_server_asks_for_the_token(database_url, tmp_path):
    app = create_app({"database_url": database_url, "token": "t", "private": True, "secret_key": "s"})
    client = app.test_client()
    assert client.get("/api/incidents?colour=red").status_code == 401  # strangers learn nothing
    response = client.get("/api/incidents?colour=red", headers={"Authorization": "Bearer t"})
    assert response.status_code == 400 and response.get_json()["parameter"] == "colour"
