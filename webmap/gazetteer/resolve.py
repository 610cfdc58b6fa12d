"""Resolving a place name (with optional context text) to ranked gazetteer candidates.

Matching runs in tiers and stops at the first tier that finds anything: (1) the folded,
article-stripped name and, without its descriptor ("town", "district", "Qada ..."), the same
(exact and alias hits, and names whose own descriptor was stripped); (2) the transliteration
skeleton (``normalised``); (3) rapidfuzz over the name keys above :data:`~.load.FUZZY_THRESHOLD`
(``fuzzy``). Context then ranks what was found (:mod:`.rank`).
"""

from __future__ import annotations

from ..config import Config
from ..errors import GazetteerError
from .context import build_context
from .keys import name_key, skeleton, split_descriptor
from .load import Gazetteer, get_gazetteer
from .rank import Candidate, Context, Hit, hits_from_lookup, rank

MAX_NAME_LENGTH = 200
MAX_CONTEXT_LENGTH = 20_000
# How many candidates an answer lists unless asked (``webmap geocode --limit``, ``/api/gazetteer?limit=``).
DEFAULT_CANDIDATES = 10
MAX_CANDIDATES = 50
NORMALISED_QUALITY = 0.8
# A skeleton hit must still share this much of its spelling with the query (rapidfuzz ratio):
# "Huwayjah" / "hawija" is 71, "Telafar" / "tall afar" 75, while short skeletons collide with
# unrelated names ("Wadi al-Shay" and the Japanese "Date" share no letters worth the name).
SKELETON_MIN_RATIO = 65
FUZZY_QUALITY = 0.75  # times rapidfuzz ratio / 100


def check_name(name: object, parameter: str = "name") -> str:
    """``name`` as a string, or :class:`GazetteerError` naming ``parameter`` when it is not text
    or longer than :data:`MAX_NAME_LENGTH` characters. Empty names pass (they match nothing)."""
    if name is None:
        return ""
    if not isinstance(name, str):
        raise GazetteerError(f"{parameter}: expected text, got {type(name).__name__}")
    if len(name) > MAX_NAME_LENGTH:
        raise GazetteerError(f"{parameter}: longer than {MAX_NAME_LENGTH} characters ({len(name)})")
    return name


def _hits(gazetteer: Gazetteer, key: str) -> tuple[list[Hit], str | None]:
    core, kind = split_descriptor(key)
    hits = hits_from_lookup(gazetteer.lookup(key), key)
    if core != key:
        hits += hits_from_lookup(gazetteer.lookup(core), core)
    skel = skeleton(core) if not hits else ""
    if skel:
        from rapidfuzz import fuzz

        for matched in gazetteer.lookup_skeleton(skel):
            if fuzz.ratio(core, matched) >= SKELETON_MIN_RATIO:
                hits += [Hit(row, NORMALISED_QUALITY, "normalised", matched) for row, _ in gazetteer.lookup(matched)]
    if not hits:
        for matched, ratio in gazetteer.fuzzy_keys(core):
            hits += [Hit(row, FUZZY_QUALITY * ratio / 100, "fuzzy", matched) for row, _ in gazetteer.lookup(matched)]
    return hits, kind


def resolve(
    name: str,
    context: str | None = None,
    *,
    limit: int = 10,
    gazetteer: Gazetteer | None = None,
    online: bool | None = None,
) -> list[Candidate]:
    """Places ``name`` may refer to, best first (at most ``limit``).

    ``context`` is the text around the name (a sentence, "in Diyala province", "southwest of
    Kirkuk"); see :mod:`webmap.gazetteer.rank` for how it moves the ranking. A name like
    "Kirkuk, Iraq" is read as name "Kirkuk" with context "Iraq" when the whole matches nothing.
    ``online`` (default: WEBMAP_GEOCODER=nominatim) asks Nominatim through geopy when nothing
    offline matched; nothing else touches the network.

    Returns an empty list for an empty name; raises :class:`GazetteerError` for a name longer
    than :data:`MAX_NAME_LENGTH` or a context longer than :data:`MAX_CONTEXT_LENGTH` characters.
    """
    name = check_name(name)
    if context is not None and not isinstance(context, str):
        raise GazetteerError(f"context: expected text, got {type(context).__name__}")
    if context and len(context) > MAX_CONTEXT_LENGTH:
        raise GazetteerError(f"context: longer than {MAX_CONTEXT_LENGTH} characters ({len(context)})")
    gazetteer = gazetteer or get_gazetteer()
    key = name_key(name)
    if not key:
        return []
    hits, kind = _hits(gazetteer, key)
    if not hits and "," in name:
        head, _, tail = name.partition(",")
        key = name_key(head)
        hits, kind = _hits(gazetteer, key) if key else ([], None)
        context = f"{tail} {context or ''}"
    ctx = build_context(gazetteer, context, key) if context and context.strip() else Context()
    ctx.kind = kind or ctx.kind
    candidates = rank(gazetteer, hits, ctx, limit=limit)
    if not candidates and (Config.from_env().online_geocoder if online is None else online):
        from .online import geocode_online

        candidates = geocode_online(name, limit=limit)
    return candidates


def geocode(
    name: str,
    context: str | None = None,
    *,
    online: bool | None = None,
    gazetteer: Gazetteer | None = None,
    limit: int = DEFAULT_CANDIDATES,
) -> dict:
    """The answer ``webmap geocode --json`` and ``GET /api/gazetteer`` give:
    ``{"query", "context", "match": best candidate dict or None, "candidates": [...]}``."""
    candidates = resolve(name, context, limit=limit, gazetteer=gazetteer, online=online)
    dicts = [c.to_dict() for c in candidates]
    return {"query": name, "context": context, "match": dicts[0] if dicts else None, "candidates": dicts}
