"""The JSON API: health, incidents, districts, gazetteer, extraction.

Reads take the map's filter as query parameters (:meth:`webmap.query.IncidentFilter.from_params`;
a bad value is a 400 naming the parameter) and carry a weak ETag made from the filter and
:func:`webmap.query.data_version`, so reloading an unchanged view costs a 304. Writes need the
someone known whose role may make them (:func:`webmap.web.auth.require`, :mod:`webmap.roles`):
401 for no one known, 403 for a role that may not, 409 for an incident not in a state the write
needs. A change to a reviewed incident and a delete need a ``reason`` (in the JSON body, or as the
``reason`` query parameter of a DELETE).

=============================  ===================================================================
GET    /api/incidents          the filtered incidents as a GeoJSON FeatureCollection, paged by
                               ``limit`` (1..5000, default 100) and ``offset``, ordered by ``sort``
                               (e.g. ``-fatalities``), with ``total``
GET    /api/incidents/<id>     one incident as a GeoJSON Feature
POST   /api/incidents          add one (a JSON object of record fields, or a GeoJSON Feature): 201;
                               an analyst's is a draft
PUT    /api/incidents/<id>     replace one with the body's fields (and ``reason``)
DELETE /api/incidents/<id>     delete one, restorably (``reason`` required): 204
GET    /api/incidents/<id>/history   its history, oldest first (who, when, what changed, why)
POST   /api/incidents/<id>/restore   bring a deleted incident back (``{"reason"}``)
POST   /api/incidents/<id>/revert    restore an earlier ``{"version", "reason"}``: a new version
POST   /api/incidents/<id>/approve   mark a draft reviewed (never one's own draft)
POST   /api/incidents/<id>/reject    reject a draft (``{"reason"}`` required)
POST   /api/incidents/<id>/merge     merge a draft into ``{"into": id}``, keeping every source
GET    /api/points             the filtered incidents for the map, compact binary
                               (:func:`webmap.mapview.encode_points`)
GET    /api/districts          district polygons with the filter's ``incidents`` and ``fatalities``
GET    /api/timeline           incidents and fatalities per week or month (``period``) per force
GET    /api/layers/<name>      boundary layers for the map: adm0..adm2, disputed, kri
GET    /api/basemap/<band>     the offline base map of a zoom band (:func:`webmap.mapview.basemap_piece`),
GET    /api/basemap/<band>/<x>/<y>  or one tile of a tiled band
GET    /api/basemap/own/<z>/<x>/<y>  a tile of the user's own base map (``WEBMAP_BASEMAP``); 204 where
                               it has none
GET    /api/placement          where a point lies: its governorate, district, sub-district and
                               disputed status as an incident there would be stored
                               (``latitude``, ``longitude``, ``geo_precision``, ``location``)
POST   /api/extract            draft incidents from a report: ``{"text", "date", "source"?}``
                               (:func:`webmap.extract.extract`); writes nothing, but needs the token
                               or a login like a write (:mod:`.extraction`)
POST   /api/extract/save       store the reviewed drafts: ``{"incidents": [records]}``, all or none
=============================  ===================================================================
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable

import numpy as np
from flask import Blueprint, Response, jsonify, request, url_for

from .. import mapview, query, spatial
from ..errors import InvalidFilter, InvalidRecord, NotFound
from ..forces import FORCES_BY_KEY
from ..gazetteer import default_path
from ..intake import checked_incident
from ..io.exporters import feature
from ..io.json_input import parse_body
from ..records import GEO_PRECISION, checked_point
from ..roles import may
from . import get_basemap, get_config, get_store, request_filter
from .auth import current_actor, current_actor_or_none, require
from .extraction import get_extractions, writers_or_public
from .limits import read_body
from .params import reads
from .points import get_map_data

bp = Blueprint("api", __name__)


@bp.get("/healthz")
def healthz():
    """Liveness probe: ``{"status": "ok"}``."""
    return jsonify(status="ok")


# -- incidents ------------------------------------------------------------------------------------
MAX_LIMIT = 5_000
DEFAULT_LIMIT = 100
MAX_OFFSET = 10_000_000
# The table's sorts the map's index orders itself (the others go to the database).
INDEXED_SORTS = ("event_date", "fatalities", "id")


def _int_param(name: str, default: int, low: int, high: int, hint: str = "") -> int:
    raw = request.args.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise InvalidFilter(name, f"not a whole number: {raw[:40]!r}") from None
    if not low <= value <= high:
        raise InvalidFilter(name, f"{value} is out of range {low}..{high}{hint}")
    return value


def _digest(*parts) -> str:
    return hashlib.sha1(repr(parts).encode()).hexdigest()


def _etag(*parts) -> str:
    """A validator for a read: the request's meaning (``parts``) and the table's :func:`~webmap.query.data_version`."""
    return _digest(*parts, query.data_version(get_store()))


def _cached(etag: str, build: Callable[[], Response], *, kept: bool = False) -> Response:
    """Answer 304 when the client's copy (``If-None-Match``) is current, else ``build()`` (with
    ``kept``, an answer the server keeps for the next request: :meth:`MapData.answer`); both with
    the ETag."""
    if request.if_none_match.contains_weak(etag):
        response = Response(status=304)
    elif kept:
        response = get_map_data().answer(etag, build)
    else:
        response = build()
    response.set_etag(etag, weak=True)
    # no-cache: the browser keeps the copy but asks each time (a 304 when nothing changed).
    response.headers["Cache-Control"] = "private, no-cache" if get_config().private else "no-cache"
    response.vary.update(("Accept-Encoding", "Authorization", "Cookie"))
    return response


@bp.get("/api/incidents")
@reads("limit", "offset", "sort", incident_filter=True)
def list_incidents():
    """The filtered incidents as a FeatureCollection with ``total``, ``limit`` and ``offset``."""
    flt = request_filter()
    limit = _int_param("limit", DEFAULT_LIMIT, 1, MAX_LIMIT, " (use /export.geojson for everything)")
    offset = _int_param("offset", 0, 0, MAX_OFFSET)
    sort = request.args.get("sort") or None
    query.parse_sort(sort)

    def build():
        store = get_store()
        index = get_map_data().index(store)
        column, descending = query.parse_sort(sort)
        if column in INDEXED_SORTS:  # ordered in memory, whatever the table's size: only a page is read
            rows = store.get_many(index.page(flt, column, descending, limit, offset))
        else:
            rows = query.select_incidents(store, flt, limit=limit, offset=offset, sort=sort)
        return jsonify(
            type="FeatureCollection",
            total=index.tally(flt)[0],
            limit=limit,
            offset=offset,
            features=[feature(i, provenance=provenance) for i in rows],
        )

    provenance = may(current_actor_or_none(), "read_history")
    return _cached(_etag("incidents", flt, limit, offset, sort, provenance), build, kept=True)


def visible_incident(incident_id: int):
    """The stored incident ``incident_id`` if the asker may see it (a draft or a deleted incident
    only those who may see drafts); :class:`NotFound` otherwise."""
    incident = get_store().get(incident_id)
    if incident.status != "reviewed" and not may(current_actor_or_none(), "read_drafts"):
        raise NotFound(f"incident {incident_id} does not exist")
    return incident


@bp.get("/api/incidents/<int:incident_id>")
def get_incident(incident_id: int):
    """One incident as a GeoJSON Feature (with who made and reviewed it, and its version, for
    those who may read the history); 404 when there is none."""
    provenance = may(current_actor_or_none(), "read_history")
    return _cached(
        _etag("incident", incident_id, provenance),
        lambda: jsonify(feature(visible_incident(incident_id), provenance=provenance)),
    )


@bp.get("/api/incidents/<int:incident_id>/history")
@require("read_history")
def incident_history(incident_id: int):
    """``{"id", "status", "version", "history": [entries]}``: the incident's history, oldest first
    (:meth:`webmap.store.IncidentStore.history`)."""
    incident = visible_incident(incident_id)
    return jsonify(
        id=incident_id,
        status=incident.status,
        version=incident.version,
        history=get_store().history(incident_id),
    )


def _json_body():
    """The request's JSON document (:func:`webmap.io.json_input.parse_body`); its size was checked
    before (:mod:`webmap.web.limits`)."""
    if not request.is_json:
        raise InvalidRecord("body", "expected JSON with Content-Type: application/json")
    return parse_body(read_body())


def _body() -> dict:
    data = _json_body()
    if not isinstance(data, dict):
        raise InvalidRecord("body", "expected a JSON object of incident fields (or a GeoJSON Feature)")
    if data.get("type") == "Feature":
        properties = data.get("properties")
        if properties is None:
            properties = {}
        if not isinstance(properties, dict):
            raise InvalidRecord("properties", "a Feature's properties must be an object of incident fields")
        geometry = data.get("geometry")
        if geometry is None:  # an unlocated Feature: geocoded by its location
            return dict(properties)
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if not (isinstance(geometry, dict) and geometry.get("type") == "Point" and isinstance(coordinates, list)):
            raise InvalidRecord("geometry", "a Feature needs a Point geometry with [longitude, latitude], or null")
        if len(coordinates) not in (2, 3):
            raise InvalidRecord("geometry", "a Point needs [longitude, latitude]")
        data = {**properties, "longitude": coordinates[0], "latitude": coordinates[1]}
    return data


def _reason(body: dict) -> str | None:
    """The ``reason`` of a write (taken out of ``body``); :class:`InvalidRecord` when it is no string."""
    reason = body.pop("reason", None)
    if reason is not None and not isinstance(reason, str):
        raise InvalidRecord("reason", "must be a string")
    return reason


@bp.post("/api/incidents")
@require("create")
def create_incident():
    """Add the incident in the JSON body; 201 with the stored Feature and its ``Location``. A body
    without coordinates is placed by its ``location`` in the ``admin2``/``admin1`` it names (400
    naming ``location``, with the gazetteer's candidates, when that is a guess). Without a
    ``status``, the incident of someone who may not review is a draft."""
    actor = current_actor()
    body = _body()
    if "status" not in body and not may(actor, "review"):
        body["status"] = "draft"
    config = get_config()
    incident = checked_incident(body, config.geodata_dir, gazetteer_path=default_path(config))
    stored = get_store().add(incident, by=actor)
    response = jsonify(feature(stored, provenance=True))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_incident", incident_id=stored.id)
    return response


@bp.put("/api/incidents/<int:incident_id>")
@require("edit")
def replace_incident(incident_id: int):
    """Replace incident ``incident_id`` with the body's fields (its ``reason`` kept in the
    history; required for a reviewed incident); the stored Feature."""
    store = get_store()
    visible_incident(incident_id)
    body = _body()
    reason = _reason(body)
    config = get_config()
    incident = checked_incident(body, config.geodata_dir, gazetteer_path=default_path(config))
    return jsonify(feature(store.replace(incident_id, incident, by=current_actor(), reason=reason), provenance=True))


def _write_body(*members: str) -> dict:
    """The JSON object of a write that takes only ``members`` (none sent: an empty one)."""
    if not request.get_data():
        return {}
    return _json_object(*members)


@bp.delete("/api/incidents/<int:incident_id>")
@reads("reason")
@require("delete")
def delete_incident(incident_id: int):
    """Delete incident ``incident_id`` (restorably) for the ``reason`` in the body or the query
    string: 204; 404 when there is none, 409 when it is deleted already."""
    reason = _reason(_write_body("reason")) or request.args.get("reason")
    get_store().delete(incident_id, by=current_actor(), reason=reason)
    return Response(status=204)


@bp.post("/api/incidents/<int:incident_id>/restore")
@require("restore")
def restore_incident(incident_id: int):
    """Bring the deleted incident back with the status it had; the stored Feature."""
    reason = _reason(_write_body("reason"))
    return jsonify(feature(get_store().restore(incident_id, by=current_actor(), reason=reason), provenance=True))


@bp.post("/api/incidents/<int:incident_id>/revert")
@require("edit")
def revert_incident(incident_id: int):
    """Give the incident the content of ``{"version"}`` again, as a new version; the stored Feature."""
    body = _write_body("reason", "version")
    reason = _reason(body)
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise InvalidRecord("version", "expected the whole number of an earlier version")
    incident = get_store().revert(incident_id, version, by=current_actor(), reason=reason)
    return jsonify(feature(incident, provenance=True))


@bp.post("/api/incidents/<int:incident_id>/approve")
@require("review")
def approve_incident(incident_id: int):
    """Mark the draft reviewed (never by who made it: the two-person rule); the stored Feature."""
    reason = _reason(_write_body("reason"))
    return jsonify(feature(get_store().approve(incident_id, by=current_actor(), reason=reason), provenance=True))


@bp.post("/api/incidents/<int:incident_id>/reject")
@require("delete")
def reject_incident(incident_id: int):
    """Reject the draft for ``{"reason"}`` (restorable): 204."""
    get_store().reject(incident_id, by=current_actor(), reason=_reason(_write_body("reason")))
    return Response(status=204)


@bp.post("/api/incidents/<int:incident_id>/merge")
@require("merge")
def merge_incident(incident_id: int):
    """Merge the incident into ``{"into": id}``, which reports the same event: the target gains
    its sources and is answered; the merged one is deleted (restorably)."""
    body = _write_body("reason", "into")
    reason = _reason(body)
    target = body.get("into")
    if not isinstance(target, int) or isinstance(target, bool):
        raise InvalidRecord("into", "expected the id of the incident to merge into")
    merged = get_store().merge(incident_id, target, by=current_actor(), reason=reason)
    return jsonify(feature(merged, provenance=True))


# -- the map's data -------------------------------------------------------------------------------
@bp.get("/api/points")
@reads(incident_filter=True)
def points():
    """The filtered incidents for the map, in the compact binary form of :func:`webmap.mapview.encode_points`."""
    flt = request_filter()
    store = get_store()
    version = query.data_version(store)
    etag = _digest("points", flt, version)  # the version read once serves the validator and the cache

    def build():
        return _encoded(get_map_data().get(store, flt, version), mapview.POINTS_MEDIA_TYPE)

    return _cached(etag, build)


def _encoded(bodies: tuple[bytes, bytes], mimetype: str) -> Response:
    """A response of a body made once in both forms (raw, gzipped): gzip when the client takes it."""
    raw, packed = bodies
    use_gzip = "gzip" in request.accept_encodings
    response = Response(packed if use_gzip else raw, mimetype=mimetype)
    if use_gzip:
        response.headers["Content-Encoding"] = "gzip"
    return response


MAX_ZOOM = 20


@bp.get("/api/tiles/<int:z>/<int:x>/<int:y>")
@reads(incident_filter=True)
def tile(z: int, x: int, y: int):
    """Map tile ``z``/``x``/``y`` (Web Mercator, as Leaflet numbers them) of the filtered incidents:
    ``{"clusters": [...], "points": {...} or null}`` (:meth:`webmap.mapindex.MapIndex.tile`), the
    points when the tile holds few. Incidents known only to an area are left to ``/api/summary``.
    400 naming ``z``, ``x`` or ``y`` outside 0..20 or outside the world."""
    if not 0 <= z <= MAX_ZOOM:
        raise InvalidFilter("z", f"zoom {z} is out of range 0..{MAX_ZOOM}")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 1 << z:
            raise InvalidFilter(name, f"{value} is outside the world at zoom {z} (0..{(1 << z) - 1})")
    flt = request_filter()
    store = get_store()
    version = query.data_version(store)

    def build():
        return _encoded(get_map_data().tile(store, flt, z, x, y, version), "application/json")

    return _cached(_digest("tile", flt, z, x, y, version), build)


@bp.get("/api/summary")
@reads(incident_filter=True)
def summary():
    """What the map shows of the filtered view besides its points: ``{"total", "in_extent",
    "killed_in_extent" and "no_figure_in_extent" (the incidents whose point is in ``bbox``, when
    given, the known figures of their killed, and how many of them have none), "forces": {key: incidents involving it,
    ticked or not}, "first", "last" (ISO days or null), "bounds" ([[south, west], [north, east]] of
    the view's points, or null), "areas": [the areas incidents known only to a district or
    governorate are drawn as: ``pcode``, ``level``, ``name``, ``point``, ``bounds``, ``count``,
    ``fatalities``, ``no_figure``, ``forces`` (per initiating force)]}``."""
    flt = request_filter()
    store = get_store()

    def build():
        index = get_map_data().index(store)
        groups, view = index.groups_of(flt.without("bbox"))
        in_extent, killed_in_extent, no_figure_in_extent = index.tally(flt)
        unticked, chosen = index.groups_of(flt.without("bbox", "forces"))
        found = groups.date_range(view)
        return jsonify(
            total=groups.tally(view)[0],
            in_extent=in_extent,
            killed_in_extent=killed_in_extent,
            no_figure_in_extent=no_figure_in_extent,
            forces=unticked.force_counts(chosen),
            first=found[0].isoformat() if found else None,
            last=found[1].isoformat() if found else None,
            bounds=groups.bounds(view),
            areas=mapview.area_groups(groups, view, index.pcode_of, get_config().geodata_dir),
        )

    return _cached(_etag("summary", flt), build, kept=True)


@bp.get("/api/districts")
@reads(incident_filter=True)
def districts():
    """District polygons (simplified) with ``incidents``, ``fatalities`` (the known figures) and
    ``no_figure`` (incidents without one) of the filter, as GeoJSON."""
    flt = request_filter()
    geodata_dir = get_config().geodata_dir

    def build():
        index = get_map_data().index(get_store())
        groups, selected = index.groups_of(flt)
        collection = mapview.district_features(groups.per_district(selected, index.pcode_of), geodata_dir)
        response = jsonify(collection)
        response.mimetype = "application/geo+json"
        return response

    return _cached(_etag("districts", flt, mapview.layer_signature("adm2", geodata_dir)), build, kept=True)


def _period_starts(first: dt.date, last: dt.date, period: str) -> list[str]:
    if period == "week":
        day = first - dt.timedelta(days=first.weekday())
        step = lambda d: d + dt.timedelta(days=7)  # noqa: E731
    else:
        day = first.replace(day=1)
        step = lambda d: (d.replace(day=28) + dt.timedelta(days=4)).replace(day=1)  # noqa: E731
    out = []
    while day <= last:
        out.append(day.isoformat())
        day = step(day)
    return out


@bp.get("/api/timeline")
@reads("period", incident_filter=True)
def timeline():
    """Incidents and fatalities per period, in all and per force, for the chart under the map.

    ``period``: ``week``, ``month`` or empty (weeks for up to two years of data, else months). The
    periods span the filter's dates whatever its ``window``; the window is returned to be marked,
    and the counts follow everything else of the filter. A force's series counts every incident
    that involves it (as in the force filter and the layer counts), so the forces' series add up
    to more than ``total`` when incidents involve several. Answers ``{"period", "periods": [ISO
    first days], "window": [first, last] or null, "total": {"incidents": [...], "fatalities":
    [...]}, "forces": [{"key", "label", "colour", "incidents": [...], "fatalities": [...]}]}`` with
    one value per period, gaps as 0.
    """
    flt = request_filter()
    period = request.args.get("period") or None
    if period is not None and period not in query.PERIODS:
        raise InvalidFilter("period", f"expected one of {', '.join(query.PERIODS)}, not {period[:20]!r}")

    def build():
        index = get_map_data().index(get_store())
        window = [day.isoformat() for day in flt.window] if flt.window else None
        groups, selected = index.groups_of(flt.without("window"))
        found = groups.date_range(selected)
        if found is None:
            return jsonify(period=period or "week", periods=[], window=window, total=None, forces=[])
        # The filter's window, but no period after today: none can hold an incident.
        first, last = flt.since or found[0], min(flt.until or found[1], max(found[1], dt.date.today()))
        chosen = period or ("week" if (last - first).days <= 731 else "month")
        periods = _period_starts(first, last, chosen)
        groups, selected = index.groups_of(flt)
        counted = groups.per_period(selected, chosen)

        def series(counts: dict[str, tuple[int, int]]) -> dict[str, list[int]]:
            return {
                "incidents": [counts.get(p, (0, 0))[0] for p in periods],
                "fatalities": [counts.get(p, (0, 0))[1] for p in periods],
            }

        forces = [
            {"key": key, "label": FORCES_BY_KEY[key].label, "colour": FORCES_BY_KEY[key].colour, **series(counts)}
            for key, counts in counted["forces"].items()
        ]
        return jsonify(period=chosen, periods=periods, window=window, total=series(counted["total"]), forces=forces)

    return _cached(_etag("timeline", flt, period), build, kept=True)


@bp.get("/api/layers/<name>")
def layer(name: str):
    """A boundary layer as GeoJSON for the map: ``adm0``..``adm2``, ``disputed``, ``kri``."""
    if name not in mapview.BOUNDARY_LAYERS:
        raise NotFound(f"no layer {name!r} (known: {', '.join(mapview.BOUNDARY_LAYERS)})")
    geodata_dir = get_config().geodata_dir
    etag = _digest("layer", name, mapview.layer_signature(name, geodata_dir))

    def build():
        return Response(mapview.layer_geojson(name, geodata_dir), mimetype="application/geo+json")

    return _cached(etag, build)


@bp.get("/api/basemap/<int:band>")
@bp.get("/api/basemap/<int:band>/<int:x>/<int:y>")
def basemap(band: int, x: int | None = None, y: int | None = None):
    """The offline base map of zoom band ``band``, whole or its tile ``x``/``y``
    (:func:`webmap.mapview.basemap_piece`); 404 naming what does not exist."""
    geodata_dir = get_config().geodata_dir
    tile = (x, y) if x is not None and y is not None else None
    try:
        mapview.check_basemap_piece(band, tile)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None
    etag = _digest("basemap", band, tile, mapview.layer_signature("basemap", geodata_dir))

    def build():
        return Response(mapview.basemap_piece(band, tile, geodata_dir), mimetype="application/json")

    return _cached(etag, build)


@bp.get("/api/basemap/own/<int:z>/<int:x>/<int:y>")
def own_tile(z: int, x: int, y: int):
    """Tile ``z/x/y`` of the user's own base map as stored (its compression as Content-Encoding);
    204 when the archive has no such tile, 404 when no ``WEBMAP_BASEMAP`` is set."""
    archive = get_basemap()
    if archive is None:
        raise NotFound("no base map of your own is set (WEBMAP_BASEMAP)")
    data = archive.tile(z, x, y)
    if data is None:
        return Response(status=204)
    response = Response(data, mimetype=archive.media_type)
    if archive.content_encoding:
        response.headers["Content-Encoding"] = archive.content_encoding
    # The file does not change while the server runs: the browser may keep a tile for a day.
    response.headers["Cache-Control"] = f"{'private' if get_config().private else 'public'}, max-age=86400"
    return response


# -- gazetteer ------------------------------------------------------------------------------------
@bp.get("/api/gazetteer")
@reads("q", "context", "limit", "district", "governorate", "disputed")
def gazetteer_lookup():
    """Resolve the place name ``q`` (optional ``context`` text, ``limit`` of candidates): the JSON of
    ``webmap geocode --json``, ``{"query", "context", "match", "candidates"}``; 400 naming ``q``
    when it is empty or longer than 200 characters. ``district`` and ``governorate`` (names or
    P-codes) are the areas the place is stated to lie in, as ``webmap geocode --district
    --governorate`` and the geocoding of a record read them (400 naming ``governorate`` when no
    governorate has that name; a district the boundary layers lack, such as Soran, is found by
    its seat). The
    incident form's search also passes ``disputed=1``: places in its governorate rank first, then
    those in the disputed territories."""
    from ..gazetteer import MAX_NAME_LENGTH, default_path, geocode, get_gazetteer
    from ..gazetteer.resolve import DEFAULT_CANDIDATES, MAX_CANDIDATES, MAX_CONTEXT_LENGTH

    name = request.args.get("q", "")
    district, governorate = request.args.get("district", "").strip(), request.args.get("governorate", "").strip()
    if not (name.strip() or district or governorate):
        raise InvalidFilter("q", "give a place name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidFilter("q", f"longer than {MAX_NAME_LENGTH} characters")
    context = request.args.get("context") or None
    if context and len(context) > MAX_CONTEXT_LENGTH:
        raise InvalidFilter("context", f"longer than {MAX_CONTEXT_LENGTH} characters")
    config = get_config()
    gazetteer = get_gazetteer(default_path(config))
    limit = _int_param("limit", DEFAULT_CANDIDATES, 1, MAX_CANDIDATES)
    prefer = _search_preference(governorate, request.args.get("disputed", ""))
    return jsonify(
        geocode(
            name,
            context,
            gazetteer=gazetteer,
            online=config.online_geocoder,
            limit=limit,
            prefer=prefer,
            district=district or None,
            governorate=governorate or None,
        )
    )


def _search_preference(governorate: str, disputed: str) -> list[set[str]]:
    """Groups of P-codes whose places the form's search puts first: the chosen governorate, then the
    districts of the disputed territories (``disputed=1``)."""
    prefer = []
    if governorate.strip():
        area = spatial.find_admin_area(governorate, "adm1", get_config().geodata_dir)
        if area is None:
            raise InvalidFilter("governorate", f"no governorate named {governorate[:100]!r}")
        prefer.append({area["pcode"]})
    if disputed not in ("", "0", "1"):
        raise InvalidFilter("disputed", "expected 1 or 0")
    if disputed == "1":
        prefer.append(set(spatial.load_layer("disputed", get_config().geodata_dir)["pcode"]))
    return prefer


# Longer place texts are no incident's location (records.FIELD_SPECS).
MAX_LOCATION_LENGTH = 500


@bp.get("/api/placement")
@reads("latitude", "longitude", "geo_precision", "location")
def placement():
    """The admin areas an incident at ``latitude``/``longitude`` would be stored with, by the one
    placement rule (:func:`webmap.spatial.place_points`), for the incident form's map: with
    ``geo_precision`` 3 only the area ``location`` names (a district or governorate) is kept; a blank
    precision reads as 1, every level under the point. Answers ``{"latitude", "longitude",
    "geo_precision", "governorate", "district", "sub_district"}`` (each ``{"pcode", "name",
    "display_name"}`` or null) and ``"disputed"`` (``inside``, ``partly``, ``outside`` or null); 400
    naming ``latitude``, ``longitude``, ``geo_precision`` or ``location`` when it is unusable or the
    point lies outside Iraq."""
    try:
        lat, lon = checked_point(request.args)
    except InvalidRecord as exc:
        raise InvalidFilter(exc.field, exc.problem) from None
    precision = request.args.get("geo_precision", "").strip() or "1"
    if precision not in {str(code) for code in GEO_PRECISION}:
        codes = "; ".join(f"{code} {meaning}" for code, meaning in GEO_PRECISION.items())
        raise InvalidFilter("geo_precision", f"expected 1, 2 or 3 ({codes}), not {precision[:20]!r}")
    location = request.args.get("location", "")
    if len(location) > MAX_LOCATION_LENGTH:
        raise InvalidFilter("location", f"longer than {MAX_LOCATION_LENGTH} characters")
    placed = spatial.place_points(
        np.array([lon]),
        np.array([lat]),
        np.array([int(precision)]),
        locations=[location or None],
        geodata_dir=get_config().geodata_dir,
    )

    def area(level: int) -> dict | None:
        pcode, name = placed[f"admin{level}_pcode"][0], placed[f"admin{level}"][0]
        if pcode is None:
            return None
        return {"pcode": pcode, "name": name, "display_name": spatial.display_name(pcode, name)}

    return jsonify(
        latitude=lat,
        longitude=lon,
        geo_precision=int(precision),
        governorate=area(1),
        district=area(2),
        sub_district=area(3),
        disputed=placed["disputed"][0],
    )


# -- from a report to incidents ----------------------------------------------------------------------
MAX_SAVE = 200


def _json_object(*members: str) -> dict:
    """The request's JSON object; :class:`InvalidRecord` naming a member other than ``members``."""
    data = _json_body()
    if not isinstance(data, dict):
        raise InvalidRecord("body", f"expected a JSON object with {', '.join(members)}")
    unknown = sorted(set(data) - set(members))
    if unknown:
        raise InvalidRecord(unknown[0], f"unknown member (known: {', '.join(members)})")
    return data


@bp.post("/api/extract")
@writers_or_public
def extract_report():
    """Draft incidents of the report in the body: ``{"language", "drafts": [records with "evidence"],
    "left_out": [sentences]}``; 400 naming ``text`` or ``date`` when they are missing or unusable.
    Who may ask, how many reports are read at once and for how long: :mod:`webmap.web.extraction`."""
    data = _json_object("text", "date", "source")
    text = data.get("text")
    if not isinstance(text, str):
        raise InvalidRecord("text", "is required: the report as a string")
    source = data.get("source")
    if source is not None and not isinstance(source, str):
        raise InvalidRecord("source", "must be a string")
    return jsonify(get_extractions().read(text, data.get("date"), source or None).to_dict())


@bp.post("/api/extract/save")
@require("import")
def save_extracted():
    """Store the reviewed incidents of ``{"incidents": [...]}``, each checked like ``POST /api/incidents``;
    one bad record refuses them all (400 naming its row and field). Saving a draft again with the same
    ``source`` and ``source_id`` replaces it (a draft becomes reviewed). Answers
    ``{"inserted", "updated", "unchanged", "ids", "map_url"}``: the ids of the saved incidents and the
    map of those alone."""
    items = _json_object("incidents").get("incidents")
    if not isinstance(items, list) or not items:
        raise InvalidRecord("incidents", "expected a non-empty list of incident records")
    if len(items) > MAX_SAVE:
        raise InvalidRecord("incidents", f"{len(items)} records; at most {MAX_SAVE} at a time")
    actor = current_actor()
    checked = []
    for row, item in enumerate(items, start=1):
        if not isinstance(item, dict):
            raise InvalidRecord("incidents", "not a JSON object of incident fields", row=row)
        if "status" not in item and not may(actor, "review"):
            item = {**item, "status": "draft"}
        try:
            checked.append(checked_incident(item, get_config().geodata_dir))
        except InvalidRecord as exc:
            raise exc.at_row(row) from None
    store = get_store()
    with store.transaction() as conn:
        summary = store.save_batch(conn, checked, by=actor, update=True)
        ids = store.ids_of(conn, [(i.source, i.source_id) for i in checked if i.source_id])
    return jsonify(
        inserted=summary.inserted,
        updated=summary.updated,
        unchanged=summary.unchanged,
        ids=ids,
        map_url=url_for("pages.index", ids=",".join(map(str, ids))) if ids else url_for("pages.index"),
    )
