"""ACLED exports, as ACLED distributes them (CSV, its own column names).

Mapping (ACLED column -> record field): ``event_id_cnty`` -> ``source_id`` (with ``source`` =
``"ACLED"``, the pair that makes re-imports idempotent); ``event_date`` (``YYYY-MM-DD``, ``DD Month
YYYY`` or ``YYYYMMDD``), ``time_precision``, ``event_type``, ``sub_event_type``, ``actor1``,
``assoc_actor_1``, ``actor2``, ``assoc_actor_2`` (the forces they name count among the forces the
incident involves), ``location``, ``latitude``, ``longitude``, ``geo_precision``, ``fatalities``
and ``notes`` keep their names. ACLED's own ``source`` column (the outlets that reported the
event) and ``source_scale`` are kept at the end of ``notes`` as ``Source (ACLED): <outlets>
[<scale>]``, because our ``source`` field names the dataset.
ACLED's ``admin1..3`` are not copied: every import joins the point to the shipped boundaries.

``inter1``/``inter2`` (ACLED's actor kind, a code 1-8 or, in newer exports, its label) are not
stored; they only name the force of an actor whose name matches no alias when ACLED itself coded
it as rioters/protesters (5, 6) or civilians (7), so such actors are not reported as unknown.
"""

from __future__ import annotations

from pathlib import Path

from .readers import RowStream, open_known_layout

SOURCE = "ACLED"
REQUIRED = ("event_id_cnty", "event_date", "event_type", "actor1", "latitude", "longitude")
# ACLED column -> record field, where the record keeps ACLED's name.
SAME_NAME = (
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "actor2",
    "assoc_actor_2",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "fatalities",
)
COLUMNS = {"source_id": "event_id_cnty", **{name: name for name in SAME_NAME}}
# ACLED's interaction codes (and the labels newer exports use) that name a force by themselves.
INTER_FORCES = {
    "5": "protesters",
    "rioters": "protesters",
    "6": "protesters",
    "protesters": "protesters",
    "7": "civilians",
    "civilians": "civilians",
}


def _notes(get) -> str | None:
    parts = [get("notes")]
    outlets = get("source")
    if outlets:
        scale = get("source_scale")
        parts.append(f"Source (ACLED): {outlets}" + (f" [{scale}]" if scale else ""))
    text = "\n".join(p for p in parts if p)
    return text or None


def open_rows(path: Path, *, column_map=None, encoding: str | None = None) -> RowStream:
    """Stream an ACLED CSV as record field values; refuses a file missing ACLED's key columns."""
    source, get = open_known_layout(path, column_map, encoding, REQUIRED, "an ACLED export", "ACLED")

    def convert(row: dict) -> dict:
        fields = {name: get(row, column) for name, column in COLUMNS.items()}
        fields["source"] = SOURCE
        fields["notes"] = _notes(lambda name: get(row, name))
        for n in (1, 2):
            inter = (get(row, f"inter{n}") or "").casefold()
            if inter in INTER_FORCES:
                fields[f"_force{n}_hint"] = INTER_FORCES[inter]
        return fields

    return source.stream(convert, COLUMNS)
