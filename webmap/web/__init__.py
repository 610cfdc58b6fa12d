"""The web layer: the Flask app, its blueprints, and the shared request helpers.

Blueprints: :mod:`.pages` (HTML pages), :mod:`.api` (JSON API), :mod:`.exports` (file downloads).
Every view reads the store through :func:`get_store` and the filter through
:meth:`webmap.query.IncidentFilter.from_params`; errors become JSON bodies here, once.
"""

from __future__ import annotations

import dataclasses
import threading
from typing import Any

from flask import Flask, current_app, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

from .. import mapview
from ..config import TEMPLATES, Config, check_installation
from ..errors import (
    ConfigError,
    Conflict,
    DuplicateRecord,
    InvalidFilter,
    InvalidRecord,
    NotFound,
    StoreBusy,
    WebmapError,
)
from ..io.tiles import TileArchive, open_archive
from ..query import IncidentFilter
from ..store import IncidentStore

EXTENSION = "webmap"


def _config_from(config: Any) -> Config:
    if isinstance(config, Config):
        return config
    cfg = Config.from_env()
    for key, value in (config or {}).items():
        if not any(f.name == key for f in dataclasses.fields(Config)):
            raise ConfigError(key, "not a webmap setting")
        setattr(cfg, key, value)
    return cfg


def build_app(config: Any = None, *, open_store: bool = False) -> Flask:
    """Build the Flask app for ``config`` (see :func:`webmap.create_app`); :class:`IncompleteInstall`
    when the installed package lacks a template or data file it shipped."""
    check_installation()
    cfg = _config_from(config)
    # The user's own base map is checked now: a server with a bad WEBMAP_BASEMAP does not start.
    basemap = open_archive(cfg.basemap_path) if cfg.basemap_path else None
    app = Flask("webmap", template_folder=str(TEMPLATES), static_folder=None)
    app.config["SECRET_KEY"] = cfg.secret_key
    app.config["JSON_SORT_KEYS"] = False
    # The login cookie: never read by scripts, never sent by another site's forms or frames, and
    # only over HTTPS behind a TLS proxy.
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config["SESSION_COOKIE_SECURE"] = cfg.behind_tls
    if cfg.behind_tls:
        # The proxy's address for the client and its scheme (one hop: the proxy in front of us).
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = {"config": cfg, "store": None, "basemap": basemap}

    from . import admin, api, auth, exports, extraction, headers, limits, pages, params, points, review

    app.register_blueprint(pages.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(exports.bp)
    app.register_blueprint(review.bp)
    app.register_blueprint(admin.bp)
    auth.init_app(app)
    limits.init_app(app)
    params.init_app(app)
    extraction.init_app(app)
    headers.init_app(app)
    _register_errors(app)
    _compress(app)
    points.init_app(app)
    if open_store:
        with app.app_context():
            get_store()
        app.extensions[EXTENSION]["points"].poke()  # the default view's points, before the first visitor
        # The base map's first band is drawn with the first picture: cut it now, off the request path.
        threading.Thread(target=mapview.basemap_piece, args=(0, None, cfg.geodata_dir), daemon=True).start()
    return app


def _compress(app: Flask) -> None:
    # gzip only: every browser and HTTP client reads it; streamed exports are compressed as they go.
    from flask_compress import Compress

    app.config.update(
        COMPRESS_ALGORITHM=["gzip"],
        COMPRESS_ALGORITHM_STREAMING=["gzip"],
        # Static files are streamed; let a reload of them still be a 304 (their ETag gets ":gzip").
        COMPRESS_STREAMING_ENDPOINT_CONDITIONAL=["pages.static"],
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "text/csv",
            "text/plain",
            "text/javascript",
            "application/javascript",
            "application/json",
            "application/geo+json",
        ],
    )
    Compress(app)


def get_config() -> Config:
    """The running app's :class:`Config`."""
    return current_app.extensions[EXTENSION]["config"]


def get_basemap() -> TileArchive | None:
    """The user's own base map (``WEBMAP_BASEMAP``), opened and checked, or None."""
    return current_app.extensions[EXTENSION]["basemap"]


# A web writer waits this long for the write lock (an import's merge, another edit), and at most
# this many of the server's threads write or wait at once: the others answer 503 after a quarter
# of a second (store.SLOT_WAIT), so waiting writers never hold the threads the readers need
# (webmap serve runs 8).
WRITE_WAIT = 5.0
WAITING_WRITERS = 2


def get_store() -> IncidentStore:
    """The running app's incident store, opened (and its schema created) on first use."""
    state = current_app.extensions[EXTENSION]
    if state["store"] is None:
        from .auth import end_logins_of_other_tokens

        store = IncidentStore(state["config"].database_url, write_wait=WRITE_WAIT, waiting_writers=WAITING_WRITERS)
        end_logins_of_other_tokens(store, state["config"].token)
        state["store"] = store
    return state["store"]


def request_filter() -> IncidentFilter:
    """The filter of the request's query parameters (a view that reads it declares so with
    :func:`webmap.web.params.reads`, which refuses every parameter the view does not read).
    ``drafts=1`` is refused (:class:`~webmap.errors.Forbidden`) to someone who may not see drafts."""
    from ..roles import authorize
    from .auth import current_actor_or_none

    flt = IncidentFilter.from_params(request.args)
    if flt.include_drafts:
        authorize(current_actor_or_none(), "read_drafts")
    return flt


def _register_errors(app: Flask) -> None:
    @app.errorhandler(InvalidFilter)
    def invalid_filter(exc: InvalidFilter):
        return jsonify(error=str(exc), parameter=exc.parameter), 400

    @app.errorhandler(InvalidRecord)
    def invalid_record(exc: InvalidRecord):
        if exc.field == "reason":  # a write refused for want of a reason: who tried it goes to the auth log
            from .auth import reason_refused

            reason_refused(exc)
        return jsonify(error=str(exc), field=exc.field, **exc.details), 409 if isinstance(exc, DuplicateRecord) else 400

    @app.errorhandler(Conflict)
    def conflict(exc: Conflict):
        if request.path.startswith(("/api/", "/export.")):
            return jsonify(error=str(exc)), 409
        return render_template("error.html", status=409, message=str(exc)), 409

    @app.errorhandler(NotFound)
    def not_found(exc: NotFound):
        return jsonify(error=str(exc)), 404

    @app.errorhandler(StoreBusy)
    def store_busy(exc: StoreBusy):
        if request.path.startswith(("/api/", "/export.")):
            response = jsonify(error=str(exc))
        else:
            response = make_response(render_template("error.html", status=503, message=str(exc)))
        response.status_code = 503
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(WebmapError)
    def webmap_error(exc: WebmapError):
        return jsonify(error=str(exc)), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        # Scripts talking to the API get JSON for every error, including unknown routes and methods.
        if exc.response is None and request.path.startswith(("/api/", "/export.")):
            response = jsonify(error=f"{exc.code} {exc.name}: {exc.description}")
            response.status_code = exc.code or 500
            headers = exc.get_response().headers
            for name in ("Allow", "WWW-Authenticate", "Retry-After"):
                if headers.get(name):
                    response.headers[name] = headers[name]
            return response
        return exc
