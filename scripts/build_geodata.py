"""Build the shipped boundary layers in ``geodata/`` from the OCHA COD-AB Iraq extract.

Usage::

    python scripts/build_geodata.py [--source ../shared/data/ocha-codab-irq] [--out geodata]

Rerunnable: the same source gives byte-identical files. Steps:

1. read the sub-districts (adm3, 294) and check they form a valid polygon coverage;
2. simplify the coverage once with ``shapely.coverage_simplify`` (Visvalingam-Whyatt on the shared
   edges, so neighbours keep one common boundary: no gaps, no slivers);
3. dissolve the simplified sub-districts (``shapely.coverage_union_all``) into districts (adm2, 101),
   governorates (adm1, 18) and the country outline (adm0), so the levels nest exactly;
4. select the disputed districts (:data:`DISPUTED`) and dissolve the three Kurdistan Region
   governorates (:data:`KRI_GOVERNORATES`);
5. write GeoJSON (EPSG:4326) with the columns ``pcode, name, name_ar, parent_pcode, parent_name``
   and rewrite this script's section of ``geodata/PROVENANCE.md`` (between markers) with the
   tolerance, the measured displacement and the files' sha256 checksums.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import geopandas as gpd
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from provenance import markers, sha256, write_section  # noqa: E402  (scripts/ is on sys.path)

from webmap.spatial import LAYER_FILES, METRIC_CRS  # noqa: E402  (the repo's package, also when not installed)

DEFAULT_SOURCE = ROOT.parent / "shared" / "data" / "ocha-codab-irq"
SOURCE_FILES = {
    "adm1": "irq_admbnda_adm1_cso_20190603.geojson",
    "adm2": "irq_admbnda_adm2_cso_20190603.geojson",
    "adm3": "irq_admbnda_adm3_cso_20190603.geojson",
}
# Visvalingam-Whyatt tolerance in degrees: roughly the square root of the largest triangle area
# removed. 0.001 deg keeps every boundary within about 100 m of the source (measured and written
# to PROVENANCE.md) while the three levels stay well under 3 MB.
TOLERANCE_DEG = 0.001
COORDINATE_PRECISION = 6  # the source's own precision: no vertex is moved by writing

# Districts of the disputed territories, by COD-AB P-code. Sources (see PROVENANCE.md):
#   unami_2009     UNAMI press release of 22 April 2009 presenting its reports on the disputed
#                  internal boundaries: "the districts of Sinjar, Tal Afar, Til Kaef, Sheikhan, Akre,
#                  Hamdaniya, Makhmour, Al Hawija, Dibis, Daquq, Kirkuk, Tuz, Kifri and Khanaqin, as
#                  well as the sub-district of Mandali in Baladruz district".
#   article_140    Article 140 of the 2005 Constitution names only "Kirkuk" ("Kirkuk and other
#                  disputed territories"); marked for the four districts of Kirkuk governorate.
#   issue_list     the list in the project's issue 5 (Sinjar, Telafar, Tilkaif, Al-Hamdaniya, Shekhan,
#                  Makhmur, the four districts of Kirkuk, Tooz, Khanaqin, Kifri, Baladrooz and the
#                  Mandali area).
# A value of "Mandali sub-district only" means the source covers only that part of the district.
DISPUTED = {
    "IQG15Q07": {"unami_2009": "district", "issue_list": True},  # Sinjar
    "IQG15Q08": {"unami_2009": "district", "issue_list": True},  # Telafar
    "IQG15Q09": {"unami_2009": "district", "issue_list": True},  # Tilkaef
    "IQG15Q06": {"unami_2009": "district", "issue_list": True},  # Al-Shikhan
    "IQG15Q01": {"unami_2009": "district", "issue_list": False},  # Aqra
    "IQG15Q03": {"unami_2009": "district", "issue_list": True},  # Al-Hamdaniya
    "IQG11Q04": {"unami_2009": "district", "issue_list": True},  # Makhmour
    "IQG13Q01": {"unami_2009": "district", "issue_list": True},  # Al-Hawiga
    "IQG13Q02": {"unami_2009": "district", "issue_list": True},  # Daquq
    "IQG13Q03": {"unami_2009": "district", "issue_list": True},  # Dibis
    "IQG13Q04": {"unami_2009": "district", "issue_list": True},  # Kirkuk
    "IQG16Q07": {"unami_2009": "district", "issue_list": True},  # Tooz Khurmato
    "IQG10Q06": {"unami_2009": "district", "issue_list": True},  # Kifri
    "IQG10Q05": {"unami_2009": "district", "issue_list": True},  # Khanaqin
    "IQG10Q03": {"unami_2009": "Mandali sub-district only", "issue_list": True},  # Baladruz
}
KIRKUK_GOVERNORATE = "IQG13"
MANDALI = "IQG10Q03N01"
KRI_GOVERNORATES = ("IQG09", "IQG11", "IQG06")  # Duhok, Erbil, Al-Sulaymaniyah

BEGIN, END = markers("build_geodata.py")


def read_source(source: Path) -> dict[str, gpd.GeoDataFrame]:
    """The three COD-AB levels, checked to be valid coverages in EPSG:4326."""
    layers = {}
    for level, name in SOURCE_FILES.items():
        path = source / name
        if not path.is_file():
            sys.exit(f"missing source file {path}")
        layer = gpd.read_file(path)
        if layer.crs is None or layer.crs.to_epsg() != 4326:
            sys.exit(f"{path}: expected EPSG:4326, got {layer.crs}")
        if not shapely.coverage_is_valid(layer.geometry.values):
            sys.exit(f"{path}: the polygons do not form a valid coverage")
        layers[level] = layer
    return layers


def simplify_subdistricts(adm3: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The sub-district coverage simplified once on its shared edges."""
    simplified = shapely.coverage_simplify(adm3.geometry.values, TOLERANCE_DEG, simplify_boundary=True)
    if not shapely.is_valid(simplified).all() or not shapely.coverage_is_valid(simplified):
        sys.exit("coverage simplification produced invalid polygons; lower TOLERANCE_DEG")
    return adm3.set_geometry(gpd.GeoSeries(simplified, index=adm3.index, crs=adm3.crs))


def _dissolve(coverage: gpd.GeoDataFrame, key: str) -> gpd.GeoSeries:
    parts = coverage.groupby(key).geometry.apply(lambda g: shapely.coverage_union_all(g.values))
    return gpd.GeoSeries(parts, crs=coverage.crs)


def _layer(names: pd.DataFrame, geometry: gpd.GeoSeries) -> gpd.GeoDataFrame:
    frame = names.sort_values("pcode").reset_index(drop=True)
    missing = set(frame.pcode) ^ set(geometry.index)
    if missing:
        sys.exit(f"P-codes without geometry or names: {sorted(missing)}")
    return gpd.GeoDataFrame(frame, geometry=geometry.reindex(frame.pcode).values, crs=geometry.crs)


def build_levels(source: dict[str, gpd.GeoDataFrame]) -> dict[str, gpd.GeoDataFrame]:
    """adm0-adm3 with the shipped columns, all dissolved from the simplified sub-districts."""
    adm3 = simplify_subdistricts(source["adm3"])
    adm2_names = source["adm2"].set_index("ADM2_PCODE")
    adm1_names = source["adm1"].set_index("ADM1_PCODE")
    # The sub-districts' parent codes must agree with the districts' own files.
    bad = adm3.loc[adm3.ADM1_PCODE != adm3.ADM2_PCODE.map(adm2_names.ADM1_PCODE), "ADM3_PCODE"]
    if len(bad):
        sys.exit(f"sub-districts whose governorate disagrees with their district's: {list(bad)}")

    levels = {}
    levels["adm3"] = _layer(
        pd.DataFrame(
            {
                "pcode": adm3.ADM3_PCODE,
                "name": adm3.ADM3_EN,
                "name_ar": adm3.ADM3_AR,
                "parent_pcode": adm3.ADM2_PCODE,
                "parent_name": adm3.ADM2_PCODE.map(adm2_names.ADM2_EN),
            }
        ),
        adm3.set_index("ADM3_PCODE").geometry,
    )
    levels["adm2"] = _layer(
        pd.DataFrame(
            {
                "pcode": adm2_names.index,
                "name": adm2_names.ADM2_EN.values,
                "name_ar": adm2_names.ADM2_AR.values,
                "parent_pcode": adm2_names.ADM1_PCODE.values,
                "parent_name": adm2_names.ADM1_PCODE.map(adm1_names.ADM1_EN).values,
            }
        ),
        _dissolve(adm3, "ADM2_PCODE"),
    )
    levels["adm1"] = _layer(
        pd.DataFrame(
            {
                "pcode": adm1_names.index,
                "name": adm1_names.ADM1_EN.values,
                "name_ar": adm1_names.ADM1_AR.values,
                "parent_pcode": adm1_names.ADM0_PCODE.values,
                "parent_name": adm1_names.ADM0_EN.values,
            }
        ),
        _dissolve(adm3, "ADM1_PCODE"),
    )
    country = source["adm1"].iloc[0]
    levels["adm0"] = _layer(
        pd.DataFrame(
            {
                "pcode": [country.ADM0_PCODE],
                "name": [country.ADM0_EN],
                "name_ar": [country.ADM0_AR],
                "parent_pcode": [None],
                "parent_name": [None],
            }
        ),
        _dissolve(adm3, "ADM0_PCODE"),
    )
    return levels


def build_disputed(adm2: gpd.GeoDataFrame, adm3: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """One feature per disputed district with the sources that list it."""
    if adm3.loc[adm3.pcode == MANDALI, "parent_pcode"].tolist() != ["IQG10Q03"]:
        sys.exit(f"{MANDALI} (Mandali) is no longer a sub-district of Baladruz (IQG10Q03)")
    out = adm2[adm2.pcode.isin(list(DISPUTED))].copy()
    out["unami_2009"] = out.pcode.map(lambda p: DISPUTED[p]["unami_2009"])
    out["article_140"] = out.parent_pcode.eq(KIRKUK_GOVERNORATE).map({True: "names Kirkuk", False: None})
    out["issue_list"] = out.pcode.map(lambda p: DISPUTED[p]["issue_list"])
    if len(out) != len(DISPUTED):
        sys.exit(f"disputed P-codes missing from adm2: {sorted(set(DISPUTED) - set(out.pcode))}")
    return out.reset_index(drop=True)


def build_kri(adm1: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The Kurdistan Region: the dissolve of Duhok, Erbil and Al-Sulaymaniyah governorates."""
    parts = adm1[adm1.pcode.isin(KRI_GOVERNORATES)]
    if len(parts) != len(KRI_GOVERNORATES):
        sys.exit(f"KRI governorates missing from adm1: {KRI_GOVERNORATES}")
    return gpd.GeoDataFrame(
        {
            "name": ["Kurdistan Region"],
            "name_ar": ["إقليم كردستان"],
            "governorates": [" ".join(sorted(parts.pcode))],
        },
        geometry=[shapely.coverage_union_all(parts.geometry.values)],
        crs=adm1.crs,
    )


def write_layers(layers: dict[str, gpd.GeoDataFrame], out: Path) -> dict[str, Path]:
    """Write each layer as GeoJSON; returns the written paths by layer name."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, layer in layers.items():
        path = out / LAYER_FILES[name]
        path.unlink(missing_ok=True)
        layer.to_file(
            path,
            driver="GeoJSON",
            engine="pyogrio",
            layer_options={"COORDINATE_PRECISION": COORDINATE_PRECISION, "WRITE_BBOX": "NO"},
        )
        paths[name] = path
    return paths


def displacement_m(source: gpd.GeoDataFrame, simplified: gpd.GeoDataFrame) -> float:
    """Largest Hausdorff distance, in metres, between a source sub-district and its simplified shape."""
    a = source.sort_values("ADM3_PCODE").to_crs(METRIC_CRS).geometry.values
    b = simplified.sort_values("pcode").to_crs(METRIC_CRS).geometry.values
    return float(shapely.hausdorff_distance(a, b).max())


def provenance_section(
    paths: dict[str, Path], layers: dict[str, gpd.GeoDataFrame], moved_m: float, source: Path
) -> str:
    rows = "\n".join(
        f"| `{p.name}` | {len(layers[n])} | {p.stat().st_size} | `{sha256(p)}` |" for n, p in paths.items()
    )
    levels_bytes = sum(paths[n].stat().st_size for n in ("adm1", "adm2", "adm3"))
    disputed = layers["disputed"].sort_values(["parent_pcode", "pcode"])
    disputed_rows = "\n".join(
        f"| {r.name} | {r.pcode} | {r.parent_name} | {r.unami_2009} "
        f"| {r.article_140 if pd.notna(r.article_140) else '-'} | {'yes' if r.issue_list else 'no'} |"
        for r in disputed.itertuples()
    )
    return f"""{BEGIN}
## Boundary layers (`scripts/build_geodata.py`)

**Source**: OCHA Iraq Common Operational Dataset - Administrative Boundaries (COD-AB), Iraq Central
Statistics Office (CSO) / OCHA Iraq, edition dated 2019-05-30, valid on 2019-06-03 (files
`irq_admbnda_adm1_cso_20190603`, `..._adm2_...`, `..._adm3_...`, read from `{source.name}/`).
**Licence**: Creative Commons Attribution 3.0 IGO (CC BY 3.0 IGO). **Attribution**: OCHA / Iraq CSO.
HDX page: https://data.humdata.org/dataset/iraq-admin-level-1-boundaries (licence as recorded by
geoBoundaries for this source).

**How the files were derived** (rerun `python scripts/build_geodata.py` to rebuild them byte for byte):
the 294 sub-districts were simplified once as a polygon coverage (`shapely.coverage_simplify`,
Visvalingam-Whyatt, tolerance {TOLERANCE_DEG} degrees, applied to shared edges so neighbours keep
one common boundary: no gaps, no slivers). Largest displacement of any boundary from the source:
{moved_m:.0f} m (Hausdorff distance, UTM 38N). Districts, governorates and the country outline are
exact dissolves (`shapely.coverage_union_all`) of the simplified sub-districts, so the levels nest
exactly; English and Arabic names and P-codes come from the source's ADMn_EN, ADMn_AR, ADMn_PCODE.
Built with shapely {shapely.__version__} (GEOS {shapely.geos_version_string}), geopandas {gpd.__version__}.
Every admin file has the columns `pcode, name, name_ar, parent_pcode, parent_name`; CRS EPSG:4326;
coordinates keep the source's 6 decimals. The three admin levels together: {levels_bytes} bytes.

| file | features | bytes | sha256 |
| --- | --- | --- | --- |
{rows}

`iraq.geojson` is the country outline (adm0) for the offline basemap. `kri.geojson` is the
Kurdistan Region as the dissolve of Duhok (IQG09), Erbil (IQG11) and Al-Sulaymaniyah (IQG06)
governorates: the formal three-governorate region of this COD-AB edition (Halabja is not separate
in it), not the line of KRG control, which before October 2017 reached into Ninewa, Kirkuk, Diyala
and Salah al-Din.

**Disputed territories** (`disputed.geojson`, one feature per district, whole-district geometry):

- `unami_2009`: UNAMI's press release of 22 April 2009, "UNAMI Submits its Reports on the Disputed
  Internal Boundaries" (https://iraq.un.org/en/257020-unami-submits-its-reports-disputed-internal-boundaries),
  says separate reports were prepared "on the districts of Sinjar, Tal Afar, Til Kaef, Sheikhan,
  Akre, Hamdaniya, Makhmour, Al Hawija, Dibis, Daquq, Kirkuk, Tuz, Kifri and Khanaqin, as well as
  the sub-district of Mandali in Baladruz district" (14 districts and one sub-district: 15 reports).
  Value `district`, or `Mandali sub-district only` for Baladruz.
- `article_140`: Article 140 of the 2005 Constitution carries over Article 58 of the Transitional
  Administrative Law and names only Kirkuk ("a referendum in Kirkuk and other disputed
  territories"); it lists no districts. Marked `names Kirkuk` on the four districts of Kirkuk
  governorate (which part of Kirkuk the article means is not stated in it); empty elsewhere.
- `issue_list`: the list in the project's issue 5 (Sinjar, Telafar, Tilkaif, Al-Hamdaniya, Shekhan,
  Makhmur, the four districts of Kirkuk, Tooz, Khanaqin, Kifri, Baladrooz and the Mandali area).

The layer is the union of the two lists: UNAMI's fourteen districts plus Baladruz. Aqra (Akre) is
in UNAMI's list but not in the issue's; Baladruz is in the issue's list as a whole district, while
UNAMI covered only its Mandali sub-district (COD-AB IQG10Q03N01; in this COD-AB edition the
district's Arabic name is also مندلي, Mandali). An incident is `disputed` when its sub-district lies
in one of these districts.

| district (COD-AB) | P-code | governorate | UNAMI 2009 | Article 140 | issue list |
| --- | --- | --- | --- | --- | --- |
{disputed_rows}
{END}"""


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="folder of the COD-AB GeoJSON files")
    parser.add_argument("--out", type=Path, default=ROOT / "geodata", help="output folder")
    args = parser.parse_args(argv)

    source = read_source(args.source)
    layers = build_levels(source)
    layers["disputed"] = build_disputed(layers["adm2"], layers["adm3"])
    layers["kri"] = build_kri(layers["adm1"])
    for name, layer in layers.items():
        if not layer.is_valid.all():
            sys.exit(f"{name}: invalid geometry after dissolving")
    paths = write_layers(layers, args.out)
    moved = displacement_m(source["adm3"], layers["adm3"])
    write_section(args.out / "PROVENANCE.md", "build_geodata.py", provenance_section(paths, layers, moved, args.source))
    for name, path in paths.items():
        print(
            f"{path.relative_to(args.out.parent) if path.is_relative_to(args.out.parent) else path}: "
            f"{len(layers[name])} features, {path.stat().st_size} bytes"
        )
    print(f"largest boundary displacement: {moved:.0f} m")


if __name__ == "__main__":
    main()
