"""A user's boundary file for one admin level: read, checked, staged and installed.

``webmap geodata import`` (:func:`webmap.io.geodata.import_admin_layer`) replaces the shipped
governorates, districts or sub-districts with an authoritative file. :func:`read_admin_layer`
reads it and refuses it whole, naming each bad feature, unless it is a clean layer of the level:
valid polygons in degrees inside Iraq, names and unique P-codes, no overlaps, nesting in the level
above. :func:`stage_admin_layer` and :func:`install_admin_layer` put it in ``WEBMAP_GEODATA`` in two
steps, so a failure between them (a refused re-join) leaves the current layer in place.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from .. import spatial
from ..errors import GeodataError, UnreadableFile
from ..files import check_input_file
from ..records import IRAQ
from ..spatial import AREA_COLUMNS, LAYER_FILES, LEVEL_NAMES, PARENT_LEVEL, AdminLayers

# Share of a replacement polygon's area that must lie in one polygon of the parent level. 98 %
# leaves room for a differently simplified boundary (the real COD-AB districts in the shipped,
# simplified governorates: at least 99.9 %) and still refuses a district straddling two governorates.
NEST_MIN_SHARE = 0.98
# Two polygons of one level may share more than a boundary only by this share of the smaller one.
OVERLAP_MAX_SHARE = 0.01
_MAX_REPORTED = 10

# Column names recognised in a user's layer, in order of preference (compared case-insensitively);
# {n} is the level's number. COD-AB (ADMn_*), our own files and geoBoundaries (shapeName) are covered.
_PCODE_COLUMNS = ("adm{n}_pcode", "pcode", "adm{n}pcode", "admin{n}pcode", "admin{n}_pcode")
_NAME_COLUMNS = ("adm{n}_en", "name", "name_en", "adm{n}_name", "admin{n}name_en", "admin{n}name", "shapename")
_NAME_AR_COLUMNS = ("adm{n}_ar", "name_ar", "admin{n}name_ar")


class GeodataWarning(UserWarning):
    """Something in a boundary file was assumed (a missing CRS) or does not fully line up."""


def _find_column(columns: Iterable[str], candidates: tuple[str, ...], n: int) -> str | None:
    by_lower = {c.lower(): c for c in columns}
    for candidate in candidates:
        if candidate.format(n=n) in by_lower:
            return by_lower[candidate.format(n=n)]
    return None


def _pick_column(
    layer: gpd.GeoDataFrame, given: str | None, option: str, candidates: tuple, n: int, what: str
) -> tuple[str | None, str | None]:
    """The column to read, or an error line naming the option to pass."""
    columns = [c for c in layer.columns if c != layer.geometry.name]
    if given is not None:
        if given not in columns:
            return None, f"{option}: no column {given!r} (columns: {', '.join(columns)})"
        return given, None
    found = _find_column(columns, candidates, n)
    if found is None:
        looked = ", ".join(c.format(n=n) for c in candidates)
        return None, (
            f"no {what} column found (looked for {looked}; columns: {', '.join(columns)}); name it with {option}"
        )
    return found, None


def _feature(i: int, name: Any, pcode: Any = None) -> str:
    label = ", ".join(str(v) for v in (name, pcode) if v is not None and str(v).strip())
    return f"feature {i} ({label})" if label else f"feature {i}"


def read_admin_layer(
    path: Path | str,
    level: str,
    *,
    pcode_column: str | None = None,
    name_column: str | None = None,
    layers: AdminLayers | None = None,
) -> gpd.GeoDataFrame:
    """Read and check a user's boundary file for ``level``; returns it with the shipped columns.

    ``path``: GeoJSON, Shapefile, GeoPackage (anything GDAL reads). P-code and name columns are
    detected (COD-AB ``ADMn_PCODE``/``ADMn_EN``/``ADMn_AR``, ``pcode``/``name``/``name_ar``,
    geoBoundaries ``shapeName``) or given. Without a CRS the coordinates are taken as EPSG:4326
    (a :class:`GeodataWarning` says so); another CRS is reprojected. Raises :class:`GeodataError`
    naming each bad feature (numbered from 0, as GDAL does) for: missing, empty, non-polygonal or
    invalid geometry, coordinates that are not degrees or lie outside Iraq, blank or duplicate
    P-codes, blank names, polygons overlapping each other, and polygons not lying (at least
    :data:`NEST_MIN_SHARE` of their area) in one polygon of the parent level of ``layers``
    (default: the layers in use). Polygons of the level below that no longer nest in the new
    layer give a :class:`GeodataWarning`.
    """
    spatial.check_level(level)
    path = Path(path)
    n = int(level[-1])
    if not path.is_dir():  # a folder is a dataset to GDAL (a File Geodatabase); anything else must be a file
        try:
            check_input_file(path)
        except UnreadableFile as exc:
            raise GeodataError(f"{path.name}: {exc.problem}") from None
    try:
        raw = gpd.read_file(path, engine="pyogrio")
    except Exception as exc:  # pyogrio/GDAL raise several unrelated types for unreadable files
        raise GeodataError(f"{path.name}: cannot read as a GIS file: {exc}") from None
    if not isinstance(raw, gpd.GeoDataFrame):  # GDAL reads a CSV without geometry as a plain table
        raise GeodataError(f"{path.name}: has no geometries: not a boundary layer (incidents go in with webmap import)")
    if raw.empty:
        raise GeodataError(f"{path.name}: the file has no features")
    if raw.crs is None:
        warnings.warn(
            f"{path.name} has no CRS; its coordinates are taken as EPSG:4326 (longitude, latitude)",
            GeodataWarning,
            stacklevel=2,
        )
    pcode_col, pcode_error = _pick_column(raw, pcode_column, "--pcode-column", _PCODE_COLUMNS, n, "P-code")
    name_col, name_error = _pick_column(raw, name_column, "--name-column", _NAME_COLUMNS, n, "name")
    if pcode_col is None or name_col is None:
        raise _refused(path, level, [e for e in (pcode_error, name_error) if e])
    name_ar_col = _find_column([c for c in raw.columns if c not in (name_col, pcode_col)], _NAME_AR_COLUMNS, n)

    names = spatial.column_values(raw, name_col)
    pcodes = spatial.column_values(raw, pcode_col)
    errors = _check_features(raw, names, pcodes)
    if errors:
        raise _refused(path, level, errors)
    names_ar = spatial.column_values(raw, name_ar_col) if name_ar_col else np.full(len(raw), None, dtype=object)
    layer = gpd.GeoDataFrame(
        {
            "pcode": [str(p).strip() for p in pcodes],
            "name": [str(v).strip() for v in names],
            "name_ar": [str(v).strip() if v is not None else None for v in names_ar],
        },
        geometry=(raw if raw.crs is None else raw.to_crs(4326)).geometry.values,
        crs=4326,
    )
    errors = _check_coordinates(layer) or _check_overlaps(layer)
    layers = layers or AdminLayers.current()
    if not errors:
        errors = _check_nesting(layer, layers, level)
    if errors:
        raise _refused(path, level, errors)
    best = spatial.largest_overlap(layer.geometry.values, layers.polygons[PARENT_LEVEL[level]])
    parent = layers.polygons[PARENT_LEVEL[level]]
    layer["parent_pcode"] = spatial.take_positions(parent["pcode"].to_numpy(object), best)
    layer["parent_name"] = spatial.take_positions(parent["name"].to_numpy(object), best)
    errors = _check_stated_parents(raw, layer, parent, n)
    if errors:
        raise _refused(path, level, errors)
    _warn_children(layer, layers, level)
    return layer[[*AREA_COLUMNS, "geometry"]]


def _refused(path: Path, level: str, errors: list[str]) -> GeodataError:
    lines = [f"{path.name}: refused as the {LEVEL_NAMES[level]} layer ({level}); the current layer stays in place"]
    lines += errors[:_MAX_REPORTED]
    if len(errors) > _MAX_REPORTED:
        lines.append(f"... and {len(errors) - _MAX_REPORTED} more")
    return GeodataError("\n".join(lines))


def _check_features(raw: gpd.GeoDataFrame, names: np.ndarray, pcodes: np.ndarray) -> list[str]:
    errors = []
    seen: dict[str, int] = {}
    geoms = raw.geometry.values
    reasons = shapely.is_valid_reason(geoms)
    for i, (geom, name, pcode) in enumerate(zip(geoms, names, pcodes, strict=False)):
        label = _feature(i, name, pcode)
        if geom is None or shapely.is_empty(geom):
            errors.append(f"{label}: no geometry")
        elif shapely.get_type_id(geom) not in (3, 6):
            errors.append(f"{label}: a {geom.geom_type}, not a polygon")
        elif reasons[i] != "Valid Geometry":
            errors.append(f"{label}: invalid geometry: {reasons[i]}")
        if name is None or not str(name).strip():
            errors.append(f"{label}: the name is blank")
        if pcode is None or not str(pcode).strip():
            errors.append(f"{label}: the P-code is blank")
        else:
            key = str(pcode).strip().casefold()
            if key in seen:
                errors.append(f"{label}: P-code {pcode} repeats feature {seen[key]}")
            seen.setdefault(key, i)
    return errors


def _check_coordinates(layer: gpd.GeoDataFrame) -> list[str]:
    errors = []
    bounds = layer.geometry.bounds.to_numpy()
    for i, (west, south, east, north) in enumerate(bounds):
        label = _feature(i, layer["name"].iat[i], layer["pcode"].iat[i])
        if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
            errors.append(
                f"{label}: coordinates ({west:.6g}, {south:.6g}) are not degrees: the file's CRS is "
                "missing or wrong (a file without CRS is taken as EPSG:4326)"
            )
        elif not (IRAQ.contains(west, south) and IRAQ.contains(east, north)):
            errors.append(
                f"{label}: extends outside Iraq (bounds {west:.4f}, {south:.4f}, {east:.4f}, {north:.4f}): "
                "wrong CRS or swapped coordinates?"
            )
    return errors


def _check_overlaps(layer: gpd.GeoDataFrame) -> list[str]:
    geoms = layer.geometry.values
    left, right = layer.sindex.query(geoms, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    shared = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    errors = []
    for a, b, s, m in zip(left, right, shared, smaller, strict=False):
        if s > OVERLAP_MAX_SHARE * m:
            errors.append(
                f"{_feature(a, layer['name'].iat[a], layer['pcode'].iat[a])} overlaps "
                f"{_feature(b, layer['name'].iat[b], layer['pcode'].iat[b])} ({s / m:.0%} of the smaller)"
            )
    return errors


def _shares(children: spatial.Geometries, parents: gpd.GeoDataFrame) -> list[list[tuple[float, int]]]:
    """Per child, (share of its area, parent position) of every parent it overlaps, largest first."""
    out: list[list[tuple[float, int]]] = [[] for _ in children]
    for child, parent, share in zip(*spatial.area_overlaps(children, parents), strict=False):
        out[child].append((share, parent))
    return [sorted(x, reverse=True) for x in out]


def _check_nesting(layer: gpd.GeoDataFrame, layers: AdminLayers, level: str) -> list[str]:
    parent = layers.polygons[PARENT_LEVEL[level]]
    kind = LEVEL_NAMES[PARENT_LEVEL[level]]
    errors = []
    for i, shares in enumerate(_shares(layer.geometry.values, parent)):
        if shares and shares[0][0] >= NEST_MIN_SHARE:
            continue
        where = ", ".join(
            f"{s:.0%} in {parent['name'].iat[p]} ({parent['pcode'].iat[p]})" for s, p in shares[:3] if s >= 0.005
        )
        errors.append(
            f"{_feature(i, layer['name'].iat[i], layer['pcode'].iat[i])}: not inside one {kind}: "
            f"{where or 'outside every one'}; at least {NEST_MIN_SHARE:.0%} must lie in one"
        )
    return errors


def _check_stated_parents(
    raw: gpd.GeoDataFrame, layer: gpd.GeoDataFrame, parent: gpd.GeoDataFrame, n: int
) -> list[str]:
    """Features whose own parent P-code column (e.g. ``ADM1_PCODE``) names another parent than the
    one their polygon lies in: swapped geometries or P-codes. Skipped when the file's parent codes
    are not the parent layer's (another coding scheme)."""
    column = _find_column(raw.columns, _PCODE_COLUMNS, n - 1) if n > 1 else None
    if column is None:
        return []
    stated = [None if v is None else str(v).strip() for v in spatial.column_values(raw, column)]
    known = set(parent["pcode"])
    if not any(code in known for code in stated):
        return []
    return [
        f"{_feature(i, layer['name'].iat[i], layer['pcode'].iat[i])}: its {column} says {code}, but its polygon "
        f"lies in {layer['parent_name'].iat[i]} ({layer['parent_pcode'].iat[i]})"
        for i, code in enumerate(stated)
        if code and code != layer["parent_pcode"].iat[i]
    ]


def _warn_children(layer: gpd.GeoDataFrame, layers: AdminLayers, level: str) -> None:
    below = {"adm1": "adm2", "adm2": "adm3"}.get(level)
    if below is None:
        return
    children = layers.polygons[below]
    loose = [
        i
        for i, shares in enumerate(_shares(children.geometry.values, layer))
        if not shares or shares[0][0] < NEST_MIN_SHARE
    ]
    if loose:
        named = ", ".join(f"{children['name'].iat[i]} ({children['pcode'].iat[i]})" for i in loose[:5])
        warnings.warn(
            f"{len(loose)} {LEVEL_NAMES[below]} polygon(s) in use do not lie in one polygon of the new "
            f"{LEVEL_NAMES[level]} layer ({named}{', ...' if len(loose) > 5 else ''}); they take the "
            f"{LEVEL_NAMES[level]} holding most of their area. Import a matching {below} layer next.",
            GeodataWarning,
            stacklevel=3,
        )


def stage_admin_layer(layer: gpd.GeoDataFrame, level: str, geodata_dir: Path | str | None = None) -> Path:
    """Write a checked layer next to its final place in ``geodata_dir``; :func:`install_admin_layer` finishes.

    Returns the staged file's path. Writing first and renaming last means a failure on the way
    (disk full, a refused database transaction) leaves the current layer untouched.
    """
    spatial.check_level(level)
    folder = spatial.geodata_folder(geodata_dir)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        staged = folder / f".{LAYER_FILES[level]}.new"
        staged.unlink(missing_ok=True)
        layer.to_file(staged, driver="GeoJSON", engine="pyogrio", layer_options={"WRITE_BBOX": "NO"})
    except OSError as exc:
        raise GeodataError(f"cannot write to WEBMAP_GEODATA folder {folder}: {exc.strerror}") from None
    return staged


def install_admin_layer(staged: Path, level: str, geodata_dir: Path | str | None = None) -> Path:
    """Move a staged layer into place (atomically); later loads see it. Returns the final path."""
    final = spatial.geodata_folder(geodata_dir) / LAYER_FILES[level]
    os.replace(staged, final)
    return final
