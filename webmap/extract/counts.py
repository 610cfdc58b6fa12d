"""How many were killed and wounded, from the words of one clause.

English rules, each tested on a sentence from a real report:

* a verb then a number: "killing 2 and injuring 1", "killed 5 IS militants", "wounded 10 others",
  "killing a young man" (1), "killing him" (1), "injuring his wife" (1), "killing them" (the number
  named before it in the clause: "targeted 2 police personnel killing them" is 2);
* a number then a verb: "Three Peshmerga fighters were killed", "two were wounded",
  "another was injured" (1), "leaving 2 PMF fighters dead", "three fatalities",
  "3 of the militants blowing themselves up";
* "no casualties" / "no fatalities": an explicit 0;
* vague amounts are not numbers and are kept as words for the notes: "killed several terrorists",
  "a dozen", "dozens", "a number of", "killed and injured 8" (not separated), "unknown fatalities".

Arabic (simple sentences): a word for killed (قتل، مقتل، قتلى، استشهاد) or wounded (إصابة، أصيب،
جرح، جرحى) next to a number in digits (3, ٣) or words (ثلاثة، اثنين): "قتل ثلاثة من البيشمركة".

Number words come from number-parser's English vocabulary (``number_parser.data.en``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from number_parser import parse_number
from number_parser.data import en as _english_numbers

from .sentences import tokens

KILLED, INJURED = "killed", "injured"


@dataclass(frozen=True)
class Count:
    """``number`` people ``kind`` (killed|injured) said at ``start``/``end`` of the clause.

    ``number`` is None for a vague amount ("several"), whose words are in ``text``.
    """

    kind: str
    number: int | None
    text: str
    start: int
    end: int

    @property
    def vague(self) -> bool:
        return self.number is None


_WORDS = [
    w
    for key in ("UNIT_NUMBERS", "DIRECT_NUMBERS", "TENS", "BIG_POWERS_OF_TEN")
    for w in _english_numbers.info[key]
    if w != "zero"
]
_NUMWORD = "|".join(sorted(_WORDS, key=len, reverse=True))
_NUM = rf"(?:\d{{1,5}}|(?:{_NUMWORD})(?:[\s-](?:{_NUMWORD}))*)"
_QUALIFIER = r"(?:(?:at\s+least|more\s+than|over|about|around|nearly|some|up\s+to)\s+)?"
_KILL = r"(?:killing|killed|kills|executing|executed|shooting\s+dead|shot\s+dead)"
_INJURE = r"(?:wounding|wounded|injuring|injured|injures|wounds)"
_NOT_A_COUNT = r"(?!\s*(?:km|kilomet|mile|met(?:er|re)|hour|day|week|month|year|%|percent|o'clock|[ap]\.?m\b))"
# A noun phrase between a number and its verb: words that are not prepositions/conjunctions/verbs
# ("Three Peshmerga fighters", "a member of the PMF", "one high-ranked PKK militant (Mehmet Soysuren)").
# Case-sensitive, so that "IS militants" is a noun phrase and "is" a verb.
_NOUN = (
    r"(?:(?:(?-i:(?!(?:in|near|at|on|by|from|to|and|with|after|during|for|while|when|as|were|was|is|"
    r"are|had|has|have|killed|killing|wounded|injured)\b))[\w'’-]+|\([^()]*\))\s+){0,5}?"
)

_VERB_NUMBER = re.compile(
    rf"\b(?P<verb>{_KILL}|{_INJURE}|(?:killing|deaths?|injury|injuries)\s+of)\s+(?:and\s+(?P<verb2>{_KILL}|{_INJURE})\s+)?{_QUALIFIER}"
    rf"(?P<num>{_NUM}|an?(?=\s)|another|him|her|them|(?:his|her)\s+(?:wife|husband|son|daughter|brother|"
    rf"father|mother|driver|companion|colleague|guard)|the\s+(?!(?:people|men|women|children|police|personnel|"
    rf"staff|crew|\w+s)\b)[a-z]+(?=\s*(?:[,.;]|and\b|$)))\b{_NOT_A_COUNT}",
    re.IGNORECASE,
)
_NUMBER_VERB = re.compile(
    rf"\b{_QUALIFIER}(?P<num>{_NUM}|an?|another)\s+(?P<noun>{_NOUN})"
    r"(?P<be>(?:(?:were|was)\s+reported\s+to\s+(?:be|have\s+been)|were|was|have\s+been|has\s+been|had\s+been|"
    r"are|is|got)\s+(?:(?:reportedly|also|later|"
    r"allegedly|all)\s+)?)?(?P<verb>killed|wounded|injured|dead|died|fatalities|deaths|slain|"
    r"lost\s+their\s+lives|blowing\s+(?:themselves|himself)\s+up|blew\s+(?:themselves|himself)\s+up)\b",
    re.IGNORECASE,
)
# "killing at least six police officers and 16 civilians": a second number joined to the first.
_AND_NUMBER = re.compile(
    rf"^\s+(?:[\w'’-]+\s+){{0,3}}?and\s+{_QUALIFIER}(?P<num>{_NUM})\b(?!\s+(?:[\w'’-]+\s+)?"
    r"(?:were|was|others?\s+were))",
    re.IGNORECASE,
)
# "10 Peshmerga and three civilians were killed": two numbers before one verb.
_TWO_NUMBERS_VERB = re.compile(
    rf"\b{_QUALIFIER}(?P<num>{_NUM})\s+(?:[\w'’-]+\s+){{1,3}}?and\s+{_QUALIFIER}(?P<num2>{_NUM})\s+"
    r"(?:[\w'’-]+\s+){1,3}?(?:were|was)\s+(?:(?:reportedly|also|all)\s+)?(?P<verb>killed|wounded|injured)\b",
    re.IGNORECASE,
)
_NO_CASUALTIES = re.compile(
    r"\b(?:no|without)\s+(?:(?:other|further|reported|immediate)\s+)?(?P<what>casualties|fatalities|deaths|"
    r"injuries|losses)\b",
    re.IGNORECASE,
)
_VAGUE = re.compile(
    rf"\b(?:(?P<verb>{_KILL}|{_INJURE})(?:\s+and\s+(?:{_KILL}|{_INJURE}))?\s+(?P<amount>several|many|dozens|"
    r"scores|a\s+dozen|a\s+number\s+of|numerous|a\s+few|tens\s+of|hundreds\s+of|all|the(?=\s+\w+s\b))\b"
    r"(?:\s+(?!(?:but|and|in|near|during|when|while|after)\b)[\w'’-]+){0,3}"
    rf"|(?P<amount2>several|dozens|scores|a\s+dozen|a\s+number|numerous|tens|hundreds)\s+(?:of\s+)?{_NOUN}"
    r"(?:(?:were|was)\s+)?(?P<verb3>killed|wounded|injured|dead)\b"
    r"|(?:unknown|unclear|unspecified)\s+(?:number\s+of\s+)?(?P<what>fatalities|casualties|deaths)"
    rf"|(?P<combined>{_KILL}\s+and\s+{_INJURE}|{_INJURE}\s+and\s+{_KILL})\s+{_QUALIFIER}{_NUM}\b[^,.;]{{0,30}})",
    re.IGNORECASE,
)

_KINDS = {
    "kill": KILLED,
    "execut": KILLED,
    "shoot": KILLED,
    "shot": KILLED,
    "dead": KILLED,
    "die": KILLED,
    "fatalit": KILLED,
    "death": KILLED,
    "slain": KILLED,
    "blow": KILLED,
    "blew": KILLED,
    "lost": KILLED,
    "wound": INJURED,
    "injur": INJURED,
}

# Arabic number words as folded by webmap.names.fold (ة -> ه, أ/إ -> ا), masculine and feminine forms.
_ARABIC_NUMBERS = {
    "واحد": 1,
    "واحده": 1,
    "اثنين": 2,
    "اثنان": 2,
    "اثنتين": 2,
    "اثنتان": 2,
    "ثلاثه": 3,
    "ثلاث": 3,
    "اربعه": 4,
    "اربع": 4,
    "خمسه": 5,
    "خمس": 5,
    "سته": 6,
    "ست": 6,
    "سبعه": 7,
    "سبع": 7,
    "ثمانيه": 8,
    "ثماني": 8,
    "ثمان": 8,
    "تسعه": 9,
    "تسع": 9,
    "عشره": 10,
    "عشر": 10,
    "عشرين": 20,
    "عشرون": 20,
}
_ARABIC_KILLED = {"قتل", "مقتل", "قتلى", "قتيل", "قتيلا", "استشهاد", "استشهد", "مصرع", "مقتلهم"}
_ARABIC_INJURED = {"اصابه", "اصيب", "اصيبوا", "جرح", "جرحى", "جريح", "جريحا", "اصابات"}
_ARABIC_ABOUT = {"نحو", "حوالي", "قرابه"}


def _kind(verb: str) -> str:
    folded = verb.lower()
    return next(kind for stem, kind in _KINDS.items() if folded.startswith(stem) or stem in folded)


def _value(num: str, earlier: list[Count]) -> int | None:
    word = num.lower().split()[0]
    if word in ("a", "an", "another", "him", "her", "his", "the"):
        return 1
    if word == "them":
        return earlier[-1].number if earlier else None
    if num.isdigit():
        return int(num)
    return parse_number(num.replace("-", " "), language="en")


def _english(text: str) -> list[Count]:
    found: list[Count] = []
    taken: list[tuple[int, int]] = []

    def free(match: re.Match) -> bool:
        return not any(match.start() < end and start < match.end() for start, end in taken)

    for match in _VAGUE.finditer(text):
        verb = match.group("verb") or match.group("verb3") or match.group("what") or match.group("combined")
        kind = _kind(verb) if match.group("combined") is None else KILLED
        found.append(Count(kind, None, match.group().strip(), match.start(), match.end()))
        taken.append(match.span())
    for match in _NO_CASUALTIES.finditer(text):
        what = match.group("what").lower()
        kinds = (
            (INJURED,) if what == "injuries" else (KILLED,) if what in ("fatalities", "deaths") else (KILLED, INJURED)
        )
        found += [Count(kind, 0, match.group(), match.start(), match.end()) for kind in kinds]
    numbers_seen: list[Count] = []
    for number in re.finditer(rf"\b{_NUM}\b", text, re.IGNORECASE):
        value = _value(number.group(), [])
        if value is not None:
            numbers_seen.append(Count("", value, number.group(), number.start(), number.end()))
    for match in _VERB_NUMBER.finditer(text):
        if not free(match):
            continue
        if match.group("verb2"):  # "killing and injuring 8": the two are not told apart
            continue
        before = [n for n in numbers_seen if n.end <= match.start()]
        value = _value(match.group("num"), before)
        if value is None:
            continue
        end = match.end()
        more = _AND_NUMBER.match(text[end : end + 60])
        if more and match.group("num").lower() not in ("him", "her", "them"):
            value += _value(more.group("num"), []) or 0
            end += more.end()
        found.append(Count(_kind(match.group("verb")), value, text[match.start() : end], match.start(), end))
        taken.append((match.start(), end))
    for match in _TWO_NUMBERS_VERB.finditer(text):
        if free(match):
            value = (_value(match.group("num"), []) or 0) + (_value(match.group("num2"), []) or 0)
            found.append(Count(_kind(match.group("verb")), value, match.group(), match.start(), match.end()))
            taken.append(match.span())
    for match in _NUMBER_VERB.finditer(text):
        if not free(match):
            continue
        num = match.group("num").lower()
        if num in ("a", "an", "another") and not (match.group("be") or match.group("verb").lower() == "dead"):
            continue  # "a roadside bomb killed ..." is no count; "a member of the PMF was killed" is one
        value = _value(match.group("num"), [])
        if value is None:
            continue
        found.append(Count(_kind(match.group("verb")), value, match.group(), match.start(), match.end()))
        taken.append(match.span())
    return sorted(found, key=lambda c: c.start)


def _arabic_number(token) -> int | None:
    for key in token.keys:
        if key.isdigit():
            return int(key)
        if key in _ARABIC_NUMBERS:
            return _ARABIC_NUMBERS[key]
    return None


def _arabic(text: str) -> list[Count]:
    words = tokens(text)
    found = []
    for i, word in enumerate(words):
        keys = set(word.keys)
        kind = KILLED if keys & _ARABIC_KILLED else INJURED if keys & _ARABIC_INJURED else None
        if kind is None:
            continue
        after = words[i + 1 : i + 3]
        if after and set(after[0].keys) & _ARABIC_ABOUT:
            after = after[1:]
        neighbours = [w for w in after[:1]] + ([words[i - 1]] if i else [])
        for other in neighbours:
            value = _arabic_number(other)
            if value is not None:
                start, end = min(word.start, other.start), max(word.end, other.end)
                found.append(Count(kind, value, text[start:end], start, end))
                break
    return found


def find_counts(text: str) -> list[Count]:
    """Every statement of killed or wounded people in ``text`` (one clause), in reading order."""
    if re.search(r"[\u0600-\u06ff]", text):
        return _arabic(text)
    return _english(text)


def total(counts: list[Count], kind: str) -> int | None:
    """The number of people ``kind`` in one sentence's counts (summed), or None if none is stated."""
    numbers = [c.number for c in counts if c.kind == kind and c.number is not None]
    return sum(numbers) if numbers else None


def vague_phrases(counts: list[Count]) -> list[str]:
    """The words of the vague amounts, for the notes ("killed several terrorists")."""
    return [c.text for c in counts if c.vague]
