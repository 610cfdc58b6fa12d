"""``webmap geodata import``: replacing a boundary level with an authoritative file (issue 5, item 2).

Every file here is the real COD-AB district layer (``tests/data``, simplified, with COD-AB's own
properties), written as the user would have it (GeoJSON, Shapefile) or damaged in one real feature to
show the refusal names it.
"""

import os

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from helpers import CODAB_DISTRICTS, GED

from webmap import spatial
from webmap.cli import main
from webmap.records import validate_incident
from webmap.roles import BOOTSTRAP

# Real UCDP GED events (ids, dates, points as UCDP publishes them): Kirkuk city, Tal Afar, Karrada.
UCDP_EVENTS = [
    {
        "source_id": "244637",
        "event_date": "2017-01-05",
        "latitude": 35.468056,
        "longitude": 44.392222,
        "event_type": "Battles",
    },
    {
        "source_id": "274540",
        "event_date": "2018-12-25",
        "latitude": 36.379134,
        "longitude": 42.448065,
        "event_type": "Violence against civilians",
    },
    {
        "source_id": "197060",
        "event_date": "2015-05-12",
        "latitude": 33.340582,
        "longitude": 44.400876,
        "event_type": "Violence against civilians",
    },
]


@pytest.fixture
def districts():
    return gpd.read_file(CODAB_DISTRICTS)


@pytest.fixture
def stored(store):
    with store.transaction() as conn:
        store.save_batch(conn, [validate_incident({**e, "source": "UCDP GED"}) for e in UCDP_EVENTS], by=BOOTSTRAP)
    return store


@pytest.fixture
def user_geodata(tmp_path):
    """The WEBMAP_GEODATA folder the ``runner`` fixture sets."""
    return tmp_path / "user-geodata"


def admin2_of(store):
    with store.connect() as conn:
        rows = [
            row
            for part in store.iter_all(conn, ["source_id", "admin2", "admin2_pcode", "admin1_pcode"])
            for row in part
        ]
    return {r["source_id"]: (r["admin2"], r["admin2_pcode"], r["admin1_pcode"]) for r in rows}


def test_import_installs_the_layer_and_rejoins_stored_incidents(runner, stored, user_geodata):
    # Arabic names as the layer's names make the re-join visible in the stored rows.
    result = runner.invoke(
        main, ["geodata", "import", str(CODAB_DISTRICTS), "--level", "adm2", "--name-column", "ADM2_AR"]
    )
    assert result.exit_code == 0, result.output
    assert "adm2: 101 areas installed" in result.stdout
    assert "3 stored incidents re-joined, 0 outside every area" in result.stdout
    assert admin2_of(stored) == {
        "244637": ("كركوك", "IQG13Q04", "IQG13"),
        "274540": ("تلعفر", "IQG15Q08", "IQG15"),
        "197060": ("الرصافة", "IQG08Q06", "IQG08"),
    }
    installed = spatial.load_layer("adm2", user_geodata)
    assert len(installed) == 101 and set(installed.columns) >= set(spatial.AREA_COLUMNS)
    # The cached layers notice the replacement: lookups and new joins use it at once.
    assert spatial.find_admin_area("الحويجة", "adm2", user_geodata)["name"] == "الحويجة"
    assert spatial.find_admin_area("Kirkuk", "adm2", user_geodata) is None
    point = pd.DataFrame({"longitude": [44.392222], "latitude": [35.468056]})
    assert spatial.join_admin_areas(point, geodata_dir=user_geodata)["admin2"].iat[0] == "كركوك"


def test_import_reprojects_a_shapefile_in_utm(runner, stored, districts, tmp_path, user_geodata):
    path = tmp_path / "districts_utm.shp"
    districts[["ADM2_PCODE", "ADM2_EN", "ADM2_AR", "geometry"]].to_crs("EPSG:32638").to_file(path)
    result = runner.invoke(main, ["geodata", "import", str(path), "--level", "adm2"])
    assert result.exit_code == 0, result.output
    assert admin2_of(stored)["244637"] == ("Kirkuk", "IQG13Q04", "IQG13")
    assert spatial.load_layer("adm2", user_geodata).crs.to_epsg() == 4326


def _row(districts, pcode):
    """The index label of the district with P-code ``pcode``."""
    return districts.index[districts.ADM2_PCODE == pcode][0]


def _self_intersecting(districts):
    kirkuk = _row(districts, "IQG13Q04")
    ring = list(districts.geometry[kirkuk].exterior.coords)
    middle = len(ring) // 2
    # Two vertices swapped: the boundary crosses itself.
    ring[middle], ring[middle + 5] = ring[middle + 5], ring[middle]
    broken = districts.copy()
    broken.loc[kirkuk, "geometry"] = shapely.Polygon(ring)
    assert not broken.geometry[kirkuk].is_valid
    return broken, f"feature {kirkuk} (Kirkuk, IQG13Q04): invalid geometry: "


def _without_crs(districts, tmp_path):
    path = tmp_path / "districts.shp"
    districts.to_crs("EPSG:32638").to_file(path)
    os.remove(path.with_suffix(".prj"))
    return path, f"feature 0 ({districts.ADM2_EN[0]}, {districts.ADM2_PCODE[0]}): coordinates"


def _swallowing(districts, taker, taken):
    """``districts`` with the polygon of P-code ``taker`` grown over its neighbour ``taken``; both index labels."""
    grown, swallowed = _row(districts, taker), _row(districts, taken)
    merged = districts.copy()
    merged.loc[grown, "geometry"] = districts.geometry[grown].union(districts.geometry[swallowed])
    return merged, grown, swallowed


def _straddling(districts):
    # Daquq (Kirkuk) swallows its neighbour Tooz Khurmato (Salah Al-Din), which goes.
    merged, _, tooz = _swallowing(districts, "IQG13Q02", "IQG16Q07")
    merged = merged.drop(index=tooz).reset_index(drop=True)
    position = _row(merged, "IQG13Q02")
    return merged, f"feature {position} (Daquq, IQG13Q02): not inside one governorate: "


def _overlapping(districts):
    # Dibis swallows its neighbour Kirkuk district (both in Kirkuk governorate), which stays too.
    merged, dibis, kirkuk = _swallowing(districts, "IQG13Q03", "IQG13Q04")
    first, second = sorted([dibis, kirkuk])
    names = {dibis: "Dibis, IQG13Q03", kirkuk: "Kirkuk, IQG13Q04"}
    return merged, f"feature {first} ({names[first]}) overlaps feature {second} ({names[second]})"


@pytest.mark.parametrize(
    "damage", ["invalid geometry", "no CRS, metres", "no name column", "not nesting", "overlapping"]
)
def test_refused_file_names_the_feature_and_keeps_the_old_layer(
    damage, runner, stored, districts, tmp_path, user_geodata
):
    good = runner.invoke(
        main, ["geodata", "import", str(CODAB_DISTRICTS), "--level", "adm2", "--name-column", "ADM2_AR"]
    )
    assert good.exit_code == 0, good.output
    before = (user_geodata / "adm2.geojson").read_bytes()
    stored_before = admin2_of(stored)

    path = tmp_path / "districts.geojson"
    districts = districts[["ADM2_PCODE", "ADM2_EN", "ADM2_AR", "geometry"]]
    warning = None
    if damage == "invalid geometry":
        broken, expected = _self_intersecting(districts)
        broken.to_file(path)
    elif damage == "no CRS, metres":
        path, expected = _without_crs(districts, tmp_path)
        warning = "has no CRS; its coordinates are taken as EPSG:4326"
    elif damage == "no name column":
        districts.drop(columns=["ADM2_EN"]).to_file(path)
        expected = "no name column found"
    elif damage == "not nesting":
        broken, expected = _straddling(districts)
        broken.to_file(path)
    else:
        broken, expected = _overlapping(districts)
        broken.to_file(path)

    result = runner.invoke(main, ["geodata", "import", str(path), "--level", "adm2"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert (
        f"Error: {path.name}: refused as the district layer (adm2); the current layer stays in place\n" in result.stderr
    )
    assert expected in result.stderr
    if warning:
        assert warning in result.stderr
    if damage == "no name column":
        assert "--name-column" in result.stderr
    assert (user_geodata / "adm2.geojson").read_bytes() == before
    assert [p.name for p in user_geodata.iterdir()] == ["adm2.geojson"]
    assert admin2_of(stored) == stored_before


def test_not_nesting_message_says_where_the_area_lies(runner, districts, tmp_path):
    broken, _ = _straddling(districts)
    path = tmp_path / "districts.gpkg"
    broken.to_file(path)
    result = runner.invoke(main, ["geodata", "import", str(path), "--level", "adm2"])
    assert result.exit_code == 2
    assert "in Salah Al-Din (IQG16)" in result.stderr and "in Kirkuk (IQG13)" in result.stderr


def test_unknown_column_option_is_named(runner):
    result = runner.invoke(
        main, ["geodata", "import", str(CODAB_DISTRICTS), "--level", "adm2", "--pcode-column", "PCODE2"]
    )
    assert result.exit_code == 2
    assert "\n--pcode-column: no column 'PCODE2' (columns: " in result.stderr


def test_geometries_swapped_between_governorates_are_refused(runner, stored, districts, tmp_path, user_geodata):
    # Sinjar (Ninewa) and Al-Hawiga (Kirkuk) trade polygons: each still nests, but not in its stated governorate.
    sinjar, hawiga = _row(districts, "IQG15Q07"), _row(districts, "IQG13Q01")
    swapped = districts.copy()
    swapped.loc[sinjar, "geometry"], swapped.loc[hawiga, "geometry"] = (
        districts.geometry[hawiga],
        districts.geometry[sinjar],
    )
    path = tmp_path / "swapped.geojson"
    swapped.to_file(path)
    stored_before = admin2_of(stored)
    result = runner.invoke(main, ["geodata", "import", str(path), "--level", "adm2"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    first = min(sinjar, hawiga)
    assert f"feature {first} " in result.stderr and "its ADM1_PCODE says" in result.stderr
    assert "but its polygon lies in" in result.stderr
    assert not (user_geodata / "adm2.geojson").exists()
    assert admin2_of(stored) == stored_before


def test_rejoin_keeps_the_levels_the_source_vouched_for(runner, store, tmp_path, user_geodata):
    # Real UCDP GED events: 140683 is known only to Kirkuk province (where_prec 4), 244637 to Kirkuk town.
    ged = pd.read_csv(GED, skiprows=[1], dtype=str, keep_default_na=False)
    path = tmp_path / "ged.csv"
    ged[ged["id"].isin(["140683", "244637"])].to_csv(path, index=False)
    assert runner.invoke(main, ["import", str(path), "--format", "ucdp"]).exit_code == 0
    before = admin2_of(store)
    assert before["140683"] == (None, None, "IQG13") and before["244637"][1] == "IQG13Q04"

    result = runner.invoke(
        main, ["geodata", "import", str(CODAB_DISTRICTS), "--level", "adm2", "--name-column", "ADM2_AR"]
    )
    assert result.exit_code == 0, result.output
    after = admin2_of(store)
    assert after["140683"] == (None, None, "IQG13")  # still no district: UCDP never gave one
    assert after["244637"] == ("كركوك", "IQG13Q04", "IQG13")


def test_a_rejoin_stores_unknown_levels_as_nothing(runner, store):
    """Incidents known only to their governorate keep no district after a re-join: NULL in the
    database, on SQLite and PostGIS alike (not a NaN or a 'NaN' text)."""
    import sqlalchemy as sa

    from webmap.store import incidents

    assert runner.invoke(main, ["import", str(GED), "--format", "ucdp"]).exit_code == 0
    rejoined = runner.invoke(main, ["geodata", "import", str(CODAB_DISTRICTS), "--level", "adm2"])
    assert rejoined.exit_code == 0, rejoined.output
    with store.connect() as conn:
        values = conn.execute(sa.select(incidents.c.admin2_pcode).distinct()).scalars().all()
    assert None in values and all(v is None or v.startswith("IQG") for v in values)
