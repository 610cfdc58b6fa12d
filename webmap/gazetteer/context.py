"""Place names in free text, and what the words around a name say about it.

:func:`find_mentions` scans a sentence (English, Arabic or Kurdish) for names the gazetteer knows:
word n-grams of 1 to 4 words are folded like names and looked up in the exact/alias index, the
longest match wins, matches never overlap. Guards against common words that happen to be village
names: a Latin-script match must be capitalised (articles such as "al-" aside), at least
:data:`MIN_KEY_LENGTH` characters long, and a single word must not be in :data:`STOPWORDS`
(a curated list of English words that are also place names somewhere, e.g. "Read", "More", "Police").

:func:`build_context` turns the text around a name into a :class:`~.rank.Context`: countries named
("Iraq", "Iraqi", "Syria"), governorates and districts named ("in Diyala province", "Hawija
district"), other places named (anchors, with a compass direction when the text says "southwest
of Kirkuk"), and the kind of place the name's own descriptor asks for ("Riyadh district").
"""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path

from ..names import fold
from .keys import ARTICLE_WORDS, descriptor_kind, name_key, split_descriptor
from .load import Gazetteer
from .rank import COMPASS, HOME_COUNTRY, Anchor, Candidate, Context, hits_from_lookup, rank

MAX_NGRAM = 4
MIN_KEY_LENGTH = 3
COUNTRIES_FILE = Path(__file__).with_name("countries.csv")

_TOKEN = re.compile(r"[^\W_]+(?:['’‘ʼʻ`´][^\W_]+)*")
_GAP = re.compile(r"[\s\-'’‘ʼʻ`´]{1,3}")
_LATIN = re.compile(r"[A-Za-zÀ-ɏḀ-ỿ]")
_CONNECTORS = ARTICLE_WORDS | {"bin", "ibn", "bani", "wa", "de", "la"}
# Descriptor words next to a name (their kinds are the gazetteer's descriptor table, keys.py).
_KIND_AFTER = re.compile(
    r"^[\s,]{0,2}(province|governorate|muhafazah?|sub-?district|district|nahiyah?|qadha?|kaza|town|city|villages?"
    r"|neighbou?rhood|area|region|camp)\b",
    re.IGNORECASE,
)
_KIND_BEFORE = re.compile(
    r"(?:\b(province|governorate|district|sub-?district|town|city|village|nahiya|qada)"
    r"\s+of\s+(?:the\s+)?|(محافظ[ةه]|قضاء|ناحي[ةه]|مدين[ةه]|قري[ةه])\s+)$",
    re.IGNORECASE,
)
_DIRECTION = re.compile(
    r"\b(north|south|east|west|north-?east|north-?west|south-?east|south-?west)(?:ern)?"
    r"\s+of\s+(?:[\w-]+\s+){0,3}$",
    re.IGNORECASE,
)
_ARABIC_PROCLITICS = ("و", "ب", "ل", "ف", "ك")

# Single English words that are also place names in the gazetteer and occur in reports as words.
STOPWORDS = frozenset(
    """
a about above across after again against ago agency ahead air aircraft airstrike airstrikes all
almost along already also although always am among an and another any are area areas army around
arrested as at attack attacked attacks authorities authority away back bank base based be became
because been before began behind being believe below best between big black blast blue bomb bombing
border both brigade but by call called camp can capital car center central centre chief city civil
civilian civilians clash clashes close coalition command commander committee corner council could
country county court cross daily day days dead death deaths defence defense deputy did district
division do does down during each early east eastern editing eight either eleven else end enemy
even evening every fighter fighters fire first five for force forces former four free friday from
front further general get given go gold good government governor great green group groups guard had
half hall has have he head health her here high highway hill him his home hospital hot house how
however human i if in including independent inside interior into is it its itself just key killed
king last late later latest leader leaders least left less life like line little local long low
made main major make man many march may mayor me member members men middle might militants military
minister ministry monday month months more morning most mount mountain much must my name national
near new news next night nine no north northern not now number of off office officer officers
official officials oil old on once one only open operation operations or order other our out outside
over own party peace people per photo place point police political post power president press prime
province public read red region regional report reported reports republic reuters right river road
round said saturday saw say says second security see seven several she should side since six small
so some son source sources south southern special spokesman spring state states station still
street strike sunday support tell ten than that the their them then there these they third this
those three through thursday time to today told town tribal tribe tuesday two under union unit
united until up upon us valley very village wall war was water way we wednesday week weeks well
were west western what when where which while white who why will with within without wounded year
years yes yesterday you young zero january february april june july august september october
november december jan feb mar apr jun jul aug sep sept oct nov dec isis isil daesh pkk kdp puk krg
federal wave market university junction media trap site kurd kurds shia shiite sunni turk turks
ramadan saddam abu wadi jabal tall tal bridge dam lake camp hay airport prison mosque church school
""".split()
)
ARABIC_STOPWORDS = frozenset(
    name_key(w)
    for w in """
في من على الى إلى عن مع هذا هذه ذلك التي الذي بين بعد قبل عند حيث كما قال وقال أن ان إن كان
غرب شرق شمال جنوب وسط وادي باب الصحة النور السكر البورصة حجر بركة الشفاء جبل تل سوق جسر
""".split()
)
DEMONYMS = {
    "iraqi": "IQ",
    "iraqis": "IQ",
    "syrian": "SY",
    "turkish": "TR",
    "iranian": "IR",
    "saudi": "SA",
    "kuwaiti": "KW",
    "jordanian": "JO",
    "kurdistan region": "IQ",
    "kurdistan": "IQ",
    "krg": "IQ",
    "kri": "IQ",
}


@dataclass
class Mention:
    """A place name found in text: ``text[start:end]``, its lookup key and candidates (best first,
    ranked with the other places the same text names as context)."""

    start: int
    end: int
    text: str
    key: str
    candidates: list[Candidate] = field(default_factory=list)
    kind: str | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return {
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "candidates": [c.to_dict() for c in self.candidates],
        }


@lru_cache(maxsize=1)
def country_names() -> dict[str, str]:
    """Folded country name or demonym -> ISO 3166 alpha-2 code (from ``countries.csv``)."""
    names = dict(DEMONYMS)
    if COUNTRIES_FILE.exists():
        with COUNTRIES_FILE.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                for name in row["names"].split("|"):
                    key = name_key(name)
                    if len(key) >= 4:
                        names.setdefault(key, row["iso"])
    return names


def _allowed(tokens: list[tuple[int, int, str, str, str]], key: str, text: str) -> bool:
    if len(key) < MIN_KEY_LENGTH:
        return False
    first_raw, first = tokens[0][2], tokens[0][3]
    # "at Baghdad", "as Mosul": English words, not articles; "al-Hawija", "al Latifiyah" are.
    if (
        len(tokens) > 1
        and first in _CONNECTORS
        and first_raw.islower()
        and first not in ("al", "el")
        and text[tokens[0][1] : tokens[0][1] + 1] != "-"
    ):
        return False
    words = [token[3] for token in tokens]
    if len(words) == 1 and (key in STOPWORDS or key in ARABIC_STOPWORDS):
        return False
    if all(w in STOPWORDS or w in _CONNECTORS for w in words):
        return False
    for _, _, raw, folded, _ in tokens:
        if _LATIN.match(raw) and not raw[0].isupper() and folded not in _CONNECTORS:
            return False
    return not (tokens[0][3] in _CONNECTORS and len(tokens) == 1)


@lru_cache(maxsize=65536)
def _fold_word(word: str) -> tuple[str, str]:
    """A token's folded form and its form inside a key (Arabic article off); reports repeat words."""
    folded = fold(word)
    return folded, name_key(folded)


@lru_cache(maxsize=65536)
def _key_of(folded: str) -> str:
    return name_key(folded)


def _tokens(text: str) -> list[tuple[int, int, str, str, str]]:
    return [(m.start(), m.end(), m.group(), *_fold_word(m.group())) for m in _TOKEN.finditer(text)]


@lru_cache(maxsize=1)
def _country_starts() -> frozenset[str]:
    return frozenset(name.split()[0] for name in country_names())


def _may_name(span: list[tuple], starts: dict[str, int], country_starts: frozenset[str]) -> bool:
    """False when no name of a place or a country can have the key of ``span``: its first word
    begins no name of that many words. A key drops a leading article word ("al Hawija" -> "hawija")."""
    n = len(span)
    if n == 1 and span[0][4][:1] in _ARABIC_PROCLITICS:
        return True
    for lead in (0, 1) if n > 1 and span[0][3] in ARTICLE_WORDS else (0,):
        first = span[lead][4].split()[:1]
        if first and (starts.get(first[0], 0) >= n - lead or first[0] in country_starts):
            return True
    head = span[0][3].split()
    return bool(head) and head[0] in country_starts


def scan(gazetteer: Gazetteer, text: str) -> tuple[list[Mention], set[str]]:
    """Place mentions (without candidates) and the country codes named in ``text``.

    Only n-grams whose first word begins some name (of a place or a country) with at least as many
    words are folded and looked up: most words of a report begin none.
    """
    tokens = _tokens(text)
    countries = country_names()
    country_starts = _country_starts()
    starts = gazetteer.key_starts()
    joined = [bool(_GAP.fullmatch(text[a[1] : b[0]])) for a, b in itertools.pairwise(tokens)]
    mentions: list[Mention] = []
    named: set[str] = set()
    i = 0
    while i < len(tokens):
        found = 0
        reach = 1
        while reach < MAX_NGRAM and i + reach < len(tokens) and joined[i + reach - 1]:
            reach += 1
        for n in range(reach, 0, -1):
            span = tokens[i : i + n]
            if not _may_name(span, starts, country_starts):
                continue
            folded = " ".join(t[3] for t in span)
            key = _key_of(folded)
            country = countries.get(folded) or countries.get(key)
            if country is None and not gazetteer.has_key(key):
                if n != 1 or key[:1] not in _ARABIC_PROCLITICS:
                    continue
                unprefixed = name_key(key[1:])  # Arabic "وكركوك" / "بكركوك": and / in Kirkuk
                if len(unprefixed) < MIN_KEY_LENGTH or not gazetteer.has_key(unprefixed):
                    continue
            else:
                unprefixed = key
            if not _allowed(span, key, text):
                continue
            if country is not None:
                named.add(country)
                found = n
                break
            start, end = span[0][0], span[-1][1]
            # A descriptor inside the name itself ("محافظة كركوك", "Qada Sinjar") says the kind first.
            kind = split_descriptor(unprefixed)[1] or _kind_near(text, start, end)
            mentions.append(Mention(start, end, text[start:end], unprefixed, kind=kind))
            found = n
            break
        i += found or 1
    return mentions, named


def _kind_near(text: str, start: int, end: int) -> str | None:
    """The kind of place a descriptor word next to a name asks for ("Kirkuk province" -> "ADM1",
    "the district of Daquq" -> "ADM2"), or None."""
    after = _KIND_AFTER.match(text[end : end + 24])
    before = _KIND_BEFORE.search(text[max(0, start - 24) : start])
    match = after or before
    word = match and next(filter(None, match.groups()), None)
    return descriptor_kind(word) if word else None


def _direction(text: str, start: int) -> float | None:
    match = _DIRECTION.search(text[max(0, start - 60) : start])
    return float(COMPASS[match.group(1).lower().replace("-", "")]) if match else None


def _anchor_candidate(gazetteer: Gazetteer, mention: Mention, countries: set[str]) -> Candidate | None:
    ctx = Context(countries=set(countries), kind=mention.kind)
    ranked = rank(gazetteer, hits_from_lookup(gazetteer.lookup(mention.key), mention.key), ctx, limit=1)
    return ranked[0] if ranked else None


def build_context(
    gazetteer: Gazetteer,
    text: str,
    query_key: str | None = None,
    *,
    scanned: tuple[list[Mention], set[str]] | None = None,
    strict: bool = False,
) -> Context:
    """The :class:`Context` that ``text`` gives a name with key ``query_key`` (see the module
    docstring). ``scanned``: what :func:`scan` already found in ``text`` (it is not scanned again).

    ``strict`` (the context describes the name, as in :func:`~webmap.gazetteer.resolve`): a
    governorate, district or sub-district the text names is an area the name lies in
    (``Context.within``), also when it is the name itself with a descriptor ("Kut" with context
    "Kut district, Wasit governorate": the town of Kut in Kut district), and so is the governorate
    or district a town named without a direction shares its name with ("Rashad", context
    "Kirkuk"). Otherwise (a sentence around the name) areas only weigh in, and the descriptor of a
    mention of the name sets ``kind``.
    """
    from .match import AREA_KINDS, named_area

    if scanned is None:
        scanned = gazetteer.remember(("scan", text or ""), lambda: scan(gazetteer, text or ""))
    mentions, countries = scanned
    ctx = Context(countries=set(countries), strict=strict)
    query_core = split_descriptor(query_key)[0] if query_key else None
    for mention in mentions:
        if query_key and mention.key in (query_key, query_core):
            area = (
                named_area(gazetteer, mention.key, AREA_KINDS[mention.kind])
                if strict and mention.kind in AREA_KINDS
                else None
            )
            if area is not None:
                ctx.within.append(area)
            else:
                ctx.kind = ctx.kind or mention.kind
            continue
        best = _anchor_candidate(gazetteer, mention, countries)
        if best is None:
            continue
        place = gazetteer.place_by_id(best.place_id)
        weight = max(0.5, best.score)
        if place.country_code == HOME_COUNTRY:
            ctx.countries.add(HOME_COUNTRY)
        if strict and place.is_area:
            ctx.within.append(place)
        elif strict and place.country_code == HOME_COUNTRY and _direction(text, mention.start) is None:
            # "Kirkuk", "Baghdad": a town that shares its name with the governorate or district
            # around it names that area too; "southwest of Kirkuk" names only the town.
            area = named_area(gazetteer, mention.key, ("ADM1", "ADM2"), exact=True)
            if area is not None and place.lies_in(area.own_pcode):
                ctx.within.append(area)
        if place.feature_code == "ADM1":
            ctx.governorates[place.admin1] = 1.0
        elif place.feature_code == "ADM2":
            ctx.districts[place.admin2] = 1.0
            ctx.governorates.setdefault(place.admin1, 0.5)
        else:
            ctx.anchors.append(Anchor(place, weight, _direction(text, mention.start), key=mention.key))
            if place.admin1:
                ctx.governorates[place.admin1] = max(ctx.governorates.get(place.admin1, 0.0), 0.4 * weight)
            if place.admin2:
                ctx.districts[place.admin2] = max(ctx.districts.get(place.admin2, 0.0), 0.3 * weight)
    ctx.within.sort(key=lambda area: -area.depth)
    return ctx


def find_mentions(text: str, gazetteer: Gazetteer | None = None) -> list[Mention]:
    """Place names the gazetteer knows in ``text`` (see the module docstring), in text order.

    Each mention's candidates are ranked with the rest of the text as context: "Riyadh" in
    "the Riyadh district, southwest of Kirkuk" puts Ar Riyad (Kirkuk) first.
    """
    from . import get_gazetteer

    gazetteer = gazetteer or get_gazetteer()
    if not text or not text.strip():
        return []
    mentions, countries = scan(gazetteer, text)
    whole = build_context(gazetteer, text, scanned=(mentions, countries))
    for mention in mentions:
        ctx = replace(whole, anchors=[a for a in whole.anchors if a.key != mention.key], kind=mention.kind)
        hits = hits_from_lookup(gazetteer.lookup(mention.key), mention.key)
        mention.candidates = rank(gazetteer, hits, ctx)
    return mentions
