"""Accounts for admins (``/admin/users``): add an account, set its role, disable or enable it,
reset its password, revoke its tokens. The same store calls as ``webmap users`` and ``webmap
tokens`` (:mod:`webmap.cli`), checked there against :mod:`webmap.roles`; a password is never
shown back or logged.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from ..accounts import check_name, check_role, hash_password
from ..errors import Conflict, InvalidRecord, NotFound
from ..roles import ROLES
from . import get_store
from .auth import current_actor, login_required

bp = Blueprint("admin", __name__)


@bp.get("/admin/users")
@login_required("users")
def users_page():
    """Every account with its role, state and tokens, and the form to add one."""
    store, actor = get_store(), current_actor()
    return render_template("users.html", accounts=store.accounts(by=actor), tokens=store.tokens(by=actor), roles=ROLES)


@bp.post("/admin/users")
@login_required("users")
def change_user():
    """The form's ``change`` to an account: ``add`` (``name``, ``role``, ``password``), ``role``,
    ``disable``, ``enable``, ``password`` (a new ``password``) or ``revoke`` (``token_id``); the
    outcome or the refusal is shown on the page."""
    store, actor = get_store(), current_actor()
    change = request.form.get("change")
    name = request.form.get("name", "").strip().lower()
    try:
        if change == "add":
            check_name(name)
            password = hash_password(request.form.get("password", ""), name)
            store.add_account(name, check_role(request.form.get("role", "")), password, by=actor)
            flash(f"Account {name} added.")
        elif change == "role":
            role = check_role(request.form.get("role", ""))
            store.set_role(name, role, by=actor)
            flash(f"{name} is now {role}.")
        elif change in ("disable", "enable"):
            store.set_disabled(name, change == "disable", by=actor)
            flash(f"Account {name} {change}d.")
        elif change == "password":
            store.set_password(name, hash_password(request.form.get("password", ""), name), by=actor)
            flash(f"New password set for {name}: its sessions have ended.")
        elif change == "revoke":
            store.revoke_token(request.form.get("token_id", ""), by=actor)
            flash("Token revoked.")
        else:
            raise InvalidRecord("change", "expected add, role, disable, enable, password or revoke")
    except (InvalidRecord, Conflict, NotFound) as exc:
        flash(f"Not done: {exc}")
    return redirect(url_for("admin.users_page"))
