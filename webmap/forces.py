"""The force taxonomy: which armed force (or population) an actor name belongs to.

Map layers and filters group incidents by force, not by the hundreds of actor spellings that
ACLED, UCDP and the news use. :data:`FORCES` is the small, ordered set; :func:`match_force`
maps an actor name to one of them by its names and known aliases, after folding case,
diacritics and Arabic letter variants (:func:`webmap.names.fold`). A name that matches no alias
maps to ``other`` and is reported as unmatched, never guessed.

An incident involves every force its actors and associated actors name
(:func:`incident_forces`): a force's layer, the force filter, every count and the chart all use
that one rule, stored with each row as a bit mask (:func:`forces_mask`). Its marker is coloured by
the initiating side's force (actor 1, as in ACLED; :func:`initiating_force`).

When an actor names two forces ("Military Forces of Iraq (2018-2020) Popular Mobilization
Forces"), the most specific one wins: aliases are tried longest first, and the generic Iraqi
army aliases only after the named branches (Federal Police, PMF, CTS, Peshmerga).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .errors import InvalidRecord
from .names import fold


@dataclass(frozen=True)
class Force:
    key: str
    label: str
    colour: str
    aliases: tuple[str, ...]


FORCES: tuple[Force, ...] = (
    Force(
        "islamic_state",
        "Islamic State",
        "#1a1a1a",
        (
            "Islamic State",
            "Islamic State (Iraq)",
            "IS",
            "ISIS",
            "ISIL",
            "Daesh",
            "Daish",
            "Da'esh",
            "IS militants",
            "ISIS militants",
            "ISIS members",
            "terrorist organization",
            "داعش",
            "الدولة الإسلامية",
            "تنظيم داعش",
            "دەوڵەتی ئیسلامی",
            "Dewleta Îslamî",
        ),
    ),
    Force(
        "peshmerga",
        "Peshmerga",
        "#d9a400",
        (
            "Peshmerga",
            "Pêşmerge",
            "KRG Peshmerga",
            "Kurdish Peshmerga",
            "Zeravani",
            "Zerevani",
            "Kurdish Regional Government Peshmerga",
            "Peshmerga Ministry",
            "Kurdish forces",
            "البيشمركة",
            "بيشمركة",
            "البشمركة",
            "بشمركة",
            "پێشمەرگە",
            "Military Forces of Iraq (2018-2020) Peshmerga",
            "Military Forces of Iraq Kurdistan Regional Government",
        ),
    ),
    Force(
        "federal_police",
        "Federal Police",
        "#1f5fbf",
        (
            "Federal Police",
            "Iraqi Federal Police",
            "3rd Division of the Federal Police",
            "Federal Police 3rd Division",
            "Police Forces of Iraq",
            "Iraqi police",
            "police",
            "Federal Police Brigade",
            "الشرطة الاتحادية",
            "الشرطة",
        ),
    ),
    Force(
        "pmf",
        "Popular Mobilization Forces",
        "#2e8b57",
        (
            "Popular Mobilization Forces",
            "Popular Mobilisation Forces",
            "Popular Mobilization Units",
            "PMF",
            "PMU",
            "Hashd al-Shaabi",
            "Hashd al-Sha'bi",
            "al-Hashd al-Shaabi",
            "Hashd",
            "الحشد الشعبي",
            "Tribal Mobilization Forces",
            "TMF: Tribal Mobilization Forces",
            "Kata'ib Hezbollah",
            "Asa'ib Ahl al-Haq",
            "AAH",
            "Badr Organization",
            "Peace Companies",
            "Peace Brigades",
            "Saraya al-Salam",
            "Kata'ib Ansar al-Hijja",
            "Salah al-Din Brigade",
            "Risaliyun",
        ),
    ),
    Force(
        "cts",
        "Counter-Terrorism Service",
        "#7b3fa0",
        (
            "Counter-Terrorism Service",
            "Counter Terrorism Service",
            "CTS",
            "Counter-Terrorism Forces",
            "counterterrorism forces",
            "Golden Division",
            "جهاز مكافحة الإرهاب",
        ),
    ),
    Force(
        "isf",
        "Iraqi Security Forces (army)",
        "#4a7bd0",
        (
            "Iraqi Security Forces",
            "ISF",
            "Iraqi army",
            "Iraqi Army",
            "Military Forces of Iraq",
            "Government of Iraq",
            "Iraqi forces",
            "Iraqi troops",
            "Joint Operations Command",
            "الجيش العراقي",
            "القوات الأمنية",
            "Iraqi military",
            "Iraqi soldier",
            "Iraqi soldiers",
            "Iraqi Air Force",
            "Iraqi airforce",
        ),
    ),
    Force(
        "turkey",
        "Turkish military",
        "#c0392b",
        (
            "Military Forces of Turkey",
            "Government of Turkey",
            "Turkish military",
            "Turkish army",
            "Turkish Armed Forces",
            "Turkish forces",
            "Turkish warplanes",
            "Turkish jets",
            "Turkish airstrikes",
            "الجيش التركي",
        ),
    ),
    Force(
        "pkk_ybs",
        "PKK / YBS",
        "#e67e22",
        (
            "PKK",
            "PKK: Kurdistan Workers Party",
            "Kurdistan Workers Party",
            "Kurdistan Workers' Party",
            "YBS",
            "YBS: Sinjar Resistance Units",
            "Sinjar Resistance Units",
            "YBŞ",
            "HPG",
            "PJAK",
            "حزب العمال الكردستاني",
        ),
    ),
    Force(
        "coalition",
        "US-led coalition",
        "#16a085",
        (
            "Global Coalition Against Daesh",
            "Global Coalition",
            "US-led coalition",
            "International Coalition",
            "anti-ISIS Coalition",
            "Coalition forces",
            "Military Forces of the United States",
            "Government of United States of America",
            "US forces",
            "American forces",
            "التحالف الدولي",
            "Government of Australia, Government of United Kingdom, Government of United States of America",
        ),
    ),
    Force(
        "civilians",
        "Civilians",
        "#8e8e8e",
        (
            "Civilians",
            "Civilians (Iraq)",
            "civilian",
            "villagers",
            "farmers",
            "Farmers (Iraq)",
            "Prisoners (Iraq)",
            "Journalists (Iraq)",
            "Yazidi Group (Iraq)",
            "Kurdish Ethnic Group (Iraq)",
            "مدنيين",
            "مدنيون",
        ),
    ),
    Force(
        "protesters",
        "Protesters",
        "#e84393",
        (
            "Protesters",
            "Protesters (Iraq)",
            "Rioters",
            "Rioters (Iraq)",
            "demonstrators",
            "Labour Group (Iraq)",
            "متظاهرين",
        ),
    ),
    Force(
        "unidentified",
        "Unidentified armed group",
        "#6d4c41",
        (
            "Unidentified Armed Group",
            "Unidentified Armed Group (Iraq)",
            "unidentified gunmen",
            "gunmen",
            "unknown gunmen",
            "Unidentified Military Forces",
            "Unidentified Tribal Militia (Iraq)",
            "مسلحون مجهولون",
        ),
    ),
    Force("other", "Other", "#b0a990", ()),
)

FORCE_KEYS: tuple[str, ...] = tuple(f.key for f in FORCES)
FORCES_BY_KEY: dict[str, Force] = {f.key: f for f in FORCES}
OTHER = "other"
# Generic Iraqi-state aliases lose to any named branch in the same actor name.
_GENERIC = {"isf", "civilians", "protesters"}

_PARENS = re.compile(r"\(\s*\d{4}\s*-?\s*\d{0,4}\s*\)")


@lru_cache(maxsize=1)
def _alias_index() -> list[tuple[str, str]]:
    pairs = {(fold(alias), f.key) for f in FORCES for alias in (f.label, *f.aliases)}
    # Specific before generic, then longest first, so "... Popular Mobilization Forces" beats "Military Forces of Iraq".
    return sorted(pairs, key=lambda p: (p[1] in _GENERIC, -len(p[0]), p[0]))


@lru_cache(maxsize=4096)
def match_force(actor: str | None) -> tuple[str, bool]:
    """Map an actor name to ``(force key, matched)``.

    ``matched`` is False when no alias was found and the key is ``other``; an empty actor gives
    ``(None, True)``-like ``("", True)`` meaning "no actor".
    """
    if not actor or not str(actor).strip():
        return "", True
    key = fold(_PARENS.sub(" ", str(actor)))
    padded = f" {key} "
    for alias, force in _alias_index():
        if alias and f" {alias} " in padded:
            return force, True
    return OTHER, False


def force_of(actor: str | None) -> str | None:
    """The force key of ``actor`` (``other`` when unknown), or None for no actor."""
    key, _ = match_force(actor)
    return key or None


def force_label(key: str | None) -> str:
    """Human label of a force key; unknown keys are shown as they are."""
    force = FORCES_BY_KEY.get(key or "")
    return force.label if force else (key or "")


def parse_force(value: str) -> str:
    """A force key from a key, a label or an alias (for filters); raises ``KeyError`` if unknown."""
    folded = fold(value)
    for f in FORCES:
        if folded in (f.key.replace("_", " "), fold(f.key), fold(f.label)):
            return f.key
    key, matched = match_force(value)
    if matched and key:
        return key
    raise KeyError(value)


# ACLED lists several associated actors in one field, separated by semicolons.
ASSOCIATED_SEPARATOR = ";"


def associated_forces(text: str | None) -> tuple[list[str], list[str]]:
    """The forces an associated-actors field names (each once, in order), and its parts that match none."""
    found: list[str] = []
    unmatched: list[str] = []
    for part in (text or "").split(ASSOCIATED_SEPARATOR):
        key, matched = match_force(part.strip())
        if not key:
            continue
        if not matched:
            unmatched.append(part.strip())
        elif key not in found:
            found.append(key)
    return found, unmatched


def involved_forces(
    force1: str | None, force2: str | None, assoc_actor_1: str | None, assoc_actor_2: str | None
) -> tuple[str, ...]:
    """Every force an incident involves, each once: actor 1's, actor 2's (force keys, as
    :func:`assign_forces` sets them), then those its associated actors name; ``("other",)`` when none."""
    keys: list[str] = []
    for key in (force1, force2):
        if key and key not in keys:
            keys.append(key)
    for text in (assoc_actor_1, assoc_actor_2):
        for key in associated_forces(text)[0]:
            if key not in keys:
                keys.append(key)
    return tuple(keys) or (OTHER,)


def incident_forces(incident) -> tuple[str, ...]:
    """:func:`involved_forces` of a :class:`webmap.records.Incident` (forces assigned)."""
    return involved_forces(incident.force1, incident.force2, incident.assoc_actor_1, incident.assoc_actor_2)


FORCE_BITS: dict[str, int] = {key: 1 << i for i, key in enumerate(FORCE_KEYS)}
# The map's packed record holds the mask in 16 bits (webmap.store.MAP_POINT).
assert len(FORCE_KEYS) <= 16, "more than 16 forces: widen the forces field of webmap.store.MAP_POINT"


def forces_mask(keys) -> int:
    """The forces ``keys`` as one integer, bit ``i`` for ``FORCE_KEYS[i]`` (an unknown key counts as ``other``)."""
    mask = 0
    for key in keys:
        mask |= FORCE_BITS.get(key, FORCE_BITS[OTHER])
    return mask


def initiating_force(force1: str | None, force2: str | None) -> str:
    """The force an incident's marker is coloured by: actor 1's (the initiating side, as in ACLED),
    else actor 2's, else ``other``."""
    return force1 or force2 or OTHER


def assign_forces(incident, hints: dict[int, str | None] | None = None) -> list[str]:
    """Set ``incident.force1``/``force2`` (a :class:`webmap.records.Incident`), in place.

    A force already given (key, label or alias) is checked and normalised to its key; otherwise
    the force is found from ``actor1``/``actor2``. An actor that matches no alias takes the force
    ``hints[n]`` when the source coded one (e.g. ACLED's ``inter`` codes), else ``other``.
    Returns the actor names that matched nothing and had no hint, for the caller to report
    (associated actors that match no force add none: they never become ``other``).
    Raises :class:`~webmap.errors.InvalidRecord` naming ``forceN`` for an unknown force.
    """
    unmatched = []
    for n in (1, 2):
        given, actor = getattr(incident, f"force{n}"), getattr(incident, f"actor{n}")
        if given:
            try:
                key = parse_force(given)
            except KeyError:
                raise InvalidRecord(f"force{n}", f"unknown force {given!r} (known: {', '.join(FORCE_KEYS)})") from None
        elif actor:
            key, matched = match_force(actor)
            if not matched:
                hint = (hints or {}).get(n)
                if hint:
                    key = hint
                else:
                    unmatched.append(actor)
        else:
            key = None
        setattr(incident, f"force{n}", key)
    return unmatched
