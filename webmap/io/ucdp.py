"""UCDP Georeferenced Event Dataset (GED) CSV, including HDX's variant with an HXL tag row.

Mapping (UCDP column -> record field), documented because UCDP's codes are not ACLED's:

==================  =======================================================================
``id``              ``source_id`` (``source`` = ``"UCDP GED"``)
``date_start``      ``event_date``; a range (``date_end`` later) is written in ``notes``
``date_prec``       ``time_precision``: 1 exact day -> 1 day; 2 (2-6 days), 3 (a week) -> 2 week;
                    4 (a month), 5 (more than a month) -> 3 month, ACLED's coarsest code, so
                    ``notes`` keeps UCDP's range and code for 5
``type_of_violence``  ``event_type``: 1 state-based and 2 non-state conflict -> Battles;
                    3 one-sided violence -> Violence against civilians. ``sub_event_type`` is
                    left empty: GED does not say whether a death came from a clash, a bomb or
                    an air strike
``side_a, side_b``  ``actor1``, ``actor2`` (forces matched by name)
``where_coordinates``  ``location``
``where_prec``      ``geo_precision``: 1 exact place -> 1; 2 within ~25 km -> 2; 3 only the
                    district (adm2), 4 only the governorate, 5 a wider region, 6 only the country,
                    7 waters or air space -> 3 (district or governorate only). The spatial join
                    keeps only the admin levels UCDP vouches for: sub-district for 1-2, district
                    for 3, governorate for 4, none for 5-7 (they count as unassigned)
``best``            ``fatalities``; ``low``/``high`` and the deaths by side go into ``notes``
``source_office``, ``source_date``  the outlets and date, in ``notes`` (never the headline or
                    article text)
==================  =======================================================================
"""

from __future__ import annotations

from pathlib import Path

from ..errors import InvalidRecord
from .readers import RowStream, open_known_layout

SOURCE = "UCDP GED"
REQUIRED = (
    "id",
    "type_of_violence",
    "side_a",
    "side_b",
    "where_prec",
    "latitude",
    "longitude",
    "date_prec",
    "date_start",
    "date_end",
    "best",
)
COLUMNS = {
    "source_id": "id",
    "event_date": "date_start",
    "time_precision": "date_prec",
    "event_type": "type_of_violence",
    "actor1": "side_a",
    "actor2": "side_b",
    "location": "where_coordinates",
    "latitude": "latitude",
    "longitude": "longitude",
    "geo_precision": "where_prec",
    "fatalities": "best",
}
VIOLENCE = {
    1: ("state-based conflict", "Battles"),
    2: ("non-state conflict", "Battles"),
    3: ("one-sided violence", "Violence against civilians"),
}
TIME_PRECISION = {1: 1, 2: 2, 3: 2, 4: 3, 5: 3}
GEO_PRECISION = {1: 1, 2: 2, 3: 3, 4: 3, 5: 3, 6: 3, 7: 3}
# Admin levels (1 governorate, 2 district, 3 sub-district) a where_prec code vouches for.
ADMIN_DEPTH = {1: 3, 2: 3, 3: 2, 4: 1, 5: 0, 6: 0, 7: 0}
WHERE_PREC = {
    3: "only the district",
    4: "only the governorate",
    5: "only a region wider than a governorate",
    6: "only the country",
    7: "waters or air space",
}


def _code(get, column: str, allowed) -> int:
    text = get(column) or ""
    try:
        value = int(float(text))
    except ValueError:
        raise InvalidRecord(column, f"not a UCDP code: {text[:20]!r}") from None
    if value not in allowed:
        raise InvalidRecord(column, f"unknown code {value} (known: {', '.join(map(str, allowed))})")
    return value


def _notes(get, violence: int, date_prec: int, where_prec: int) -> str:
    deaths = f"Deaths: best {get('best')}"
    detail = [
        f"{k} {get(c)}"
        for k, c in (
            ("low", "low"),
            ("high", "high"),
            ("side A", "deaths_a"),
            ("side B", "deaths_b"),
            ("civilians", "deaths_civilians"),
            ("unknown", "deaths_unknown"),
        )
        if get(c)
    ]
    if detail:
        deaths += f" ({', '.join(detail)})"
    lines = [
        f"UCDP GED {VIOLENCE[violence][0]}" + (f": {get('conflict_name')}" if get("conflict_name") else ""),
        deaths + ".",
    ]
    if get("date_end") and get("date_end") != get("date_start"):
        lines.append(f"Date between {get('date_start')} and {get('date_end')} (UCDP date_prec {date_prec}).")
    if where_prec in WHERE_PREC:
        lines.append(f"Location: {WHERE_PREC[where_prec]} is known (UCDP where_prec {where_prec}).")
    outlet = ", ".join(p for p in (get("source_office"), get("source_date")) if p)
    if outlet:
        lines.append(f"Source: {outlet}")
    return "\n".join(lines)


def open_rows(path: Path, *, column_map=None, encoding: str | None = None) -> RowStream:
    """Stream a UCDP GED CSV as record field values (HXL tag row skipped)."""
    source, get_value = open_known_layout(path, column_map, encoding, REQUIRED, "a UCDP GED CSV", "UCDP")

    def convert(row: dict) -> dict:
        def get(name: str) -> str | None:
            return get_value(row, name)

        violence = _code(get, "type_of_violence", VIOLENCE)
        date_prec = _code(get, "date_prec", TIME_PRECISION)
        where_prec = _code(get, "where_prec", GEO_PRECISION)
        fields: dict[str, object] = {name: get(column) for name, column in COLUMNS.items()}
        fields.update(
            source=SOURCE,
            event_type=VIOLENCE[violence][1],
            time_precision=TIME_PRECISION[date_prec],
            geo_precision=GEO_PRECISION[where_prec],
            notes=_notes(get, violence, date_prec, where_prec),
            _admin_depth=ADMIN_DEPTH[where_prec],
        )
        return fields

    described = source.described + (", HXL tag row skipped" if source.hxl_row else "")
    return source.stream(convert, COLUMNS, described=described)
