"""Who is asking, and what they may do.

- Writes need someone known: an account (its name and password at ``/login``, or a personal API
  token ``wm_...`` as ``Authorization: Bearer <token>``), or the bootstrap admin
  (``WEBMAP_TOKEN``, at ``/login`` or as a bearer token: for a single-user install, and to add the
  first accounts). What each may do is :mod:`webmap.roles`'s one table: :func:`require` checks the
  action before the view runs, and the store checks it again, with the rules that depend on the
  incident (the two-person rule, an analyst's own drafts), for web, API and CLI alike.
- A login is a session the store keeps (:data:`webmap.store.login_sessions`): the signed cookie
  holds only a random session id, the database its digest, the account (or the bootstrap token's
  fingerprint) and its end (:data:`LOGIN_HOURS` after the login). Logging out deletes it ("log out
  everywhere": every session of the account), a new ``WEBMAP_TOKEN`` ends every bootstrap login
  made with the old one, disabling an account or resetting its password ends its sessions, and a
  copy of the cookie is worth nothing after either, in every server process on the database. The
  cookie is ``HttpOnly`` and ``SameSite=Lax``, and ``Secure`` when ``WEBMAP_BEHIND_TLS=1``.
- Wrong passwords and tokens are counted per address and per account: after
  :data:`ADDRESS_FAILURES` from one address, or :data:`ACCOUNT_FAILURES` for one account from
  anywhere, within :data:`FAILURE_WINDOW`, every try is refused with 429 and ``Retry-After`` until
  the window ends, the right password too (so guessing learns nothing). Logins, logouts, refusals
  and lockouts go to the auth log (:meth:`webmap.store.IncidentStore.log_auth`), never a password.
- Reads of reviewed incidents are public unless ``WEBMAP_PRIVATE=1``: then every page, API call and
  export needs an account or the token too (``/healthz``, ``/login`` and the static files
  excepted). Drafts are shown only to those who may see them (analysts and up).
- Every HTML form carries a CSRF token (Flask-WTF's :class:`CSRFProtect`). The JSON API is exempt
  from the form check when it is sent a bearer token, which a browser never sends by itself; a
  logged-in page that calls the API sends its CSRF token in the ``X-CSRFToken`` header instead.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    current_app,
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

from ..accounts import token_id_of, token_matches, verify_password
from ..errors import Forbidden, InvalidRecord, NotAuthenticated, StoreBusy, TooManyAttempts
from ..roles import BOOTSTRAP, Actor, authorize, may, roles_for
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
# The failure key of the bootstrap admin (WEBMAP_TOKEN); an account's is "account:<name>".
ACCOUNT = "account"
# What the sessions of accounts keep in the column of the bootstrap token's fingerprint.
_ACCOUNT_SESSION = "account"


def init_app(app: Flask) -> None:
    """Install login, CSRF protection, the private-reads guard and the refusals' pages on ``app``
    (after its blueprints)."""
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session
    csrf.init_app(app)
    csrf.exempt(app.blueprints["api"])
    app.register_blueprint(bp)
    app.before_request(_guard_private_reads)
    app.context_processor(_template_values)

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

    @app.errorhandler(NotAuthenticated)
    def not_authenticated(exc: NotAuthenticated):
        return _unauthorised(str(exc))

    @app.errorhandler(Forbidden)
    def forbidden(exc: Forbidden):
        actor = g.get("actor")
        _log("refused", actor.name if actor else None, target=request.path, detail=str(exc))
        if _wants_json():
            return jsonify(error=str(exc), action=exc.action), 403
        return render_template("error.html", status=403, message=str(exc)), 403

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


def _template_values() -> dict[str, Any]:
    actor = current_actor_or_none()
    return {
        "actor": actor,
        "logged_in": actor is not None,
        "may": lambda action: may(actor, action),
        "writes_enabled": writes_enabled(),
        "may_write": may(actor, "create"),
        "write_refusal": None if may(actor, "create") else why_not_write(actor),
    }


def writes_enabled() -> bool:
    """Whether anyone can log in to write: the server has a ``WEBMAP_TOKEN`` or the database accounts."""
    if "writes_enabled" not in g:
        g.writes_enabled = bool(get_config().token) or get_store().has_accounts()
    return g.writes_enabled


def _fingerprint(token: str) -> str:
    # The database holds a digest, never the token, and stops matching when the token changes.
    return hashlib.sha256(f"webmap-login:{token}".encode()).hexdigest()


def end_logins_of_other_tokens(store: IncidentStore, token: str | None) -> None:
    """Forget the bootstrap logins made with any token but ``token`` (the server's, at start): a
    changed token ends them for good, even if it is changed back later."""
    store.end_logins_except(_fingerprint(token) if token else None)


def _session_digest(session_id: str) -> str:
    # The database holds a digest of the cookie's id: reading the table gives no usable cookie.
    return hashlib.sha256(f"webmap-session:{session_id}".encode()).hexdigest()


def _matches(given: str | None) -> bool:
    token = get_config().token
    return bool(token and given and hmac.compare_digest(given.encode(), token.encode()))


def _address() -> str:
    return request.remote_addr or "unknown"


def _failure_keys(account: str | None) -> list[str]:
    return [f"address:{_address()}", f"account:{account}" if account else ACCOUNT]


def _refuse_while_locked_out(keys: list[str]) -> None:
    """:class:`TooManyAttempts` when this address, or the account, has had too many failures."""
    now = _now()
    for key, failures, since in get_store().login_failures(keys, now - FAILURE_WINDOW):
        limit = ADDRESS_FAILURES if key.startswith("address:") else ACCOUNT_FAILURES
        if failures >= limit:
            wait = max(1, int((since + FAILURE_WINDOW - now).total_seconds()) + 1)
            who = "from your address" if key.startswith("address:") else "for this account"
            _log("locked_out", None, target=key, detail=f"{failures} failures")
            raise TooManyAttempts(
                f"too many wrong passwords or tokens {who}: {failures} in "
                f"{int(FAILURE_WINDOW.total_seconds() // 60)} minutes; try again in {wait} s",
                retry_after=wait,
            )


def _count_failure(keys: list[str], event: str, actor: str | None, detail: str) -> None:
    get_store().count_login_failure(keys, _now(), _now() - FAILURE_WINDOW)
    _log(event, actor, detail=detail)


def _log(event: str, actor: str | None, *, target: str | None = None, detail: str | None = None) -> None:
    get_store().log_auth(event, actor=actor, address=_address(), target=target, detail=detail)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def _bearer() -> str | None:
    """The request's bearer token (stripped), or None when it sends none."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def _token_actor(token: str) -> Actor | None:
    """Who ``token`` (a bearer token) is: the bootstrap admin for ``WEBMAP_TOKEN``, an account for
    its live personal token; None for a wrong one (counted as a failure). Raises
    :class:`NotAuthenticated` for a revoked or expired token or a disabled account, and
    :class:`TooManyAttempts` when locked out (before the token is even compared)."""
    token_id = token_id_of(token)
    record = get_store().token_record(token_id) if token_id else None
    owner = record["name"] if record is not None else None
    keys = _failure_keys(owner)
    _refuse_while_locked_out(keys)
    if record is not None and token_matches(token, record["digest"]):
        problem = None
        if record["revoked_at"] is not None:
            problem = f"token {token_id} was revoked"
        elif record["expires_at"] is not None and record["expires_at"] <= _now():
            problem = f"token {token_id} expired on {record['expires_at']:%Y-%m-%d %H:%M} UTC"
        elif record["disabled"]:
            problem = f"the account {owner} is disabled"
        if problem:
            _log("token_refused", owner, target=token_id, detail=problem)
            raise NotAuthenticated(f"{problem}: ask an admin for a new token")
        get_store().note_token_use(record["token_id"], _now(), record["last_used_at"])
        return Actor(record["name"], record["role"])
    if _matches(token):
        return BOOTSTRAP
    if get_config().token or record is not None:
        _count_failure(keys, "bad_token", owner, "wrong bearer token")
    return None


def _session_actor() -> Actor | None:
    """Who this browser session logged in as, while the session lives; None otherwise."""
    session_id = session.get(SESSION_KEY)
    if not isinstance(session_id, str):
        return None
    live = get_store().login_session(_session_digest(session_id), _now())
    if live is None:
        return None
    g.login = live
    if live["user_id"] is None:
        token = get_config().token
        return BOOTSTRAP if token and hmac.compare_digest(live["token_fingerprint"], _fingerprint(token)) else None
    if live["disabled"]:
        return None
    return Actor(live["name"], live["role"])


def current_actor_or_none() -> Actor | None:
    """Who is asking: the account or bootstrap admin of the bearer token, or else of the login
    session; None for someone unknown (a wrong bearer token is counted and makes them unknown)."""
    if "actor" not in g:
        g.actor = None  # a refusal below leaves the asker unknown
        bearer = _bearer()
        g.actor = _token_actor(bearer) if bearer is not None else _session_actor()
    return g.actor


def current_actor() -> Actor:
    """Who is asking (see :func:`current_actor_or_none`); :class:`NotAuthenticated` for no one known."""
    actor = current_actor_or_none()
    if actor is None:
        raise NotAuthenticated(_write_refusal())
    return actor


def is_logged_in() -> bool:
    """True when this browser session logged in (as an account or the bootstrap admin) and has not logged out."""
    return _bearer() is None and current_actor_or_none() is not None


def why_not_write(actor: Actor | None) -> str:
    """Why ``actor`` (None: someone not logged in) may not add incidents, in words for a disabled
    link or button."""
    if actor is not None:
        return f"your role ({actor.role}) may not add incidents; it needs the role {' or '.join(roles_for('create'))}"
    if not writes_enabled():
        return "adding incidents is switched off on this server (it has no WEBMAP_TOKEN and no accounts)"
    return "log in to add incidents from a report"


def _wants_json() -> bool:
    return request.blueprint in ("api", "exports") or request.accept_mimetypes.best == "application/json"


def _unauthorised(message: str):
    response = jsonify(error=message)
    response.status_code = 401
    response.headers["WWW-Authenticate"] = 'Bearer realm="webmap"'
    return response


def _write_refusal() -> str:
    if not writes_enabled():
        return "writes are disabled: the server has no WEBMAP_TOKEN set and the database no accounts"
    if request.headers.get("Authorization"):
        return "wrong token: send Authorization: Bearer <your API token or WEBMAP_TOKEN>"
    return "writes need a token: send Authorization: Bearer <your API token or WEBMAP_TOKEN>"


def require(action: str):
    """API views that write: someone known (a bearer token, or a login plus the ``X-CSRFToken``
    header; else 401) whose role may do ``action`` (else 403, in the auth log)."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor_or_none()
            if actor is None:
                return _unauthorised(_write_refusal())
            if _bearer() is None:  # a browser's login: its page sends the CSRF token
                csrf.protect()
            authorize(actor, action)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def login_required(action: str):
    """Page views: send a browser that has not logged in to ``/login`` and back (a form it posts
    is refused with 401: a redirect would drop it); 403 when its role may not do ``action``."""

    def decorator(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            actor = current_actor_or_none()
            if actor is None or _bearer() is not None:
                if request.method != "GET":
                    message = "your login has ended or you never logged in: log in, then send the form again"
                    return render_template("error.html", status=401, message=message), 401
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            authorize(actor, action)
            return view(*args, **kwargs)

        return wrapper

    return decorator


def _guard_private_reads():
    if not get_config().private or request.endpoint in OPEN_ENDPOINTS:
        return None
    if current_actor_or_none() is not None:
        return None
    if _wants_json():
        return _unauthorised("this webmap is private (WEBMAP_PRIVATE=1): send Authorization: Bearer <your API token>")
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
    """The login form: an account's name and password, or (no name) the server's ``WEBMAP_TOKEN``."""
    if request.method == "GET":
        return _login_page(None), 200
    name = request.form.get("name", "").strip().lower()
    if name:
        error = _log_in_account(name, request.form.get("password", ""))
    else:
        error = _log_in_bootstrap(request.form.get("token", "").strip())
    if error is None:
        flash("Logged in.")
        return redirect(_safe_next(request.form.get("next")))
    return _login_page(error), 401


def _log_in_account(name: str, password: str) -> str | None:
    """Log this browser in as the account ``name``; the refusal to show (None: logged in)."""
    keys = _failure_keys(name)
    _refuse_while_locked_out(keys)
    account = get_store().account(name)
    # Checked against a stand-in hash for a name that does not exist: the time tells nothing.
    if not verify_password(account["password_hash"] if account else None, password):
        _count_failure(keys, "login_failed", name, "wrong name or password")
        return "wrong name or password"
    assert account is not None
    if account["disabled"]:
        _log("login_refused", name, detail="account disabled")
        return f"the account {name} is disabled: ask an admin"
    _start_session(_ACCOUNT_SESSION, user_id=account["id"])
    _log("login", name)
    return None


def _log_in_bootstrap(token: str) -> str | None:
    keys = _failure_keys(None)
    _refuse_while_locked_out(keys)
    if _matches(token):
        _start_session(_fingerprint(token), user_id=None)
        _log("login", BOOTSTRAP.name)
        return None
    if not get_config().token:
        return "this server has no WEBMAP_TOKEN: log in with an account's name and password"
    _count_failure(keys, "login_failed", None, "wrong token")
    return "wrong token"


def _login_page(error: str | None) -> str:
    return render_template(
        "login.html", error=error, next=_safe_next(request.args.get("next") or request.form.get("next"))
    )


def _start_session(fingerprint: str, *, user_id: int | None) -> None:
    """A new login session for this browser (a new id: one a visitor planted before is worth nothing)."""
    session.clear()
    session_id = secrets.token_urlsafe(32)
    expires = _now() + dt.timedelta(hours=LOGIN_HOURS)
    get_store().start_login(_session_digest(session_id), fingerprint, expires, _now(), user_id=user_id)
    session[SESSION_KEY] = session_id
    g.pop("actor", None)


@bp.post("/logout")
def logout():
    """End the login of this browser session on the server (a copy of its cookie no longer logs
    in); with the form's ``everywhere``, every session of the account."""
    session_id = session.get(SESSION_KEY)
    actor = current_actor_or_none()
    if isinstance(session_id, str):
        live: Mapping[str, Any] | None = g.get("login")
        if request.form.get("everywhere") and live is not None:
            ended = get_store().end_logins_of(live["user_id"])
            flash(f"Logged out everywhere ({ended} sessions).")
        else:
            get_store().end_login(_session_digest(session_id))
            flash("Logged out.")
        if actor is not None:
            _log("logout", actor.name, detail="everywhere" if request.form.get("everywhere") else None)
    session.clear()
    g.pop("actor", None)
    return redirect(url_for("pages.index"))


def reason_refused(exc: InvalidRecord) -> None:
    """Put a write refused for want of a reason in the auth log (who tried what); while the
    database is busy, in the server's log instead (the refusal is answered either way)."""
    actor = g.get("actor")
    try:
        _log("refused", actor.name if actor else None, target=request.path, detail=str(exc))
    except StoreBusy:
        current_app.logger.warning("refused %s %s: %s", actor.name if actor else None, request.path, exc)
