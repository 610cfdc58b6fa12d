"""Who may read and who may write.

- Writes need the ``WEBMAP_TOKEN``: scripts send ``Authorization: Bearer <token>``; people log in
  once at ``/login`` with the token and the session cookie carries the login (it ends when the
  token changes). Without ``WEBMAP_TOKEN`` nobody can write.
- Reads are public unless ``WEBMAP_PRIVATE=1``: then every page, API call and export needs the
  token or a login too (``/healthz`` and the static files excepted).
- Every HTML form carries a CSRF token (Flask-WTF's :class:`CSRFProtect`). The JSON API is exempt
  from the form check because it needs the bearer token, which a browser never sends by itself;
  a logged-in page that calls the API sends its CSRF token in the ``X-CSRFToken`` header instead.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from urllib.parse import urlsplit

from flask import Blueprint, Flask, flash, jsonify, redirect, render_template, request, session, url_for
from flask_wtf.csrf import CSRFError, CSRFProtect

from . import get_config
from .params import reads

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
SESSION_KEY = "webmap_login"
# Endpoints anyone may call even when WEBMAP_PRIVATE=1.
OPEN_ENDPOINTS = {"api.healthz", "auth.login", "pages.static", "static"}


def init_app(app: Flask) -> None:
    """Install login, CSRF protection and the private-reads guard on ``app`` (after its blueprints)."""
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf.init_app(app)
    csrf.exempt(app.blueprints["api"])
    app.register_blueprint(bp)
    app.before_request(_guard_private_reads)
    app.context_processor(lambda: {"logged_in": is_logged_in(), "writes_enabled": bool(get_config().token)})

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError):
        if _wants_json():
            return jsonify(error=f"CSRF check failed: {exc.description}", parameter="csrf_token"), 400
        return render_template(
            "error.html",
            status=400,
            message=f"The form has expired or was not sent "
            f"from this site ({exc.description}). Reload the page and try again.",
        ), 400


def _fingerprint(token: str) -> str:
    # The session holds a digest, never the token, and stops matching when the token changes.
    return hashlib.sha256(f"webmap-login:{token}".encode()).hexdigest()


def _matches(given: str | None) -> bool:
    token = get_config().token
    return bool(token and given and hmac.compare_digest(given.encode(), token.encode()))


def bearer_ok() -> bool:
    """True when the request carries ``Authorization: Bearer <WEBMAP_TOKEN>``."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    return scheme.lower() == "bearer" and _matches(value.strip())


def is_logged_in() -> bool:
    """True when this browser session logged in with the current token."""
    token = get_config().token
    stored = session.get(SESSION_KEY)
    return bool(token and stored and hmac.compare_digest(stored, _fingerprint(token)))


def _wants_json() -> bool:
    return request.blueprint in ("api", "exports") or request.accept_mimetypes.best == "application/json"


def _unauthorised(message: str):
    response = jsonify(error=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="webmap"'
    return response


def _write_refusal() -> str:
    if not get_config().token:
        return "writes are disabled: the server has no WEBMAP_TOKEN set"
    if request.headers.get("Authorization"):
        return "wrong token: send Authorization: Bearer <WEBMAP_TOKEN>"
    return "writes need a token: send Authorization: Bearer <WEBMAP_TOKEN>"


def require_token(view):
    """API views that write: the bearer token, or a login plus the ``X-CSRFToken`` header; else 401."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not bearer_ok():
            if not is_logged_in():
                return _unauthorised(_write_refusal())
            csrf.protect()
        return view(*args, **kwargs)

    return wrapper


def login_required(view):
    """Page views that write: send a browser that has not logged in to ``/login`` and back."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not is_logged_in():
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def _guard_private_reads():
    if not get_config().private or request.endpoint in OPEN_ENDPOINTS:
        return None
    if bearer_ok() or is_logged_in():
        return None
    if _wants_json():
        return _unauthorised("this webmap is private (WEBMAP_PRIVATE=1): send Authorization: Bearer <WEBMAP_TOKEN>")
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def _safe_next(target: str | None) -> str:
    # Only a path on this site: never an absolute URL or a scheme-relative "//host".
    if not target:
        return url_for("pages.index")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("pages.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
@reads("next")
def login():
    """The login form: the analyst enters ``WEBMAP_TOKEN`` once per browser session."""
    error = None
    status = 200
    if request.method == "POST":
        if _matches(request.form.get("token", "").strip()):
            session.clear()
            session[SESSION_KEY] = _fingerprint(get_config().token)
            flash("Logged in: you can add and edit incidents.")
            return redirect(_safe_next(request.form.get("next")))
        error = _write_refusal() if not get_config().token else "wrong token"
        status = 401
    return render_template(
        "login.html", error=error, next=_safe_next(request.args.get("next") or request.form.get("next"))
    ), status


@bp.post("/logout")
def logout():
    """End the login of this browser session."""
    session.pop(SESSION_KEY, None)
    flash("Logged out.")
    return redirect(url_for("pages.index"))
