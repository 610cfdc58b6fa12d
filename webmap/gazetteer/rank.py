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

A *strict* context (what :func:`~webmap.gazetteer.resolve` builds: the context describes the name,
it is not a sentence around it) orders before ``r``:

1. the areas the name lies in (``Context.within``: the district and governorate a record states, or
   "X district" / "Y province" in the context text): a candidate inside the most specific of them
   first, then one inside a wider one, then the rest; a candidate that is not inside the best of
   those found scores at most :data:`GUESS_SCORE`. When no candidate lies inside any of them, the
   answer is the most specific of the areas itself (reason ``area``, score :data:`AREA_SCORE`);
2. Iraq before every other country, unless the context names another country (foreign candidates
   then score at most :data:`GUESS_SCORE`);
3. the preferred areas (``Context.prefer``: groups of P-codes, earlier groups first), e.g. the
   governorate chosen in the incident form, then the disputed territories.
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
LANDMARK_BONUS = 1.0  # the landmark a descriptor asks for ("Jabal Hamrin", "Bai Hassan oil field")
# Feature codes a landmark descriptor's kind also accepts: a "mountain" may be a range, a "valley" a wadi.
KIND_CODES = {
    "MT": ("MT", "MTS"),
    "VAL": ("VAL", "WAD"),
    "LK": ("LK", "RSV"),
    "AIRB": ("AIRB", "AIRP"),
    "AIRP": ("AIRP", "AIRB"),
}
# A candidate a strict context puts outside the areas it names, or abroad, is a guess: its score stays below 0.5.
GUESS_SCORE = 0.4
# The area a record names, when no candidate of the name lies inside it: the area is sure, the place in it unknown.
AREA_SCORE = 0.5
SAME_PLACE_KM = 5.0
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
    of "exact", "alias", "normalised", "fuzzy" (how the name matched) or "area" (the name was not
    found inside the area the context names: the candidate is that area, or the city of an unknown
    neighbourhood); ``precision`` ACLED's geo_precision of the point (1 place, 2 area or
    neighbourhood, 3 district or governorate)."""

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
    precision: int = 1

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
    strict: bool = False
    within: list[Place] = field(default_factory=list)
    prefer: tuple[frozenset[str], ...] = ()

    @property
    def abroad(self) -> bool:
        """True when the context names a country other than Iraq."""
        return bool(self.countries - {HOME_COUNTRY})

    def inside(self, place: Place) -> int:
        """How deep ``place`` lies in the areas of :attr:`within`: 3 in a sub-district, 2 in a district,
        1 in a governorate named, 0 in none of them. An area that holds one of them agrees with it;
        an area named is not inside itself unless the name's own words ask for that kind of area
        (a town whose district COD-AB draws without it, Al-'Amarah, still comes before the district)."""
        if not self.within:
            return 0
        return max(
            (
                area.depth
                for area in self.within
                if _nested(place, area) and (area.place_id != place.place_id or self.kind == place.feature_code)
            ),
            default=0,
        )

    def preference(self, place: Place) -> int:
        """Index of the first group of :attr:`prefer` holding the place, ``len(prefer)`` for none."""
        if not self.prefer:
            return 0
        codes = {place.admin1_pcode, place.admin2_pcode, place.admin3_pcode} - {""}
        return next((i for i, group in enumerate(self.prefer) if codes & group), len(self.prefer))


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
        elif ctx.kind in KIND_BONUS:
            value += KIND_BONUS[ctx.kind] if ctx.kind == place.feature_code else 0.0
        elif place.feature_code in KIND_CODES.get(ctx.kind, (ctx.kind,)):
            value += LANDMARK_BONUS
    return value


def _nested(a: Place, b: Place) -> bool:
    """True when one of the two is a governorate, district or sub-district that contains the other."""
    return (a.is_area and b.lies_in(a.own_pcode)) or (b.is_area and a.lies_in(b.own_pcode))


def _not_rivals(a: Place, b: Place) -> bool:
    """True when either answer is right: one area holds the other, or two records lie within
    :data:`SAME_PLACE_KM` (two sources' points of one town)."""
    return _nested(a, b) or (
        abs(a.latitude - b.latitude) < 0.1
        and haversine_km(a.latitude, a.longitude, b.latitude, b.longitude) <= SAME_PLACE_KM
    )


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


def _candidate(place: Place, score: float, reason: str, matched: str, precision: int | None = None) -> Candidate:
    return Candidate(
        name=place.name,
        latitude=place.latitude,
        longitude=place.longitude,
        governorate=place.admin1,
        district=place.admin2,
        feature_code=place.feature_code,
        geonameid=place.geonameid,
        country_code=place.country_code,
        score=round(score, 3),
        reason=reason,
        place_id=place.place_id,
        matched=matched,
        precision=place.precision if precision is None else precision,
    )


def area_candidate(area: Place, matched: str = "", precision: int | None = None) -> Candidate:
    """The answer that a name lies somewhere in ``area`` (reason ``area``, score :data:`AREA_SCORE`)."""
    return _candidate(area, AREA_SCORE, "area", matched, precision)


def rank(gazetteer: Gazetteer, hits: list[Hit], ctx: Context | None = None, limit: int = 10) -> list[Candidate]:
    """Candidates for ``hits``, best first, one per place (its best hit), at most ``limit``.

    A governorate or district and a place inside it that share the name ("Kirkuk" the city, the
    district and the governorate), and two records within :data:`SAME_PLACE_KM` of each other, are
    not rivals: neither lowers the other's score. See the module docstring for what a strict
    context does.
    """
    best: dict[int, Hit] = {}
    for hit in hits:
        if hit.row not in best or best[hit.row].quality < hit.quality:
            best[hit.row] = hit
    ctx = ctx or Context()
    if not best:
        return [area_candidate(ctx.within[0])] if ctx.within else []
    loose = all(hit.reason in ("normalised", "fuzzy") for hit in best.values())
    scored = []
    for hit in best.values():
        place = gazetteer.place(hit.row)
        r = 2.0 * hit.quality + 1.5 * place.prior + _context_terms(place, ctx, loose)
        scored.append((r, hit, place))
    if not ctx.kind:
        scored = _town_before_its_area(scored)
    classes = [_rank_class(place, ctx) for _, _, place in scored]
    order = sorted(range(len(scored)), key=lambda i: (classes[i], -scored[i][0], scored[i][2].place_id))
    scored, classes = [scored[i] for i in order], [classes[i] for i in order]
    top = scored[0][0]
    weights = [math.exp(SHARPNESS * (r - top)) for r, _, _ in scored]
    first = classes[0][:2]
    fallback = bool(ctx.within) and classes[0][0] == 0  # nothing lies in the areas named
    out = [area_candidate(ctx.within[0])] if fallback else []
    for i, (_, hit, place) in enumerate(scored[: max(0, limit - len(out))]):
        guess = fallback or classes[i][:2] != first
        rivals = sum(
            w
            for j, w in enumerate(weights)
            if j != i and (guess or classes[j][:2] == first) and not _not_rivals(place, scored[j][2])
        )
        score = hit.quality * weights[i] / (weights[i] + rivals)
        out.append(_candidate(place, min(score, GUESS_SCORE) if guess else score, hit.reason, hit.matched))
    return out


def _rank_class(place: Place, ctx: Context) -> tuple[int, int, int]:
    """What orders candidates before their ranking value in a strict context (see the module docstring):
    (not inside the named areas, abroad, preference), smaller first."""
    if not ctx.strict:
        return (0, 0, 0)
    abroad = int(place.country_code != HOME_COUNTRY and not ctx.abroad)
    return (-ctx.inside(place), abroad, ctx.preference(place))
