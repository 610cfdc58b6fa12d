"""Exports of a filtered selection: GeoJSON (RFC 7946), CSV and GeoPackage.

Every exporter takes the incidents as an iterable (normally :func:`webmap.query.iter_incidents`,
which streams from the database), so memory stays flat whatever the size; GeoJSON and CSV are
produced as text chunks (:data:`STREAMS`) that the web layer sends as they come and the CLI
writes to a file.

- GeoJSON: a FeatureCollection of Points, ``[longitude, latitude]`` in WGS 84, no ``crs`` member,
  numbers as JSON numbers, dates ISO 8601; properties are every record field but the coordinates,
  and ``forces``: every force the incident involves (:func:`webmap.forces.incident_forces`, the
  rule of the map's layers and the force filter), a list of force keys.
- CSV: UTF-8 with a BOM (so Excel shows Arabic names), a header of every record field, ``forces``
  (keys separated by ``;``) and ``admin1_display``/``admin2_display`` (the names people use, beside the
  official ``admin1``/``admin2`` and their P-codes), dates ISO 8601, ``disputed`` as ``inside``/``partly``/
  ``outside``, empty for unknown; a text that a spreadsheet would run as a formula starts with ``'``
  (unless ``raw``).
- GeoPackage: one layer ``incidents`` (EPSG:4326, dates as DateTime fields), written in
  batches through pyogrio.

The GeoJSON and CSV exports import back with ``--format geojson`` / ``--format csv`` unchanged
(except that an incident without ``source_id`` gets one made from its content).
"""

from __future__ import annotations

import csv
import functools
import io
import json
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from ..errors import WebmapError
from ..files import replace_file
from ..forces import incident_forces
from ..records import DERIVED_FIELDS, PROVENANCE_FIELDS, Incident
from ..spatial import display_name
from .csv import neutralise_formula

CHUNK_CHARS = 64 * 1024
GPKG_BATCH = 20_000
# Every record field, in the order a reader of the file expects (ACLED's, then ours).
COLUMNS = (
    "id",
    "source",
    "source_id",
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "force1",
    "actor2",
    "assoc_actor_2",
    "force2",
    "forces",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "admin1",
    "admin1_display",
    "admin1_pcode",
    "admin2",
    "admin2_display",
    "admin2_pcode",
    "admin3",
    "admin3_pcode",
    "disputed",
    "place_id",
    "place_score",
    "fatalities",
    "injured",
    "notes",
    "source_url",
    "status",
    "created_at",
    "updated_at",
)
PROPERTY_FIELDS = tuple(f for f in COLUMNS if f not in ("latitude", "longitude"))
# Who made and reviewed each incident, and its version: added on request (``provenance``), since a
# public map need not name its team.
PROVENANCE_COLUMNS = PROVENANCE_FIELDS


def _columns(provenance: bool) -> tuple[str, ...]:
    return (*COLUMNS, *PROVENANCE_COLUMNS) if provenance else COLUMNS


# Columns the exports add to the record's fields; importers skip them (the record derives them again).
DERIVED_COLUMNS = DERIVED_FIELDS
MEDIA_TYPES = {
    "geojson": "application/geo+json",
    "csv": "text/csv; charset=utf-8",
    "gpkg": "application/geopackage+sqlite3",
}


def _chunked(pieces: Iterable[str]) -> Iterator[str]:
    buffer: list[str] = []
    size = 0
    for piece in pieces:
        buffer.append(piece)
        size += len(piece)
        if size >= CHUNK_CHARS:
            yield "".join(buffer)
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer)


def _derived(incident: Incident) -> dict:
    """What the exports add to the incident's fields: ``forces`` (a tuple of force keys) and the
    display names of its governorate and district (:func:`webmap.spatial.display_name`)."""
    return {
        "forces": incident_forces(incident),
        "admin1_display": display_name(incident.admin1_pcode, incident.admin1),
        "admin2_display": display_name(incident.admin2_pcode, incident.admin2),
    }


def _exported(incident: Incident) -> dict:
    """The incident's fields (ISO dates) and the :func:`_derived` ones."""
    return {**incident.to_dict(), **_derived(incident)}


def feature(incident: Incident, *, provenance: bool = False) -> dict:
    """One incident as an RFC 7946 Feature (a dict ready for ``json.dumps``); with ``provenance``
    its properties include :data:`PROVENANCE_COLUMNS`."""
    props = _exported(incident)
    props["forces"] = list(props["forces"])
    geometry = {"type": "Point", "coordinates": [props.pop("longitude"), props.pop("latitude")]}
    names = (*PROPERTY_FIELDS, *PROVENANCE_COLUMNS) if provenance else PROPERTY_FIELDS
    return {
        "type": "Feature",
        "id": incident.id,
        "geometry": geometry,
        "properties": {name: props[name] for name in names},
    }


def geojson_chunks(incidents: Iterable[Incident], *, provenance: bool = False) -> Iterator[str]:
    """A GeoJSON FeatureCollection of ``incidents``, as text chunks of about 64 KiB (``provenance``:
    see :func:`feature`)."""

    def pieces():
        yield '{"type": "FeatureCollection", "features": ['
        for n, incident in enumerate(incidents):
            exported = feature(incident, provenance=provenance)
            yield ("\n" if n == 0 else ",\n") + json.dumps(exported, ensure_ascii=False, allow_nan=False)
        yield "\n]}\n"

    return _chunked(pieces())


def _csv_value(value):
    if isinstance(value, tuple):
        return ";".join(value)
    return "" if value is None else value


def csv_chunks(incidents: Iterable[Incident], *, raw: bool = False, provenance: bool = False) -> Iterator[str]:
    """``incidents`` as CSV text (BOM, header, one row per incident), in chunks of about 64 KiB;
    with ``provenance`` the columns of :data:`PROVENANCE_COLUMNS` too.

    A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``, ``@SUM(...)``,
    ``+1+1``) is written with a ``'`` before it (:func:`webmap.io.csv.neutralise_formula`; the
    CSV importer takes it off again), unless ``raw``.
    """
    cell = _csv_value if raw else lambda value: neutralise_formula(_csv_value(value))
    columns = _columns(provenance)

    def pieces():
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(columns)
        yield "\ufeff" + out.getvalue()
        for incident in incidents:
            out.seek(0)
            out.truncate()
            values = _exported(incident)
            writer.writerow([cell(values[name]) for name in columns])
            yield out.getvalue()

    return _chunked(pieces())


def _frame(incidents: list[Incident], provenance: bool) -> gpd.GeoDataFrame:
    columns = _columns(provenance)
    rows = []
    for incident in incidents:
        row = {name: getattr(incident, name) for name in columns if name not in DERIVED_COLUMNS}
        derived = _derived(incident)
        rows.append({**row, **derived, "forces": ";".join(derived["forces"])})
    frame = pd.DataFrame(rows, columns=list(columns))
    for name in ("event_date", "created_at", "updated_at", "reviewed_at"):
        if name in frame:
            frame[name] = pd.to_datetime(frame[name]).astype("datetime64[ms]")
    for name in ("injured", "id", "version"):
        if name in frame:
            frame[name] = frame[name].astype("Int64")
    geometry = gpd.points_from_xy(frame["longitude"], frame["latitude"], crs="EPSG:4326")
    return gpd.GeoDataFrame(frame, geometry=geometry)


def write_gpkg(incidents: Iterable[Incident], path: Path, *, provenance: bool = False) -> int:
    """Write ``incidents`` to a GeoPackage layer ``incidents`` at ``path`` (replaced); returns the count."""
    path = Path(path)
    if path.exists():
        path.unlink()
    count = 0
    batch: list[Incident] = []

    def flush():
        nonlocal count
        frame = _frame(batch, provenance)
        pyogrio.write_dataframe(frame, path, layer="incidents", driver="GPKG", append=count > 0, promote_to_multi=False)
        count += len(batch)
        batch.clear()

    for incident in incidents:
        batch.append(incident)
        if len(batch) >= GPKG_BATCH:
            flush()
    if batch or count == 0:
        flush()
    return count


STREAMS: dict[str, Callable[..., Iterator[str]]] = {
    "geojson": geojson_chunks,
    "csv": csv_chunks,
}


def _write_text(chunks: Callable[..., Iterator[str]]) -> Callable[..., int]:
    def write(incidents: Iterable[Incident], path: Path, *, provenance: bool = False) -> int:
        count = 0

        def counted():
            nonlocal count
            for incident in incidents:
                count += 1
                yield incident

        with Path(path).open("w", encoding="utf-8", newline="") as fh:
            for chunk in chunks(counted(), provenance=provenance):
                fh.write(chunk)
        return count

    return write


EXPORTERS: dict[str, Callable[..., int]] = {
    "geojson": _write_text(geojson_chunks),
    "csv": _write_text(csv_chunks),
    "gpkg": write_gpkg,
}
EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".csv": "csv", ".gpkg": "gpkg"}


def export_file(
    incidents: Iterable[Incident],
    path: Path | str,
    fmt: str | None = None,
    *,
    overwrite: bool = False,
    protected: Iterable[Path] = (),
    raw: bool = False,
    provenance: bool = False,
) -> int:
    """Write ``incidents`` to ``path`` as ``fmt`` (None: from the file extension); returns the count.

    ``path`` is written by :func:`webmap.files.replace_file`: never a symbolic link, a FIFO, a
    device or one of ``protected`` (the database's files), an existing file only with ``overwrite``,
    and whole or not at all. ``raw``: CSV cells are written as they are, formulas included (see
    :func:`csv_chunks`). ``provenance``: add who made and reviewed each incident, and its version.
    """
    path = Path(path)
    if fmt is None:
        fmt = EXTENSIONS.get(path.suffix.lower())
        if fmt is None:
            raise WebmapError(f"--format: give geojson, csv or gpkg (the extension {path.suffix!r} does not say)")
    elif fmt.lower() not in EXPORTERS:
        raise WebmapError(f"--format: unknown format {fmt!r} (give geojson, csv or gpkg)")
    fmt = fmt.lower()
    if raw and fmt != "csv":
        raise WebmapError("--raw: only CSV cells are neutralised; a GeoJSON or GeoPackage file holds them as they are")
    writer = _write_text(functools.partial(csv_chunks, raw=True)) if raw else EXPORTERS[fmt]
    return replace_file(
        path,
        lambda temporary: writer(incidents, temporary, provenance=provenance),
        overwrite=overwrite,
        protected=protected,
    )
