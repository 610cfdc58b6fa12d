"""HTML pages: the map, the analyst's incident form, the extraction page.

The map page (``/``) takes the map's filter as query parameters, so every view is a URL to share;
the page itself holds only the Folium map's frame (:func:`webmap.mapview.build_map`), the filter
form and empty panels: the incidents, the table and the chart are fetched from the API by
``static/js/map.js`` and ``static/js/panels.js``. The incident form (``/incidents/new``,
``/incidents/<id>/edit``) needs a login whose role may write (:mod:`webmap.web.auth`) and carries
a CSRF token; the edit page shows the incident's history as a readable diff, each earlier version
with a button to restore it.
The static files (``webmap/static``, with the vendored libraries) are served at ``/static``.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .. import mapview, query, spatial
from ..config import STATIC
from ..errors import InvalidFilter, InvalidRecord
from ..forces import FORCES
from ..intake import checked_incident
from ..records import DELETED, EVENT_TYPES, GEO_PRECISION, STATUSES, TIME_PRECISION, Incident
from ..roles import authorize, may
from . import get_basemap, get_config, get_store
from .auth import current_actor, current_actor_or_none, login_required, reason_refused
from .params import reads
from .points import get_map_data

bp = Blueprint("pages", __name__, static_folder=str(STATIC), static_url_path="/static")

# Fields the analyst types; admin areas and the disputed flag come from the point.
FORM_FIELDS = (
    "event_date",
    "time_precision",
    "event_type",
    "sub_event_type",
    "actor1",
    "assoc_actor_1",
    "force1",
    "actor2",
    "assoc_actor_2",
    "force2",
    "location",
    "latitude",
    "longitude",
    "geo_precision",
    "fatalities",
    "injured",
    "notes",
    "source",
    "source_url",
    "source_id",
    "status",
)


def _areas() -> dict:
    """The governorates (P-code, name shown) and districts (``value`` typed, ``label`` beside it,
    ``pcode``) of the filter form, by the names people use; a district's label gives its official
    COD-AB name when that differs, and its governorate."""
    geodata_dir = get_config().geodata_dir
    adm1 = spatial.admin_areas("adm1", geodata_dir)
    adm2 = spatial.admin_areas("adm2", geodata_dir)
    governorate_names = dict(zip(adm1["pcode"], adm1["display_name"], strict=True))
    repeated = set(adm2["display_name"][adm2["display_name"].duplicated()])

    def label(official: str, shown: str, parent: str | None) -> str:
        governorate = governorate_names.get(parent, "") if parent else ""
        return f"{official} (official), {governorate}" if official != shown else governorate

    return {
        "governorates": sorted(zip(adm1["pcode"], adm1["display_name"], strict=True), key=lambda a: a[1]),
        # A district name shared by two governorates is offered by its P-code.
        "districts": sorted(
            (
                {
                    "value": pcode if shown in repeated else shown,
                    "label": label(official, shown, parent),
                    "pcode": pcode,
                }
                for pcode, official, shown, parent in zip(
                    adm2["pcode"], adm2["name"], adm2["display_name"], adm2["parent_pcode"], strict=True
                )
            ),
            key=lambda d: d["value"],
        ),
    }


# The form's choices for the disputed territories, each a set of disputed values.
DISPUTED_CHOICES = (
    ("", "Inside and outside"),
    ("inside,partly", "Disputed only (wholly or partly inside)"),
    ("inside", "Wholly inside"),
    ("outside", "Outside only"),
)


def _form_values(flt: query.IncidentFilter, areas: dict) -> dict:
    district_names = {d["pcode"]: d["value"] for d in areas["districts"]}
    return {
        "governorates": set(flt.governorates),
        "district": ", ".join(district_names.get(p, p) for p in flt.districts),
        "forces": ",".join(flt.forces),
        "event_types": set(flt.event_types),
        "from": flt.since.isoformat() if flt.since else "",
        "to": flt.until.isoformat() if flt.until else "",
        "window": flt.to_params().get("window", [""])[0],
        "disputed": ",".join(flt.disputed),
        "drafts": flt.include_drafts,
        "ids": ",".join(map(str, flt.ids)),
        "actor": flt.actor or "",
    }


@bp.errorhandler(InvalidFilter)
def invalid_filter(exc: InvalidFilter):
    """A bad query parameter of a page: the error page, with the link to the view without it."""
    retry_url = _url_without(exc.parameter) if request.endpoint == "pages.index" else None
    return render_template(
        "error.html", status=400, message=str(exc), parameter=exc.parameter, retry_url=retry_url
    ), 400


@bp.get("/")
@reads(incident_filter=True)
def index():
    """The map of the filtered incidents, with the filter form, the chart and the table."""
    flt = query.IncidentFilter.from_params(request.args)
    if flt.include_drafts:
        authorize(current_actor_or_none(), "read_drafts")
    # The map loads the incidents of the filter without its ticks and window, and applies those
    # itself as the analyst changes them; every other part asks with the whole state.
    base = flt.without("forces", "window")
    store, map_data = get_store(), get_map_data()
    # A view of many incidents comes as tiles of clusters; a smaller one as every point, which the
    # browser clusters itself and filters by tick and window without asking again.
    tiled = map_data.tiled(store, base)
    if not tiled:
        map_data.prefetch(store, base)
    base_query = urlencode(base.to_params(), doseq=True)
    query_string = urlencode(flt.to_params(), doseq=True)
    areas = _areas()
    return render_template(
        "map.html",
        map=mapview.map_parts(base_query, tiled, own_basemap.info if (own_basemap := get_basemap()) else None),
        query=query_string,
        values=_form_values(flt, areas),
        areas=areas,
        disputed_choices=DISPUTED_CHOICES,
        event_types=list(EVENT_TYPES),
        all_ids_url=_url_without("ids") if flt.ids else None,
    )


def _url_without(parameter: str) -> str | None:
    """The map's URL with this request's filter minus ``parameter`` (and its aliases), so a mistyped
    value costs only itself; None when the query string does not hold it (nothing to take out)."""
    if not any(query.PARAMETER_ALIASES.get(key, key) == parameter for key in request.args):
        return None
    # Blank fields of a submitted form filter nothing: left out, the URL stays short.
    kept = [
        (key, value)
        for key, value in request.args.items(multi=True)
        if query.PARAMETER_ALIASES.get(key, key) != parameter and value.strip()
    ]
    return url_for("pages.index") + ("?" + urlencode(kept) if kept else "")


def _form_page(values: dict, error: InvalidRecord | None, incident_id: int | None = None):
    actor = current_actor()
    current = get_store().get(incident_id) if incident_id else None
    return render_template(
        "incident_form.html",
        values=values,
        error=error,
        incident_id=incident_id,
        current=current,
        history=_readable_history(incident_id) if incident_id else [],
        forces=FORCES,
        event_types=EVENT_TYPES,
        time_precision=TIME_PRECISION,
        geo_precision=GEO_PRECISION,
        # Someone who may not review keeps drafts; marking one's own draft reviewed the store refuses.
        statuses=STATUSES if may(actor, "review") else ("draft",),
        governorates=spatial.admin_areas("adm1", get_config().geodata_dir)["name"].tolist(),
        # The form's map draws the map page's offline base map (webmap.basemap of static/js/map.js).
        basemap=mapview.OfflineBasemap().options,
    ), (400 if error else 200)


def _map_url(incident) -> str:
    """The map of ``incident`` alone (the ``ids`` filter, as after saving from a report): fitted to
    it, ringed, its popup open (``static/js/map.js``)."""
    return url_for("pages.index", ids=str(incident.id), drafts="1" if incident.status == "draft" else None)


def _submitted() -> dict:
    return {name: request.form.get(name, "") for name in FORM_FIELDS}


def _readable_history(incident_id: int) -> list[dict]:
    """The incident's history for its page, newest first: each entry with its changes as
    ``(field, before, after)`` rows (the first version: every field it had)."""
    entries = get_store().history(incident_id)
    return [
        {**entry, "rows": [(name, before, after) for name, (before, after) in entry["changes"].items()]}
        for entry in reversed(entries)
    ]


def _checked(values: dict) -> Incident:
    """The form's incident (:func:`webmap.intake.checked_incident`). The precision is the analyst's
    to choose: the form never takes ACLED's default of 1 for a point placed by hand."""
    if not values["geo_precision"].strip():
        meanings = "; ".join(f"{code} {meaning}" for code, meaning in GEO_PRECISION.items())
        raise InvalidRecord("geo_precision", f"choose how precise the point is ({meanings})")
    return checked_incident(values, get_config().geodata_dir)


@bp.route("/incidents/new", methods=["GET", "POST"])
@login_required("create")
def new_incident():
    """The analyst's form for a new incident: the place found with the gazetteer search or set on the
    form's map (``static/js/incident-form.js``), the precision chosen by the analyst; an analyst's
    incident is a draft."""
    status = "reviewed" if may(current_actor(), "review") else "draft"
    if request.method == "GET":
        return _form_page({"status": status, "time_precision": "1"}, None)
    values = _submitted()
    try:
        stored = get_store().add(_checked(values), by=current_actor())
    except InvalidRecord as exc:
        return _form_page(values, exc)
    flash(f"Incident #{stored.id} saved{' as a draft' if stored.status == 'draft' else ''}.")
    return redirect(_map_url(stored))


@bp.route("/incidents/<int:incident_id>/edit", methods=["GET", "POST"])
@reads("approve")
@login_required("edit")
def edit_incident(incident_id: int):
    """The form for an existing incident, with its history; saving replaces it (a reviewed one
    needs a reason). ``approve=1`` (the review queue's "Edit and approve"): the form of a draft
    comes with the status reviewed chosen."""
    store = get_store()
    current = store.get(incident_id)
    if current.status != DELETED:  # a deleted one's page offers its restore (checked by its own route)
        authorize(current_actor(), "edit", current)  # an analyst: only their own drafts
    if request.method == "GET":
        values = {name: "" if getattr(current, name) is None else str(getattr(current, name)) for name in FORM_FIELDS}
        if request.args.get("approve") == "1" and current.status == "draft" and may(current_actor(), "review"):
            values["status"] = "reviewed"
        return _form_page(values, None, incident_id)
    values = _submitted()
    try:
        stored = store.replace(incident_id, _checked(values), by=current_actor(), reason=request.form.get("reason"))
    except InvalidRecord as exc:
        if exc.field == "reason":
            reason_refused(exc)
        return _form_page({**values, "reason": request.form.get("reason", "")}, exc, incident_id)
    flash(f"Incident #{stored.id} saved (version {stored.version}).")
    return redirect(_map_url(stored))


@bp.get("/incidents/<int:incident_id>/history")
@login_required("read_history")
def incident_history(incident_id: int):
    """The incident's history as a readable diff, newest first, for anyone who may read it (a
    draft's or a deleted incident's only for those who may see drafts)."""
    current = get_store().get(incident_id)
    if current.status != "reviewed":
        authorize(current_actor(), "read_drafts")
    return render_template(
        "incident_history.html", current=current, incident_id=incident_id, history=_readable_history(incident_id)
    )


@bp.post("/incidents/<int:incident_id>/delete")
@login_required("delete")
def delete_incident(incident_id: int):
    """Delete an incident from its form, for the form's reason (a reviewer can restore it)."""
    try:
        get_store().delete(incident_id, by=current_actor(), reason=request.form.get("reason"))
    except InvalidRecord as exc:
        reason_refused(exc)
        current = get_store().get(incident_id)
        values = {name: "" if getattr(current, name) is None else str(getattr(current, name)) for name in FORM_FIELDS}
        return _form_page(values, exc, incident_id)
    flash(f"Incident #{incident_id} deleted: a reviewer can restore it from its page.")
    return redirect(url_for("pages.index"))


@bp.post("/incidents/<int:incident_id>/revert")
@login_required("edit")
def revert_incident(incident_id: int):
    """Restore the form's earlier ``version`` of the incident (a new version), or bring a deleted
    incident back (``version`` empty)."""
    store, actor = get_store(), current_actor()
    reason = request.form.get("reason")
    raw = request.form.get("version", "").strip()
    current = store.get(incident_id)
    try:
        if current.status == DELETED and not raw:
            store.restore(incident_id, by=actor, reason=reason)
            flash(f"Incident #{incident_id} restored.")
        elif not raw.isdigit():
            raise InvalidRecord("version", f"{raw[:20]!r} is not a version number")
        else:
            stored = store.revert(incident_id, int(raw), by=actor, reason=reason)
            flash(f"Incident #{incident_id}: version {raw} restored as version {stored.version}.")
    except InvalidRecord as exc:
        flash(f"Not restored: {exc}")
    return redirect(url_for("pages.edit_incident", incident_id=incident_id))


@bp.get("/extract")
def extract_page():
    """Paste a report and its date, review the proposed incidents on a small map and in a table,
    save them as reviewed (``static/js/extract.js`` calls ``POST /api/extract`` and ``POST
    /api/extract/save``, which need a login; with ``WEBMAP_PUBLIC_EXTRACT=1`` anyone may propose)."""
    import datetime as dt

    from ..extract import MAX_TEXT_CHARS

    return render_template(
        "extract.html",
        event_types=EVENT_TYPES,
        forces=FORCES,
        time_precision=TIME_PRECISION,
        geo_precision=GEO_PRECISION,
        today=dt.date.today().isoformat(),
        max_chars=MAX_TEXT_CHARS,
        public_extract=get_config().public_extract,
    )
