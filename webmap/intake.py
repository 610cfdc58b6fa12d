"""An incident from untrusted values, checked alike at every door.

The importer, the incident form, the JSON API and the extraction save all build their incidents
here, so one incident is stored the same way whichever door it came through:

1. :func:`input_values` refuses what is no incident field (a misspelt ``fatalites`` would otherwise
   be dropped) and drops what the store sets itself (id, timestamps);
2. :func:`check_values` validates the values (:func:`webmap.records.validate_incident`) and gives
   both actors their force (:func:`webmap.forces.assign_forces`);
3. :func:`webmap.spatial.place_incidents` places the incident in its governorate, district,
   sub-district and the disputed territories by the one placement rule (the importer does this
   step per batch, for speed).

:func:`checked_incident` is the three steps for one record. Errors are
:class:`~webmap.errors.InvalidRecord` naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import spatial
from .errors import InvalidRecord
from .forces import assign_forces
from .records import INPUT_FIELDS, IRAQ, AreaOfInterest, Incident, validate_incident

# Set by the store; a client may send them back unchanged (an exported or fetched record).
STORE_FIELDS = ("id", "created_at", "updated_at")


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


def checked_incident(values: Mapping[str, Any], geodata_dir: Path | str | None = None) -> Incident:
    """One incident from a form, an API body or a reviewed draft: checked, with its forces, placed.

    ``values`` maps record fields to raw values; admin areas and ``disputed`` sent with them are
    replaced by the placement rule's. ``geodata_dir``: the folder of replacement boundary layers
    (default ``WEBMAP_GEODATA``).
    """
    incident, _ = check_values(input_values(values))
    return spatial.place_incidents([incident], geodata_dir=geodata_dir)[0]
