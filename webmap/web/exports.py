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
from . import get_store, request_filter
from .params import reads

bp = Blueprint("exports", __name__)


def _download(fmt: str) -> Response:
    flt = request_filter()
    chunks = STREAMS[fmt]
    if _raw():
        chunks = functools.partial(csv_chunks, raw=True)
    store = get_store()
    filename = f"webmap-incidents-{dt.date.today().isoformat()}.{fmt}"
    body = (chunk.encode("utf-8") for chunk in chunks(iter_incidents(store, flt)))
    return Response(
        stream_with_context(body),
        content_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "X-Content-Type-Options": "nosniff"},
    )


@bp.get("/export.geojson")
@reads(incident_filter=True)
def export_geojson():
    """The filtered incidents as an RFC 7946 GeoJSON FeatureCollection (attachment)."""
    return _download("geojson")


@bp.get("/export.csv")
@reads("raw", incident_filter=True)
def export_csv():
    """The filtered incidents as CSV (UTF-8 with BOM, one column per record field; attachment).

    A text a spreadsheet would run as a formula starts with ``'``; ``raw=1`` writes it as it is."""
    return _download("csv")


def _raw() -> bool:
    try:
        return bool(parse_bool(request.args.get("raw")))
    except ValueError:
        raise InvalidFilter("raw", f"expected 1 or 0, not {request.args['raw'][:40]!r}") from None
