"""Where an event happened: place names of a sentence, which of them is the event's place, its precision.

Names come from the gazetteer (:func:`webmap.gazetteer.find_mentions`, ranked with the sentence
as context, so "the Riyadh district, southwest of Kirkuk" is Ar Riyad in Kirkuk, not the Saudi
capital). A name is *not* an event's place when it is

* the extent of a region: "from Khanaqin in the southeast to Sinjar (Shingal) in the northwest";
* part of an organisation's name: "Kurdistan Region Prime Minister", "Ninewa operations command",
  "Kurdistan Free Society Party", "Sinjar Resistance Units" (a force alias, passed as forbidden);
* a country or anything wider than a governorate ("Iraq", "northern Iraq"), or outside Iraq;
* a second spelling in brackets: "Sinjar (Shingal)" is one place.
* the one addressed, which stands for its government: "they have urged Baghdad to increase coordination".

(Datelines never reach this module: :mod:`.sentences` cuts them off their paragraph.)

A place must agree with the rest of its sentence. It lies in the governorate and the district the
sentence names as such ("Albu Rashid village in Daquq district in Kirkuk province"), and within
:data:`WITHIN_KM` of the place the report puts it in ("Intisar area (Al Salam) in Mosul city",
"Hanjira Mount in Tuz Khurmato"). The best-ranked candidate that agrees is taken; when none does,
the name is dropped (everywhere in the sentence) and the district or town the sentence names is the
place, at its precision. A district named with a governorate it does not lie in keeps its own
governorate: reports give the disputed districts to either ("Makhmour district, Salahuddin province").

A square, bridge, street or neighbourhood ("Tahrir square, Baghdad city", "al-Nasr bridge in
Nassiriya", "Baghdad's Tahrir Square", "ساحة التحرير") is the gazetteer's record of that landmark in
the town the sentence names, else that town at precision 2, never a village of the same name
elsewhere. A name followed by "region", "area", "mountains" or "valley" is an area (precision 2); in
"the Haftanin region of Dahuk" it lies in the governorate of Dahuk, not near the town. With no area
named around it, a range, valley or area of the name comes before a village of the name that lies
away from it ("the Qandil region" is the Qandil Mountains, not Qandil in Ninewa), and before a
same-named place abroad. A direction from a governorate or district ("northwest of the disputed
Kirkuk province") keeps the area's point at precision 3 and is kept in the location ("northwest of
Kirkuk governorate"). A governorate's point is its capital's, as ACLED codes a governorate
(``capitals.csv`` of the gazetteer); its location says "governorate", so the district the capital
lies in is not taken for the incident's.

Names are found by the gazetteer's exact and alias names. A name after a preposition that these lack
(or whose only exact match lies abroad) is looked up by its spelling when it is written as an area
and names a range, valley or area of Iraq ("in Xakurk region"), or when it lies inside the district
or governorate the sentence names as such ("in Hanasor, in Sinjar district"); never otherwise.

Of the names left in a clause, the event's place is the most specific; a name that is only the
reference of a direction counts as less specific than a district and more than a governorate
("in the Riyadh district, southwest of Kirkuk" is Riyadh; "north of Rutba, Anbar province" is
near Rutba). Precision (ACLED's geo_precision):

==========================================================  ========================================  =
words                                                       point                                     p
==========================================================  ========================================  =
"in Akula village", "in al Ishaqi"                          the place                                 1
"near Makhmur", "outskirts of", "north of Rutba"            the place                                 2
"on the Haditha-Baiji road" (an end of a road)              the first end named                       2
"in Haweeja district" (a district that has a town of its    the town                                  2
name, as ACLED codes it)
"in the Rashad sub-district", a neighbourhood, a mountain   the gazetteer's point (a sub-district's:  2
range or valley                                             inside it)
"in X district" (no such town)                             the area's representative point (inside   3
                                                            it), from the boundary layers
"in Kirkuk province", "northwest of the disputed Kirkuk     the governorate's capital                 3
province"
==========================================================  ========================================  =
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from .. import gazetteer, spatial
from ..gazetteer import Candidate, Mention, Place
from ..gazetteer.curated import capital_of
from ..gazetteer.rank import HOME_COUNTRY, haversine_km
from ..names import fold
from ..records import IRAQ

# How far a place may lie from the place the report says it is in ("Hanjira Mount in Tuz Khurmato").
WITHIN_KM = 60.0
# How far from the places a report named before an ambiguous name is read (a district's width or two).
REPORT_KM = 100.0
# Two spellings of one place ("Sinjar (Shingal)") may have points this far apart in the gazetteer.
SPELLING_KM = 15.0
_TOO_WIDE = {"PCLI", "PCLD", "PCL", "PCLS", "PCLF", "ADM0", "RGN", "CONT", "ADMD"}
_DISTRICT_CODES = {"ADM2", "ADM3", "PPLA2", "PPLA3"}
_LEVEL_RANK = {"place": 3, "sub-district": 2.5, "district": 2, "governorate": 1}
_REFERENCE_RANK = 1.5
_ADMIN_LEVELS = {"ADM1": "governorate", "ADM2": "district", "ADM3": "sub-district"}
_LAYER = {"governorate": "adm1", "district": "adm2", "sub-district": "adm3"}
_AREA_PRECISION = {"governorate": 3, "district": 3, "sub-district": 2}
# What "region", "area", "mountains" or "valley" after a name may be besides a place: ranges, valleys, areas.
_AREA_CODES = {"MT", "MTS", "VAL", "WAD", "AREA", "RGN", "PLN", "DSRT", "HLLS", "RDGE"}

_NEAR = re.compile(
    r"\b(?:near|nearby|outskirts\s+of|vicinity\s+of|close\s+to|around|outside|surroundings\s+of|"
    r"environs\s+of|قرب|بالقرب\s+من|اطراف|أطراف|محيط)\s+(?:the\s+)?(?:[\w'-]+\s+){0,2}$",
    re.IGNORECASE,
)
_DIRECTION = re.compile(
    r"\b(?:(?:\d+\s*(?:km|kilomet\w*|miles?)\s+)?(?:north|south|east|west)(?:-?(?:east|west))?"
    r"(?:ern)?(?:\s+(?:part|outskirts|edge|side))?\s+of|(?:\d+\s*(?:km|kilomet\w*|miles?))\s+"
    r"(?:from|outside)|(?:شمال|جنوب|شرق|غرب)\w*)\s+(?:the\s+)?(?:[\w'-]+\s+){0,2}$",
    re.IGNORECASE,
)
_FROM = re.compile(r"\bfrom\s+(?:the\s+)?$", re.IGNORECASE)
_DIRECTION_WORDS = re.compile(r"^(?:north|south|east|west)(?:-?(?:east|west))? of\s+", re.IGNORECASE)
_COMPASS = re.compile(r"\b(?:north|south|east|west)(?:-?(?:east|west))?|شمال|جنوب|شرق|غرب", re.IGNORECASE)
_ARABIC_COMPASS = {"شمال": "north", "جنوب": "south", "شرق": "east", "غرب": "west"}
# A name followed by these words is an area, not a point: "the Haftanin region of Dahuk", "the Zap area".
_AREA_AFTER = re.compile(r"^(?:\s*\([^()]*\))?\s+(?:region|area|areas|mountains?|range|valley)\b", re.IGNORECASE)
# A square, bridge, street or neighbourhood named in a report: "Tahrir square", "the al-Nasr bridge",
# "the Zanjili neighbourhood", "ساحة التحرير", "جسر الجمهورية". Leading function words are not part of it.
_LANDMARK_WORD = r"(?i:squares?|bridges?|streets?|neighbou?rhoods?|quarters?|roundabouts?|markets?)"
_NAME_WORD = r"(?:(?:al|el|an|ar|as|ash|ad|at|az|Al|El)-)?[A-Z][\w'’-]*"
_LANDMARK = re.compile(
    rf"(?P<name>{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})\s+(?P<word>{_LANDMARK_WORD})\b"
    r"|(?P<ar_word>ساح[ةه]|جسر|شارع|حي)\s+(?P<ar_name>[\u0600-\u06ff]{3,})"
)
# A name after a preposition, perhaps written as an area ("in al Mutassim", "in Hakurk region"): when the
# gazetteer's exact names lack it, it is looked up by spelling (see _spelled_otherwise).
_PLACE_AFTER_PREPOSITION = re.compile(
    rf"\b(?i:in|into|near|at|on|around)\s+(?i:the\s+)?"
    rf"(?P<name>(?:(?:al|el|an|ar|as|ash|ad|at|az)\s+)?{_NAME_WORD}(?:\s+{_NAME_WORD}){{0,2}})"
    r"(?P<area>(?:\s*\([^()]*\))?\s+(?i:region|area|mountains?|range|valley)\b)?(?!\s*\d)"
)
_LEADING_WORDS = frozenset(
    "in on at near the a an from to of and by outside inside into across over under along around".split()
)
_EXTENT_GAP = re.compile(
    r"^(?:\s*\([^()]*\))?(?:,?\s+in\s+the\s+[\w-]+)?,?\s+(?:all\s+the\s+way\s+)?to\s+(?:the\s+)?$", re.IGNORECASE
)
_BRACKETED = re.compile(r"^\s*\($")
# A place named as the one addressed stands for its government: "urged Baghdad to increase coordination".
_ADDRESSED = re.compile(
    r"\b(?:urged|urges|urging|called\s+on|calls\s+on|calling\s+on|pressed|pressing|accused|"
    r"accusing|warned|warning)\s+$",
    re.IGNORECASE,
)
# The ends of a road: "the Haditha-Baiji road", "the Qara Tabah-Jalawla road" (a name the gazetteer lacks
# still makes the other one an end).
_ROAD_FIRST_END = re.compile(r"^\s*[-–]\s*[\w'’]+(?:\s+[\w'’]+){0,2}\s+(?:road|highway|motorway)\b", re.IGNORECASE)
_ROAD_SECOND_END = re.compile(r"^\s+(?:road|highway|motorway)\b", re.IGNORECASE)
_AFTER_HYPHEN = re.compile(r"\w\s*[-–]\s*$")
_OF_PLACE = re.compile(r"^\s+(?:village|town|city)\s+of\s+(?:the\s+)?$", re.IGNORECASE)
# Between two names, words that put the first inside the second: "Albu Rashid village in Daquq district",
# "Intisar area (Al Salam) in Mosul city", "al Mazarie area of Nahiyat Yathrib", "Tal al-Basal, in the district of".
_PLACE_WORD = (
    r"(?:village|town|area|region|neighbou?rhood|quarter|square|hill|mount(?:ains?)?|camp|city|district|"
    r"sub-?district)"
)
_WITHIN = re.compile(
    rf"^\)?(?:\s+{_PLACE_WORD})?(?:\s*\([^()]*\))?(?:\s+{_PLACE_WORD})?\s*,?\s+(?:in|of|within|inside)\s+"
    r"(?:the\s+)?(?:(?:province|governorate|district|sub-?district|city|town|village)\s+of\s+(?:the\s+)?)?"
    r"(?:(?:central|northern|southern|eastern|western|north|south|east|west)\s+|"
    r"(?:the\s+)?(?:cent(?:er|re)|heart|middle|outskirts)\s+of\s+(?:the\s+)?)?$",
    re.IGNORECASE,
)
# Capitalised words that may stand next to a place name; any other makes the name part of a longer
# proper name the gazetteer does not know ("Masrour Barzani", "identified as Serkan Tuncer").
_NEIGHBOURS = frozenset(
    """
al el ar as ad an at az ash the in at near on from to of and or by for with province governorate district
sub-district subdistrict city town village area region mountain mountains mount river valley road camp
square hill hills dam lake desert plain plains wadi north south east west northern southern eastern western
central greater old new upper lower iraq iraqi kurdish arab syrian turkish iranian
""".split()
)
_WORD_BEFORE = re.compile(r"(?:^|\s)([A-Z][\w'’-]*)\s$")
_WORD_AFTER = re.compile(r"^\s([A-Z][\w'’-]*)")


# A place name followed by these words is part of an organisation's name: up to three capitalised
# words and a capitalised organisation word, or one of the lower-case offices.
_ORGANISATION = re.compile(
    r"^(?:\s+[A-Z][\w'’-]*){0,3}\s+(?:Party|Movement|Union|Front|Council|Ministry|Command|Organi[sz]ation|"
    r"Brigades?|Battalions?|Units|Directorate|University|Channel|TV|News|Agency|Government|Parliament|"
    r"Presidency|PM)\b"
    r"|^(?i:\s+(?:region(?:al)?\s+)?(?:prime\s+minister|premier|president|presidency|government|parliament|"
    r"governor|governorate\s+council|provincial\s+council|operations?\s+command|police\s+(?:chief|command|"
    r"directorate)|council|ministry|minister|security\s+council|asayish|mayor))\b"
)


@dataclass
class EventPlace:
    """An event's place: a gazetteer candidate or an admin area, with ACLED's geo precision.

    ``latitude``/``longitude`` in degrees WGS 84; ``level`` place|sub-district|district|governorate;
    ``words`` the words of the report and ``start`` their offset in the sentence; ``reference_only``
    when the words only give a direction from it, ``direction`` those words for a governorate or
    district ("northwest of"); ``alternatives`` other candidates for the words.
    """

    name: str
    latitude: float
    longitude: float
    geo_precision: int
    level: str
    words: str
    start: int
    governorate: str | None = None
    reference_only: bool = False
    alternatives: list[dict] = field(default_factory=list)
    holds_another: bool = False  # the report puts another named place inside this one
    direction: str = ""

    @property
    def description(self) -> str:
        """The place as the report gives it: "Kirkuk governorate", "northwest of Kirkuk governorate" (the
        point of a governorate is its capital's, the word says the district it stands in is not known)."""
        name = f"{self.name} governorate" if self.level == "governorate" else self.name
        return f"{self.direction} {name}" if self.direction else name

    def contains(self, other: EventPlace) -> bool:
        """True when this is a governorate and ``other`` lies in it (by the candidates' governorate names)."""
        if self.level != "governorate" or not other.governorate:
            return False
        return fold(other.governorate) == fold(self.governorate or self.name)

    def km_to(self, other: EventPlace) -> float:
        """Great-circle distance to ``other`` in km."""
        return haversine_km(self.latitude, self.longitude, other.latitude, other.longitude)

    @property
    def rank(self) -> float:
        """How specific the place is: a town 3 .. a governorate 1; a direction's reference 1.5 at most."""
        rank = _LEVEL_RANK[self.level]
        return min(rank, _REFERENCE_RANK) if self.reference_only else rank


@dataclass
class _Name:
    """A place name of the sentence still in the running, with its Iraqi candidates in rank order."""

    mention: Mention
    level: str
    candidates: list[Candidate]
    reference: bool
    near: bool
    explicit: bool  # the words say the level ("Kirkuk province", "Hawija district")
    area: bool = False  # "the Haftanin region of Dahuk": a place wider than a point
    direction: str = ""  # "northwest of", when the words give a direction from it

    @property
    def top(self) -> Candidate:
        return self.candidates[0]


def _extent_spans(text: str, mentions: list) -> set[int]:
    """Indexes of mentions that name the ends of a region's extent ("from X ... to Y")."""
    out: set[int] = set()
    for i, first in enumerate(mentions):
        if not _FROM.search(text[max(0, first.start - 12) : first.start]):
            continue
        for j in range(i + 1, min(i + 3, len(mentions))):
            if _EXTENT_GAP.match(text[first.end : mentions[j].start]):
                out.update(range(i, j + 1))
                break
    return out


def _road_end(text: str, mention) -> bool:
    """True when the mention names an end of a road ("the Haditha-Baiji road"): the event is on the road."""
    after = text[mention.end : mention.end + 40]
    return bool(
        _ROAD_FIRST_END.match(after)
        or (_ROAD_SECOND_END.match(after) and _AFTER_HYPHEN.search(text[max(0, mention.start - 3) : mention.start]))
    )


def _in_brackets_after(text: str, mentions: list, i: int) -> bool:
    """True when mention ``i`` is a second spelling in brackets right after the previous name: "Sinjar
    (Shingal)". A bracketed name that is another place ("the Zap (Amadiya) region") is the area
    the first lies in, read as "X in Y" (see :func:`_holder`)."""
    return (
        i > 0
        and bool(_BRACKETED.match(text[mentions[i - 1].end : mentions[i].start]))
        and _same_place(mentions[i - 1], mentions[i])
    )


def _same_place(a, b) -> bool:
    """True when two mentions can name one place: a shared candidate, or best candidates within
    :data:`SPELLING_KM` of each other (a name and its other spelling)."""
    if not a.candidates or not b.candidates:
        return True
    if {c.place_id for c in a.candidates} & {c.place_id for c in b.candidates}:
        return True
    x, y = a.candidates[0], b.candidates[0]
    return haversine_km(x.latitude, x.longitude, y.latitude, y.longitude) <= SPELLING_KM


def _governorate_of(area: dict) -> str:
    """The name of the governorate holding ``area`` (a :func:`webmap.spatial.find_admin_area` dict);
    empty when replaced boundary layers lost a parent on the way up."""
    current: dict | None = area
    while current is not None and current["level"] != "adm1":
        current = spatial.find_admin_area(current["parent_pcode"], f"adm{int(current['level'][-1]) - 1}")
    return current["name"] if current is not None else ""


@lru_cache(maxsize=8)
def _representative_points(layer_name: str, signature: tuple) -> dict[str, tuple[float, float]]:
    """P-code -> (latitude, longitude) of a point inside each area of a layer (for one version of its file)."""
    layer = spatial.load_layer(layer_name)
    points = layer.geometry.representative_point()
    return {pcode: (y, x) for pcode, y, x in zip(layer["pcode"], points.y, points.x, strict=True)}


def _admin_point(
    level: str, name: str, governorates: Collection[str] = frozenset()
) -> tuple[str, str, float, float] | None:
    """``(name, governorate, latitude, longitude)`` of the admin area ``name`` at ``level``: a
    governorate's capital, as ACLED codes a governorate, else a point inside the area; None when no
    area has that name, or it lies outside ``governorates``."""
    area = spatial.find_admin_area(name, _LAYER[level])
    if area is None:
        return None
    governorate = _governorate_of(area)
    if governorates and fold(governorate) not in governorates:
        return None
    capital = _capital(area["pcode"]) if level == "governorate" else None
    if capital is not None:
        return area["name"], governorate, capital.latitude, capital.longitude
    path = spatial.layer_path(_LAYER[level])
    stat = path.stat()
    point = _representative_points(_LAYER[level], (str(path), stat.st_size, stat.st_mtime_ns)).get(area["pcode"])
    if point is None:
        return None
    return area["name"], governorate, point[0], point[1]


def _capital(pcode: str) -> Place | None:
    """The gazetteer's record of a governorate's capital; None when the loaded gazetteer lacks it."""
    place_id = capital_of(pcode)
    loaded = gazetteer.get_gazetteer()
    return loaded.place_by_id(place_id) if place_id and loaded.row_of(place_id) is not None else None


def _level_of(candidate, kind: str | None) -> str:
    """What the report names: the kind its words ask for, else the kind of the best candidate."""
    if kind in _ADMIN_LEVELS:
        return _ADMIN_LEVELS[kind]
    if kind == "P":
        return "place"
    return _ADMIN_LEVELS.get(candidate.feature_code, "place")


def _inside_longer_name(text: str, mention) -> bool:
    """True when a capitalised word that is not a place word stands right before or after the name."""
    before = _WORD_BEFORE.search(text[max(0, mention.start - 30) : mention.start])
    after = _WORD_AFTER.match(text[mention.end : mention.end + 30])
    sentence_start = before is not None and not text[: mention.start - len(before.group(1)) - 1].strip()
    return (after is not None and after.group(1).lower() not in _NEIGHBOURS) or (
        before is not None and not sentence_start and before.group(1).lower() not in _NEIGHBOURS
    )


def _name(text: str, mention) -> _Name | None:
    iraqi = [
        c
        for c in mention.candidates
        if c.country_code == HOME_COUNTRY and c.feature_code not in _TOO_WIDE and IRAQ.contains(c.longitude, c.latitude)
    ]
    area = bool(_AREA_AFTER.match(text[mention.end : mention.end + 60]))
    best = mention.candidates[0] if mention.candidates else None
    if best is None or not iraqi:
        return None
    if (best.country_code != HOME_COUNTRY or best.feature_code in _TOO_WIDE) and not (
        area and any(c.feature_code in _AREA_CODES for c in iraqi)
    ):
        return None
    before = text[max(0, mention.start - 60) : mention.start]
    direction = _DIRECTION.search(before)
    kind = mention.kind  # the descriptor next to the name ("Kirkuk province"), read by the gazetteer
    return _Name(
        mention,
        _level_of(iraqi[0], kind),
        iraqi,
        direction is not None,
        direction is not None or bool(_NEAR.search(before)),
        kind in _ADMIN_LEVELS,
        area=area,
        direction=_compass_words(direction.group(0)) if direction else "",
    )


def _compass_words(words: str) -> str:
    """The compass direction of a reference's words: "northwest of the disputed" -> "northwest of",
    "north-western outskirts of" -> "northwest of", "شمال غرب" -> "northwest of"."""
    points = [
        _ARABIC_COMPASS.get(w, w) for w in (m.group(0).lower().replace("-", "") for m in _COMPASS.finditer(words))
    ]
    direction = "".join(points[:2]) if len(points) > 1 and points[0] in ("north", "south") else "".join(points[:1])
    return f"{direction} of" if direction else ""


def _agrees(candidate, name: _Name, governorates: set[str], districts: set[str], container) -> bool:
    """Whether a candidate lies in the governorates and districts the sentence names as such and within
    :data:`WITHIN_KM` of the place the report puts it in."""
    if governorates and fold(candidate.governorate or "") not in governorates:
        return False
    if name.level == "place" and districts and fold(candidate.district or "") not in districts:
        return False
    return (
        container is None
        or haversine_km(candidate.latitude, candidate.longitude, container.latitude, container.longitude) <= WITHIN_KM
    )


def _area_first(candidates: list[Candidate]) -> list[Candidate]:
    """Candidates of a name the report calls a region, area, range or valley, with no area named around it:
    a range, valley or area of the name first ("the Qandil region" is the Qandil Mountains, not the
    village of Qandil in Ninewa), unless a populated place ranked before it lies within
    :data:`WITHIN_KM` of its point (then the place stands in the area: "the Metina region", Metina)."""
    area = next((c for c in candidates if c.feature_code in _AREA_CODES), None)
    if area is None:
        return candidates
    for candidate in candidates:
        if candidate is area:
            break
        if (
            candidate.feature_code.startswith("PPL")
            and haversine_km(candidate.latitude, candidate.longitude, area.latitude, area.longitude) <= WITHIN_KM
        ):
            return candidates
    return [area] + [c for c in candidates if c is not area]


def _near_any(candidate: Candidate, places: Sequence[EventPlace]) -> bool:
    return any(
        haversine_km(candidate.latitude, candidate.longitude, p.latitude, p.longitude) <= REPORT_KM for p in places
    )


def _town_named(key: str, candidate: Candidate) -> Candidate | None:
    """A populated place of Iraq named like the district, in its governorate ("Haweeja district" -> Al Hawijah):
    looked up by the report's spelling, then by the district's own name."""
    for name in dict.fromkeys((key, candidate.name)):
        for other in _resolved(name, id(gazetteer.get_gazetteer())):
            if (
                other.country_code == HOME_COUNTRY
                and other.feature_code.startswith("PPL")
                and (not candidate.governorate or other.governorate == candidate.governorate)
            ):
                return other
    return None


@lru_cache(maxsize=1024)
def _resolved(name: str, gazetteer_id: int) -> list[Candidate]:
    """:func:`webmap.gazetteer.resolve` without context, kept per loaded gazetteer: a report names
    the same districts again and again."""
    return gazetteer.resolve(name, limit=10)


@lru_cache(maxsize=1024)
def _best_spelled(words: str, district: str | None, governorate: str | None, gazetteer_id: int) -> Candidate | None:
    """The best :func:`webmap.gazetteer.resolve` candidate of ``words`` with the district and governorate
    as context (None: no context), kept per loaded gazetteer: reports repeat their phrases."""
    found = gazetteer.resolve(words, limit=1, online=False, district=district, governorate=governorate)
    return found[0] if found else None


def _alternatives(name: _Name) -> list[dict]:
    return [
        {
            "name": c.name,
            "latitude": c.latitude,
            "longitude": c.longitude,
            "governorate": c.governorate,
            "district": c.district,
            "feature_code": c.feature_code,
            "score": round(c.score, 3),
        }
        for c in name.candidates[:5]
    ]


def _place(name: _Name, candidate: Candidate | None, governorates: set[str]) -> EventPlace | None:
    """The place a name gives, from its chosen candidate; a district or sub-district named as such with
    no agreeing candidate is looked up in the boundary layers. A town or village named as such
    ("the village of X") with no agreeing candidate gives no place."""
    mention = name.mention

    def named(place: str, lat: float, lon: float, precision: int, level: str, governorate: str | None) -> EventPlace:
        return EventPlace(
            place,
            lat,
            lon,
            precision,
            level,
            mention.text,
            mention.start,
            governorate=governorate,
            reference_only=name.reference,
            alternatives=_alternatives(name),
        )

    if name.level == "place":
        if candidate is None:
            return None
        precision = max(candidate.precision, 2 if name.near or name.area else 1)
        return named(
            candidate.name, candidate.latitude, candidate.longitude, precision, "place", candidate.governorate or None
        )
    if name.level in ("district", "sub-district") and candidate is not None:
        town = candidate if candidate.feature_code.startswith("PPL") else _town_named(mention.key, candidate)
        if town is not None:
            governorate = town.governorate or candidate.governorate or None
            return named(town.name, town.latitude, town.longitude, 2, name.level, governorate)
    names = ([candidate.name] if candidate is not None else []) + [mention.text]
    # Reports call sub-districts districts too ("the Riyadh district", "Rashad district").
    levels = [name.level] + (["sub-district"] if name.level == "district" else [])
    area = next(filter(None, (_admin_point(level, n, governorates) for level in levels for n in names)), None)
    if area is None:
        return None
    area_name, area_governorate, lat, lon = area
    found = named(area_name, lat, lon, _AREA_PRECISION[name.level], name.level, area_governorate)
    found.direction = name.direction
    return found


def find_places(
    text: str, forbidden: Sequence[tuple[int, int]] = (), earlier: Sequence[EventPlace] = ()
) -> list[EventPlace]:
    """Places in ``text`` (a sentence) that can be an event's place, in reading order.

    ``forbidden`` spans (offsets in ``text``) hold names that are not places: force names such as
    "Sinjar Resistance Units". ``earlier``: places the report named before this sentence; a name
    the sentence leaves ambiguous (no area named, not put in another place) is read near them
    ("... the Kirkuk village of Riyadh. A second attack took place ... in the village of Rashad").
    See the module docstring for what else is left out and how a candidate is chosen.
    """
    mentions = [
        m for m in gazetteer.find_mentions(text) if not any(m.start < end and start < m.end for start, end in forbidden)
    ]
    extent = _extent_spans(text, mentions)
    names = []
    abroad = set()  # mentions whose every candidate lies abroad ("al Qayrawan" is also Kairouan)
    for i, mention in enumerate(mentions):
        if (
            i in extent
            or _in_brackets_after(text, mentions, i)
            or _ADDRESSED.search(text[max(0, mention.start - 20) : mention.start])
        ):
            continue
        if _ORGANISATION.match(text[mention.end : mention.end + 60]) or _inside_longer_name(text, mention):
            continue
        name = _name(text, mention)
        if name is not None:
            # On a road between two towns the event is near the first named, not in it.
            name.near = name.near or _road_end(text, mention)
            names.append(name)
        else:
            abroad.add(i)
    landmarks, names = _landmarks(text, names, forbidden)
    # Trust in steps: governorates named as such, then districts named as such, then the rest from
    # the last name to the first, so that a container is chosen before what the report puts in it.
    chosen: dict[int, Candidate | None] = {}
    for name in names:
        if name.explicit and name.level == "governorate":
            chosen[id(name)] = next((c for c in name.candidates if c.feature_code == "ADM1"), name.top)
    governorates = {fold(c.governorate or c.name) for c in chosen.values() if c is not None}
    for name in names:
        if name.explicit and name.level in ("district", "sub-district"):
            # A district against the governorate named with it: reports give the disputed districts to
            # either governorate ("Makhmour district, Salahuddin province"), so a real district wins.
            chosen[id(name)] = next(
                (c for c in name.candidates if _agrees(c, name, governorates, set(), None)),
                next((c for c in name.candidates if c.feature_code in _DISTRICT_CODES), None),
            )
    districts = {
        fold(c.district)
        for n in names
        for c in [chosen.get(id(n))]
        if c is not None and c.district and n.level == "district"
    }
    governorates |= {
        fold(c.governorate)
        for n in names
        for c in [chosen.get(id(n))]
        if c is not None and c.governorate and n.level in ("district", "sub-district")
    }
    named_areas = {n.level: c.name for n in names for c in [chosen.get(id(n))] if c is not None and n.explicit}
    taken = [(m.start, m.end) for i, m in enumerate(mentions) if i not in abroad] + list(forbidden)
    landmarks += _spelled_otherwise(
        text,
        taken + [(p.start, p.start + len(p.words)) for p in landmarks],
        named_areas.get("district"),
        named_areas.get("governorate"),
        lambda c: (
            (not governorates or fold(c.governorate or "") in governorates)
            and (not districts or fold(c.district or "") in districts)
        ),
    )
    far: set[int] = set()  # ambiguous names none of whose candidates lies near the report's earlier places
    for i in range(len(names) - 1, -1, -1):
        name = names[i]
        if id(name) in chosen:
            continue
        holder = _holder(text, names, i)
        container = chosen.get(id(holder)) if holder is not None else None
        if (
            holder is not None
            and container is not None
            and name.area
            and spatial.find_admin_area(holder.mention.text, "adm1")
        ):
            # "the Zap region of Dahuk": the governorate, not the town of its name, holds the area.
            container_governorate = {fold(container.governorate or "")}
            agreeing = [
                c for c in name.candidates if _agrees(c, name, governorates or container_governorate, districts, None)
            ]
        else:
            agreeing = [c for c in name.candidates if _agrees(c, name, governorates, districts, container)]
        if name.area and container is None and not governorates and not districts:
            agreeing = _area_first(agreeing)
        if agreeing and container is None and not governorates and not districts and earlier:
            agreeing.sort(key=lambda c: not _near_any(c, earlier))  # stable: rank order within each group
            if not _near_any(agreeing[0], earlier):
                far.add(id(name))
        chosen[id(name)] = agreeing[0] if agreeing else None
    # A name that fails somewhere in the sentence fails everywhere in it: it is one place.
    failed = {n.mention.key for n in names if chosen.get(id(n)) is None and not n.explicit}
    for name in names:
        if name.mention.key in failed:
            chosen[id(name)] = None
    holders = {id(h) for i in range(len(names)) for h in [_holder(text, names, i)] if h is not None}
    places = []
    for name in names:
        candidate = chosen.get(id(name))
        if id(name) in far:
            place = _area_near(name, earlier) or _place(name, candidate, governorates)
        elif candidate is None and not name.explicit:
            place = None
        else:
            place = _place(name, candidate, governorates)
        if place is not None:
            place.holds_another = id(name) in holders
            places.append(place)
    places = sorted(places + landmarks, key=lambda place: place.start)
    return places


def _landmarks(text: str, names: list[_Name], forbidden) -> tuple[list[EventPlace], list[_Name]]:
    """Squares, bridges, streets and neighbourhoods of the sentence, and the names left to read.

    A landmark in a town the sentence names ("Tahrir square, Baghdad city", "al-Nasr bridge in
    Nassiriya", "Baghdad's Jumhuriya bridge") is the gazetteer's record of it in that town, else the
    town at precision 2; with no town named, only a record of the landmark itself. A name inside the
    landmark's words ("Tahrir", a village elsewhere) is no place of its own, nor is the town.
    """
    places, used = [], set()
    for match in _LANDMARK.finditer(text):
        start, end, phrase, owner = _landmark_words(match)
        if not phrase or any(start < b and a < end for a, b in forbidden):
            continue
        inside = {id(n) for n in names if start <= n.mention.start and n.mention.end <= end}
        town = _town_of(text, [n for n in names if id(n) not in inside], start, end)
        near = bool(_NEAR.search(text[max(0, match.start() - 40) : match.start()]))
        place = _landmark_place(phrase, start, town.mention.text if town is not None else owner, near)
        used |= inside
        if place is not None:
            places.append(place)
            if town is not None:
                used.add(id(town))
    return places, [n for n in names if id(n) not in used]


def _spelled_otherwise(
    text: str,
    taken: Sequence[tuple[int, int]],
    district: str | None,
    governorate: str | None,
    inside: Callable[[Candidate], bool],
) -> list[EventPlace]:
    """Places the sentence names in a spelling the gazetteer's exact names lack, after a preposition and
    outside the ``taken`` spans and not before a number ("on Mar 07"), looked up by spelling:

    * an area ("in Hakurk region" is Khakurk, "in the Qarachokh mountains" Qarachogh): the best
      candidate when it is a range, valley or area of Iraq (a fuzzy match too: "Wadi Khakurik");
    * any place inside the ``district`` or ``governorate`` the sentence names as such ("in al Mutassim,
      in Salahuddin province"; "in the al Qayrawan area in Sinjar district", whose exact name is
      Kairouan's, in Tunisia): the best candidate when the named areas hold it (``inside``).
    """
    places = []
    for match in _PLACE_AFTER_PREPOSITION.finditer(text):
        start, end = match.span("name")
        if any(start < b and a < end for a, b in taken):
            continue
        words = match.group("name")
        best = _best_spelled(words, None, None, id(gazetteer.get_gazetteer())) if match.group("area") else None
        area = best is not None and best.feature_code in _AREA_CODES
        if not area:
            named = district or governorate
            best = _best_spelled(words, district, governorate, id(gazetteer.get_gazetteer())) if named else None
            if best is not None and (
                not inside(best) or best.reason in ("area", "fuzzy") or best.feature_code in ("ADM1", "ADM2")
            ):
                best = None
        if best is None or best.country_code != HOME_COUNTRY or best.precision >= 3:
            continue  # a landmark known only by its governorate says no more than the governorate
        level = "sub-district" if best.feature_code == "ADM3" else "place"
        near = bool(_NEAR.search(text[max(0, match.start() - 40) : match.start() + 1]))
        precision = max(best.precision, 2 if area or near or match.group("area") else 1)
        places.append(
            EventPlace(
                best.name, best.latitude, best.longitude, precision, level, words, start, best.governorate or None
            )
        )
    return places


def _landmark_words(match: re.Match) -> tuple[int, int, str, str]:
    """Offsets and words of a landmark match without leading function words ("In Tahrir Square"), and
    the town a possessive before it names ("Baghdad's Tahrir Square" -> "Baghdad")."""
    if match.group("ar_word"):
        return match.start(), match.end(), match.group(0), ""
    words = list(re.finditer(r"\S+", match.group("name")))
    first = 0
    while first < len(words) and (words[first].group().lower() in _LEADING_WORDS or _possessive(words[first].group())):
        first += 1
    if first == len(words):
        return match.start(), match.end(), "", ""
    owner = next((_possessive(w.group()) for w in words[:first] if _possessive(w.group())), "")
    start = match.start("name") + words[first].start()
    return start, match.end(), match.string[start : match.end()], owner


def _possessive(word: str) -> str:
    """The owner of a possessive word ("Baghdad's" -> "Baghdad"), else ``""``."""
    return word[:-2] if word.endswith(("'s", "’s")) else ""


def _town_of(text: str, names: list[_Name], start: int, end: int) -> _Name | None:
    """The town the sentence puts a landmark in: the nearest name whose best candidate is a populated
    place, after the landmark ("... square, Baghdad city", "... bridge in Nassiriya") or right before
    it ("Baghdad's Tahrir Square")."""
    towns = [n for n in names if n.level == "place" and n.top.feature_code.startswith("PPL")]
    after = [n for n in towns if n.mention.start >= end]
    before = [n for n in towns if n.mention.end <= start and start - n.mention.end <= 4]
    if after:
        return min(after, key=lambda n: n.mention.start)
    return before[-1] if before else None


def _landmark_place(phrase: str, start: int, town: str, near: bool) -> EventPlace | None:
    """The place of a landmark in ``town`` (its words in the report; empty when none is named)."""
    where = f"{phrase} in {town}" if town else phrase
    found = [c for c in gazetteer.resolve(where, limit=5, online=False) if c.country_code == HOME_COUNTRY]
    if not found:
        return None
    best = found[0]
    village = best.feature_code.startswith("PPL") and best.feature_code != "PPLX"
    if not town and (best.reason not in ("exact", "alias") or village):
        return None  # no town named: only a record of the landmark itself will do
    return EventPlace(
        best.name,
        best.latitude,
        best.longitude,
        max(best.precision, 2 if near else 1),
        "place",
        phrase,
        start,
        governorate=best.governorate or None,
        alternatives=[c.to_dict() for c in found[1:5]],
    )


def _holder(text: str, names: list[_Name], i: int) -> _Name | None:
    """The name the report puts name ``i`` in: "X in Y" or "X (Y)" (one of the next two names) or "Y
    village of X" (the name before), other than a governorate (those constrain through the
    governorate check)."""
    name = names[i]
    # "the Kirkuk village of Riyadh" names Riyadh, a village of Kirkuk, not Kirkuk in Riyadh.
    after = next(
        (
            o
            for o in names[i + 1 : i + 3]
            if (
                _WITHIN.match(text[name.mention.end : o.mention.start])
                or _BRACKETED.match(text[name.mention.end : o.mention.start])
            )
            and not _OF_PLACE.match(text[name.mention.end : o.mention.start])
        ),
        None,
    )
    before = names[i - 1] if i and _OF_PLACE.match(text[names[i - 1].mention.end : name.mention.start]) else None
    holder = after or before
    return holder if holder is not None and holder.level != "governorate" else None


def _area_near(name: _Name, earlier: Sequence[EventPlace]) -> EventPlace | None:
    """For a name none of whose candidates agrees, the sub-district or district of that name when it lies
    near the places the report named before ("the village of Rashad" -> Al-Rashad sub-district, Kirkuk)."""
    for level in ("sub-district", "district"):
        area = _admin_point(level, name.mention.text)
        if area is not None:
            area_name, governorate, lat, lon = area
            place = EventPlace(
                area_name,
                lat,
                lon,
                _AREA_PRECISION[level],
                level,
                name.mention.text,
                name.mention.start,
                governorate,
                name.reference,
                _alternatives(name),
            )
            if any(place.km_to(p) <= REPORT_KM for p in earlier):
                return place
    return None


def area_words(location: str) -> str:
    """A location without the direction an extracted place may carry: "northwest of Kirkuk" -> "Kirkuk"."""
    return _DIRECTION_WORDS.sub("", location or "")


def choose_place(places: list[EventPlace]) -> EventPlace | None:
    """The event's place among a clause's places: the most specific (see :attr:`EventPlace.rank`), then one
    the report puts no other place in ("the Kirkuk village of Riyadh" is Riyadh), then the first."""
    if not places:
        return None
    return min(places, key=lambda p: (-p.rank, p.holds_another, p.start))
