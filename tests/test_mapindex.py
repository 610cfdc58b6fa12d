"""The map's index answers as the database does: the same incidents for every filter, the same counts
per period and district, the same table order, and tiles that hold every incident once.

Real data: the UCDP GED excerpt in tests/data and the demo incidents, on SQLite and PostGIS; one in
seven of the Ninewa incidents as a report that gives no figure of the killed (their ``fatalities``
blanked), which every sum leaves out and counts apart.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt

import numpy as np
import pytest
from helpers import GED

from webmap import store as store_module
from webmap.forces import incident_forces
from webmap.io.demo import load_demo
from webmap.io.importer import import_file
from webmap.mapindex import MapIndex, mercator
from webmap.query import IncidentFilter, changed_records, count_incidents, data_version, select_incidents
from webmap.roles import BOOTSTRAP

FILTERS = [
    {},
    {"drafts": "1"},
    {"governorate": "Kirkuk"},
    {"district": "Kirkuk,Al-Hawiga"},
    {"force": "civilians"},
    {"force": "isf,pkk_ybs"},
    {"event_type": "Violence against civilians"},
    {"from": "2016-01-01", "to": "2016-12-31"},
    {"window": "2017-06-01/2017-06-30"},
    {"disputed": "inside,partly"},
    {"disputed": "outside"},
    {"precision": "3"},
    {"area": "Kirkuk"},
    {"area": "Al-Hawiga"},
    {"bbox": "43.5,35,44.5,36"},
    {"governorate": "Ninewa", "force": "islamic_state", "from": "2016-10-17", "disputed": "1"},
    {"ids": "1,5,900,1790"},
    {"ids": "3", "governorate": "Ninewa,Kirkuk,Salah Al-Din,Diyala,Erbil"},
]


@pytest.fixture
def demo(store, tmp_path):
    load_demo(store, by=BOOTSTRAP, geodata_dir=tmp_path / "user-geodata")
    import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP)  # and the excerpt: every precision, all of Iraq
    for incident in select_incidents(store, IncidentFilter.from_params({"governorate": "Ninewa"}), sort="id")[::7]:
        store.replace(incident.id, dataclasses.replace(incident, fatalities=None), by=BOOTSTRAP, reason="unknown count")
    return store


@pytest.mark.parametrize("params", FILTERS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all")
def test_the_index_selects_what_the_database_selects(demo, params):
    flt = IncidentFilter.from_params(params)
    index = MapIndex.build(demo)
    selected = index.select(flt)
    expected = {i.id for i in select_incidents(demo, flt)}
    assert set(index.id[selected].tolist()) == expected
    assert int(selected.sum()) == count_incidents(demo, flt) > 0
    rows = select_incidents(demo, flt)
    killed = sum(i.fatalities or 0 for i in rows)
    assert index.tally(flt) == (len(rows), killed, sum(i.fatalities is None for i in rows))
    groups, chosen = index.groups_of(flt)
    assert groups.tally(chosen) == (len(rows), killed, sum(i.fatalities is None for i in rows))


# Boxes that cut through the groups' cells (about 39 km) and through towns, with other parts of a filter.
BOXES = [
    {"bbox": "43.9,35.35,44.5,35.6"},
    {"bbox": "43.1,36.3,43.2,36.4"},
    {"bbox": "41.0,33.0,44.41,36.33", "force": "islamic_state"},
    {"bbox": "44.39,35.46,44.41,35.48", "drafts": "1"},
    {"bbox": "30,20,60,45", "from": "2017-01-01"},
]


@pytest.mark.parametrize("params", BOXES, ids=lambda p: p["bbox"])
def test_counts_and_pages_of_a_box_are_the_databases(demo, params):
    flt = IncidentFilter.from_params(params)
    index = MapIndex.build(demo)
    rows = select_incidents(demo, flt)
    assert rows
    assert index.tally(flt) == (
        len(rows),
        sum(i.fatalities or 0 for i in rows),
        sum(i.fatalities is None for i in rows),
    )
    assert set(index.id[index.select(flt)].tolist()) == {i.id for i in rows}
    for sort in ("-event_date", "event_date"):
        expected = [i.id for i in select_incidents(demo, flt, limit=10, offset=5, sort=sort)]
        assert index.page(flt, sort.lstrip("-"), sort.startswith("-"), 10, 5) == expected


def test_counts_per_force_period_and_district_are_the_rows(demo):
    flt = IncidentFilter.from_params({"governorate": "Kirkuk,Ninewa"})
    index = MapIndex.build(demo)
    groups, selected = index.groups_of(flt)
    rows = select_incidents(demo, flt)
    per_force = collections.Counter(key for i in rows for key in incident_forces(i))
    assert {k: n for k, n in groups.force_counts(selected).items() if n} == dict(per_force)
    months = groups.per_period(selected, "month")
    expected: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    for i in rows:
        start = i.event_date.replace(day=1).isoformat()
        expected[start][0] += 1
        expected[start][1] += i.fatalities or 0  # the known figures only
    assert {k: list(v) for k, v in months["total"].items()} == dict(expected)
    assert any(i.fatalities is None for i in rows)
    weeks = groups.per_period(selected, "week")
    assert all(dt.date.fromisoformat(start).weekday() == 0 for start in weeks["total"])
    assert sum(n for n, _ in weeks["total"].values()) == len(rows)
    districts = collections.Counter(i.admin2_pcode for i in rows if i.admin2_pcode)
    unreported = collections.Counter(i.admin2_pcode for i in rows if i.admin2_pcode and i.fatalities is None)
    killed = collections.Counter()
    for i in rows:
        if i.admin2_pcode:
            killed[i.admin2_pcode] += i.fatalities or 0
    per_district = groups.per_district(selected, index.pcode_of)
    assert {p: v["incidents"] for p, v in per_district.items()} == dict(districts)
    assert {p: v["no_figure"] for p, v in per_district.items() if v["no_figure"]} == dict(unreported)
    assert {p: v["fatalities"] for p, v in per_district.items()} == {p: killed[p] for p in districts}


@pytest.mark.parametrize("sort", ["-event_date", "event_date", "-fatalities", "fatalities", "id"])
def test_the_tables_pages_are_in_the_databases_order(demo, sort):
    flt = IncidentFilter.from_params({"governorate": "Ninewa"})
    index = MapIndex.build(demo)
    column, descending = sort.lstrip("-"), sort.startswith("-")
    for offset in (0, 25, 300):
        expected = [i.id for i in select_incidents(demo, flt, limit=25, offset=offset, sort=sort)]
        assert index.page(flt, column, descending, 25, offset) == expected


@pytest.mark.parametrize("zoom", [5, 7, 8, 9])
def test_the_tiles_of_a_zoom_hold_every_incident_at_a_point_once(demo, zoom):
    index = MapIndex.build(demo)
    selected = index.select(IncidentFilter())
    at_points = selected & ~index.coarse()
    x, y = mercator(index.longitude, index.latitude)
    tiles = {(int(a), int(b)) for a, b in zip(x[at_points] * (1 << zoom), y[at_points] * (1 << zoom), strict=True)}
    seen: list[int] = []
    clustered = unreported = 0
    for tx, ty in tiles:
        tile = index.tile(IncidentFilter(), zoom, tx, ty)
        if tile.points is not None:
            seen += index.id[tile.points].tolist()
        for cluster in tile.clusters:
            clustered += cluster["count"]
            unreported += cluster["no_figure"]
            assert cluster["count"] >= 2  # one alone comes as a point, which the browser can open
            assert sum(cluster["forces"]) == cluster["count"]
            (south, west), (north, east) = cluster["bounds"]
            assert south <= cluster["lat"] <= north and west <= cluster["lon"] <= east
    assert len(seen) == len(set(seen)) and len(seen) + clustered == int(at_points.sum())
    without = index.no_figure & at_points
    assert unreported + int(np.isin(index.id[without], seen).sum()) == int(without.sum()) > 0
    if zoom <= 7:  # a country-wide view groups the incidents of the busy tiles
        assert clustered > 0


@pytest.mark.parametrize("zoom", [4, 6, 8])
@pytest.mark.parametrize("params", [{}, {"force": "islamic_state"}, {"from": "2016-06-01", "precision": "1,2"}])
def test_a_tile_added_up_from_the_groups_is_the_tile_counted_from_the_incidents(demo, zoom, params):
    index = MapIndex.build(demo)
    flt = IncidentFilter.from_params(params)
    # A box around the world selects the same incidents, but tiles with a box are counted incident by incident.
    counted = IncidentFilter.from_params({**params, "bbox": "-180,-85,180,85"})
    x, y = mercator(index.longitude, index.latitude)
    tiles = {(int(a), int(b)) for a, b in zip(x * (1 << zoom), y * (1 << zoom), strict=True)}
    clustered = 0
    for tx, ty in tiles:
        grouped, plain = index.tile(flt, zoom, tx, ty), index.tile(counted, zoom, tx, ty)
        assert len(grouped.clusters) == len(plain.clusters)
        for a, b in zip(grouped.clusters, plain.clusters, strict=True):
            assert (a["lat"], a["lon"]) == pytest.approx((b["lat"], b["lon"]), abs=2e-5)
            assert {k: v for k, v in a.items() if k not in ("lat", "lon")} == {
                k: v for k, v in b.items() if k not in ("lat", "lon")
            }
            clustered += a["count"]
        assert (grouped.points is None) == (plain.points is None)
        if plain.points is not None:
            assert sorted(index.id[grouped.points].tolist()) == sorted(index.id[plain.points].tolist())
    assert clustered > 0


def test_a_write_is_seen_by_the_next_index(demo):
    before = MapIndex.build(demo)
    first = select_incidents(demo, IncidentFilter(), limit=1, sort="id")[0]
    demo.delete(first.id, by=BOOTSTRAP, reason="test")
    after = MapIndex.build(demo)
    # A delete is soft: the row stays (restorable) but no view selects it.
    assert after.version > before.version
    assert first.id in set(before.id[before.select(IncidentFilter())].tolist())
    assert first.id not in set(after.id[after.select(IncidentFilter())].tolist())
    assert first.id not in set(after.id[after.select(IncidentFilter(include_drafts=True))].tolist())
    assert np.all(np.diff(after.morton.astype(np.float64)) >= 0)


def assert_same_index(index: MapIndex, whole: MapIndex) -> None:
    """``index`` holds what ``whole`` holds, array for array, in the same order."""
    assert index.version == whole.version and index.n == whole.n
    for name, values in whole.columns.items():
        np.testing.assert_array_equal(index.columns[name], values, err_msg=name)
    for name in ("morton", "x", "y", "group_of"):
        np.testing.assert_array_equal(getattr(index, name), getattr(whole, name), err_msg=name)
    for field in dataclasses.fields(whole.groups):
        mine, theirs = getattr(index.groups, field.name), getattr(whole.groups, field.name)
        assert mine.dtype == theirs.dtype, field.name
        np.testing.assert_array_equal(mine, theirs, err_msg=field.name)


def test_an_index_brought_up_to_date_reads_only_the_incidents_written_since(demo):
    before = MapIndex.build(demo)
    rows = select_incidents(demo, IncidentFilter(include_drafts=True), sort="id")
    moved, elsewhere, removed, duplicate, target = rows[3], rows[-40], rows[10], rows[20], rows[21]
    # Moved onto another incident's point and day: into a cell and groups it shares with others.
    demo.replace(
        moved.id,
        dataclasses.replace(
            moved, latitude=elsewhere.latitude, longitude=elsewhere.longitude, event_date=elsewhere.event_date
        ),
        by=BOOTSTRAP,
        reason="located",
    )
    demo.delete(removed.id, by=BOOTSTRAP, reason="duplicate report")
    demo.merge(duplicate.id, target.id, by=BOOTSTRAP, reason="same event")
    copy = demo.add(
        dataclasses.replace(elsewhere, id=None, source_id=f"{elsewhere.source_id}-second-report"), by=BOOTSTRAP
    )
    version, ids, _ = changed_records(demo, before.version, most=100)
    assert sorted(ids.tolist()) == sorted({moved.id, removed.id, duplicate.id, target.id, copy.id})
    refreshed = before.refreshed(demo)
    assert refreshed.version == version == data_version(demo)
    assert_same_index(refreshed, MapIndex.build(demo))
    assert refreshed.refreshed(demo) is refreshed  # nothing written since


def test_an_index_brought_up_to_date_many_times_stays_the_index_built_whole(demo):
    rng = np.random.default_rng(16)
    index = MapIndex.build(demo)
    rows = select_incidents(demo, IncidentFilter(include_drafts=True), sort="id")
    for _ in range(6):
        for i, j in rng.integers(0, len(rows), size=(5, 2)):
            current, other = demo.get(rows[i].id), rows[j]
            if current.status == "deleted":
                continue
            changed = dataclasses.replace(
                current,
                latitude=other.latitude,
                longitude=other.longitude,
                force1=other.force1,
                status=rng.choice(["draft", "reviewed"]),
            )
            demo.replace(current.id, changed, by=BOOTSTRAP, reason="checked")
        index = index.refreshed(demo)
        assert_same_index(index, MapIndex.build(demo))


def test_after_an_import_or_a_pruned_change_log_the_index_is_read_whole(demo, monkeypatch):
    before = MapIndex.build(demo)
    import_file(demo, GED, "ucdp", progress=False, by=BOOTSTRAP)  # a re-import: every row stored already
    first = select_incidents(demo, IncidentFilter(), limit=2, sort="id")
    demo.delete(first[0].id, by=BOOTSTRAP, reason="test")
    assert changed_records(demo, before.version, most=100) is not None  # the re-import wrote nothing
    monkeypatch.setattr(store_module, "CHANGES_LISTED", 0)  # an import as large as any: logged as any change
    demo.delete(first[1].id, by=BOOTSTRAP, reason="test")
    assert changed_records(demo, before.version, most=100) is None
    assert_same_index(before.refreshed(demo), MapIndex.build(demo))
    monkeypatch.setattr(store_module, "CHANGES_LISTED", 10_000)
    monkeypatch.setattr(store_module, "CHANGES_KEPT", 1)
    latest = MapIndex.build(demo)
    demo.restore(first[0].id, by=BOOTSTRAP, reason="test")
    demo.restore(first[1].id, by=BOOTSTRAP, reason="test")
    assert changed_records(demo, latest.version, most=100) is None  # the first of the two was pruned
    assert_same_index(latest.refreshed(demo), MapIndex.build(demo))


def test_a_small_import_is_brought_up_to_date_from_the_incidents_it_wrote(demo):
    before = MapIndex.build(demo)
    blanked = [i.id for i in select_incidents(demo, IncidentFilter(), sort="id") if i.fatalities is None]
    # Staged and merged: its updates (the figures the fixture blanked, given again) are listed.
    import_file(demo, GED, "ucdp", progress=False, by=BOOTSTRAP, update=True, reason="figures restored")
    restored = [i for i in blanked if demo.get(i).fatalities is not None]  # the excerpt's, not the demo's
    version, ids, _ = changed_records(demo, before.version, most=100_000)
    assert restored and sorted(ids.tolist()) == restored
    assert_same_index(before.refreshed(demo), MapIndex.build(demo))


def test_an_import_into_an_empty_store_lists_every_new_incident_unless_streamed(store):
    empty = MapIndex.build(store)
    import_file(store, GED, "ucdp", progress=False, by=BOOTSTRAP)
    found = changed_records(store, empty.version, most=100_000)
    if store.dialect == "postgresql":  # streamed into the table batch by batch: logged as any change
        assert found is None
    else:  # staged, then merged: its new ids listed
        assert found is not None
        assert sorted(found[1].tolist()) == sorted(MapIndex.build(store).id.tolist())
    assert_same_index(empty.refreshed(store), MapIndex.build(store))
