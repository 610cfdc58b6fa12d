"""One filter, parsed from parameters, validated, applied in SQL (issue 6, item 5)."""

import datetime as dt

import numpy as np
import pytest
import sqlalchemy as sa
from helpers import GED
from werkzeug.datastructures import MultiDict

from webmap.errors import InvalidFilter
from webmap.forces import FORCE_KEYS, incident_forces, initiating_force
from webmap.io.importer import import_file
from webmap.mapindex import MapIndex
from webmap.query import (
    IncidentFilter,
    count_incidents,
    data_version,
    involves,
    iter_incidents,
    select_incidents,
)
from webmap.records import DISPUTED, EVENT_TYPES, validate_incident
from webmap.roles import BOOTSTRAP
from webmap.store import IncidentStore, incidents

# Real UCDP GED events, in tests/data/ucdp_ged_irq_excerpt.csv (ids, dates, points, deaths as UCDP publishes them).
UCDP_EVENTS = [
    {
        "source_id": "274540",
        "event_date": "2018-12-25",
        "latitude": 36.379134,
        "longitude": 42.448065,
        "event_type": "Violence against civilians",
        "force1": "islamic_state",
        "force2": "civilians",
        "fatalities": 2,
        "admin1_pcode": "IQG15",
        "admin2_pcode": "IQG15Q08",
        "disputed": True,
    },
    {
        "source_id": "244637",
        "event_date": "2017-01-05",
        "latitude": 35.468056,
        "longitude": 44.392222,
        "event_type": "Battles",
        "force1": "isf",
        "force2": "islamic_state",
        "fatalities": 1,
        "admin1_pcode": "IQG13",
        "admin2_pcode": "IQG13Q04",
        "disputed": True,
    },
    {
        "source_id": "197060",
        "event_date": "2015-05-12",
        "latitude": 33.340582,
        "longitude": 44.400876,
        "event_type": "Violence against civilians",
        "force1": "islamic_state",
        "force2": "civilians",
        "fatalities": 10,
        "admin1_pcode": "IQG08",
        "admin2_pcode": "IQG08Q06",
        "disputed": False,
    },
]


@pytest.fixture
def filled(store):
    with store.transaction() as conn:
        store.save_batch(conn, [validate_incident({**e, "source": "UCDP GED"}) for e in UCDP_EVENTS], by=BOOTSTRAP)
    draft = validate_incident({**UCDP_EVENTS[0], "source_id": None, "status": "draft"})
    store.add(draft, by=BOOTSTRAP)
    return store


def ids(store, flt):
    return sorted(i.source_id or "draft" for i in select_incidents(store, flt))


def test_empty_filter_is_every_reviewed_incident(filled):
    assert ids(filled, IncidentFilter()) == ["197060", "244637", "274540"]
    assert count_incidents(filled, IncidentFilter()) == 3


def test_drafts_only_when_asked(filled):
    assert "draft" in ids(filled, IncidentFilter.from_params({"drafts": "1"}))


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"force": "isf"}, ["244637"]),
        ({"force": ["isf", "civilians"]}, ["197060", "244637", "274540"]),
        ({"force": "civilians"}, ["197060", "274540"]),
        ({"force": "Islamic State"}, ["197060", "244637", "274540"]),
        ({"from": "2017-01-01"}, ["244637", "274540"]),
        ({"since": "2015-05-12", "until": "2015-05-12"}, ["197060"]),
        ({"disputed": "1"}, ["244637", "274540"]),
        ({"disputed": "0"}, ["197060"]),
        ({"event_type": "battles"}, ["244637"]),
        ({"bbox": "44,35,45,36"}, ["244637"]),
        ({"district": "IQG13Q04"}, ["244637"]),
        ({"district": "Kirkuk"}, ["244637"]),
        ({"governorate": "Ninewa"}, ["274540"]),
        ({"governorate": "IQG15,IQG08"}, ["197060", "274540"]),
    ],
)
def test_filters_select_the_right_rows(filled, params, expected):
    assert ids(filled, IncidentFilter.from_params(params)) == expected


def test_ids_select_exactly_those_incidents(filled):
    stored = {i.source_id: i.id for i in select_incidents(filled, IncidentFilter.build(drafts=True))}
    chosen = IncidentFilter.from_params({"ids": f"{stored['274540']},{stored['197060']}"})
    assert ids(filled, chosen) == ["197060", "274540"]
    assert chosen.to_params() == {
        "ids": [f"{min(stored['274540'], stored['197060'])},{max(stored['274540'], stored['197060'])}"]
    }
    assert ids(filled, IncidentFilter.from_params({"ids": str(stored["274540"]), "force": "isf"})) == []


def test_repeated_query_parameters(filled):
    args = MultiDict([("force", "isf"), ("force", "civilians")])
    assert ids(filled, IncidentFilter.from_params(args)) == ["197060", "244637", "274540"]


def test_to_params_round_trips():
    flt = IncidentFilter.from_params({"force": "pmf", "from": "2017-01-01", "disputed": "1", "district": "Kirkuk"})
    assert IncidentFilter.from_params(flt.to_params()) == flt
    assert flt.districts == ("IQG13Q04",)


@pytest.mark.parametrize(
    "params, parameter",
    [
        ({"district": "Atlantis"}, "district"),
        ({"governorate": "Texas"}, "governorate"),
        ({"from": "yesterday-ish"}, "from"),
        ({"to": "2019-02-30"}, "to"),
        ({"from": "2019-01-02", "to": "2019-01-01"}, "from"),
        ({"force": "Martians"}, "force"),
        ({"event_type": "Skirmish"}, "event_type"),
        ({"disputed": "maybe"}, "disputed"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"ids": "3,seven"}, "ids"),
        ({"ids": "-4"}, "ids"),
        ({"ids": "0"}, "ids"),
    ],
)
def test_bad_values_name_the_parameter(params, parameter):
    with pytest.raises(InvalidFilter) as err:
        IncidentFilter.from_params(params)
    assert err.value.parameter == parameter


def test_paging_and_streaming(filled):
    first = select_incidents(filled, IncidentFilter(), limit=2)
    rest = select_incidents(filled, IncidentFilter(), limit=2, offset=2)
    assert [i.event_date for i in first + rest] == sorted([i.event_date for i in first + rest], reverse=True)
    assert len(first) == 2 and len(rest) == 1
    assert sorted(i.source_id for i in iter_incidents(filled, IncidentFilter(), batch=1)) == [
        "197060",
        "244637",
        "274540",
    ]
    assert all(isinstance(i.event_date, dt.date) for i in iter_incidents(filled, IncidentFilter()))


# -- the map's points -------------------------------------------------------------------------------


def _points_from_rows(store) -> dict[str, np.ndarray]:
    """What the map's index must give for every reviewed incident, worked out from the rows themselves."""
    rows = select_incidents(store, IncidentFilter(), sort="id")
    force_index = {key: i for i, key in enumerate(FORCE_KEYS)}
    # The forces the filter, the counts and the chart find an incident under (SQL): the packed
    # record must say the same, and so must the rule of webmap.forces on the row's own values.
    member_of: dict[int, int] = {i.id: 0 for i in rows}
    with store.connect() as conn:
        for bit, key in enumerate(FORCE_KEYS):
            for (incident_id,) in conn.execute(sa.select(incidents.c.id).where(involves(key))):
                if incident_id in member_of:
                    member_of[incident_id] |= 1 << bit
    for incident in rows:
        expected = {key for bit, key in enumerate(FORCE_KEYS) if member_of[incident.id] & (1 << bit)}
        assert expected == set(incident_forces(incident)), incident.source_id
    return {
        "id": np.array([i.id for i in rows], dtype=float),
        "longitude": np.array([i.longitude for i in rows], dtype=np.float32).astype(float),
        "latitude": np.array([i.latitude for i in rows], dtype=np.float32).astype(float),
        "day": np.array([(i.event_date - dt.date(1970, 1, 1)).days for i in rows], dtype=float),
        "force": np.array([force_index[initiating_force(i.force1, i.force2)] for i in rows], dtype=float),
        "geo_precision": np.array([i.geo_precision for i in rows], dtype=float),
        "fatalities": np.array([i.fatalities for i in rows], dtype=float),
        "forces": np.array([member_of[i.id] for i in rows], dtype=float),
        "event_type": np.array([list(EVENT_TYPES).index(i.event_type) for i in rows], dtype=float),
        "disputed": np.array([(None, *DISPUTED).index(i.disputed) for i in rows], dtype=float),
    }


def _index_points(store) -> dict[str, np.ndarray]:
    index = MapIndex.build(store)
    columns = index.point_columns(index.select(IncidentFilter()))
    codes = store.admin_codes()
    rows = {i.id: i for i in select_incidents(store, IncidentFilter())}
    # The governorate and district the record holds are the row's.
    for name, level in (("admin1", "admin1_pcode"), ("admin2", "admin2_pcode")):
        assert [codes.get(c) for c in columns.pop(name).tolist()] == [
            getattr(rows[i], level) for i in columns["id"].tolist()
        ], name
    return {name: columns[name].astype(float) for name in columns if name not in ("area", "status")}


def _assert_points_match(store) -> None:
    got, expected = _index_points(store), _points_from_rows(store)
    assert set(got) == set(expected) and len(expected["id"]) > 100
    for name, values in expected.items():
        np.testing.assert_array_equal(got[name], values, err_msg=name)


def test_map_points_are_the_stored_incidents(store):
    import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP)
    _assert_points_match(store)
    assert len(set(_index_points(store)["force"].tolist())) > 3


def test_a_database_from_an_earlier_webmap_gets_its_map_records_on_opening(database_url, store):
    import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP)
    with store.engine.begin() as conn:  # the schema before map records: no column, the old wide index
        conn.exec_driver_sql("DROP INDEX ix_incidents_map_points")
        conn.exec_driver_sql("ALTER TABLE incidents DROP COLUMN map_point")
        conn.exec_driver_sql("CREATE INDEX ix_incidents_points ON incidents (status, id, longitude, latitude)")
        conn.exec_driver_sql("UPDATE incidents_version SET map_format = NULL")
        conn.exec_driver_sql("UPDATE incidents SET force_mask = NULL")
    before = data_version(store)
    store.dispose()
    reopened = IncidentStore(database_url)
    try:
        assert data_version(reopened) != before  # cached views of the old records are stale
        indexes = {ix["name"] for ix in sa.inspect(reopened.engine).get_indexes("incidents")}
        assert "ix_incidents_map_points" in indexes and "ix_incidents_points" not in indexes
        _assert_points_match(reopened)
    finally:
        reopened.dispose()


def test_rows_written_by_another_program_are_still_drawn(store):
    import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP)
    with store.engine.begin() as conn:  # as an SQL client would leave them: no map record
        conn.execute(incidents.update().where(incidents.c.id % 3 == 0).values(map_point=None))
    _assert_points_match(store)
