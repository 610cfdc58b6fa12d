"""Which armed forces a sentence names, and who attacked whom.

:func:`webmap.forces.match_force` reads actor *names*; run over free English it takes the verb
"is" for the Islamic State. Here the aliases of :data:`webmap.forces.FORCES` are matched word by
word in a sentence, and an alias written in capitals ("IS", "ISIS", "PKK", "PMF") only matches the
same capitals. A plural "s" and a possessive "'s" on the last word are allowed ("civilians",
"the Coalition's"); Arabic words match with their written-on prefixes removed (لداعش -> داعش).

Roles come from the words around a mention: "by ISIS", "ISIS attacked", "police forces repelled"
make an attacker (ACLED's actor 1); "on federal police", "targeted the Peshmerga", "attacked a
Peshmerga unit", "Three Peshmerga fighters were killed" make a target (actor 2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..forces import FORCES, OTHER, force_label
from ..names import fold
from .sentences import Token, tokens


@dataclass(frozen=True)
class ForceMention:
    """A force named at ``start``/``end`` of the searched text; ``role`` attacker, target or None."""

    force: str
    text: str
    start: int
    end: int
    role: str | None = None

    @property
    def label(self) -> str:
        return force_label(self.force)


@dataclass(frozen=True)
class _Alias:
    force: str
    words: tuple[str, ...]  # folded
    exact: tuple[str | None, ...]  # the raw word when written in capitals, else None


_ATTACKER_BEFORE = {"by"}
# Words before a force that make it the one attacked. "with" is left out: "clashes with ISIS" names
# the other side of a clash, not its victim.
_TARGET_BEFORE = {
    "on",
    "against",
    "targeted",
    "targeting",
    "target",
    "targets",
    "attacked",
    "attacking",
    "ambushed",
    "ambushing",
    "hit",
    "struck",
    "striking",
    "killed",
    "killing",
    "wounded",
    "wounding",
    "injured",
    "injuring",
    "kidnapped",
    "abducted",
    "executed",
    "shot",
    "bombed",
    "bombarded",
    "shelled",
    "shelling",
}
# Words that end the look back for a target cue: a new clause or a speaker.
_SCAN_STOP = {"by", "said", "says", "stated", "and", "but", "while", "after", "when", "which", "who", "with"}
_ATTACKER_AFTER = {
    "attacked",
    "attack",
    "attacks",
    "targeted",
    "targeting",
    "ambushed",
    "killed",
    "killing",
    "launched",
    "launch",
    "conducted",
    "shot",
    "bombed",
    "bombarded",
    "hit",
    "struck",
    "repelled",
    "repulsed",
    "foiled",
    "clashed",
    "destroyed",
    "seized",
    "arrested",
    "detained",
    "defused",
    "executed",
    "stormed",
    "fired",
    "shelled",
    "raided",
    "kidnapped",
    "abducted",
    "captured",
    "opened",
    "carried",
    "set",
    "blew",
    "detonated",
    "claimed",
    "infiltrated",
    "assaulted",
}
_VICTIM_AFTER = {
    ("were", "killed"),
    ("was", "killed"),
    ("were", "wounded"),
    ("was", "wounded"),
    ("were", "injured"),
    ("was", "injured"),
    ("were", "martyred"),
    ("was", "martyred"),
}
_DATE_WORDS = {
    "jan",
    "january",
    "feb",
    "february",
    "mar",
    "march",
    "apr",
    "april",
    "may",
    "jun",
    "june",
    "jul",
    "july",
    "aug",
    "august",
    "sep",
    "sept",
    "september",
    "oct",
    "october",
    "nov",
    "november",
    "dec",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
}
# Arabic: "هجوم لداعش" (an attack by Daesh) and "من البيشمركة" after a count (of the Peshmerga).
_ARABIC_ATTACK_NOUNS = {"هجوم", "هجوما", "اعتداء", "تفجير", "قصف"}


def _is_capitals(word: str) -> bool:
    return word.isupper() and len(word) <= 5


@lru_cache(maxsize=1)
def _aliases() -> dict[str, list[_Alias]]:
    """Aliases of every force (not ``other``) by their first folded word, longest first."""
    index: dict[str, list[_Alias]] = {}
    for force in FORCES:
        if force.key == OTHER:
            continue
        for name in (force.label, *force.aliases):
            raw_words = [w for w in name.replace("-", " ").split() if fold(w)]
            words = tuple(fold(w) for w in raw_words)
            if not words:
                continue
            exact = tuple(w if _is_capitals(w.strip("():")) else None for w in raw_words)
            index.setdefault(words[0], []).append(_Alias(force.key, words, exact))
    for entries in index.values():
        entries.sort(key=lambda a: -len(a.words))
    return index


def _token_matches(token: Token, word: str, exact: str | None, last: bool) -> bool:
    if exact is not None:
        return token.text.rstrip("'’s") == exact.strip("():") or token.text == exact.strip("():")
    keys = set(token.keys)
    if word in keys:
        return True
    if last and len(word) >= 4:
        return any(k in (word + "s", word + "es") or (k.endswith("s") and k[:-1] == word) for k in keys)
    return False


def _candidates(token: Token) -> list[_Alias]:
    index = _aliases()
    found = []
    for key in token.keys:
        found += index.get(key, [])
        if key.endswith("s"):
            found += index.get(key[:-1], [])
    return sorted(found, key=lambda a: -len(a.words))


def _target_cue_before(words: list[Token], first: int) -> bool:
    """A target cue among the ten words before ``first`` ("targeted the sites of the third division of
    the Federal Police"), looking back no further than a conjunction, a speaker or "by"."""
    window = words[max(0, first - 10) : first]
    for i in range(len(window) - 1, -1, -1):
        word = window[i]
        following = window[i + 1].key if i + 1 < len(window) else words[first].key
        if word.key == "on" and (following in _DATE_WORDS or following.isdigit()):
            continue  # "On Mar 22, Saraya al-Salam ..." is a date, not a target
        if word.key in _TARGET_BEFORE:
            # "were wounded during the clashes with ISIS": a passive verb has its victim before it
            return not (i and window[i - 1].key in ("were", "was", "been"))
        if word.key in _SCAN_STOP:
            return False
    return False


def _verb_after(words: list[Token], last: int) -> str | None:
    """ "attacker" or "target" from the verb that follows a force within five words
    ("Saraya al-Salam brigades (Peace Brigades) killed", "Three Peshmerga fighters were killed")."""
    after = [w.key for w in words[last + 1 : last + 6]]
    for i, word in enumerate(after):
        if tuple(after[i : i + 2]) in _VICTIM_AFTER:
            return "target"
        if word in _ATTACKER_AFTER:
            return "attacker"
        if word in _SCAN_STOP or word in ("were", "was", "is", "are"):
            return None
    return None


def _role(words: list[Token], first: int, last: int) -> str | None:
    before = [w.key for w in words[max(0, first - 3) : first]]
    if before and before[-1] in _ATTACKER_BEFORE:
        return "attacker"
    after = _verb_after(words, last)
    if after:
        return after
    if _target_cue_before(words, first):
        return "target"
    if "by" in before:
        return "attacker"
    # Arabic: an attack noun followed by l(i)- + force means an attack by that force.
    raw = words[first].text
    if first and set(words[first - 1].keys) & _ARABIC_ATTACK_NOUNS and raw.startswith("ل"):
        return "attacker"
    if first and words[first - 1].key == "من":
        return "target"
    return None


def find_forces(text: str) -> list[ForceMention]:
    """Every force named in ``text`` (a sentence or clause), in reading order, with its role."""
    words = tokens(text)
    found: list[ForceMention] = []
    i = 0
    while i < len(words):
        match = None
        for alias in _candidates(words[i]):
            n = len(alias.words)
            if i + n > len(words):
                continue
            if all(_token_matches(words[i + k], alias.words[k], alias.exact[k], k == n - 1) for k in range(n)):
                match = alias
                break
        if match is None:
            i += 1
            continue
        last = i + len(match.words) - 1
        # "anti-ISIS" is not the Islamic State acting.
        if text[max(0, words[i].start - 5) : words[i].start].lower().endswith("anti-"):
            i = last + 1
            continue
        found.append(
            ForceMention(
                match.force,
                text[words[i].start : words[last].end],
                words[i].start,
                words[last].end,
                _role(words, i, last),
            )
        )
        i = last + 1
    return found


def pick_actors(mentions: list[ForceMention]) -> tuple[str | None, str | None]:
    """``(force of actor 1, force of actor 2)``: the attacker first, then the attacked.

    Without roles, the order of mention decides. When every force named is a target ("the first
    assault targeted the Federal Police"), actor 1 is None: the attacker is named elsewhere.
    Actor 2 is a force other than actor 1, or None.
    """
    attackers = [m.force for m in mentions if m.role == "attacker"]
    unknown = [m.force for m in mentions if m.role is None]
    targets = [m.force for m in mentions if m.role == "target"]
    actor1 = (attackers + unknown)[0] if attackers + unknown else None
    rest = [f for f in targets + unknown + attackers if f != actor1]
    return actor1, (rest[0] if rest else None)


# -- units -----------------------------------------------------------------------------------------
# A unit is a numbered formation of a force: "the third division of the Federal Police", "the 11th
# Federal Police Brigade", "the Federal Police's 3rd Division", "Brigade 52 of the PMF". ACLED keeps
# such units in the actor's name; the extraction keeps them in the actor text, so they are searchable.
_ORDINAL_WORDS = (
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth "
    "fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
).split()
_ORDINAL = r"(?:\d{1,3}(?:st|nd|rd|th)|" + "|".join(_ORDINAL_WORDS) + ")"
_UNIT = r"(?:division|brigade|regiment|battalion|corps|squadron)"
_UNIT_AFTER = re.compile(
    rf"^(?:['’]s)?\s+(?:(?P<ordinal>{_ORDINAL})\s+(?P<unit>{_UNIT})|(?P<unit2>{_UNIT})\s+(?P<number>\d{{1,3}}))\b", re.I
)
_ORDINAL_BEFORE = re.compile(rf"\b(?P<ordinal>{_ORDINAL})\s+$", re.I)
_BARE_UNIT_AFTER = re.compile(rf"^\s+(?P<unit>{_UNIT})\b", re.I)
_UNIT_ENDING = re.compile(rf"\b(?P<unit>{_UNIT})$", re.I)
_UNIT_OF_BEFORE = re.compile(
    rf"\b(?:(?P<ordinal>{_ORDINAL})\s+(?P<unit>{_UNIT})|(?P<unit2>{_UNIT})\s+(?P<number>\d{{1,3}}))\s+of\s+(?:the\s+)?$",
    re.I,
)
_UNIT_WITHIN = re.compile(rf"\b(?P<ordinal>{_ORDINAL})\s+(?P<unit>{_UNIT})\b", re.I)


def _ordinal(text: str) -> str:
    """ "third" -> "3rd", "11TH" -> "11th"."""
    word = text.lower()
    if word in _ORDINAL_WORDS:
        n = _ORDINAL_WORDS.index(word) + 1
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"{n}{suffix}"
    return word


def _unit_name(match: re.Match) -> str:
    groups = match.groupdict()
    if groups.get("ordinal"):
        return f"{_ordinal(groups['ordinal'])} {groups['unit'].capitalize()}"
    return f"{groups['unit2'].capitalize()} {groups['number']}"


def find_units(text: str, mention: ForceMention) -> list[str]:
    """The units of ``mention``'s force that ``text`` (the text the mention was found in) names
    around it, as "3rd Division", "11th Brigade", "Brigade 52"."""
    before, after = text[: mention.start], text[mention.end :]
    found = [_unit_name(m) for m in _UNIT_WITHIN.finditer(mention.text)]
    if (m := _UNIT_AFTER.match(after)) is not None:
        found.append(_unit_name(m))
    elif (o := _ORDINAL_BEFORE.search(before)) is not None:
        # "the 11th Federal Police Brigade": the unit's word may end the force's own name.
        u = _BARE_UNIT_AFTER.match(after) or _UNIT_ENDING.search(mention.text)
        if u is not None:
            found.append(f"{_ordinal(o['ordinal'])} {u['unit'].capitalize()}")
    if (m := _UNIT_OF_BEFORE.search(before)) is not None:
        found.append(_unit_name(m))
    return list(dict.fromkeys(found))
