"""File downloads of the filtered view: ``/export.geojson`` and ``/export.csv``.

Both take the map's filter as query parameters (:meth:`webmap.query.IncidentFilter.from_params`;
a bad parameter is a 400 naming it, before any byte is sent) and stream the file as an
attachment straight from the database cursor, so a large export neither fills memory nor stops
the server answering other requests.
"""

from __future__ import annotations

import datetime as dt
import functools

from flask import Blueprint, Response, request, stream_with_context

from ..errors import InvalidFilter
from ..io.exporters import MEDIA_TYPES, STREAMS, csv_chunks
from ..query import iter_incidents
from ..records import parse_bool
from ..roles import authorize
from . import get_store, request_filter
from .auth import current_actor_or_none
from .params import reads

bp = Blueprint("exports", __name__)


def _download(fmt: str) -> Response:
    flt = request_filter()
    chunks = STREAMS[fmt]
    if _flag("raw"):
        chunks = functools.partial(csv_chunks, raw=True)
    provenance = _flag("provenance")
    if provenance:
        authorize(current_actor_or_none(), "read_history")
    store = get_store()
    filename = f"webmap-incidents-{dt.date.today().isoformat()}.{fmt}"
    body = (chunk.encode("utf-8") for chunk in chunks(iter_incidents(store, flt), provenance=provenance))
    return Response(
        stream_with_context(body),
        content_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
    )


@bp.get("/export.geojson")
@reads("provenance", incident_filter=True)
def export_geojson():
    """The filtered incidents as an RFC 7946 GeoJSON FeatureCollection (attachment); with
    ``provenance=1`` (for those who may read the history) who made and reviewed each, and its version."""
    return _download("geojson")


@bp.get("/export.csv")
@reads("raw", "provenance", incident_filter=True)
def export_csv():
    """The filtered incidents as CSV (UTF-8 with BOM, one column per record field; attachment).

    A text a spreadsheet would run as a formula starts with ``'``; ``raw=1`` writes it as it is.
    ``provenance=1``: the columns ``created_by``, ``reviewed_by``, ``reviewed_at``, ``version`` too."""
    return _download("csv")


def _flag(name: str) -> bool:
    """The yes/no query parameter ``name`` (absent: no); :class:`InvalidFilter` naming it otherwise."""
    try:
        return bool(parse_bool(request.args.get(name)))
    except ValueError:
        raise InvalidFilter(name, f"expected 1 or 0, not {request.args[name][:40]!r}") from None
