"""Fuzzing the HTTP API with hypothesis (issue 18, "must be true" 8): whatever the query parameters and
bodies, no answer is a 5xx.

Every endpoint is taken from the app's URL map with the parameters its view declares
(:func:`webmap.web.params.reads`), so the fuzz follows the code; ids and map tiles in the path run
past every integer column. Values mix well-formed ones (dates, time windows, district names, force
keys, numbers in and out of range) with arbitrary text; bodies mix incident
records of any JSON values, Features, and bytes that are not JSON at all. The database holds the
demo incidents (real UCDP GED events). Examples are derived from the test code (``derandomize``),
so a run in CI is repeatable; it takes well under two minutes.
"""

from __future__ import annotations

import json

import pytest
from flask import url_for
from helpers import AUTH, UCDP_244637
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from webmap.forces import FORCE_KEYS
from webmap.io.demo import load_demo
from webmap.query import PARAMETER_ALIASES, PARAMETERS, SORT_COLUMNS
from webmap.records import EVENT_TYPES, INPUT_FIELDS
from webmap.roles import BOOTSTRAP

FUZZ = settings(
    max_examples=800,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture
def demo_client(app, store):
    """The test client of an app whose database holds the demo incidents."""
    load_demo(store, by=BOOTSTRAP, geodata_dir=app.extensions["webmap"]["config"].geodata_dir)
    return app.test_client()


def get_endpoints(app) -> list[tuple[str, dict, tuple[str, ...]]]:
    """(endpoint, its route's variable parts, parameters its view reads) of every GET endpoint."""
    out = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        names, incident_filter = getattr(app.view_functions[rule.endpoint], "query_parameters", ((), False))
        names = (*names, *((*PARAMETERS, *PARAMETER_ALIASES) if incident_filter else ()))
        out.append((rule.endpoint, rule.arguments, names))
    return out


# Values of the routes' variable parts: ids beyond any column, layer and file names of any text.
ROUTE_PARTS = {
    "incident_id": st.integers(0, 2**70),
    "name": st.sampled_from(["adm1", "basemap", "disputed"]) | st.text(min_size=1, max_size=20),
    "filename": st.sampled_from(["js/map.js", "vendor/leaflet/leaflet.css"]) | st.text(min_size=1, max_size=20),
    # The offline base map's zoom bands, and past them.
    "band": st.integers(0, 5) | st.integers(0, 2**70),
    # Map tiles (the incidents' and the base maps'): over the demo's incidents, in and out of range of
    # the zoom and the world.
    "z": st.integers(0, 22) | st.integers(0, 2**70),
    "x": st.integers(0, 80) | st.integers(0, 2**70),
    "y": st.integers(0, 80) | st.integers(0, 2**70),
}


text = st.text(max_size=40)
numbers = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
dates = st.dates().map(lambda d: d.isoformat()) | st.sampled_from(
    ["0001-01-01", "1900-01-01", "9999-12-31", "2017-02-30", "yesterday", "20170105", ""]
)
# A time window (window=FIRST/LAST) of any two of those.
windows = st.tuples(dates, dates).map("/".join)
values = st.one_of(
    text,
    numbers,
    dates,
    windows,
    st.sampled_from(
        ["Kirkuk", "IQG13Q04", "Ninewa", "Sinjar", "0", "1", "week", "month", "43,35,44,36", "1,2,3", "inside,partly"]
    ),
    st.sampled_from(FORCE_KEYS),
    st.sampled_from(list(EVENT_TYPES)),
    st.sampled_from(SORT_COLUMNS).flatmap(lambda c: st.sampled_from([c, f"-{c}", f"+{c}", f"--{c}", f"{c}-"])),
)


@FUZZ
@given(data=st.data())
def test_no_query_string_makes_a_get_fail(demo_client, app, data):
    endpoint, arguments, names = data.draw(st.sampled_from(get_endpoints(app)))
    with app.test_request_context():
        url = url_for(endpoint, **{argument: data.draw(ROUTE_PARTS[argument]) for argument in arguments})
    name_pool = st.sampled_from(names) if names else st.nothing()
    chosen = data.draw(st.lists(st.one_of(name_pool, text), max_size=5))
    query = [(name, data.draw(values)) for name in chosen for _ in range(data.draw(st.integers(1, 2)))]
    response = demo_client.get(url, query_string=query)
    assert response.status_code < 500, (url, query, response.get_data(as_text=True)[:300])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**64), 2**64) | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3),
    max_leaves=10,
)
records = st.fixed_dictionaries(
    {},
    optional={name: st.one_of(json_values, values, st.just(UCDP_244637.get(name))) for name in INPUT_FIELDS},
)
features = st.fixed_dictionaries(
    {"type": st.just("Feature")},
    optional={
        "geometry": json_values | st.just({"type": "Point", "coordinates": [44.39, 35.47]}),
        "properties": records,
    },
)
bodies = st.one_of(
    records.map(lambda r: json.dumps(r).encode()),
    records.map(lambda r: json.dumps({**UCDP_244637, **r}).encode()),
    features.map(lambda f: json.dumps(f).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.sampled_from([b'{"fatalities": NaN}', b"[" * 5_000, b'{"a": 1' + b"0" * 5_000 + b"}", b"{}" * 3]),
)


@FUZZ
@given(body=bodies, method=st.sampled_from(["POST", "PUT"]), incident_id=st.integers(0, 2**65))
def test_no_incident_body_makes_a_write_fail(demo_client, body, method, incident_id):
    url = (
        "/api/incidents"
        if method == "POST"
        else f"/api/incidents/{incident_id % 2_000 if incident_id % 2 else incident_id}"
    )
    response = demo_client.open(url, method=method, data=body, content_type="application/json", headers=AUTH)
    assert response.status_code < 500, (url, body[:200], response.get_data(as_text=True)[:300])


@FUZZ
@given(
    report=st.fixed_dictionaries(
        {},
        optional={
            "text": st.text(max_size=300) | json_values | st.just(UCDP_244637["location"] + " attack killed 3"),
            "date": dates | json_values,
            "source": st.text(max_size=600) | json_values,
        },
    ),
    save=st.lists(records | json_values, max_size=4),
)
def test_no_report_or_saved_draft_makes_extraction_fail(demo_client, report, save):
    response = demo_client.post("/api/extract", json=report, headers=AUTH)
    assert response.status_code < 500, (report, response.get_data(as_text=True)[:300])
    response = demo_client.post("/api/extract/save", json={"incidents": save}, headers=AUTH)
    assert response.status_code < 500, (save, response.get_data(as_text=True)[:300])
