"""Boundary layers and the vectorised spatial join: every incident gets its governorate (admin1),
district (admin2), sub-district (admin3), their P-codes and whether it lies in the disputed territories.

Layers (GeoJSON, EPSG:4326) ship in ``geodata/`` (built by ``scripts/build_geodata.py`` from OCHA
COD-AB, see ``geodata/PROVENANCE.md``): ``adm0`` (``iraq.geojson``, the country outline), ``adm1``,
``adm2``, ``adm3``, ``disputed`` and ``kri``. Each admin layer has the columns ``pcode, name,
name_ar, parent_pcode, parent_name``. A user's replacement of an admin level (``webmap geodata
import``, checked by :mod:`webmap.io.boundaries`) lives in the folder ``WEBMAP_GEODATA`` under the
same file name and takes precedence over the shipped file. Layers are read once and cached; the cache key
includes the file's size, modification time and inode, so a replacement is noticed.

The join (:func:`join_admin_areas`) is one ``geopandas.sjoin`` of the points with the finest level
(sub-districts, cut into grid pieces of :data:`GRID_DEG` for a tighter index), then a lookup of each
sub-district's district and governorate by P-code. The parent of each polygon is found once per
set of layers, spatially (the parent holding the largest share of its area), so a replaced level
whose P-codes differ from the shipped ones still links up. A sub-district is disputed when more
than half of it lies in the ``disputed`` layer.

Incidents are placed by one rule, :func:`place_incidents` (:func:`place_points` on arrays): which
levels an incident keeps follows from its ``geo_precision`` and what its source or place text
vouches for, and ``disputed`` is that of the area it is known to.

Points inside no polygon (on a border, in a river, off the coast) take the nearest sub-district
within :data:`NEAREST_TOLERANCE_M` metres, measured in UTM zone 38N (EPSG:32638; at Iraq's western
and eastern edges, 3-4 degrees outside the zone, its distances are up to 0.5 % too long). Beyond the
tolerance every admin field stays None; :func:`count_unassigned` counts them.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from geopandas.array import GeometryArray

from .config import SHIPPED_GEODATA, Config
from .errors import GeodataError, InvalidRecord
from .names import fold, strip_article
from .records import Incident

# Polygons as shapely takes them: a numpy array of geometries or a GeoSeries' values.
Geometries = np.ndarray | GeometryArray

LAYER_FILES = {
    "adm0": "iraq.geojson",
    "adm1": "adm1.geojson",
    "adm2": "adm2.geojson",
    "adm3": "adm3.geojson",
    "disputed": "disputed.geojson",
    "kri": "kri.geojson",
}
LEVELS = ("adm1", "adm2", "adm3")
_JOIN_LAYERS = ("adm0", *LEVELS, "disputed")  # the layers AdminLayers is built from
PARENT_LEVEL = {"adm1": "adm0", "adm2": "adm1", "adm3": "adm2"}
LEVEL_NAMES = {"adm0": "country", "adm1": "governorate", "adm2": "district", "adm3": "sub-district"}
AREA_COLUMNS = ["pcode", "name", "name_ar", "parent_pcode", "parent_name"]
# The names people use for the governorates and districts, beside the official ones (built by
# scripts/build_admin_names.py from GeoNames and Who's On First; see geodata/PROVENANCE.md).
ADMIN_NAMES_FILE = "admin_names.csv"
ADMIN_FIELDS = ("admin1", "admin1_pcode", "admin2", "admin2_pcode", "admin3", "admin3_pcode", "disputed")

NEAREST_TOLERANCE_M = 2000.0
# Share of an area that may lie on the other side of the disputed line and still count as wholly
# inside or outside (the shipped layers are simplified as one coverage, slivers stay below 1 %).
DISPUTED_MARGIN = 0.02
METRIC_CRS = "EPSG:32638"
# The sub-districts are cut along a grid of this many degrees before indexing (like PostGIS's
# ST_Subdivide): small pieces make the index's boxes tight and each point-in-polygon test cheap.
# Measured by bench/spatial.py: 0.1 deg (7,346 pieces) halves the join time against whole polygons.
GRID_DEG = 0.1

# Common spellings that folding alone does not reach, by level and COD-AB P-code. Keys are matched
# after fold() and strip_article(); names and P-codes of the layer itself always win over these.
ALIASES: dict[str, dict[str, tuple[str, ...]]] = {
    "adm1": {
        "IQG15": ("Nineveh", "Ninawa", "Ninawah", "Nineva", "Ninevah"),
        "IQG16": ("Salahuddin", "Salah ad-Din", "Salah ed-Din", "Salah el-Din", "Salaheddin", "Salahaddin", "Saladin"),
        "IQG06": (
            "Sulaymaniyah",
            "Sulaimaniyah",
            "Sulaimaniya",
            "Sulaymaniya",
            "Suleimaniyah",
            "Slemani",
            "Silemani",
            "Sulaimani",
        ),
        "IQG10": ("Diyalah", "Dyala", "Diala"),
        "IQG13": ("Kerkuk", "Karkuk", "At-Ta'mim", "Tamim", "Tameem", "Al-Tameem", "التأميم"),
        "IQG11": ("Arbil", "Irbil", "Hawler", "Hewler"),
        "IQG09": ("Dohuk", "Dahuk", "Dihok"),
        "IQG02": ("Basra",),
        "IQG05": ("Qadisiyah", "Qadisiya"),
        "IQG12": ("Karbala",),
        "IQG14": ("Missan",),
        "IQG17": ("Dhi Qar",),
        "IQG18": ("Wasit",),
    },
    "adm2": {
        "IQG13Q01": ("Hawija", "Hawijah", "Huwaija"),
        "IQG13Q02": ("Daqooq", "Dakuk"),
        "IQG13Q03": ("Dibs",),
        "IQG16Q07": ("Tuz Khurmatu", "Tooz Khurmatu", "Tuz Khurmato", "Tuz Khormato", "Tuz Khormatu", "Tuz", "Tooz"),
        "IQG11Q04": ("Makhmur", "Makhmoor"),
        "IQG15Q08": ("Tal Afar", "Tel Afar", "Tall Afar", "Tallafar"),
        "IQG15Q09": ("Tilkaif", "Tel Kaif", "Tel Keppe", "Telkaif", "Til Kaef"),
        "IQG15Q06": ("Shekhan", "Sheikhan", "Shaikhan"),
        "IQG15Q03": ("Hamdaniyah",),
        "IQG15Q07": ("Shingal", "Shengal"),
        "IQG15Q01": ("Akre", "Akra", "Aqrah"),
        "IQG10Q03": ("Baladrooz", "Balad Ruz"),
        "IQG10Q05": ("Khaniqin",),
        "IQG01Q01": ("Fallujah",),
        "IQG16Q03": ("Baiji", "Bayji"),
        "IQG16Q02": ("Sharqat",),
    },
    "adm3": {
        "IQG16Q07N01": ("Amerli", "Amirli"),
        "IQG10Q05N04": ("Jalula",),
        "IQG15Q05N01": ("Qayyarah", "Qayara"),
        "IQG13Q03N03": ("Altun Kupri", "Altun Kopri", "Prde"),
        "IQG16Q07N03": ("Sulaiman Bek", "Suleiman Beg"),
        "IQG11Q04N04": ("Gwer", "Guwair"),
        "IQG11Q04N03": ("Debaga",),
        "IQG15Q03N02": ("Bartella", "Bartalla"),
        "IQG15Q03N01": ("Nimrud",),
        "IQG15Q09N02": ("Alqosh", "Alqush"),
        "IQG15Q08N03": ("Zumar",),
        "IQG10Q05N01": ("Saadiyah", "Sadiyah"),
    },
}
# Designations that name the kind of area, dropped before matching ("Kirkuk governorate", "Qada' Sinjar").
_DESIGNATIONS = frozenset(
    {
        "governorate",
        "province",
        "muhafazat",
        "muhafaza",
        "district",
        "qada",
        "qadaa",
        "qadha",
        "subdistrict",
        "nahiya",
        "nahiyah",
        "nahiyat",
    }
)

_GOVERNORATE_WORDS = frozenset({"governorate", "province", "muhafazat", "muhafaza", fold("محافظة")})


# -- layers ---------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def people_names() -> dict[str, tuple[str, str, tuple[str, ...]]]:
    """P-code -> (official name, display name, former names) of the governorates and districts, from
    the shipped :data:`ADMIN_NAMES_FILE` (empty when it is missing: the official names are shown then)."""
    try:
        handle = (SHIPPED_GEODATA / ADMIN_NAMES_FILE).open(encoding="utf-8", newline="")
    except FileNotFoundError:
        return {}
    with handle:
        return {
            row["pcode"]: (row["name"], row["display_name"], tuple(n for n in row["former_names"].split("|") if n))
            for row in csv.DictReader(handle)
        }


def _people_names_of(pcode: str | None, official: str | None) -> tuple[str | None, tuple[str, ...]]:
    """The display and former names of the area ``pcode`` named ``official``. They are the shipped
    layers': an area of a user's replacement layer that names it otherwise keeps its own name."""
    found = people_names().get(pcode) if pcode else None
    if found is None or found[0] != official:
        return official, ()
    return found[1], found[2]


def display_name(pcode: str | None, official: str | None) -> str | None:
    """The name people use for the area ``pcode`` whose official name is ``official`` (see
    :func:`people_names`), else ``official``."""
    return _people_names_of(pcode, official)[0]


def geodata_folder(geodata_dir: Path | str | None) -> Path:
    return Path(geodata_dir) if geodata_dir is not None else Config.from_env().geodata_dir


def layer_path(name: str, geodata_dir: Path | str | None = None) -> Path:
    """The file behind layer ``name``: the user's replacement of an admin level if present, else shipped."""
    if name not in LAYER_FILES:
        raise GeodataError(f"unknown layer {name!r} (known: {', '.join(LAYER_FILES)})")
    if name in LEVELS:
        replacement = geodata_folder(geodata_dir) / LAYER_FILES[name]
        if replacement.is_file():
            return replacement
    return SHIPPED_GEODATA / LAYER_FILES[name]


def layer_signature(name: str, geodata_dir: Path | str | None = None) -> tuple:
    """What identifies the current file of layer ``name`` (path, modification time, size, inode):
    it changes when the layer is replaced, so caches keyed on it follow. :class:`GeodataError`
    when the file is missing."""
    path = Path(layer_path(name, geodata_dir))
    try:
        st = path.stat()
    except OSError:
        raise GeodataError(f"boundary layer {path} is missing (rebuild it with scripts/build_geodata.py)") from None
    return (str(path), st.st_mtime_ns, st.st_size, st.st_ino)


@functools.lru_cache(maxsize=32)
def _read_layer(signature: tuple) -> gpd.GeoDataFrame:
    path = signature[0]
    try:
        layer = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several unrelated types for unreadable files
        raise GeodataError(f"cannot read boundary layer {path}: {exc}") from None
    if layer.crs is None:
        return layer.set_crs(4326)
    return layer if layer.crs.to_epsg() == 4326 else layer.to_crs(4326)


def load_layer(name: str, geodata_dir: Path | str | None = None) -> gpd.GeoDataFrame:
    """Layer ``name`` (adm0, adm1, adm2, adm3, disputed, kri) as a GeoDataFrame in EPSG:4326.

    Admin layers have ``pcode, name, name_ar, parent_pcode, parent_name``; ``disputed`` adds
    ``unami_2009, article_140, issue_list``; ``kri`` has ``name, name_ar, governorates``.
    ``geodata_dir`` defaults to ``WEBMAP_GEODATA``. Returns a copy: callers may modify it.
    """
    return _read_layer(layer_signature(name, geodata_dir)).copy()


# -- the hierarchy and the join index --------------------------------------------------------------
def area_overlaps(children: Geometries, parents: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (child position, parent position, share of the child's area inside the parent) with a share > 0."""
    child_idx, parent_idx = parents.sindex.query(children, predicate="intersects")
    shared = shapely.area(shapely.intersection(children[child_idx], parents.geometry.values[parent_idx]))
    share = shared / np.maximum(shapely.area(children[child_idx]), 1e-300)
    keep = share > 0
    return child_idx[keep], parent_idx[keep], share[keep]


def largest_overlap(children: Geometries, parents: gpd.GeoDataFrame) -> np.ndarray:
    """For each child polygon, the position of the parent holding most of its area (-1: none)."""
    child_idx, parent_idx, share = area_overlaps(children, parents)
    best = np.full(len(children), -1, dtype=np.intp)
    order = np.lexsort((share, child_idx))  # per child, the largest share last
    last = order[np.r_[child_idx[order][1:] != child_idx[order][:-1], True]] if len(order) else order
    best[child_idx[last]] = parent_idx[last]
    return best


@dataclasses.dataclass(frozen=True, eq=False)
class AdminLayers:
    """A consistent set of boundary layers, ready to join points with.

    ``areas[level]`` are the areas of each level (columns :data:`AREA_COLUMNS`, parents found
    spatially, then ``display_name`` and ``former_names``: see :func:`people_names`); ``finest`` the
    sub-district polygons (EPSG:4326), ``pieces`` the same cut along a :data:`GRID_DEG` grid with
    ``piece_owner`` the position in ``finest`` of each piece, and ``finest_metric`` the
    sub-districts in :data:`METRIC_CRS` (spatial indexes built); ``fields`` the admin fields of
    every finest polygon, by position, with one extra all-None row at the end for unassigned points.
    """

    polygons: dict
    areas: dict
    finest: gpd.GeoDataFrame
    pieces: gpd.GeoDataFrame
    piece_owner: np.ndarray
    finest_metric: gpd.GeoDataFrame
    fields: dict

    @classmethod
    def build(cls, polygons: dict[str, gpd.GeoDataFrame]) -> AdminLayers:
        """From GeoDataFrames adm0..adm3 (columns pcode, name, name_ar) and ``disputed``, in EPSG:4326."""
        areas = {}
        parent_of = {}
        for level in LEVELS:
            parent = polygons[PARENT_LEVEL[level]]
            best = largest_overlap(polygons[level].geometry.values, parent)
            parent_of[level] = best
            frame = pd.DataFrame(
                {
                    "pcode": polygons[level]["pcode"].to_numpy(object),
                    "name": polygons[level]["name"].to_numpy(object),
                    "name_ar": column_values(polygons[level], "name_ar"),
                }
            )
            frame["parent_pcode"] = take_positions(parent["pcode"].to_numpy(object), best)
            frame["parent_name"] = take_positions(parent["name"].to_numpy(object), best)
            names = [_people_names_of(p, n) for p, n in zip(frame["pcode"], frame["name"], strict=True)]
            frame["display_name"] = [shown for shown, _ in names]
            frame["former_names"] = [former for _, former in names]
            areas[level] = frame

        finest = gpd.GeoDataFrame(geometry=polygons["adm3"].geometry.values, crs=4326)
        piece_polygons, piece_owner = _subdivide(finest.geometry.values, GRID_DEG)
        pieces = gpd.GeoDataFrame(geometry=piece_polygons, crs=4326)
        _ = pieces.sindex  # build the spatial index once, not on the first join
        adm2_of = parent_of["adm3"]
        adm1_of = take_positions(parent_of["adm2"], adm2_of, missing=-1).astype(np.intp)
        disputed_union = shapely.union_all(polygons["disputed"].geometry.values)
        fields = {
            "admin3": areas["adm3"]["name"].to_numpy(object),
            "admin3_pcode": areas["adm3"]["pcode"].to_numpy(object),
            "admin2": take_positions(areas["adm2"]["name"].to_numpy(object), adm2_of),
            "admin2_pcode": take_positions(areas["adm2"]["pcode"].to_numpy(object), adm2_of),
            "admin1": take_positions(areas["adm1"]["name"].to_numpy(object), adm1_of),
            "admin1_pcode": take_positions(areas["adm1"]["pcode"].to_numpy(object), adm1_of),
            # A sub-district counts as in the disputed territories when most of it is: the layer is
            # drawn by district, so the shares are ~0 or ~1 but for simplification slivers.
            "disputed": np.where(
                _disputed_share(finest.geometry.values, disputed_union) > 0.5, "inside", "outside"
            ).astype(object),
        }
        # Whether an incident known only to its district or governorate lies in the disputed territories.
        for level, of in (("adm2", adm2_of), ("adm1", adm1_of)):
            status = _disputed_status(_disputed_share(polygons[level].geometry.values, disputed_union))
            fields[f"_{level}_disputed"] = take_positions(status, of)
        # The last row stands for "unassigned": index -1 picks it.
        fields = {k: np.append(v.astype(object), np.array([None], dtype=object)) for k, v in fields.items()}
        finest_metric = finest.to_crs(METRIC_CRS)
        _ = finest_metric.sindex
        return cls(
            polygons=polygons,
            areas=areas,
            finest=finest,
            pieces=pieces,
            piece_owner=piece_owner,
            finest_metric=finest_metric,
            fields=fields,
        )

    @classmethod
    def current(cls, geodata_dir: Path | str | None = None) -> AdminLayers:
        """The layers in use now (user replacements first), cached until a file changes."""
        return _current_layers(tuple(layer_signature(n, geodata_dir) for n in _JOIN_LAYERS))

    def replacing(self, level: str, layer: gpd.GeoDataFrame) -> AdminLayers:
        """The same layers with ``level`` replaced by ``layer`` (as returned by :func:`read_admin_layer`)."""
        return AdminLayers.build({**self.polygons, level: layer})

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Position in :attr:`finest` of the sub-district of each point (degrees WGS 84), -1 if none.

        One ``sjoin`` (predicate ``intersects``, so a point on a boundary takes one of its sides)
        with the sub-district pieces; points in none of them take the nearest sub-district within
        :data:`NEAREST_TOLERANCE_M` metres.
        """
        found = np.full(len(lon), -1, dtype=np.intp)
        usable = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
        if not len(usable):
            return found
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon[usable], lat[usable]), index=usable, crs=4326)
        hits = gpd.sjoin(points, self.pieces, predicate="intersects", how="inner")
        # A point on a shared edge touches two pieces: the first wins (so do overlapping user polygons).
        hits = hits[~hits.index.duplicated()]
        found[hits.index.to_numpy()] = self.piece_owner[hits["index_right"].to_numpy()]
        self._nearest(points, found)
        return found

    def _nearest(self, points: gpd.GeoDataFrame, found: np.ndarray) -> None:
        # Only points within reach of the layer's bounding box can be near a polygon; the rest
        # (and anything a UTM projection cannot handle, such as the poles) stay unassigned.
        margin = 0.1  # degrees, more than NEAREST_TOLERANCE_M anywhere in Iraq
        west, south, east, north = self.finest.total_bounds
        x, y = points.geometry.x.to_numpy(), points.geometry.y.to_numpy()
        near = (
            (found[points.index.to_numpy()] < 0)
            & (x > west - margin)
            & (x < east + margin)
            & (y > south - margin)
            & (y < north + margin)
        )
        if not near.any():
            return
        outside = points[near].to_crs(METRIC_CRS)
        nearest = gpd.sjoin_nearest(outside, self.finest_metric, max_distance=NEAREST_TOLERANCE_M)
        nearest = nearest[~nearest.index.duplicated()]  # equidistant polygons: the first wins
        found[nearest.index.to_numpy()] = nearest["index_right"].to_numpy()


@functools.lru_cache(maxsize=4)
def _current_layers(signatures: tuple) -> AdminLayers:
    return AdminLayers.build({name: _read_layer(sig) for name, sig in zip(_JOIN_LAYERS, signatures, strict=False)})


def _subdivide(polygons: Geometries, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """``polygons`` cut along a grid of ``cell`` degrees: the polygonal pieces and each one's polygon position."""
    west, south, east, north = shapely.total_bounds(polygons)
    xs = np.arange(np.floor(west / cell) * cell, east + cell, cell)
    ys = np.arange(np.floor(south / cell) * cell, north + cell, cell)
    x, y = (a.ravel() for a in np.meshgrid(xs[:-1], ys[:-1]))
    cells = shapely.box(x, y, x + cell, y + cell)
    owner, cell_idx = shapely.STRtree(cells).query(polygons, predicate="intersects")
    cut = shapely.intersection(polygons[owner], cells[cell_idx])
    parts, part_of = shapely.get_parts(cut, return_index=True)
    polygonal = shapely.get_type_id(parts) == 3  # drop the lines and points where a polygon only touches a cell
    return parts[polygonal], owner[part_of[polygonal]]


def _disputed_share(areas: Geometries, disputed_union) -> np.ndarray:
    """The share of each polygon's area inside the disputed territories (0..1)."""
    inside = shapely.area(shapely.intersection(areas, disputed_union))
    return inside / np.maximum(shapely.area(areas), 1e-300)


def _disputed_status(share: np.ndarray) -> np.ndarray:
    """``inside`` (all of it), ``outside`` (none of it) or ``partly`` (it straddles the line) for each
    share; :data:`DISPUTED_MARGIN` of the area is allowed either way for boundaries simplified differently."""
    status = np.full(len(share), "partly", dtype=object)
    status[share >= 1 - DISPUTED_MARGIN] = "inside"
    status[share <= DISPUTED_MARGIN] = "outside"
    return status


def take_positions(values: np.ndarray, positions: np.ndarray, missing: Any = None) -> np.ndarray:
    """``values[positions]`` with ``missing`` where a position is -1."""
    return np.append(np.asarray(values, dtype=object), missing)[positions]


def column_values(frame: pd.DataFrame, column: str) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), None, dtype=object)
    return frame[column].astype(object).where(frame[column].notna(), None).to_numpy(object)


# -- the join -------------------------------------------------------------------------------------
def join_admin_areas(
    points: pd.DataFrame, *, layers: AdminLayers | None = None, geodata_dir: Path | str | None = None
) -> pd.DataFrame:
    """Governorate, district, sub-district, their P-codes and the disputed flag under each point.

    The raw join, every level from the point, whatever its precision: incidents are placed by
    :func:`place_incidents` instead, which keeps only the levels an incident is known to.
    ``points``: a (Geo)DataFrame with ``longitude`` and ``latitude`` columns (degrees WGS 84).
    Returns a copy (same index, order and type) with the columns ``admin1, admin1_pcode, admin2,
    admin2_pcode, admin3, admin3_pcode`` (English names and P-codes; None when unassigned) and
    ``disputed`` (``inside``/``outside`` as the point's sub-district; None when unassigned) set. ``layers`` defaults to
    :meth:`AdminLayers.current` (``geodata_dir`` defaults to ``WEBMAP_GEODATA``). Count the
    unassigned with :func:`count_unassigned`.
    """
    layers = layers or AdminLayers.current(geodata_dir)
    lon, lat = _coordinates(points)
    found = layers.locate(lon, lat)
    out = points.copy()
    for name in ADMIN_FIELDS:
        out[name] = pd.Series(layers.fields[name][found], index=out.index, dtype=object)
    return out


# -- the placement rule: which areas an incident is known to ------------------------------------------
def place_points(
    lon: np.ndarray,
    lat: np.ndarray,
    geo_precision: np.ndarray,
    *,
    locations: Sequence[str | None] | None = None,
    vouched_depths: Sequence[int | None] | None = None,
    layers: AdminLayers | None = None,
    geodata_dir: Path | str | None = None,
) -> dict[str, np.ndarray]:
    """The admin fields of incidents (:data:`ADMIN_FIELDS`) by the one placement rule.

    ``lon``/``lat`` in degrees WGS 84 and ACLED's ``geo_precision`` (1-3) per incident. Which
    levels an incident keeps (its depth: 3 sub-district, 2 district, 1 governorate, 0 none):

    - precision 1 or 2 (the named place, or near it): every level under the point;
    - precision 3 (only a district or governorate is known; the point stands for the area): the
      depth its source vouches for (``vouched_depths``: UCDP's ``where_prec``, the P-code columns a
      file fills, the levels stored before a re-join), else the deepest area holding the point that
      its ``locations`` text names (3 the sub-district, 2 the district: "Hawija", "Hawija district,
      Kirkuk"), else 1: the point of a governorate-wide report says nothing of the district it
      happens to fall in.

    ``disputed`` is that of the known area: at depth 3, ``inside`` or ``outside`` as the point's
    sub-district; at depth 1-2, ``inside`` when the whole district or governorate lies in the
    disputed territories, ``outside`` when none of it does, ``partly`` when it straddles the line
    (Ninewa); None when nothing is known. Returns a dict of object arrays, None where a level is
    unknown or the point is in no area.
    """
    layers = layers or AdminLayers.current(geodata_dir)
    found = layers.locate(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    depth = np.full(len(found), 3, dtype=np.int8)
    for i in np.flatnonzero(np.asarray(geo_precision) >= 3).tolist():
        vouched = vouched_depths[i] if vouched_depths is not None else None
        if vouched is None:
            vouched = _named_depth(layers, locations[i] if locations is not None else None, found[i])
        depth[i] = vouched
    placed = {}
    for level in (1, 2, 3):
        for name in (f"admin{level}", f"admin{level}_pcode"):
            values = layers.fields[name][found]
            values[depth < level] = None
            placed[name] = values
    disputed = layers.fields["disputed"][found]
    for level in (2, 1):
        at = depth == level
        disputed[at] = layers.fields[f"_adm{level}_disputed"][found[at]]
    disputed[depth == 0] = None
    placed["disputed"] = disputed
    return placed


def place_incidents(
    incidents: list[Incident],
    vouched_depths: Sequence[int | None] | None = None,
    *,
    layers: AdminLayers | None = None,
    geodata_dir: Path | str | None = None,
) -> list[Incident]:
    """Set the admin areas and disputed flag of each incident, in place, by :func:`place_points`.

    Every door (import, form, API, extraction, re-join) places incidents through this rule, so one
    incident is stored alike whichever way it came in. ``vouched_depths``: per incident, the levels
    its source vouches for, or None. Returns ``incidents``.
    """
    if not incidents:
        return incidents
    placed = place_points(
        np.array([i.longitude for i in incidents], dtype=float),
        np.array([i.latitude for i in incidents], dtype=float),
        np.array([i.geo_precision for i in incidents]),
        locations=[i.location for i in incidents],
        vouched_depths=vouched_depths,
        layers=layers,
        geodata_dir=geodata_dir,
    )
    for name, values in placed.items():
        for incident, value in zip(incidents, values.tolist(), strict=True):
            setattr(incident, name, value)
    return incidents


def _named_depth(layers: AdminLayers, location: str | None, finest: int) -> int:
    """3 when the place text ``location`` (its part before any comma) names the sub-district at
    position ``finest``, 2 when it names that sub-district's district, else 1 (also when the text
    calls its area a governorate: "Kirkuk governorate" is not Kirkuk district)."""
    if location and finest >= 0:
        name = location.split(",")[0]
        if _GOVERNORATE_WORDS & set(fold(name).split()):
            return 1
        for depth, level in ((3, "adm3"), (2, "adm2")):
            row = _find_area_row(layers, level, name)
            if (
                row is not None
                and layers.areas[level]["pcode"].iat[row] == layers.fields[f"admin{depth}_pcode"][finest]
            ):
                return depth
    return 1


def _coordinates(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    arrays = []
    for column in ("longitude", "latitude"):
        if column not in frame:
            raise InvalidRecord(column, "column is missing")
        try:
            arrays.append(frame[column].to_numpy(dtype=float, na_value=np.nan))
        except (TypeError, ValueError):
            raise InvalidRecord(column, "not a number in every row") from None
    return arrays[0], arrays[1]


def count_unassigned(joined: pd.DataFrame) -> int:
    """How many points of a :func:`join_admin_areas` result have no admin area."""
    return int(joined["admin3_pcode"].isna().sum())


# -- looking up areas by name ------------------------------------------------------------------------
def admin_areas(level: str, geodata_dir: Path | str | None = None) -> pd.DataFrame:
    """Every area of ``level`` (adm1, adm2, adm3): ``pcode, name, name_ar, parent_pcode, parent_name``.

    Parents are the areas of the level above holding most of each area (for adm1: Iraq).
    Ordered by P-code.
    """
    check_level(level)
    return AdminLayers.current(geodata_dir).areas[level].sort_values("pcode").reset_index(drop=True)


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise GeodataError(f"unknown level {level!r} (known: {', '.join(LEVELS)})")


def name_keys(text: str, *, articles: bool = True) -> set[str]:
    """The keys an area's name is found by: folded, without designations ("governorate", "qada"),
    and (``articles``) without a leading Arabic article."""
    folded = fold(text)
    plain = " ".join(w for w in folded.split() if w not in _DESIGNATIONS) or folded
    if not articles:
        return {k for k in (folded, plain) if k}
    return {k for k in (folded, strip_article(folded), plain, strip_article(plain)) if k}


@functools.lru_cache(maxsize=16)
def _name_index(layers: AdminLayers, level: str) -> dict[str, int | None]:
    """Folded name/alias/P-code -> row of ``layers.areas[level]``; None marks an ambiguous name."""
    areas = layers.areas[level]
    index: dict[str, int | None] = {}

    def add(key: str, row: int, table: dict) -> None:
        if key in table and table[key] != row:
            table[key] = None
        else:
            table[key] = row

    names: dict[str, int | None] = {}
    for row, area in enumerate(areas.itertuples()):
        for text in (area.name, area.name_ar):
            if text:
                for key in name_keys(text):
                    add(key, row, names)
    by_pcode = {str(p).casefold(): row for row, p in enumerate(areas["pcode"])}
    aliases: dict[str, int | None] = {}
    spellings_of: dict[str, list[str]] = {p: list(v) for p, v in ALIASES.get(level, {}).items()}
    for area in areas.itertuples():  # the names people use, current and former
        spellings_of.setdefault(area.pcode, []).extend([area.display_name, *area.former_names])
    for pcode, spellings in spellings_of.items():
        aliased = by_pcode.get(pcode.casefold())
        if aliased is not None:
            for spelling in spellings:
                for key in name_keys(spelling):
                    add(key, aliased, aliases)
    index.update(aliases)
    index.update(names)  # the layer's own names win over aliases
    index.update(by_pcode)
    return index


def _find_area_row(layers: AdminLayers, level: str, text: str) -> int | None:
    """The row of ``layers.areas[level]`` that ``text`` names (see :func:`find_admin_area`), or None."""
    index = _name_index(layers, level)
    text = text.strip()
    row = index.get(text.casefold())
    if row is None:
        rows = {index.get(key) for key in name_keys(text)} - {None}
        if len(rows) != 1:
            return None
        row = rows.pop()
    return row


def find_admin_area(text: str, level: str, geodata_dir: Path | str | None = None) -> dict | None:
    """The area of ``level`` (adm1, adm2, adm3) that ``text`` names, or None.

    ``text`` is a P-code (any case), an English or Arabic name, the display or a former name
    (:func:`people_names`) or a spelling in :data:`ALIASES`;
    compared after :func:`~webmap.names.fold` and :func:`~webmap.names.strip_article`, with words
    such as "governorate", "province", "district", "qada" dropped. A name shared by two areas of the
    level matches neither (use the P-code). Returns ``{"pcode", "name", "name_ar", "display_name",
    "level", "parent_pcode", "parent_name"}``.
    """
    check_level(level)
    if not text or not str(text).strip():
        return None
    layers = AdminLayers.current(geodata_dir)
    row = _find_area_row(layers, level, str(text))
    if row is None:
        return None
    area = layers.areas[level].iloc[row]
    return {
        "pcode": area["pcode"],
        "name": area["name"],
        "name_ar": area["name_ar"],
        "display_name": area["display_name"],
        "level": level,
        "parent_pcode": area["parent_pcode"],
        "parent_name": area["parent_name"],
    }
