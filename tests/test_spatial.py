"""The shipped boundary layers and the spatial join (issue 5), on real COD-AB names and boundaries
and real UCDP GED events (``tests/data``)."""

import dataclasses
import datetime as dt
import hashlib
import re

import geopandas as gpd
import pandas as pd
import pytest
import shapely
from helpers import CODAB_DISTRICTS, CODAB_NAMES, GED

from webmap import spatial
from webmap.config import SHIPPED_GEODATA
from webmap.records import Incident

# UCDP GED's adm_1 (GeoNames spellings, whitespace collapsed) -> COD-AB governorate P-code, written
# by the team. At-Ta'mim is the governorate's pre-2006 name, today Kirkuk.
UCDP_GOVERNORATES = {
    "Al Anbār province": "IQG01",
    "Al Başrah province": "IQG02",
    "Al Muthanná province": "IQG03",
    "An Najaf province": "IQG04",
    "Al Qādisīyah province": "IQG05",
    "As Sulaymānīyah province": "IQG06",
    "Bābil province": "IQG07",
    "Baghdād province": "IQG08",
    "Dahūk province": "IQG09",
    "Diyālá province": "IQG10",
    "Arbīl province": "IQG11",
    "Karbalā’ province": "IQG12",
    "Kirkūk province": "IQG13",
    "At-Ta'mim province": "IQG13",
    "Maysān province": "IQG14",
    "Nīnawá province": "IQG15",
    "Şalāḩ ad Dīn province": "IQG16",
    "Dhī Qār province": "IQG17",
    "Wāsiţ province": "IQG18",
}


@pytest.fixture(scope="module")
def ucdp():
    events = pd.read_csv(GED, skiprows=[1], low_memory=False)
    return events.set_index("id", drop=False)


@pytest.fixture
def shipped_only(tmp_path, monkeypatch):
    """No user replacement layers: WEBMAP_GEODATA is an empty folder."""
    monkeypatch.setenv("WEBMAP_GEODATA", str(tmp_path / "no-replacements"))


# -- the shipped files ------------------------------------------------------------------------------
def test_shipped_layers_have_every_area_with_names_and_pcodes(shipped_only):
    names = pd.read_csv(CODAB_NAMES, dtype=str, keep_default_na=False)
    for level, count in (("adm1", 18), ("adm2", 101), ("adm3", 294)):
        layer = spatial.load_layer(level)
        source = names[names["level"] == level]
        assert len(layer) == len(source) == count
        assert layer.crs.to_epsg() == 4326
        expected = source.set_index("pcode")[["name_en", "name_ar"]].sort_index()
        got = layer.set_index("pcode")[["name", "name_ar"]].sort_index()
        assert got.index.tolist() == expected.index.tolist()
        assert got.to_numpy().tolist() == expected.to_numpy().tolist()


def test_shipped_levels_stay_under_3_mb_and_match_their_checksums():
    sizes = sum((SHIPPED_GEODATA / f"{level}.geojson").stat().st_size for level in spatial.LEVELS)
    assert sizes < 3_000_000
    provenance = (SHIPPED_GEODATA / "PROVENANCE.md").read_text(encoding="utf-8")
    for name in spatial.LAYER_FILES.values():
        digest = hashlib.sha256((SHIPPED_GEODATA / name).read_bytes()).hexdigest()
        assert re.search(rf"`{re.escape(name)}` \| \d+ \| \d+ \| `{digest}`", provenance), name


def test_simplified_subdistricts_leave_no_gaps_or_slivers(shipped_only):
    adm3 = spatial.load_layer("adm3").to_crs(spatial.METRIC_CRS)
    country = spatial.load_layer("adm0").to_crs(spatial.METRIC_CRS).geometry.iloc[0]
    assert adm3.is_valid.all()
    # A valid coverage: neighbours share identical edges, interiors never overlap.
    assert shapely.coverage_is_valid(adm3.geometry.values)
    union = shapely.coverage_union_all(adm3.geometry.values)
    assert abs(adm3.area.sum() - union.area) < 1.0  # m²: no overlaps
    assert union.symmetric_difference(country).area < 1.0  # m²: no gaps against the outline
    holes = [ring for poly in getattr(union, "geoms", [union]) for ring in poly.interiors]
    assert holes == []


def test_levels_nest_exactly(shipped_only):
    for child, parent in (("adm3", "adm2"), ("adm2", "adm1")):
        children = spatial.load_layer(child)
        dissolved = children.dissolve("parent_pcode").geometry
        parents = spatial.load_layer(parent).set_index("pcode").geometry.reindex(dissolved.index)
        assert (
            dissolved.to_crs(spatial.METRIC_CRS).symmetric_difference(parents.to_crs(spatial.METRIC_CRS)).area.max()
            < 1.0
        )


def test_disputed_layer_lists_districts_and_their_sources(shipped_only):
    disputed = spatial.load_layer("disputed").set_index("name")
    assert len(disputed) == 15
    assert {
        "Sinjar",
        "Telafar",
        "Tilkaef",
        "Al-Hamdaniya",
        "Al-Shikhan",
        "Makhmour",
        "Al-Hawiga",
        "Daquq",
        "Dibis",
        "Kirkuk",
        "Tooz Khurmato",
        "Khanaqin",
        "Kifri",
        "Baladruz",
    } <= set(disputed.index)
    assert disputed.loc["Baladruz", "unami_2009"] == "Mandali sub-district only"
    assert disputed.loc["Aqra", "unami_2009"] == "district" and not disputed.loc["Aqra", "issue_list"]
    assert disputed.loc["Kirkuk", "article_140"] == "names Kirkuk"
    assert pd.isna(disputed.loc["Sinjar", "article_140"])


def test_kri_is_the_three_governorates(shipped_only):
    kri = spatial.load_layer("kri").to_crs(spatial.METRIC_CRS).geometry.iloc[0]
    # The reference: COD-AB's districts of Duhok, Erbil and Al-Sulaymaniyah, dissolved.
    districts = gpd.read_file(CODAB_DISTRICTS)
    reference = districts[districts["ADM1_PCODE"].isin(["IQG09", "IQG11", "IQG06"])]
    reference = reference.to_crs(spatial.METRIC_CRS).union_all()
    assert 38_000e6 < kri.area < 39_500e6  # about 38,713 km²
    assert kri.symmetric_difference(reference).area / reference.area < 0.005


# -- the join ---------------------------------------------------------------------------------------
def test_join_agrees_with_ucdp_governorates(ucdp, shipped_only):
    joined = spatial.join_admin_areas(ucdp)
    assert list(joined.index) == list(ucdp.index)
    theirs = joined["adm_1"].map(lambda s: UCDP_GOVERNORATES[" ".join(s.split())] if isinstance(s, str) else None)
    precise = joined[(joined["where_prec"] <= 2) & theirs.notna()]
    agreement = (precise["admin1_pcode"] == theirs[precise.index]).mean()
    everyone = joined[theirs.notna()]
    print(
        f"\nUCDP GED adm_1 vs our admin1: {agreement:.2%} of {len(precise)} events with where_prec <= 2; "
        f"{(everyone['admin1_pcode'] == theirs[everyone.index]).mean():.2%} of all {len(everyone)} named"
    )
    assert agreement >= 0.99


def test_join_sets_every_field_and_the_disputed_flag(ucdp, shipped_only):
    # Real UCDP events: Kirkuk city, Tal Afar, Baghdad's Karrada.
    points = ucdp.loc[[244637, 274540, 197060], ["longitude", "latitude"]]
    joined = spatial.join_admin_areas(points)
    got = joined[list(spatial.ADMIN_FIELDS)].to_numpy().tolist()
    assert got == [
        ["Kirkuk", "IQG13", "Kirkuk", "IQG13Q04", "Markaz Kirkuk", "IQG13Q04N06", "inside"],
        ["Ninewa", "IQG15", "Telafar", "IQG15Q08", "Markaz Telafar", "IQG15Q08N01", "inside"],
        ["Baghdad", "IQG08", "Al-Risafa", "IQG08Q06", "Al-Karrada Al-Sharqia", "IQG08Q06N01", "outside"],
    ]
    assert spatial.count_unassigned(joined) == 0


def test_join_keeps_a_geodataframe_and_its_geometry(ucdp, shipped_only):
    events = ucdp.loc[[244637, 197060], ["longitude", "latitude"]]
    points = gpd.GeoDataFrame(events, geometry=gpd.points_from_xy(events.longitude, events.latitude), crs=4326)
    joined = spatial.join_admin_areas(points)
    assert isinstance(joined, gpd.GeoDataFrame) and joined.geometry.equals(points.geometry)
    assert joined["admin2"].tolist() == ["Kirkuk", "Al-Risafa"] and "admin2" not in points


def test_point_just_over_the_border_takes_the_nearest_area(ucdp, shipped_only):
    # UCDP event 144881, "Iraq-Turkey border": about 1.6 km north of COD-AB's Duhok boundary.
    event = ucdp.loc[[144881], ["longitude", "latitude"]]
    point = gpd.GeoSeries(gpd.points_from_xy(event.longitude, event.latitude), crs=4326)
    assert not spatial.load_layer("adm0").contains(point.iloc[0]).any()
    joined = spatial.join_admin_areas(event)
    assert joined.iloc[0]["admin1"] == "Duhok" and joined.iloc[0]["disputed"] == "outside"


def test_points_beyond_the_tolerance_stay_unassigned_and_are_counted(ucdp, shipped_only):
    # UCDP events 2.6 km ("'Ukash village") and 10 km ("Iraq-Saudi Arabia border") outside COD-AB's Iraq.
    events = ucdp.loc[[267814, 145092], ["longitude", "latitude"]]
    joined = spatial.join_admin_areas(events)
    assert joined[list(spatial.ADMIN_FIELDS)].isna().all().all()
    assert spatial.count_unassigned(joined) == 2


def test_incidents_at_a_named_place_are_placed_at_every_level(ucdp, shipped_only):
    row = ucdp.loc[244637]
    incident = Incident(
        event_date=dt.date(2017, 1, 5),
        latitude=row.latitude,
        longitude=row.longitude,
        event_type="Battles",
        source="UCDP GED",
        source_id="244637",
    )
    before = dataclasses.replace(incident)
    [placed] = spatial.place_incidents([incident])
    assert placed is incident
    assert (placed.admin1, placed.admin2_pcode, placed.admin3, placed.disputed) == (
        "Kirkuk",
        "IQG13Q04",
        "Markaz Kirkuk",
        "inside",
    )
    assert dataclasses.replace(placed, **{f: None for f in spatial.ADMIN_FIELDS}) == before


# -- names -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text, level, pcode",
    [
        ("Hawija", "adm2", "IQG13Q01"),
        ("Al-Hawiga", "adm2", "IQG13Q01"),
        ("hawiga", "adm2", "IQG13Q01"),
        ("IQG13Q01", "adm2", "IQG13Q01"),
        ("iqg13q01", "adm2", "IQG13Q01"),
        ("الحويجة", "adm2", "IQG13Q01"),
        ("Kirkuk", "adm1", "IQG13"),
        ("Kirkuk", "adm2", "IQG13Q04"),
        ("Kirkuk governorate", "adm1", "IQG13"),
        ("At-Ta'mim", "adm1", "IQG13"),
        ("كركوك", "adm1", "IQG13"),
        ("Tuz Khurmatu", "adm2", "IQG16Q07"),
        ("Tooz Khurmatu", "adm2", "IQG16Q07"),
        ("Tooz Khurmato", "adm2", "IQG16Q07"),
        ("Makhmur", "adm2", "IQG11Q04"),
        ("Tal Afar", "adm2", "IQG15Q08"),
        ("Tel Afar", "adm2", "IQG15Q08"),
        ("Nineveh", "adm1", "IQG15"),
        ("Ninawa", "adm1", "IQG15"),
        ("Ninewa", "adm1", "IQG15"),
        ("Salah al-Din", "adm1", "IQG16"),
        ("Salahuddin", "adm1", "IQG16"),
        ("Salah ad-Din", "adm1", "IQG16"),
        ("Sulaymaniyah", "adm1", "IQG06"),
        ("As-Sulaymaniyah", "adm1", "IQG06"),
        ("Diyala", "adm1", "IQG10"),
        ("Diyālá province", "adm1", "IQG10"),
        ("Qada' Sinjar", "adm2", "IQG15Q07"),
        ("Shingal", "adm2", "IQG15Q07"),
        ("Mandali", "adm3", "IQG10Q03N01"),
        ("Amerli", "adm3", "IQG16Q07N01"),
        ("Salah Al-Din", "adm3", "IQG11Q06N02"),  # the sub-district of Shaqlawa, not the governorate
    ],
)
def test_find_admin_area_knows_the_common_spellings(text, level, pcode, shipped_only):
    assert spatial.find_admin_area(text, level)["pcode"] == pcode


def test_find_admin_area_returns_the_area_and_its_parent(shipped_only):
    assert spatial.find_admin_area("Hawija", "adm2") == {
        "pcode": "IQG13Q01",
        "name": "Al-Hawiga",
        "name_ar": "الحويجة",
        "display_name": "Hawija",
        "level": "adm2",
        "parent_pcode": "IQG13",
        "parent_name": "Kirkuk",
    }
    assert spatial.find_admin_area("Kirkuk", "adm1")["parent_name"] == "Iraq"


@pytest.mark.parametrize("text, level", [("Hawija", "adm1"), ("Kirkuk", "adm3"), ("", "adm2"), ("Aleppo", "adm1")])
def test_find_admin_area_refuses_what_is_not_an_area_of_the_level(text, level, shipped_only):
    assert spatial.find_admin_area(text, level) is None


def test_admin_areas_list_every_area_with_its_parent(shipped_only):
    districts = spatial.admin_areas("adm2")
    assert list(districts.columns) == [*spatial.AREA_COLUMNS, "display_name", "former_names"]
    assert len(districts) == 101 and len(spatial.admin_areas("adm1")) == 18 and len(spatial.admin_areas("adm3")) == 294
    daquq = districts.set_index("pcode").loc["IQG13Q02"]
    assert (daquq["name"], daquq["parent_pcode"], daquq["parent_name"]) == ("Daquq", "IQG13", "Kirkuk")
