"""The query parameters each view reads, declared beside it (:func:`reads`) and checked before it runs.

A parameter the view does not read, or one it reads once given twice, is refused with a 400 naming
it (:class:`~webmap.errors.InvalidFilter`): a misspelt ``distict=`` or a second ``limit=`` would
otherwise be ignored, and the answer would not be the one asked for. A view that declares nothing
takes no parameters. The map's filter parameters (``incident_filter=True``) are the filter's own to
check (:meth:`webmap.query.IncidentFilter.from_params`: several values where the filter takes several,
one otherwise).
"""

from __future__ import annotations

from flask import Flask, current_app, request

from ..errors import InvalidFilter
from ..query import PARAMETER_ALIASES, PARAMETERS

_FILTER = (*PARAMETERS, *PARAMETER_ALIASES)


def reads(*names: str, incident_filter: bool = False):
    """Declare the query parameters a view reads: ``names``, each at most once, and with
    ``incident_filter`` the map's filter parameters. Put it under the route decorator."""

    def mark(view):
        view.query_parameters = (names, incident_filter)
        return view

    return mark


def init_app(app: Flask) -> None:
    """Check every request's query parameters against its view's declaration."""
    app.before_request(_check_query)


def _check_query() -> None:
    if request.routing_exception is not None:  # no such page or method: that is the answer, 404 or 405
        return
    view = current_app.view_functions.get(request.endpoint or "")
    names, incident_filter = getattr(view, "query_parameters", ((), False))
    known = (*names, *(_FILTER if incident_filter else ()))
    for name in request.args:
        if name not in known:
            takes = f"known: {', '.join(known)}" if known else f"{request.path} takes none"
            raise InvalidFilter(name[:40], f"unknown parameter ({takes})")
        given = len(request.args.getlist(name))
        if name in names and given > 1:
            raise InvalidFilter(name, f"give it once, not {given} times")
