"""The team's curated alias table (``aliases.csv`` beside this module) and how it is applied.

Each line names a real gazetteer record by ``place_id`` and does one of three things:

* ``alias``: add ``value`` to the record's alternate names (Kurdish, Arabic, English spellings
  analysts meet in reports);
* ``name``: make ``value`` the record's main name (the old one stays as an alternate);
* ``drop``: remove a wrong alternate name (e.g. WOF calls the Tuz Khurmatu point "Taza Khurmato").

The table fixes names; it never adds places or coordinates. The build script applies it strictly
(a line whose record is missing stops the build); loading a gazetteer applies it again, leniently,
so a record replaced by an import keeps its curated names.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ..errors import GazetteerError
from .keys import name_key

ALIASES_FILE = Path(__file__).with_name("aliases.csv")
ACTIONS = ("alias", "name", "drop")


def read_curated(path: Path = ALIASES_FILE) -> list[dict]:
    """Lines of the curated table as dicts (place_id, action, value, language, note)."""
    with path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    for number, line in enumerate(lines, start=2):
        if line["action"] not in ACTIONS or not line["value"].strip() or not line["place_id"].strip():
            raise GazetteerError(f"{path}: row {number}: expected place_id, one of {ACTIONS}, a value")
    return lines


def _names(row: dict) -> list[str]:
    names = row.get("alternate_names") or []
    if isinstance(names, str):
        names = [n for n in names.split("|") if n]
    return list(names)


def apply_curated(rows: list[dict], *, strict: bool = False, lines: list[dict] | None = None) -> list[dict]:
    """Rows with the curated table applied (new dicts for changed rows; the input is not modified).

    ``strict``: raise :class:`GazetteerError` for a line whose ``place_id`` is not among ``rows``
    or whose ``drop`` would remove the record's main name.
    """
    lines = read_curated() if lines is None else lines
    index = {row["place_id"]: i for i, row in enumerate(rows)}
    rows = list(rows)
    for line in lines:
        i = index.get(line["place_id"])
        if i is None:
            if strict:
                raise GazetteerError(f"curated alias {line['value']!r}: no record {line['place_id']}")
            continue
        row = dict(rows[i])
        names = _names(row)
        value = line["value"].strip()
        if line["action"] == "alias":
            if value not in names and value != row["name"]:
                names.append(value)
        elif line["action"] == "name":
            if row["name"] != value:
                names = [n for n in names if n != value] + [row["name"]]
                row["name"] = value
        else:
            key = name_key(value)
            if strict and name_key(row["name"]) == key:
                raise GazetteerError(f"curated drop {value!r}: that is the main name of {line['place_id']}")
            names = [n for n in names if name_key(n) != key]
        row["alternate_names"] = "|".join(names)
        rows[i] = row
    return rows
