"""The team's curated alias table (``aliases.csv`` beside this module) and how it is applied.

Each line names a real gazetteer record by ``place_id`` and does one of three things:

* ``alias``: add ``value`` to the record's alternate names (Kurdish, Arabic, English spellings
  analysts meet in reports);
* ``name``: make ``value`` the record's main name (the old one stays as an alternate);
* ``drop``: remove a wrong alternate name (e.g. WOF calls the Tuz Khurmatu point "Taza Khurmato").

The table fixes names; it never adds places or coordinates. The build script applies it strictly
(a line whose record is missing stops the build); loading a gazetteer applies it again, leniently,
so a record replaced by an import keeps its curated names.

The team's landmarks table (``landmarks.csv``, read by :func:`read_landmarks` for the build) adds
places no other source has: oil and gas fields, air bases and airports, border crossings, camps, dams and
lakes, squares and bridges, mountains and ranges, valleys. Each line gives the URL of the public
text that locates the landmark, and either the point that text gives (``latitude``,
``longitude``) or only the COD-AB unit that holds it (``pcode``): such a landmark stands at its
unit's point at precision 2.

The capitals table (``capitals.csv``, read by :func:`capital_of`) names the gazetteer record of each
governorate's capital: a governorate named with no place in it stands at its capital, as ACLED codes
it (geo_precision 3).
"""

from __future__ import annotations

import csv
import math
import re
from functools import lru_cache
from pathlib import Path

from ..errors import GazetteerError
from .keys import name_key

ALIASES_FILE = Path(__file__).with_name("aliases.csv")
LANDMARKS_FILE = Path(__file__).with_name("landmarks.csv")
CAPITALS_FILE = Path(__file__).with_name("capitals.csv")
ACTIONS = ("alias", "name", "drop")
# The kinds of landmark of the table, as GeoNames feature class and code.
LANDMARK_KINDS = {
    "oil field": ("S", "OILF"),
    "gas field": ("S", "GASF"),
    "air base": ("S", "AIRB"),
    "airport": ("S", "AIRP"),
    "border crossing": ("S", "PSTB"),
    "camp": ("S", "CMP"),
    "dam": ("S", "DAM"),
    "lake": ("H", "LK"),
    "square": ("S", "SQR"),
    "bridge": ("S", "BDG"),
    "mountain": ("T", "MT"),
    "range": ("T", "MTS"),
    "valley": ("T", "VAL"),
    "area": ("L", "AREA"),
}
_PCODE = re.compile(r"^IQG\d\d(?:Q\d\d(?:N\d\d)?)?$")


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


def read_landmarks(path: Path = LANDMARKS_FILE) -> list[dict]:
    """Lines of the landmarks table (see the module docstring), checked; ``latitude`` and
    ``longitude`` as floats or None, ``aliases`` as a list.

    Raises :class:`GazetteerError` naming the row (the header is row 1) and the field: a missing id,
    name or source URL, a repeated id, an unknown kind, half a point or a coordinate out of range, a
    malformed P-code, or neither a point nor a P-code. Whether a point lies in its stated unit is
    checked by the build, which has the boundary layers.
    """
    with path.open(newline="", encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle))
    seen: set[str] = set()
    out = []
    for number, line in enumerate(lines, start=2):

        def refuse(field: str, problem: str, number: int = number, line: dict = line) -> GazetteerError:
            return GazetteerError(f"{path}: row {number} ({line.get('landmark_id') or '?'}): {field}: {problem}")

        if None in line:
            raise refuse("row", "more fields than the header (quote a value that holds a comma)")
        line = {key: (value or "").strip() for key, value in line.items()}
        for field in ("landmark_id", "name", "kind", "source_url"):
            if not line.get(field):
                raise refuse(field, "missing")
        if line["landmark_id"] in seen:
            raise refuse("landmark_id", "repeats an earlier row")
        seen.add(line["landmark_id"])
        if line["kind"] not in LANDMARK_KINDS:
            raise refuse("kind", f"{line['kind']!r} is not one of {', '.join(LANDMARK_KINDS)}")
        if not line["source_url"].startswith(("https://", "http://")):
            raise refuse("source_url", "expected the http(s) URL of the public text that locates the landmark")
        point = [line.get("latitude", ""), line.get("longitude", "")]
        if bool(point[0]) != bool(point[1]):
            raise refuse("latitude/longitude", "give both or neither")
        coordinates = None
        if point[0]:
            try:
                coordinates = (float(point[0]), float(point[1]))
            except ValueError:
                raise refuse("latitude/longitude", f"not numbers: {point}") from None
            if not (-90 <= coordinates[0] <= 90 and -180 <= coordinates[1] <= 180) or any(map(math.isnan, coordinates)):
                raise refuse("latitude/longitude", f"out of range: {point}")
        if line.get("pcode") and not _PCODE.match(line["pcode"]):
            raise refuse("pcode", f"not a COD-AB P-code of Iraq: {line['pcode']!r}")
        if coordinates is None and not line.get("pcode"):
            raise refuse("pcode", "a landmark with no point needs the P-code of the unit that holds it")
        out.append(
            {
                **line,
                "latitude": coordinates[0] if coordinates else None,
                "longitude": coordinates[1] if coordinates else None,
                "aliases": [a.strip() for a in line.get("aliases", "").split("|") if a.strip()],
            }
        )
    return out


@lru_cache(maxsize=1)
def _capitals() -> dict[str, str]:
    with CAPITALS_FILE.open(newline="", encoding="utf-8") as handle:
        return {line["governorate_pcode"]: line["place_id"] for line in csv.DictReader(handle)}


def capital_of(governorate_pcode: str) -> str | None:
    """The gazetteer ``place_id`` of the capital of the governorate with COD-AB P-code
    ``governorate_pcode`` ("IQG13" -> Kirkuk's), or None for a code the capitals table lacks."""
    return _capitals().get(governorate_pcode)
