"""The demo incidents: real UCDP GED events shipped in ``geodata/demo_incidents.csv``.

The file is built by ``scripts/build_demo_incidents.py`` (see ``geodata/PROVENANCE.md``: UCDP GED,
CC BY 4.0, the 2014-2018 events in Kirkuk, Ninewa, Salah al-Din, Diyala and Erbil) and is an
ordinary UCDP GED CSV, so it loads through the UCDP importer like any user's file.
"""

from __future__ import annotations

from pathlib import Path

from ..config import SHIPPED_GEODATA
from ..roles import Actor
from ..store import IncidentStore
from .importer import ImportSummary, import_file

DEMO_INCIDENTS = SHIPPED_GEODATA / "demo_incidents.csv"


def load_demo(store: IncidentStore, *, by: Actor, geodata_dir: Path | str | None = None) -> ImportSummary:
    """Import the demo incidents into ``store`` as ``by`` (who needs ``import``, and ``review`` for
    them to be reviewed); running it again adds nothing (idempotent).

    ``geodata_dir``: the folder of replacement boundary layers (default ``WEBMAP_GEODATA``).
    """
    return import_file(store, DEMO_INCIDENTS, "ucdp", progress=False, geodata_dir=geodata_dir, by=by)
