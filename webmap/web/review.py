"""The review queue (``/review``): drafts oldest first, each with its evidence, who made it, and
the stored incidents that may report the same event (:func:`webmap.query.merge_candidates`: the
same day +-1, within 25 km, a shared force).

A reviewer approves a draft (never their own: the two-person rule, refused by the store too),
edits and approves it (its form, status reviewed), rejects it with a reason, or merges it into a
candidate, which keeps every source of both. Every button is a form with its CSRF token.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from .. import query
from ..errors import Conflict, Forbidden, InvalidRecord
from . import get_store
from .auth import current_actor, login_required

bp = Blueprint("review", __name__)


@bp.get("/review")
@login_required("review")
def queue():
    """The drafts waiting for review, oldest first, with their merge candidates."""
    store = get_store()
    drafts, total = query.review_queue(store)
    return render_template(
        "review.html",
        drafts=[(draft, query.merge_candidates(store, draft)) for draft in drafts],
        total=total,
        me=current_actor().name,
    )


def _done(message: str):
    flash(message)
    return redirect(url_for("review.queue"))


@bp.post("/review/<int:incident_id>")
@login_required("review")
def decide(incident_id: int):
    """The form's ``decision`` on the draft: ``approve``, ``reject`` (with ``reason``) or
    ``merge`` (into ``into``); a refusal is shown at the top of the queue, nothing written."""
    store, actor = get_store(), current_actor()
    decision = request.form.get("decision")
    reason = request.form.get("reason")
    try:
        if decision == "approve":
            store.approve(incident_id, by=actor, reason=reason)
            return _done(f"Draft #{incident_id} marked reviewed.")
        if decision == "reject":
            store.reject(incident_id, by=actor, reason=reason)
            return _done(f"Draft #{incident_id} rejected.")
        if decision == "merge":
            into = request.form.get("into", "").strip()
            if not into.isdigit():
                raise InvalidRecord("into", "choose the incident to merge the draft into")
            store.merge(incident_id, int(into), by=actor, reason=reason)
            return _done(f"Draft #{incident_id} merged into #{into}: it keeps the sources of both.")
        raise InvalidRecord("decision", "expected approve, reject or merge")
    except (InvalidRecord, Forbidden, Conflict) as exc:
        if isinstance(exc, Forbidden):
            store.log_auth(
                "refused", actor=actor.name, address=request.remote_addr, target=request.path, detail=str(exc)
            )
        return _done(f"Not done: {exc}")
