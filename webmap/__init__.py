"""webmap: a conflict map of northern Iraq's disputed territories.

The package reads like the path of an incident: records/forces/names (bottom) -> gazetteer,
spatial, extract -> store, query, io -> mapview -> web and cli (top).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def create_app(config: Any = None, *, open_store: bool = False):
    """The Flask application factory.

    ``config`` is a :class:`webmap.config.Config`, a dict of its field names to override the
    environment (tests pass a temporary ``database_url``), or None to read the environment.
    ``open_store``: open the database now (a server does, so its map data are ready before the
    first visitor); otherwise on the first request.
    """
    from .web import build_app

    return build_app(config, open_store=open_store)
