"""What kind of event a clause reports, in ACLED's taxonomy (:data:`webmap.records.EVENT_TYPES`).

Each trigger is a phrase that reports an event of one sub-event type; where a clause (or an
incident's clauses) holds several, the most specific wins (``rank``): an IED "attack" is a remote
explosive, not an armed clash. An armed attack whose target is civilians is Violence against
civilians; a protest met with tear gas or fire is a protest with intervention, one where
protesters were killed, excessive force.

The module also reads the cues that cut a report into incidents: a new one ("the first assault",
"the second one", "another attack", "in a separate attack") and a summary of several ("two armed
assaults", "four attacks in all", "following the attacks").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..names import fold
from ..records import EVENT_TYPES

ER = "Explosions/Remote violence"
BATTLES = "Battles"
VAC = "Violence against civilians"
STRATEGIC = "Strategic developments"
_ARABIC_LETTER = re.compile(r"[\u0600-\u06ff]")


@dataclass(frozen=True)
class Trigger:
    """A phrase at ``start``/``end`` that reports an event of ``event_type``/``sub_event_type``."""

    event_type: str
    sub_event_type: str
    rank: int
    text: str
    start: int
    end: int


def _rule(event_type: str, sub_event_type: str, rank: int, pattern: str, flags=re.IGNORECASE):
    assert sub_event_type in EVENT_TYPES[event_type], (event_type, sub_event_type)
    return event_type, sub_event_type, rank, re.compile(pattern, flags)


_AIR = r"(?:jets?|warplanes?|war\s*planes?|aircraft|helicopters?|gunships?|air\s*force|drones?|fighter\s+jets?)"
_RULES = (
    _rule(
        ER,
        "Suicide bomb",
        10,
        r"\bsuicide\s+(?:bomb\w*|attack\w*|vest|belt|car\s+bomb)|\bblew\s+(?:him|her|them)"
        r"sel(?:f|ves)\s+up|\bblowing\s+(?:him|her|them)sel(?:f|ves)\s+up|\bexplosive\s+belts?",
    ),
    _rule(ER, "Grenade", 9, r"(?<!tear gas )(?<!stun )(?<!smoke )\b(?:hand\s+)?grenades?\b"),
    _rule(
        ER,
        "Air/drone strike",
        9,
        rf"\bair\s*strikes?\b|\bair\s*raids?\b|\bdrone\s+(?:strikes?|attacks?)\b|"
        rf"\baerial\s+(?:bombardment|attack)s?\b|\b{_AIR}\s+(?:\w+\s+){{0,2}}(?:hit|bombed|"
        rf"bombarded|struck|targeted|pounded|shelled|attacked|conducted)\b|"
        rf"\bbombed\b|\bbombarded\b",
    ),
    _rule(
        ER,
        "Shelling/artillery/missile attack",
        8,
        r"\bshell(?:ing|ed|s)\b|\bmortars?\b|\brockets?\b|\bkatyushas?\b|"
        r"\bartillery\b|\bmissiles?\b|\bprojectiles?\b",
    ),
    _rule(
        ER,
        "Remote explosive/landmine/IED",
        8,
        r"\bIEDs?\b|\bVBIEDs?\b|\bimprovised\s+explosive|\broadside\s+bombs?\b|"
        r"\bcar\s+bombs?\b|\bsticky\s+bombs?\b|\bland\s*mines?\b|\bexplosive\s+"
        r"devices?\b|\bbomb\b|\bbombs\b|\bexplo(?:sion|ded|des)\b|\bblast\b",
    ),
    _rule(VAC, "Abduction/forced disappearance", 7, r"\bkidnap\w*|\babduct\w*|\bkidnapping\b"),
    _rule(BATTLES, "Government regains territory", 6, r"\b(?:recaptured|retook|regained\s+control|liberated)\b"),
    _rule(BATTLES, "Non-state actor overtakes territory", 6, r"\b(?:seized\s+control|took\s+control|overran)\b"),
    _rule(
        "Riots", "Violent demonstration", 6, r"\briot\w*|\bstormed\b|\bset\s+fire\b|\bthrew\s+(?:stones|rocks|molotov)"
    ),
    _rule(
        BATTLES,
        "Armed clash",
        5,
        r"\bclash\w*|\bfighting\b|\bfirefight\w*|\bgun\s*fights?\b|\bexchanged?\s+(?:of\s+)?"
        r"fire\b|\battack\w*|\bassault\w*|\btarget(?:ed|ing)\b|\bambush\w*|\bsnipers?\b|\bgunfire\b|\bopened\s+"
        r"fire\b|\bshot\b|\bshooting\b|\brepel+ed\b|\brepulsed\b|\braid\w*|\binfiltrat\w*|"
        r"\bassassinat\w*|\bexecut\w*",
    ),
    _rule("Protests", "Peaceful protest", 4, r"\bprotest\w*|\bdemonstrat\w*|\brall(?:y|ies|ied)\b|\bsit-in\b"),
    _rule(STRATEGIC, "Disrupted weapons use", 4, r"\bdefus\w*|\bdismantl\w*|\bdisarmed\b|\bcaches?\b|\bfoiled\b"),
    _rule("Riots", "Mob violence", 3, r"\bmob\b|\blynch\w*|\bbeaten\b"),
    _rule(STRATEGIC, "Arrests", 3, r"\barrest\w*|\bdetain\w*|\bapprehend\w*"),
    _rule(
        STRATEGIC,
        "Looting/property destruction",
        2,
        r"\bdestroy\w*\s+(?:\w+\s+){0,4}(?:hideouts?|tunnels?|shelters?|"
        r"houses?|homes?|headquarters|positions?|sites?|vehicles?|dens?|"
        r"depots?|bases?|camps?|targets?)\b|"
        r"\bloot\w*|\bburn(?:ed|t)\s+(?:\w+\s+){0,2}(?:houses|homes|crops|"
        r"fields)\b",
    ),
    _rule(STRATEGIC, "Other", 2, r"\bmass\s+graves?\b"),
    # A death or wound with no other word for what happened: an armed attack of some kind.
    _rule(BATTLES, "Armed clash", 1, r"\bkill\w*|\bwound\w*|\binjur\w*|\bdied\b|\bdead\b|\bshot\s+dead\b"),
)
# Arabic, matched on folded text (webmap.names.fold: ة -> ه, أ/إ -> ا), where a word may carry a
# written-on و/ف/ب/ل and the article.
_AR = r"(?:^|(?<=\s))[وفبلك]?(?:ال)?"
_ARABIC_RULES = (
    _rule(ER, "Air/drone strike", 9, rf"{_AR}(?:غارات|غاره|قصف\s+جوي)"),
    _rule(ER, "Remote explosive/landmine/IED", 8, rf"{_AR}(?:عبوه\s+ناسفه|عبوات\s+ناسفه|سياره\s+مفخخه|انفجار|تفجير)"),
    _rule(BATTLES, "Armed clash", 5, rf"{_AR}(?:هجوم|هجوما|هاجم\w*|اشتباك\w*|معارك)"),
    _rule(BATTLES, "Armed clash", 1, rf"{_AR}(?:قتل\w*|مقتل|اصاب\w*|اصيب\w*|جرح\w*|استشهاد|استشهد)"),
)
_INTERVENTION = re.compile(
    r"\btear\s*gas\b|\bdispers\w*|\brubber\s+bullets?\b|\bwater\s+cannon|\bshots?\s+in\s+the\s+air\b|"
    r"\bfired\s+in\s+the\s+air\b|\blive\s+(?:fire|ammunition)\b",
    re.IGNORECASE,
)
_ARMED_ATTACKS = {"Armed clash"}
_NEGATED = re.compile(r"\b(?:no|without|not)\s+(?:\w+\s+)?$", re.IGNORECASE)

_COUNT_WORD = r"(?:two|three|four|five|six|seven|eight|nine|ten|several|multiple|simultaneous|\d+)"
SUMMARY = re.compile(
    rf"\b{_COUNT_WORD}\s+(?:\w+\s+)?(?:attacks|assaults|ambushes|raids)\b|\b(?:a\s+series|a\s+wave)\s+of\s+"
    r"(?:\w+\s+)?(?:attacks|assaults)\b|\b(?:the|these|those)\s+(?:\w+\s+)?(?:attacks|assaults)\b"
    r"(?!\s+(?:on|against|in|at|near)\b)",
    re.IGNORECASE,
)
_ORDINAL = r"(?:first|second|third|fourth|fifth|other|latter|former|another|separate|similar)"
_EVENT_NOUN = (
    r"(?:one|attack|assault|clash|ambush|incident|explosion|blast|bombing|strike|airstrike|air\s+strike|"
    r"raid|operation)"
)
NEW_EVENT = re.compile(
    rf"\b{_ORDINAL}\s+(?:\w+\s+)?{_EVENT_NOUN}\b|\bseparately\b|\bmeanwhile\b|\belsewhere\b|"
    r"\bin\s+a\s+(?:separate|similar|second|third)\b",
    re.IGNORECASE,
)


def _rules_for(text: str) -> tuple[tuple, str]:
    if _ARABIC_LETTER.search(text):
        return _ARABIC_RULES, fold(text)
    return _RULES, text


def find_triggers(text: str) -> list[Trigger]:
    """Every event trigger in ``text``, most specific (highest rank) first.

    For Arabic the offsets are those of the folded text, close to but not always the original's.
    """
    found = []
    rules, subject = _rules_for(text)
    for event_type, sub_event_type, rank, pattern in rules:
        for match in pattern.finditer(subject):
            if _NEGATED.search(subject[max(0, match.start() - 20) : match.start()]):
                continue  # "No clashes reported."
            found.append(Trigger(event_type, sub_event_type, rank, match.group(), match.start(), match.end()))
    return sorted(found, key=lambda t: (-t.rank, t.start))


def reports_event(text: str) -> bool:
    """True when ``text`` has an event trigger."""
    rules, subject = _rules_for(text)
    return any(pattern.search(subject) for *_, pattern in rules)


def classify(triggers: list[Trigger], actor2_force: str | None, text: str = "") -> tuple[str, str]:
    """``(event_type, sub_event_type)`` from the triggers of one incident, the attacked force and its text.

    Raises ``ValueError`` when there is no trigger.
    """
    if not triggers:
        raise ValueError("no event trigger")
    best = max(triggers, key=lambda t: t.rank)
    crowd = [t for t in triggers if t.event_type in ("Protests", "Riots")]
    if crowd and best.event_type == BATTLES:
        # "protesters ... protested ... the IS attack on Yazidis": the protest comes first, the attack is its cause
        first = min(crowd, key=lambda t: t.start)
        if all(first.start < t.start for t in triggers if t.event_type == BATTLES):
            best = max(crowd, key=lambda t: t.rank)
    event_type, sub_event_type = best.event_type, best.sub_event_type
    if event_type == BATTLES and sub_event_type in _ARMED_ATTACKS and actor2_force == "civilians":
        return VAC, "Attack"
    if event_type == "Protests":
        if re.search(r"\b(?:killed|killing|shot\s+dead)\b", text, re.IGNORECASE):
            return "Protests", "Excessive force against protesters"
        if _INTERVENTION.search(text):
            return "Protests", "Protest with intervention"
    return event_type, sub_event_type
