"""Accounts' secrets: passwords hashed with Argon2id, personal API tokens, and the rules for names.

- A password is kept only as its Argon2id hash (argon2-cffi, with OWASP's parameters for Argon2id:
  19 MiB, 2 passes, 1 lane: about 50 ms a login on one core); :func:`verify_password` compares in
  the library's constant time.
- A personal API token is ``wm_<id>_<secret>``: the ``id`` finds its row, the row keeps only the
  SHA-256 digest of the whole token (a token has 256 random bits: a slow hash adds nothing), and
  :func:`token_matches` compares the digests in constant time. The token is shown once, when made.

Nothing here touches the database: :mod:`webmap.store` keeps the hashes and digests.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from .errors import InvalidRecord
from .roles import BOOTSTRAP_NAME, ROLES

_HASHER = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)
NAME_PATTERN = re.compile(r"[a-z][a-z0-9._-]{1,39}")
MIN_PASSWORD = 10
# Longer is no safer, only slower to hash.
MAX_PASSWORD = 200
TOKEN_PREFIX = "wm_"
_TOKEN_PATTERN = re.compile(r"wm_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})")


def check_name(name: str) -> str:
    """``name`` if it can name an account: 2-40 characters, lower-case letters, digits, ``.``,
    ``_`` or ``-``, starting with a letter, and not :data:`webmap.roles.BOOTSTRAP_NAME`;
    :class:`InvalidRecord` naming ``name`` otherwise."""
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        shown = str(name)[:40]
        raise InvalidRecord(
            "name",
            f"{shown!r} cannot name an account: 2-40 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter",
        )
    if name == BOOTSTRAP_NAME:
        raise InvalidRecord("name", f"{name!r} is the bootstrap admin's name (WEBMAP_TOKEN): choose another")
    return name


def check_role(role: str) -> str:
    """``role`` if it is one of :data:`webmap.roles.ROLES`; :class:`InvalidRecord` naming ``role`` otherwise."""
    if role not in ROLES:
        raise InvalidRecord("role", f"{str(role)[:40]!r} is not a role (known: {', '.join(ROLES)})")
    return role


def hash_password(password: str, name: str) -> str:
    """The Argon2id hash of a new ``password`` for the account ``name``; :class:`InvalidRecord`
    naming ``password`` when it is too short, too long or the name itself (the message never
    holds the password)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidRecord("password", f"too short: at least {MIN_PASSWORD} characters")
    if len(password) > MAX_PASSWORD:
        raise InvalidRecord("password", f"too long: at most {MAX_PASSWORD} characters")
    if password.strip().lower() == name.lower():
        raise InvalidRecord("password", "must not be the account's name")
    return _HASHER.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from (False for no hash, as for an
    account that does not exist, or a damaged one: checked against a stand-in hash all the same,
    so the time taken does not tell which names exist)."""
    if not isinstance(password, str) or len(password) > MAX_PASSWORD:
        return False
    try:
        return _HASHER.verify(stored_hash or _stand_in_hash(), password) and bool(stored_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@functools.cache
def _stand_in_hash() -> str:
    return _HASHER.hash(secrets.token_urlsafe(16))


def new_token() -> tuple[str, str, str]:
    """A new personal API token: ``(token, its id, its digest)``; only the id and digest are kept."""
    token_id = "".join(
        secrets.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") for _ in range(12)
    )
    token = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
    return token, token_id, token_digest(token)


def token_id_of(token: str) -> str | None:
    """The id part of a well-formed personal token; None for anything else."""
    found = _TOKEN_PATTERN.fullmatch(token or "")
    return found.group(1) if found else None


def token_digest(token: str) -> str:
    """The SHA-256 hex digest the store keeps of ``token``."""
    return hashlib.sha256(f"webmap-token:{token}".encode()).hexdigest()


def token_matches(token: str, stored_digest: str) -> bool:
    """Whether ``token`` is the one of ``stored_digest``, compared in constant time."""
    return hmac.compare_digest(token_digest(token).encode(), stored_digest.encode())
