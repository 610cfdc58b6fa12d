"""Who may read and who may write.

- Writes need the ``WEBMAP_TOKEN``: scripts send ``Authorization: Bearer <token>``; people log in
  once at ``/login`` with the token. Without ``WEBMAP_TOKEN`` nobody can write.
- A login is a session the store keeps (:data:`webmap.store.login_sessions`): the signed cookie
  holds only a random session id, the database its digest, the token's fingerprint and its end
  (:data:`LOGIN_HOURS` after the login). Logging out deletes it, a new token ends every login made
  with the old one, and a copy of the cookie is worth nothing after either, in every server
  process on the database. The cookie is ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` when
  ``WEBMAP_BEHIND_TLS=1``.
- Wrong tokens (at ``/login`` or as a bearer token) are counted per address and for the account:
  after :data:`ADDRESS_FAILURES` from one address, or :data:`ACCOUNT_FAILURES` from anywhere, within
  :data:`FAILURE_WINDOW`, every try is refused with 429 and ``Retry-After`` until the window ends,
  the right token too (so guessing learns nothing).
- Reads are public unless ``WEBMAP_PRIVATE=1``: then every page, API call and export needs the
  token or a login too (``/healthz`` and the static files excepted).
- Every HTML form carries a CSRF token (Flask-WTF's :class:`CSRFProtect`). The JSON API is exempt
  from the form check because it needs the bearer token, which a browser never sends by itself;
  a logged-in page that calls the API sends its CSRF token in the ``X-CSRFToken`` header instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect

from ..errors import TooManyAttempts
from ..store import IncidentStore
from . import get_config, get_store
from .params import reads

bp = Blueprint("auth", __name__)
csrf = CSRFProtect()
SESSION_KEY = "webmap_login"
# Endpoints anyone may call even when WEBMAP_PRIVATE=1.
OPEN_ENDPOINTS = {"api.healthz", "auth.login", "pages.static", "static"}
LOGIN_HOURS = 12
FAILURE_WINDOW = dt.timedelta(minutes=15)
ADDRESS_FAILURES = 5
ACCOUNT_FAILURES = 30
ACCOUNT = "account"


def init_app(app: Flask) -> None:
    """Install login, CSRF protection and the private-reads guard on ``app`` (after its blueprints)."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf.init_app(app)
    csrf.exempt(app.blueprints["api"])
    app.register_blueprint(bp)
    app.before_request(_guard_private_reads)
    app.context_processor(
        lambda: {
            "logged_in": is_logged_in(),
            "writes_enabled": bool(get_config().token),
            "may_write": may_write(),
            "write_refusal": None if may_write() else why_not_write(),
        }
    )

    @app.errorhandler(TooManyAttempts)
    def locked_out(exc: TooManyAttempts):
        if _wants_json():
            response = jsonify(error=str(exc))
        elif request.endpoint == "auth.login":
            response = make_response(_login_page(str(exc)))
        else:
            response = make_response(render_template("error.html", status=429, message=str(exc)))
        response.status_code = 429
        response.headers["Retry-After"] = str(exc.retry_after)
        return response

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
    # The database holds a digest, never the token, and stops matching when the token changes.
    return hashlib.sha256(f"webmap-login:{token}".encode()).hexdigest()


def end_logins_of_other_tokens(store: IncidentStore, token: str | None) -> None:
    """Forget the logins made with any token but ``token`` (the server's, at start): a changed token
    ends them for good, even if it is changed back later."""
    store.end_logins_except(_fingerprint(token) if token else None)


def _session_digest(session_id: str) -> str:
    # The database holds a digest of the cookie's id: reading the table gives no usable cookie.
    return hashlib.sha256(f"webmap-session:{session_id}".encode()).hexdigest()


def _matches(given: str | None) -> bool:
    token = get_config().token
    return bool(token and given and hmac.compare_digest(given.encode(), token.encode()))


def _failure_keys() -> list[str]:
    return [f"address:{request.remote_addr or 'unknown'}", ACCOUNT]


def _refuse_while_locked_out() -> None:
    """:class:`TooManyAttempts` when this address, or the account, has had too many wrong tokens."""
    limits = {ACCOUNT: ACCOUNT_FAILURES}
    now = _now()
    for key, failures, since in get_store().login_failures(_failure_keys(), now - FAILURE_WINDOW):
        if failures >= limits.get(key, ADDRESS_FAILURES):
            wait = max(1, int((since + FAILURE_WINDOW - now).total_seconds()) + 1)
            who = "for this account" if key == ACCOUNT else "from your address"
            raise TooManyAttempts(
                f"too many wrong tokens {who}: {failures} in {int(FAILURE_WINDOW.total_seconds() // 60)} "
                f"minutes; try again in {wait} s",
                retry_after=wait,
            )


def _check_token(given: str | None) -> bool:
    """Whether ``given`` is the token, counting a wrong one against this address and the account;
    :class:`TooManyAttempts` when either is locked out (before ``given`` is even compared)."""
    _refuse_while_locked_out()
    if _matches(given):
        return True
    if get_config().token:
        get_store().count_login_failure(_failure_keys(), _now(), _now() - FAILURE_WINDOW)
    return False


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def bearer_ok() -> bool:
    """True when the request carries ``Authorization: Bearer <WEBMAP_TOKEN>``; a wrong bearer token
    counts as a failed login (:class:`TooManyAttempts` once locked out)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return False
    if "bearer_ok" not in g:
        g.bearer_ok = _check_token(value.strip())
    return g.bearer_ok


def is_logged_in() -> bool:
    """True when this browser session logged in with the current token and has not logged out."""
    if "logged_in" not in g:
        token = get_config().token
        session_id = session.get(SESSION_KEY)
        g.logged_in = bool(
            token
            and isinstance(session_id, str)
            and get_store().login_is_live(_session_digest(session_id), _fingerprint(token), _now())
        )
    return g.logged_in


def may_write() -> bool:
    """Whether this request's user may add, change and delete incidents (the token as a bearer, or a
    login with it). The one test of the right to write: the pages' links, :func:`require_token` and
    :func:`login_required` all ask it."""
    return bearer_ok() or is_logged_in()


def why_not_write() -> str:
    """Why this request's user may not write, in words for a disabled link or button."""
    if not get_config().token:
        return "adding incidents is switched off on this server (it has no WEBMAP_TOKEN)"
    return "log in to add incidents from a report"


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
        if not may_write():
            return _unauthorised(_write_refusal())
        if not bearer_ok():  # a browser's login: its page sends the CSRF token
            csrf.protect()
        return view(*args, **kwargs)

    return wrapper


def login_required(view):
    """Page views that write: send a browser that has not logged in to ``/login`` and back."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not may_write():
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
        given = request.form.get("token", "").strip()
        if _check_token(given):
            _start_session(given)
            flash("Logged in: you can add and edit incidents.")
            return redirect(_safe_next(request.form.get("next")))
        error = _write_refusal() if not get_config().token else "wrong token"
        status = 401
    return _login_page(error), status


def _login_page(error: str | None) -> str:
    return render_template(
        "login.html", error=error, next=_safe_next(request.args.get("next") or request.form.get("next"))
    )


def _start_session(token: str) -> None:
    """A new login session with ``token`` for this browser (a new id: one a visitor planted before is worth nothing)."""
    session.clear()
    session_id = secrets.token_urlsafe(32)
    expires = _now() + dt.timedelta(hours=LOGIN_HOURS)
    get_store().start_login(_session_digest(session_id), _fingerprint(token), expires, _now())
    session[SESSION_KEY] = session_id
    g.pop("logged_in", None)


@bp.post("/logout")
def logout():
    """End the login of this browser session, on the server: a copy of its cookie no longer logs in."""
    session_id = session.get(SESSION_KEY)
    if isinstance(session_id, str):
        get_store().end_login(_session_digest(session_id))
    session.clear()
    g.pop("logged_in", None)
    flash("Logged out.")
    return redirect(url_for("pages.index"))
