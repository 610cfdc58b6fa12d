"""Any CSV of incidents, its columns mapped to record fields (``--map COLUMN=FIELD``).

A column named like a record field (see :data:`webmap.records.INPUT_FIELDS`, case-insensitive)
maps to it without being named, so webmap's own CSV export imports back as it is; other columns
need ``--map``, and the ones left over are ignored and listed in the summary. The columns for
``event_date`` and ``event_type`` are required, and those for ``latitude`` and ``longitude`` unless
the file names places to geocode its rows by: ``location``, in the district ``admin2`` and
governorate ``admin1`` the row states (see :func:`webmap.intake.geocode_values`).

Admin areas and the disputed flag are always joined again from the point, but a file that has
``admin1_pcode``/``admin2_pcode``/``admin3_pcode`` columns is believed when it leaves a level
blank (an export of an event known only to the governorate stays so): only the leading levels it
fills are joined (:func:`admin_depth`).

A file without a ``source_id`` column gets ids made from each row's content (see
:mod:`webmap.io.importer`), so importing it twice adds nothing. A value that starts with ``'``
and then a formula character (``=``, ``+``, ``-``, ``@``) loses its ``'``: webmap's CSV export
puts it there so that a spreadsheet shows the text instead of running it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ..errors import ConfigError
from ..records import DERIVED_FIELDS, INPUT_FIELDS, REQUIRED_FIELDS
from .readers import RowStream, open_csv, refuse

# What a spreadsheet runs as a formula when a cell starts with it (OWASP's list for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formula(value):
    """``value`` with a ``'`` before it when it is a text a spreadsheet would run as a formula
    (``=HYPERLINK(...)``, ``@SUM(A1)``, ``+1+1``); anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def restore_formula(value: str) -> str:
    """The text :func:`neutralise_formula` was given: its ``'`` taken off again."""
    if value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


# Fields the importer derives (admin areas from the point); a column for them is ignored. The
# names of the governorate and district (admin1, admin2) are read: they are what a row without
# coordinates is geocoded within, and the point's areas replace them.
DERIVED = {"admin1_pcode", "admin2_pcode", "admin3", "admin3_pcode", "disputed"}
MAPPABLE = tuple(f for f in INPUT_FIELDS if f not in DERIVED)
PCODE_FIELDS = ("admin1_pcode", "admin2_pcode", "admin3_pcode")
COORDINATE_FIELDS = ("latitude", "longitude")
# Columns a row without coordinates is geocoded by (webmap.intake.geocode_values).
PLACE_FIELDS = ("location", "admin2", "admin1")


def admin_depth(pcodes) -> int:
    """How many admin levels (1 governorate .. 3 sub-district) a row's P-codes fill from the top."""
    depth = 0
    for value in pcodes:
        if value is None or not str(value).strip():
            break
        depth += 1
    return depth


def resolve_columns(path: Path, columns: list[str], column_map: Mapping[str, str] | None) -> dict[str, str]:
    """``{field: column}`` from explicit ``COLUMN=FIELD`` pairs plus same-named columns.

    Refuses, naming ``--map``, an unknown field, a column not in the header, two columns for
    one field; and lists every required field left without a column (the coordinates are not
    required of a file with a place column to geocode by, see :data:`PLACE_FIELDS`).
    """
    by_lower = {c.lower(): c for c in columns}
    mapping: dict[str, str] = {}
    for column, field_name in (column_map or {}).items():
        name = field_name.strip().lower()
        if name not in MAPPABLE:
            raise refuse(
                path, f"--map {column}={field_name}: unknown field {field_name!r} (fields: {', '.join(MAPPABLE)})"
            )
        actual = by_lower.get(column.strip().lower())
        if actual is None:
            raise refuse(
                path,
                f"--map {column}={field_name}: the header has no column {column!r} (it has: {', '.join(columns[:20])})",
            )
        if name in mapping:
            raise refuse(path, f"--map: two columns for {name}: {mapping[name]!r} and {actual!r}")
        mapping[name] = actual
    used = set(mapping.values())
    for name in MAPPABLE:
        if name not in mapping and name in by_lower and by_lower[name] not in used:
            mapping[name] = by_lower[name]
    geocodable = any(f in mapping for f in PLACE_FIELDS) and not any(f in mapping for f in COORDINATE_FIELDS)
    missing = [f for f in REQUIRED_FIELDS if f not in mapping and not (geocodable and f in COORDINATE_FIELDS)]
    if missing:
        hint = (
            f" (or a {', '.join(PLACE_FIELDS)} column to geocode by)" if set(missing) <= set(COORDINATE_FIELDS) else ""
        )
        raise refuse(
            path,
            "no column for the required field(s) "
            + ", ".join(missing)
            + hint
            + f" (the header has: {', '.join(columns[:20])}); name them with --map COLUMN=FIELD",
        )
    return mapping


def open_rows(path: Path, *, column_map: Mapping[str, str] | None = None, encoding: str | None = None) -> RowStream:
    """Stream a column-mapped CSV as record field values."""
    source = open_csv(path, encoding=encoding)
    mapping = resolve_columns(path, source.columns, column_map)
    by_lower = {c.lower(): c for c in source.columns}
    pcode_columns = [by_lower[f] for f in PCODE_FIELDS if f in by_lower]
    derived = [by_lower[c] for c in DERIVED_FIELDS if c in by_lower]
    used = set(mapping.values()) | set(pcode_columns) | set(derived)
    pairs = tuple(mapping.items())

    def convert(row: dict) -> dict:
        fields: dict = {name: restore_formula(row[column]) for name, column in pairs}
        if pcode_columns:
            fields["_admin_depth"] = admin_depth(row[c] for c in pcode_columns)
        return fields

    return source.stream(convert, mapping, ignored_columns=[c for c in source.columns if c not in used])


def parse_column_map(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["COL=FIELD", ...]`` (the ``--map`` option) as ``{COL: FIELD}``; refuses a pair without ``=``."""
    mapping: dict[str, str] = {}
    for pair in pairs:
        column, sep, field_name = pair.partition("=")
        if not sep or not column.strip() or not field_name.strip():
            raise ConfigError("--map", f"expected COLUMN=FIELD, not {pair!r}")
        mapping[column.strip()] = field_name.strip()
    return mapping
