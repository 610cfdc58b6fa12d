"""Who may do what: the roles, the one permission table, and the review's rules for one incident.

Every write, through the web, the API or the CLI, is checked by :func:`authorize` before anything is
written: the store calls it for every write of incidents and accounts
(:mod:`webmap.store`), the web and the CLI call it first to answer early and to hide what a role
may not do (:func:`may`).

========  ========================================================================================
role      may (each role may also do everything of the roles above it)
========  ========================================================================================
viewer    read the incidents, their history and who made and reviewed them; keep API tokens
analyst   see drafts; add incidents as drafts, edit their own drafts, import files and reports
          into drafts
reviewer  mark drafts reviewed (never their own: the two-person rule), add and edit any incident
          (a reason is required to change a reviewed one), delete (soft) and restore, reject and
          merge drafts
admin     manage accounts and their tokens; replace boundary layers and gazetteer places
========  ========================================================================================

Without an account, anyone may read the reviewed incidents unless ``WEBMAP_PRIVATE=1``.
The bootstrap admin (``WEBMAP_TOKEN`` on the web; the CLI on a database without accounts) acts
as :data:`BOOTSTRAP`; while the database has no accounts it is alone, and the two-person rule
cannot hold for one person, so it is waived for it then.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import Forbidden

ROLES = ("viewer", "analyst", "reviewer", "admin")

# Every action a role may be given, and what it allows (README's table is this one).
ACTIONS = {
    "read": "read the reviewed incidents",
    "read_history": "read the incidents' history and who made and reviewed them",
    "tokens": "create and revoke their own API tokens",
    "read_drafts": "see draft incidents on the map, in the API and in exports",
    "create": "add incidents (an analyst's are drafts)",
    "edit": "change incidents (an analyst only their own drafts), restore an earlier version",
    "import": "import files and save extracted reports (an analyst's as drafts)",
    "extract": "read news reports into draft incidents",
    "review": "mark drafts reviewed (never their own) and add incidents as reviewed",
    "delete": "delete incidents (restorably) and reject drafts",
    "restore": "restore deleted incidents",
    "merge": "merge a draft into an incident that reports the same event",
    "geodata": "replace boundary layers (re-joining every incident) and gazetteer places",
    "users": "add accounts, set their roles, disable them, reset passwords, revoke anyone's tokens",
}
_GRANTED = {
    "viewer": ("read", "read_history", "tokens"),
    "analyst": ("read_drafts", "create", "edit", "import", "extract"),
    "reviewer": ("review", "delete", "restore", "merge"),
    "admin": ("geodata", "users"),
}
# The one permission table: role -> the actions it may do.
PERMISSIONS: dict[str, frozenset[str]] = {
    role: frozenset(action for earlier in ROLES[: n + 1] for action in _GRANTED[earlier])
    for n, role in enumerate(ROLES)
}
# What someone without an account may do (not even that with WEBMAP_PRIVATE=1).
ANONYMOUS = frozenset({"read"})


@dataclass(frozen=True)
class Actor:
    """Who is writing or reading: an account's ``name`` and ``role``; ``bootstrap`` for the
    bootstrap admin (:data:`BOOTSTRAP`)."""

    name: str
    role: str
    bootstrap: bool = False

    def __str__(self) -> str:
        return f"{self.name} ({self.role})"


BOOTSTRAP_NAME = "bootstrap"
BOOTSTRAP = Actor(BOOTSTRAP_NAME, "admin", bootstrap=True)


def may(actor: Actor | None, action: str) -> bool:
    """Whether ``actor`` (None: someone without an account) may ever do ``action``."""
    if action not in ACTIONS:
        raise KeyError(f"unknown action {action!r}")
    if actor is None:
        return action in ANONYMOUS
    return action in PERMISSIONS.get(actor.role, frozenset())


def roles_for(action: str) -> list[str]:
    """The roles that may do ``action``."""
    return [role for role in ROLES if action in PERMISSIONS[role]]


def authorize(actor: Actor | None, action: str, incident: Any = None, *, alone: bool = False) -> None:
    """Refuse with :class:`~webmap.errors.Forbidden` unless ``actor`` may do ``action`` (to
    ``incident``, an :class:`~webmap.records.Incident`, when the rule depends on it).

    The rules that depend on the incident: an analyst edits only drafts they made themselves; a
    draft is marked reviewed (``review``) only by someone other than who made it, unless ``alone``
    (the bootstrap admin of a database without accounts)."""
    if not may(actor, action):
        who = "without an account" if actor is None else f"as {actor}"
        raise Forbidden(
            action, f"{ACTIONS[action]}: not allowed {who}; it needs the role {' or '.join(roles_for(action))}"
        )
    if incident is None or actor is None:
        return
    if action == "edit" and not may(actor, "review"):
        if incident.status != "draft" or incident.created_by != actor.name:
            whose = f"by {incident.created_by}" if incident.created_by else "from an import"
            raise Forbidden(
                "edit",
                f"{actor} may change only their own drafts: incident {incident.id} is {incident.status}, made {whose}",
            )
    if action == "review" and incident.status == "draft" and incident.created_by == actor.name and not alone:
        raise Forbidden(
            "review",
            f"two-person rule: {actor.name} made draft {incident.id}, so another reviewer must mark it reviewed",
        )
