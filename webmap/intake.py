"""An incident from untrusted values, checked alike at every door.

The importer, the incident form, the JSON API and the extraction save all build their incidents
here, so one incident is stored the same way whichever door it came through:

1. :func:`input_values` refuses what is no incident field (a misspelt ``fatalites`` would otherwise
   be dropped) and drops what the store sets itself (id, timestamps);
2. :func:`check_values` validates the values (:func:`webmap.records.validate_incident`) and gives
   both actors their force (:func:`webmap.forces.assign_forces`); :func:`check_batch` does the same
   for a batch of records, column by column (the importer's);
3. :func:`webmap.spatial.place_incidents` places the incident in its governorate, district,
   sub-district and the disputed territories by the one placement rule (the importer does this
   step per batch, for speed).

Before step 2, :func:`geocode_values` gives a record without coordinates the point of its place
name (``location``) in the district (``admin2``) and governorate (``admin1``) it states, through
the gazetteer (:func:`webmap.gazetteer.resolve_place`); the importer and the API both call it.

:func:`checked_incident` is the steps for one record. Errors are
:class:`~webmap.errors.InvalidRecord` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import spatial
from .errors import InvalidRecord, UnplacedRecord
from .forces import assign_forces
from .gazetteer import Candidate, get_gazetteer, resolve
from .gazetteer.load import AREA_DEPTH
from .gazetteer.resolve import GEOCODE_MODES, MIN_PLACE_SCORE
from .records import (
    DERIVED_FIELDS,
    INPUT_FIELDS,
    IRAQ,
    STORE_KEPT_FIELDS,
    AreaOfInterest,
    Incident,
    is_blank,
    validate_incident,
    validate_incidents,
)

# Set by the store or derived; a client may send them back unchanged (an exported or fetched record).
STORE_FIELDS = (*STORE_KEPT_FIELDS, *DERIVED_FIELDS)
# How many of the gazetteer's candidates an unplaced record lists.
UNPLACED_CANDIDATES = 5


def input_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` (field -> raw value) without the fields the store sets; :class:`InvalidRecord` naming
    the first key that is no incident field."""
    values = {k: v for k, v in data.items() if k not in STORE_FIELDS}
    unknown = sorted(set(values) - set(INPUT_FIELDS))
    if unknown:
        raise InvalidRecord(unknown[0], f"not an incident field (known: {', '.join(INPUT_FIELDS)})")
    return values


def check_values(
    values: Mapping[str, Any], *, area: AreaOfInterest = IRAQ, force_hints: dict[int, str | None] | None = None
) -> tuple[Incident, list[str]]:
    """A validated incident with its forces (not yet placed), and the actor names no force matched.

    ``force_hints``: the force a source coded for actor 1 or 2 (see :func:`webmap.forces.assign_forces`).
    """
    incident = validate_incident(values, area=area)
    unmatched = assign_forces(incident, force_hints)
    return incident, unmatched


def check_batch(
    rows: Sequence[Mapping[str, Any]],
    force_hints: Sequence[dict[int, str | None] | None],
    *,
    area: AreaOfInterest = IRAQ,
) -> list[tuple[Incident, list[str]] | InvalidRecord]:
    """:func:`check_values` of each of ``rows`` (with its ``force_hints``): its result, or the
    :class:`InvalidRecord` it raises. Checked a batch at a time (:func:`webmap.records.validate_incidents`),
    and each distinct pair of given force and actor name given its force once."""
    out: list[tuple[Incident, list[str]] | InvalidRecord] = []
    forces: dict[tuple, tuple[str | None, str | None, list[str]] | InvalidRecord] = {}
    for incident, hints in zip(validate_incidents(rows, area=area), force_hints, strict=True):
        if isinstance(incident, InvalidRecord):
            out.append(incident)
            continue
        hints = hints or {}
        key = (incident.force1, incident.actor1, hints.get(1), incident.force2, incident.actor2, hints.get(2))
        assigned = forces.get(key)
        if assigned is None:
            try:
                unmatched = assign_forces(incident, hints)
                assigned = forces[key] = (incident.force1, incident.force2, unmatched)
            except InvalidRecord as exc:
                assigned = forces[key] = exc
        if isinstance(assigned, InvalidRecord):
            out.append(assigned)
            continue
        incident.force1, incident.force2, unmatched = assigned
        out.append((incident, list(unmatched)))
    return out


def may_geocode(values: Mapping[str, Any], mode: str) -> bool:
    """False when :func:`geocode_values` gives ``values`` back as they are without looking at the
    gazetteer: ``mode`` is ``never``, or ``missing`` and the record has a latitude or a longitude."""
    if mode == "never":
        return False
    return mode != "missing" or (is_blank(values.get("latitude")) and is_blank(values.get("longitude")))


@dataclass(frozen=True)
class Geocoded:
    """A record's values after :func:`geocode_values`: ``match`` the gazetteer candidate it was
    placed at (None when it was not geocoded), ``depth`` the admin levels that point vouches for
    (None: every level under the point, as for any point)."""

    values: dict[str, Any] = field(default_factory=dict)
    match: Candidate | None = None
    depth: int | None = None


def geocode_values(
    values: Mapping[str, Any],
    *,
    mode: str = "missing",
    min_score: float = MIN_PLACE_SCORE,
    gazetteer_path: Path | str | None = None,
) -> Geocoded:
    """``values`` with the point of the place they name when ``mode`` asks for it (a
    :class:`Geocoded`).

    ``mode`` (one of :data:`GEOCODE_MODES`): ``missing`` geocodes a record whose latitude and
    longitude are both blank, ``always`` every record that names a place, ``never`` none. The place
    is ``location`` in the district ``admin2`` and governorate ``admin1`` (names or P-codes; the
    P-code fields stand in for blank names), resolved by :func:`webmap.gazetteer.resolve_place`
    (the gazetteer at ``gazetteer_path``, default WEBMAP_GAZETTEER or the shipped one). A match
    sets ``latitude``, ``longitude``, ``geo_precision`` (1 the place, 2 an area, a neighbourhood or
    a landmark known by its area, 3 the district or governorate), ``place_id``, ``place_score``
    and, when the record names no place, ``location`` (the matched name); a match on a district or
    governorate itself vouches for that level, so the placement rule keeps exactly it.

    Raises :class:`~webmap.errors.UnplacedRecord` (field ``location``, with the candidates) when the
    best match scores below ``min_score`` or nothing matches, and ``InvalidRecord`` naming
    ``geocode`` for an unknown mode.
    """
    if mode not in GEOCODE_MODES:
        raise InvalidRecord("geocode", f"unknown mode {mode!r} (known: {', '.join(GEOCODE_MODES)})")
    if not may_geocode(values, mode):  # first: most records of an import
        return Geocoded(dict(values))
    name, district, governorate = (
        _text_of(values, "location"),
        _text_of(values, "admin2") or _text_of(values, "admin2_pcode"),
        _text_of(values, "admin1") or _text_of(values, "admin1_pcode"),
    )
    if not (name or district or governorate):
        return Geocoded(dict(values))
    found = resolve(
        name,
        limit=UNPLACED_CANDIDATES,
        gazetteer=get_gazetteer(gazetteer_path),
        district=district or None,
        governorate=governorate or None,
        online=False,
    )
    if not found or found[0].score < min_score:
        raise UnplacedRecord(
            _why_unplaced(found, name, min_score),
            [c.to_dict() for c in found],
            name=name,
            district=district,
            governorate=governorate,
        )
    best = found[0]
    placed = {
        **values,
        "latitude": best.latitude,
        "longitude": best.longitude,
        "geo_precision": best.precision,
        "place_id": best.place_id,
        "place_score": best.score,
        "location": name or best.name,
    }
    return Geocoded(placed, best, AREA_DEPTH.get(best.feature_code) if best.precision >= 3 else None)


def _text_of(values: Mapping[str, Any], field: str) -> str:
    value = values.get(field)
    return "" if is_blank(value) else str(value).strip()


def _why_unplaced(found: list, name: str, min_score: float) -> str:
    """The reason a record is not placed, in a reader's words."""
    if not found:
        named = f"{name!r} is" if name else "the stated district and governorate are"
        return f"{named} not in the gazetteer: no coordinates to give it"
    best = found[0]
    where = ", ".join(a for a in (best.district, best.governorate) if a) or best.country_code
    return (
        f"best match {best.name!r} ({where}) scores {best.score:.2f}, below {min_score:.2f}: "
        "a guess (outside the stated areas, or spelled only roughly alike); give its coordinates"
    )


def checked_incident(
    values: Mapping[str, Any],
    geodata_dir: Path | str | None = None,
    *,
    geocode: str = "missing",
    min_score: float = MIN_PLACE_SCORE,
    gazetteer_path: Path | str | None = None,
) -> Incident:
    """One incident from a form, an API body or a reviewed draft: geocoded when it has no
    coordinates (:func:`geocode_values`, ``geocode`` its mode), checked, with its forces, placed.

    ``values`` maps record fields to raw values; admin areas and ``disputed`` sent with them are
    replaced by the placement rule's. ``geodata_dir``: the folder of replacement boundary layers
    (default ``WEBMAP_GEODATA``); ``gazetteer_path`` the gazetteer to geocode with.
    """
    geocoded = geocode_values(input_values(values), mode=geocode, min_score=min_score, gazetteer_path=gazetteer_path)
    incident, _ = check_values(geocoded.values)
    return spatial.place_incidents([incident], [geocoded.depth], geodata_dir=geodata_dir)[0]
