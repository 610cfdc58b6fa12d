"""Ranking the places a name matched: match quality, importance, and what the context says.

Each candidate gets a ranking value

    r = 2.0 * quality + 1.5 * prior + context terms

where ``quality`` is 1.0 for an exact name, 0.95 for an alias, 0.8 for a transliteration-normalised
hit and 0.75 x rapidfuzz ratio / 100 for a fuzzy one, and ``prior`` (0..1) grows with the feature
code (capital, governorate, district seat, village) and the population. Context terms
(:class:`Context`, built by :mod:`webmap.gazetteer.context`) favour Iraq (a little always, more for
a loosely matched name and when the context names Iraq or an Iraqi place), the governorate and district named,
places near another place named, in the direction named ("southwest of Kirkuk"), and the kind the descriptor asked for
("district", "province", "town").

``score`` = quality x the candidate's softmax share of ``exp(SHARPNESS * r)`` among its rivals: 1.0
only for an exact name that nothing else shares, lower when a near rival exists or the name matched
only loosely.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from .load import ALIAS, EXACT, NORMALISED, TIER_NAMES, Gazetteer, Place

QUALITY = {EXACT: 1.0, ALIAS: 0.95, NORMALISED: 0.8}
SHARPNESS = 2.0
HOME_COUNTRY = "IQ"
HOME_BONUS = 0.3
# A name that matched only loosely (no exact or alias hit at all) is most likely a transliteration of an Arabic or
# Kurdish name, so an Iraqi place beats a big foreign city whose name merely looks alike ("Huweija" is not Pyongyang).
LOOSE_HOME_BONUS = 0.6
COUNTRY_NAMED_BONUS, COUNTRY_OTHER_PENALTY = 1.0, -0.6
GOVERNORATE_BONUS, DISTRICT_BONUS = 1.0, 1.0
NEAR_BONUS, NEAR_SCALE_KM = 1.2, 40.0
DIRECTION_BONUS, DIRECTION_PENALTY, DIRECTION_RANGE_KM = 0.6, -0.4, 150.0
KIND_BONUS = {"ADM1": 1.2, "ADM2": 1.0, "ADM3": 0.4, "P": 0.3}
COMPASS = {
    "north": 0,
    "northeast": 45,
    "east": 90,
    "southeast": 135,
    "south": 180,
    "southwest": 225,
    "west": 270,
    "northwest": 315,
}


@dataclass
class Candidate:
    """A place a name may refer to; coordinates in degrees WGS 84, score in 0..1, ``reason`` one
    of "exact", "alias", "normalised", "fuzzy" (how the name matched)."""

    name: str
    latitude: float
    longitude: float
    governorate: str
    district: str
    feature_code: str
    geonameid: int | None
    country_code: str
    score: float
    reason: str
    place_id: str = ""
    matched: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict of every field."""
        return asdict(self)


@dataclass
class Anchor:
    """Another place the context names, with its strength (0..1) and an optional compass
    direction ("southwest of X": the bearing from X, in degrees) for the place sought."""

    place: Place
    weight: float = 1.0
    bearing: float | None = None
    key: str = ""


@dataclass
class Context:
    """What the words around a name say about it (see the module docstring)."""

    countries: set[str] = field(default_factory=set)
    governorates: dict[str, float] = field(default_factory=dict)
    districts: dict[str, float] = field(default_factory=dict)
    anchors: list[Anchor] = field(default_factory=list)
    kind: str | None = None


@dataclass
class Hit:
    """One place matched by a name: its row, quality (0..1), reason and the matched key."""

    row: int
    quality: float
    reason: str
    matched: str


def hits_from_lookup(pairs: list[tuple[int, int]], key: str) -> list[Hit]:
    """:class:`Hit` objects from ``Gazetteer.lookup`` pairs."""
    return [Hit(row, QUALITY[tier], TIER_NAMES[tier], key) for row, tier in pairs]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points in degrees WGS 84."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 12742.0 * math.asin(min(1.0, math.sqrt(a)))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Initial bearing in degrees (0 = north, clockwise) from point 1 to point 2."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    x = math.sin(dl) * math.cos(p2)
    y = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return math.degrees(math.atan2(x, y)) % 360


def _context_terms(place: Place, ctx: Context, loose: bool = False) -> float:
    value = (HOME_BONUS + (LOOSE_HOME_BONUS if loose else 0.0)) if place.country_code == HOME_COUNTRY else 0.0
    if ctx.countries:
        value += COUNTRY_NAMED_BONUS if place.country_code in ctx.countries else COUNTRY_OTHER_PENALTY
    if place.admin1 and place.admin1 in ctx.governorates:
        value += GOVERNORATE_BONUS * ctx.governorates[place.admin1]
    if place.admin2 and place.admin2 in ctx.districts:
        value += DISTRICT_BONUS * ctx.districts[place.admin2]
    for anchor in ctx.anchors:
        other = anchor.place
        if other.place_id == place.place_id:
            continue
        km = haversine_km(other.latitude, other.longitude, place.latitude, place.longitude)
        value += NEAR_BONUS * anchor.weight * math.exp(-km / NEAR_SCALE_KM)
        if anchor.bearing is not None and km < DIRECTION_RANGE_KM:
            off = abs(
                (bearing_deg(other.latitude, other.longitude, place.latitude, place.longitude) - anchor.bearing + 180)
                % 360
                - 180
            )
            value += anchor.weight * (DIRECTION_BONUS if off <= 60 else DIRECTION_PENALTY)
    if ctx.kind:
        if ctx.kind == "P" and place.feature_class == "P":
            value += KIND_BONUS["P"]
        elif ctx.kind == place.feature_code:
            value += KIND_BONUS[ctx.kind]
    return value


def _nested(a: Place, b: Place) -> bool:
    """True when one of the two is a governorate or district that contains the other."""
    for area, other in ((a, b), (b, a)):
        if area.feature_code == "ADM1" and area.admin1 and area.admin1 == other.admin1:
            return True
        if area.feature_code == "ADM2" and area.admin2 and area.admin2 == other.admin2:
            return True
    return False


def _town_before_its_area(scored: list) -> list:
    """A bare name shared by a town and the district or governorate around it means the town
    ("Makhmur", not Makhmour district): the area ranks just below the town."""
    towns = [(r, hit, place) for r, hit, place in scored if place.feature_class == "P"]
    out = []
    for r, hit, place in scored:
        if place.is_area:
            inside = [tr for tr, th, tp in towns if th.quality >= hit.quality - 0.05 and _nested(place, tp)]
            if inside:
                r = min(r, max(inside) - 0.1)
        out.append((r, hit, place))
    return out


def rank(gazetteer: Gazetteer, hits: list[Hit], ctx: Context | None = None, limit: int = 10) -> list[Candidate]:
    """Candidates for ``hits``, best first, one per place (its best hit), at most ``limit``.

    A governorate or district and a place inside it that share the name ("Kirkuk" the city, the
    district and the governorate) are not rivals: neither lowers the other's score.
    """
    best: dict[int, Hit] = {}
    for hit in hits:
        if hit.row not in best or best[hit.row].quality < hit.quality:
            best[hit.row] = hit
    if not best:
        return []
    ctx = ctx or Context()
    loose = all(hit.reason in ("normalised", "fuzzy") for hit in best.values())
    scored = []
    for hit in best.values():
        place = gazetteer.place(hit.row)
        r = 2.0 * hit.quality + 1.5 * place.prior + _context_terms(place, ctx, loose)
        scored.append((r, hit, place))
    if not ctx.kind:
        scored = _town_before_its_area(scored)
    scored.sort(key=lambda item: (-item[0], item[2].place_id))
    top = scored[0][0]
    weights = [math.exp(SHARPNESS * (r - top)) for r, _, _ in scored]
    out = []
    for i, (_, hit, place) in enumerate(scored[:limit]):
        rivals = sum(w for j, w in enumerate(weights) if j != i and not _nested(place, scored[j][2]))
        out.append(
            Candidate(
                name=place.name,
                latitude=place.latitude,
                longitude=place.longitude,
                governorate=place.admin1,
                district=place.admin2,
                feature_code=place.feature_code,
                geonameid=place.geonameid,
                country_code=place.country_code,
                score=round(hit.quality * weights[i] / (weights[i] + rivals), 3),
                reason=hit.reason,
                place_id=place.place_id,
                matched=hit.matched,
            )
        )
    return out
