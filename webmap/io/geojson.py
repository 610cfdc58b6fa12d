"""GeoJSON (RFC 7946) FeatureCollections of points, streamed feature by feature with ijson.

Each feature's point gives ``longitude``, ``latitude`` (RFC 7946 order: longitude first; a third
coordinate is ignored); its properties named like record fields give the rest, as in webmap's own
GeoJSON export, so an export imports back unchanged. ``--map PROPERTY=FIELD`` renames others. A
feature whose geometry is null (RFC 7946: an unlocated feature) is geocoded by its ``location``,
``admin2`` and ``admin1`` properties (see :func:`webmap.intake.geocode_values`).
Admin areas and the disputed flag are joined again from the point, down to the levels whose
``admin*_pcode`` properties a feature fills when it has them (see :mod:`webmap.io.csv`). Features are
counted from 1 in error messages ("row 3" is the third feature). A legacy ``crs`` member other
than WGS 84 (CRS84 / EPSG:4326) is refused: the coordinates would be misread. The file is read
with the limits of :mod:`webmap.io.json_input` (nesting, and no text longer than
:data:`~webmap.io.readers.FIELD_LIMIT` characters), so one feature cannot fill the memory.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Mapping
from decimal import Decimal
from pathlib import Path

import ijson

from ..errors import InvalidRecord
from .csv import MAPPABLE, PCODE_FIELDS, admin_depth
from .json_input import TooComplex, events, limited, reason
from .readers import FIELD_LIMIT, RowStream, refuse, sniff_file

NUMBERING = "rows are features, counted from 1"
# JSON values (keys, numbers, texts, brackets) one feature may have; webmap's own export writes about 70.
MAX_FEATURE_EVENTS = 10_000
_WGS84 = ("crs84", "epsg::4326", "epsg:4326")


def _check_member(path: Path, prefix: str, event: str, value) -> None:
    """Refuse a top-level ``type`` other than FeatureCollection or a ``crs`` other than WGS 84."""
    if prefix == "type" and event == "string" and value != "FeatureCollection":
        raise refuse(path, f"not a GeoJSON FeatureCollection: its type is {value!r}")
    if prefix == "crs.properties.name" and event == "string":
        if not str(value).lower().replace("urn:ogc:def:crs:", "").endswith(_WGS84):
            raise refuse(path, f"crs {value!r}: coordinates must be WGS 84 longitude, latitude (RFC 7946)")


def _check_collection(path: Path, skip: int) -> None:
    """Refuse, before any feature is read, a file that is not a JSON object with a ``features`` list."""
    with path.open("rb") as fh:
        fh.seek(skip)
        try:
            for n, (prefix, event, value) in enumerate(limited(events(fh), max_chars=FIELD_LIMIT)):
                if n == 0 and event != "start_map":
                    raise refuse(path, "not a GeoJSON FeatureCollection: the JSON is not an object")
                _check_member(path, prefix, event, value)
                if prefix == "features" and event == "start_array":
                    return
        except ijson.JSONError as exc:
            raise refuse(path, f"not valid JSON ({reason(exc)})") from None
        except TooComplex as exc:
            raise refuse(path, f"{_member(exc.prefix)}: {exc.problem}") from None
    raise refuse(path, "not a GeoJSON FeatureCollection: it has no 'features' list")


def _member(prefix: str) -> str:
    """The member an ijson path is in, for messages: ``properties.notes`` for
    ``features.item.properties.notes.item.item...``, ``x`` for ``x.item...``."""
    parts = prefix.split(".")
    parts = parts[2:] if parts[:2] == ["features", "item"] else parts
    return ".".join(p for p in parts[:2] if p != "item") or "the document"


def _watched(path: Path, stream, position: dict):
    """``stream`` as it is; members written after the features (a trailing ``crs``) are checked as
    it passes them, and a feature of more than :data:`MAX_FEATURE_EVENTS` values is refused.
    ``position["path"]`` follows the path of the last value, to say where a syntax error is."""
    number = values = 0
    for prefix, event, value in stream:
        position["path"] = f"{prefix}.{value}" if event == "map_key" else prefix
        if not prefix.startswith("features"):
            _check_member(path, prefix, event, value)
        elif prefix == "features.item" and event == "start_map":
            number, values = number + 1, 0
        values += 1
        if values > MAX_FEATURE_EVENTS:
            raise refuse(path, f"feature {number}: more than {MAX_FEATURE_EVENTS:,} values (an incident has about 60)")
        yield prefix, event, value


def _point(feature) -> tuple[float, float] | None:
    """The feature's (longitude, latitude), or None for a null geometry (an unlocated feature)."""
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise InvalidRecord("type", "not a GeoJSON Feature")
    if "geometry" in feature and feature["geometry"] is None:
        return None
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise InvalidRecord("geometry", "missing (a Point, or null for a feature to geocode by its location)")
    if geometry.get("type") != "Point":
        raise InvalidRecord("geometry", f"expected a Point, not a {geometry.get('type')}")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) < 2:
        raise InvalidRecord("geometry", "a Point needs [longitude, latitude]")
    if not all(isinstance(c, (int, float, Decimal)) and not isinstance(c, bool) for c in coords[:2]):
        raise InvalidRecord("geometry", f"coordinates must be numbers, not {coords[:2]!r} (RFC 7946)")
    return coords[0], coords[1]


def open_rows(path: Path, *, column_map: Mapping[str, str] | None = None, encoding: str | None = None) -> RowStream:
    """Stream a GeoJSON FeatureCollection of points as record field values."""
    head = sniff_file(path)
    if encoding and codecs.lookup(encoding).name not in ("utf-8", "utf-8-sig"):
        raise refuse(path, "--encoding: GeoJSON is always UTF-8 (RFC 7946)")
    skip = len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0
    _check_collection(path, skip)
    renames: dict[str, str] = {}
    for prop, field_name in (column_map or {}).items():
        if field_name.strip().lower() not in MAPPABLE:
            raise refuse(
                path, f"--map {prop}={field_name}: unknown field {field_name!r} (fields: {', '.join(MAPPABLE)})"
            )
        renames[prop] = field_name.strip().lower()
    wanted = set(MAPPABLE) - {"latitude", "longitude"}  # MAPPABLE leaves out the derived fields
    size = path.stat().st_size
    opened = {}

    def convert(feature) -> dict:
        point = _point(feature)
        props = feature.get("properties") or {}
        if not isinstance(props, dict):
            raise InvalidRecord("properties", "must be an object")
        fields = {}
        for name, value in props.items():
            name = renames.get(name, name)
            if name in wanted:
                fields[name] = value
        if point is not None:
            fields["longitude"], fields["latitude"] = point
        if any(name in props for name in PCODE_FIELDS):
            fields["_admin_depth"] = admin_depth(props.get(name) for name in PCODE_FIELDS)
        return fields

    def rows() -> Iterator[tuple[int, object]]:
        number = 0
        position = {"path": ""}
        with path.open("rb") as fh:
            opened["file"] = fh
            fh.seek(skip)
            try:
                stream = _watched(path, limited(events(fh), max_chars=FIELD_LIMIT), position)
                for number, feature in enumerate(ijson.items(stream, "features.item"), start=1):
                    yield number, feature
            except ijson.JSONError as exc:
                where = _member(position["path"])
                raise refuse(path, f"invalid JSON after feature {number} ({reason(exc)}) in {where}") from None
            except TooComplex as exc:
                raise refuse(path, f"feature {number + 1}: {_member(exc.prefix)}: {exc.problem}") from None

    def position() -> int:
        fh = opened.get("file")
        return fh.tell() if fh is not None and not fh.closed else size

    return RowStream(
        rows=rows(),
        convert=convert,
        described="GeoJSON",
        position=position,
        size=size,
        numbering=NUMBERING,
    )
