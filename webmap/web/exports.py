"""File downloads of the filtered view: ``/export.geojson`` and ``/export.csv``.

Both take the map's filter as query parameters (:meth:`webmap.query.IncidentFilter.from_params`;
a bad parameter is a 400 naming it, before any byte is sent) and stream the file as an
attachment straight from the database cursor, so a large export neither fills memory nor stops
the server answering other requests.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, Response, stream_with_context

from ..io.exporters import MEDIA_TYPES, STREAMS
from ..query import iter_incidents
from . import get_store, request_filter

bp = Blueprint("exports", __name__)


def _download(fmt: str) -> Response:
    flt = request_filter()
    store = get_store()
    filename = f"webmap-incidents-{dt.date.today().isoformat()}.{fmt}"
    body = (chunk.encode("utf-8") for chunk in STREAMS[fmt](iter_incidents(store, flt)))
    return Response(
        stream_with_context(body),
        content_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
    )


@bp.get("/export.geojson")
def export_geojson():
    """The filtered incidents as an RFC 7946 GeoJSON FeatureCollection (attachment)."""
    return _download("geojson")


@bp.get("/export.csv")
def export_csv():
    """The filtered incidents as CSV (UTF-8 with BOM, one column per record field; attachment)."""
    return _download("csv")
