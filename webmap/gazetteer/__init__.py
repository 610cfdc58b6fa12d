"""The gazetteer: every common spelling of a place resolves, offline, ranked in context.

Public API (imported from here):

* :func:`resolve` (name, context, district, governorate) -> ranked :class:`Candidate` list;
  :func:`resolve_place` a record's place (point, precision, id, score, reason); :func:`geocode` the
  JSON answer of the CLI and the API;
* :func:`find_mentions` (text) -> :class:`Mention` list (place names found in a sentence);
* :func:`get_gazetteer` the loaded default :class:`Gazetteer` (WEBMAP_GAZETTEER, the user's copy,
  or the shipped ``gazetteer.csv``), :meth:`Gazetteer.from_csv` for any other file;
* :func:`import_places` (file, format) adds or replaces places in a gazetteer CSV.

Modules: ``keys`` (name keys), ``load`` (CSV and indexes), ``curated`` (the team's alias table),
``match`` (matching tiers, named areas), ``rank`` (order and scores), ``context`` (mentions and
context), ``resolve``, ``sources`` (GeoNames / WOF / CSV readers and the import), ``online`` (the
optional Nominatim fallback).
"""

from .context import Mention, find_mentions
from .load import COLUMNS, FUZZY_THRESHOLD, Gazetteer, Place, default_path, get_gazetteer, user_copy_path
from .rank import Candidate
from .resolve import MAX_NAME_LENGTH, check_name, geocode, resolve, resolve_place
from .sources import FORMATS, import_places

__all__ = [
    "COLUMNS",
    "FORMATS",
    "FUZZY_THRESHOLD",
    "MAX_NAME_LENGTH",
    "Candidate",
    "Gazetteer",
    "Mention",
    "Place",
    "check_name",
    "default_path",
    "find_mentions",
    "geocode",
    "get_gazetteer",
    "import_places",
    "resolve",
    "resolve_place",
    "user_copy_path",
]
