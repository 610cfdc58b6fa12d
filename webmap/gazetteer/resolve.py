"""Resolving a place name (with its context) to ranked gazetteer candidates.

The name is matched in tiers (:func:`~.match.match_name`: exact and alias, transliteration skeleton,
fuzzy; the skeleton tier is also searched inside the areas the context names when the first tier
found the name only outside them); the context then ranks what was found (:mod:`.rank`). The
context is the text around the name ("in Diyala province", "southwest of Kirkuk") and, for a
record, the district and governorate it states: the name lies in those (see :mod:`.rank` for what
that does to the order and the scores).

A name whose whole matches no name exactly is read as two parts when it has one of the forms reports and
datasets use for a place inside another: "City - Neighbourhood" (ACLED's "Mosul - Al-Salam"; either
part may be the wider one: "Hamrin Mountains - Sala al-Din"), "Neighbourhood, City" and
"Neighbourhood in City". The inner part is looked for inside the outer one: inside a governorate
or district; within :data:`CITY_KM` of a town for a neighbourhood, landmark or area, within
:data:`SUBURB_KM` for a village. Not found, the answer is the town at precision 2 (reason
``area``). An outer part that is a country is context ("Riyadh, Iraq").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import replace

from ..config import Config
from ..errors import GazetteerError
from .context import build_context, country_names
from .keys import name_key, split_descriptor
from .load import Gazetteer, get_gazetteer
from .match import AREA_KINDS, match_name, named_area
from .rank import KIND_CODES, Anchor, Candidate, Context, area_candidate, haversine_km, rank

MAX_NAME_LENGTH = 200
MAX_CONTEXT_LENGTH = 20_000
# How many candidates an answer lists unless asked (``webmap geocode --limit``, ``/api/gazetteer?limit=``).
DEFAULT_CANDIDATES = 10
MAX_CANDIDATES = 50
# When a record is geocoded (webmap.intake.geocode_values; ``webmap import --geocode``): never,
# when it has no coordinates, or always (its own are replaced).
GEOCODE_MODES = ("never", "missing", "always")
# The least score a match places a record with: below it the match is a guess (see .rank).
MIN_PLACE_SCORE = 0.5
NORMALISED_QUALITY = 0.8
# A skeleton hit must still share this much of its spelling with the query (rapidfuzz ratio):
# "Huwayjah" / "hawija" is 71, "Telafar" / "tall afar" 75, while short skeletons collide with
# unrelated names ("Wadi al-Shay" and the Japanese "Date" share no letters worth the name).
SKELETON_MIN_RATIO = 65
FUZZY_QUALITY = 0.75  # times rapidfuzz ratio / 100
# How far from a town's point a neighbourhood, square, bridge or quarter "in" it may lie; a village
# (a populated place that is no neighbourhood) is part of the town only when it is this close.
CITY_KM = 20.0
SUBURB_KM = 8.0
# How strongly the seat of a stated district the boundary layers lack draws the place towards it
# (an anchor's weight, see webmap.gazetteer.rank).
SEAT_WEIGHT = 1.0
_PARTS = (
    re.compile(r"^(?P<outer>[^,]+?)\s+[-–—]\s+(?P<inner>.+)$"),
    re.compile(r"^(?P<inner>[^,]+?)\s*,\s*(?P<outer>.+)$"),
    re.compile(r"^(?P<inner>.+?)\s+in\s+(?:the\s+)?(?:city\s+of\s+)?(?P<outer>.+)$", re.IGNORECASE),
)


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


def _check_context(context: object) -> str:
    if context is not None and not isinstance(context, str):
        raise GazetteerError(f"context: expected text, got {type(context).__name__}")
    if context and len(context) > MAX_CONTEXT_LENGTH:
        raise GazetteerError(f"context: longer than {MAX_CONTEXT_LENGTH} characters ({len(context)})")
    return context or ""


def _stated_areas(gazetteer: Gazetteer, district: str | None, governorate: str | None) -> tuple[list, Anchor | None]:
    """The district and governorate a record states, as gazetteer areas (most specific first), and,
    for a district the boundary layers lack (datasets use newer districts: Soran, Mergasur, Al
    Tarmia), its seat: the town of its name inside the governorate, an anchor the place lies near."""
    gov = named_area(gazetteer, check_name(governorate, "governorate"), ("ADM1",))
    district = check_name(district, "district")
    dist = named_area(gazetteer, district, ("ADM2", "ADM3"), inside=gov)
    seat = None
    if dist is None and district.strip():
        core = split_descriptor(name_key(district))[0]
        hits, _ = match_name(
            gazetteer, core, keep=lambda p: p.feature_class == "P" and (gov is None or p.lies_in(gov.own_pcode))
        )
        if hits:
            best = max(hits, key=lambda hit: (hit.quality, gazetteer.place(hit.row).prior))
            seat = Anchor(gazetteer.place(best.row), SEAT_WEIGHT, key=core)
    return [area for area in (dist, gov) if area is not None], seat


def resolve(
    name: str,
    context: str | None = None,
    *,
    limit: int = 10,
    gazetteer: Gazetteer | None = None,
    online: bool | None = None,
    district: str | None = None,
    governorate: str | None = None,
    prefer: Sequence[Collection[str]] = (),
) -> list[Candidate]:
    """Places ``name`` may refer to, best first (at most ``limit``).

    ``context`` is text that describes the name ("Riyadh district, southwest of Kirkuk"; see
    :mod:`webmap.gazetteer.rank`); ``district`` and ``governorate`` (names in any spelling, or
    COD-AB P-codes) are the areas a record says the place lies in. ``prefer``: groups of COD-AB
    P-codes whose places rank first, earlier groups before later ones (the incident form passes its
    chosen governorate, then the disputed districts). ``online`` (default:
    WEBMAP_GEOCODER=nominatim) asks Nominatim through geopy when nothing offline matched; nothing
    else touches the network.

    Returns an empty list for an empty name with no district or governorate; raises
    :class:`GazetteerError` for a name, district or governorate longer than :data:`MAX_NAME_LENGTH`
    or a context longer than :data:`MAX_CONTEXT_LENGTH` characters.
    """
    name = check_name(name)
    context = _check_context(context)
    gazetteer = gazetteer or get_gazetteer()
    key = name_key(name)
    ctx = build_context(gazetteer, context, key, strict=True) if context.strip() else Context(strict=True)
    if district or governorate:
        stated, seat = _stated_areas(gazetteer, district, governorate)
        ctx.within = sorted(ctx.within + stated, key=lambda a: -a.depth)
        ctx.anchors += [seat] if seat is not None else []
    ctx.prefer = tuple(frozenset(group) for group in prefer)
    if not key:
        return rank(gazetteer, [], ctx, limit) if ctx.within else []
    hits, kind = match_name(gazetteer, key, loose=False)
    candidates = None if hits else _in_parts(gazetteer, name, ctx, limit)
    if not hits and candidates is None:
        hits, kind = match_name(gazetteer, key)
    if hits and ctx.within and not any(ctx.inside(gazetteer.place(hit.row)) for hit in hits):
        # A name matched only outside the areas named: another transliteration of it inside them is better.
        hits += match_name(gazetteer, key, keep=lambda place: ctx.inside(place) > 0, fuzzy=False)[0]
    if hits and kind and _landmark_codes(kind) and not any(_is_kind(gazetteer, hit, kind) for hit in hits):
        # "Baiji refinery": the town matched exactly; the refinery is spelled another way ("Bayji Oil Refinery").
        hits += match_name(gazetteer, key, keep=lambda place: place.feature_code in _landmark_codes(kind), fuzzy=False)[
            0
        ]
    if candidates is None:
        ctx.kind = kind or ctx.kind
        hits = _of_kind(gazetteer, hits, ctx.kind)
        candidates = rank(gazetteer, hits, ctx, limit=limit)
    if not candidates and (Config.from_env().online_geocoder if online is None else online):
        from .online import geocode_online

        candidates = geocode_online(name, limit=limit)
    return candidates


def _landmark_codes(kind: str | None) -> tuple[str, ...]:
    """The feature codes a landmark descriptor's kind accepts ("MT": mountains and ranges); empty for
    no kind, a populated place or an administrative area."""
    if not kind or kind == "P" or kind.startswith("ADM"):
        return ()
    return KIND_CODES.get(kind, (kind,))


def _is_kind(gazetteer: Gazetteer, hit, kind: str) -> bool:
    place = gazetteer.place(hit.row)
    return place.feature_class == "P" if kind == "P" else place.feature_code in _landmark_codes(kind)


def _of_kind(gazetteer: Gazetteer, hits: list, kind: str | None) -> list:
    """The hits of the kind a name's own word asks for ("Sakrana village" is no valley, "Mosul Dam" no
    town), when there are any; governorates and districts are left to the ranking (a district and
    the town of its name are both right answers to "X district" read loosely)."""
    if not kind or kind.startswith("ADM"):
        return hits
    wanted = [hit for hit in hits if _is_kind(gazetteer, hit, kind)]
    return wanted or hits


def _in_parts(gazetteer: Gazetteer, name: str, ctx: Context, limit: int) -> list[Candidate] | None:
    """Candidates of a name written as a place inside another (see the module docstring), or None
    when the name has no such form or its outer part names nothing."""
    for form in _PARTS:
        match = form.match(name.strip())
        if match is None:
            continue
        inner, outer = match.group("inner"), match.group("outer")
        if form is _PARTS[0]:
            # "Hamrin Mountains - Sala al-Din": the second part is the wider one when it names a
            # governorate, or an area with its descriptor.
            wider = _wider_area(gazetteer, inner)
            if wider is not None:
                found = _in_area(gazetteer, outer, wider, ctx, limit)
                if found is not None:
                    return found
        found = _inside(gazetteer, inner, outer, ctx, limit)
        if found is not None:
            return found
    return None


def _wider_area(gazetteer: Gazetteer, text: str):
    """The area ``text`` names when it names a governorate, or any area with its descriptor."""
    kind = split_descriptor(name_key(text))[1]
    if kind in AREA_KINDS:
        return named_area(gazetteer, text, AREA_KINDS[kind])
    return named_area(gazetteer, text, ("ADM1",), exact=True)


def _in_area(gazetteer: Gazetteer, inner: str, area, ctx: Context, limit: int) -> list[Candidate] | None:
    """Candidates of ``inner`` inside ``area`` (a governorate, district or sub-district)."""
    key = name_key(inner)
    if not key:
        return None
    hits, kind = match_name(gazetteer, key, keep=lambda p: p.lies_in(area.own_pcode))
    within = sorted([*ctx.within, area], key=lambda a: -a.depth)
    return rank(gazetteer, hits, replace(ctx, within=within, kind=kind), limit)


def _inside(gazetteer: Gazetteer, inner: str, outer: str, ctx: Context, limit: int) -> list[Candidate] | None:
    key = name_key(inner)
    if not key:
        return None
    if name_key(outer) in country_names():
        ctx = replace(ctx, countries=ctx.countries | {country_names()[name_key(outer)]})
        hits, kind = match_name(gazetteer, key)
        return rank(gazetteer, hits, replace(ctx, kind=kind or ctx.kind), limit) if hits else None
    holders = resolve(outer, gazetteer=gazetteer, limit=1, district=_code(ctx, 2), governorate=_code(ctx, 1))
    if not holders or holders[0].reason == "area":
        return None
    holder = holders[0]
    place = gazetteer.place_by_id(holder.place_id)
    if place.is_area:
        return _in_area(gazetteer, inner, place, ctx, limit)
    hits, kind = match_name(gazetteer, key, keep=lambda p: _near(p, place))
    if not hits:
        return [area_candidate(place, matched=holder.matched, precision=2)]
    return [_in_town(gazetteer, c, place) for c in rank(gazetteer, hits, replace(ctx, kind=kind), limit)]


def _in_town(gazetteer: Gazetteer, candidate: Candidate, town) -> Candidate:
    """``candidate`` inside ``town``; a landmark no text gives a point for stands at the point of the
    unit that holds it, which may lie farther from it than the town it is in: it takes the town's
    point (precision 2)."""
    if gazetteer.place_by_id(candidate.place_id).point_precision is None:
        return candidate
    return replace(candidate, latitude=town.latitude, longitude=town.longitude, precision=2)


def _near(place, town) -> bool:
    village = place.feature_class == "P" and place.feature_code != "PPLX"
    return place.place_id != town.place_id and (
        haversine_km(place.latitude, place.longitude, town.latitude, town.longitude)
        <= (SUBURB_KM if village else CITY_KM)
    )


def _code(ctx: Context, depth: int) -> str | None:
    return next((area.own_pcode for area in ctx.within if area.depth == depth), None)


def resolve_place(
    name: str | None,
    district: str | None = None,
    governorate: str | None = None,
    *,
    gazetteer: Gazetteer | None = None,
) -> Candidate | None:
    """Where a record's place lies, given the district and governorate it states (the importer's
    and the API's geocoding): the best :func:`resolve` candidate, or None when neither the name nor
    the areas are known. The candidate carries the point (``latitude``, ``longitude``), ACLED's
    ``precision`` (1 the place, 2 an area or neighbourhood, or the town of an unknown
    neighbourhood, 3 the district or governorate when the name is not known inside it), the gazetteer
    ``place_id``, ``score`` (below 0.5: a guess) and ``reason`` ("exact", "alias", "normalised",
    "fuzzy" or "area")."""
    found = resolve(name or "", limit=1, gazetteer=gazetteer, district=district, governorate=governorate, online=False)
    return found[0] if found else None


def geocode(
    name: str,
    context: str | None = None,
    *,
    online: bool | None = None,
    gazetteer: Gazetteer | None = None,
    limit: int = DEFAULT_CANDIDATES,
    prefer: Sequence[Collection[str]] = (),
    district: str | None = None,
    governorate: str | None = None,
) -> dict:
    """The answer ``webmap geocode --json`` and ``GET /api/gazetteer`` give:
    ``{"query", "context", "district", "governorate", "match": best candidate dict or None,
    "candidates": [...]}``; ``district`` and ``governorate`` are the areas the place is stated to
    lie in, as for a record (:func:`resolve_place`, the geocoding of imports and the API)."""
    candidates = resolve(
        name,
        context,
        limit=limit,
        gazetteer=gazetteer,
        online=online,
        prefer=prefer,
        district=district,
        governorate=governorate,
    )
    dicts = [c.to_dict() for c in candidates]
    return {
        "query": name,
        "context": context,
        "district": district,
        "governorate": governorate,
        "match": dicts[0] if dicts else None,
        "candidates": dicts,
    }
