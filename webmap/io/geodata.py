"""Replacing a boundary level with a user's authoritative file, and re-joining every stored incident.

Lives here rather than in :mod:`webmap.spatial` because it writes to the incident store, which sits
above the spatial join.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .. import spatial
from ..config import Config
from ..roles import Actor, authorize
from ..store import IncidentStore
from .boundaries import install_admin_layer, read_admin_layer, stage_admin_layer

_REJOIN_COLUMNS = ("id", "longitude", "latitude", "geo_precision", "admin1_pcode", "admin2_pcode", "admin3_pcode")


@dataclass
class GeodataImport:
    """What ``webmap geodata import`` did: the level, its features, the file written, incidents re-joined."""

    level: str
    features: int
    path: Path
    rejoined: int
    unassigned: int


def import_admin_layer(
    store: IncidentStore,
    path: Path | str,
    level: str,
    *,
    pcode_column: str | None = None,
    name_column: str | None = None,
    geodata_dir: Path | str | None = None,
    by: Actor,
) -> GeodataImport:
    """Check ``path`` as the new ``level`` layer, install it in ``geodata_dir`` and re-join stored
    incidents, as ``by`` (who needs ``geodata``; each incident whose areas change gets a history entry).

    ``geodata_dir`` defaults to ``WEBMAP_GEODATA``. The check is :func:`webmap.io.boundaries.read_admin_layer`
    (raises :class:`~webmap.errors.GeodataError` naming the bad features; warnings are
    :class:`~webmap.io.boundaries.GeodataWarning`). Every stored incident is re-joined in one transaction;
    the new file replaces the old one only after that transaction commits, so on any error both
    the old layer and the stored admin areas stay as they were.
    """
    authorize(by, "geodata")
    geodata_dir = Path(geodata_dir) if geodata_dir is not None else Config.from_env().geodata_dir
    current = spatial.AdminLayers.current(geodata_dir)
    layer = read_admin_layer(path, level, pcode_column=pcode_column, name_column=name_column, layers=current)
    layers = current.replacing(level, layer)
    staged = stage_admin_layer(layer, level, geodata_dir)
    try:
        with store.transaction() as conn:
            rejoined = unassigned = 0
            for part in store.iter_all(conn, _REJOIN_COLUMNS):
                stored = pd.DataFrame(list(part))
                placed = spatial.place_points(
                    stored["longitude"].to_numpy(float),
                    stored["latitude"].to_numpy(float),
                    stored["geo_precision"].to_numpy(),
                    vouched_depths=_stored_depth(stored),
                    layers=layers,
                )
                # Plain lists: a frame would turn the None of an unknown level into NaN.
                columns = {name: values.tolist() for name, values in placed.items()}
                rows = [
                    {"id": incident_id, **{name: values[k] for name, values in columns.items()}}
                    for k, incident_id in enumerate(stored["id"].tolist())
                ]
                rejoined += store.update_admin_areas(conn, rows, by=by)
                unassigned += int(pd.isna(placed["admin3_pcode"][stored["geo_precision"].to_numpy() < 3]).sum())
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    final = install_admin_layer(staged, level, geodata_dir)
    return GeodataImport(level=level, features=len(layer), path=final, rejoined=rejoined, unassigned=unassigned)


def _stored_depth(stored: pd.DataFrame) -> list[int]:
    """How many admin levels each stored incident is known to (3 sub-district .. 0 none): its
    deepest stored P-code. What its source vouched for at import, kept through every re-join
    (only precision-3 incidents use it: the others are placed from their point)."""
    depth = pd.Series(0, index=stored.index)
    for level in (1, 2, 3):
        depth = depth.mask(stored[f"admin{level}_pcode"].notna(), level)
    return depth.tolist()
