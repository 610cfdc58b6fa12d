"""When an event happened, from the words of a report and the date it was published.

Each rule finds a kind of date phrase and resolves it against the publication date, with the
ACLED time precision that honestly follows (1 the day, 2 the week, 3 the month):

==========================================  ==================================  =========
phrase                                      date                                precision
==========================================  ==================================  =========
"On Mar 31", "9 March 2019", "(August 24)"  that day (publication year if none)  1
"(early|late|on) Saturday (morning|night)"  the Saturday on or before publication  1
"last Saturday"                             the Saturday before publication      1
"today", "فجر اليوم"                          the publication date                 1
"yesterday", "أمس" (dateparser)              the day before publication           1
"last night", "overnight", "الليلة الماضية"     the day before publication           1
"last week" (dateparser)                    a week before publication            2
==========================================  ==================================  =========

A date without a year that would fall after publication is taken from the year before when it is
more than a month ahead ("Dec 30" in a report of Jan 2); within a month ahead it is not the date of
anything that already happened ("it was announced on April 9") and is ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

import dateparser

from ..names import fold

_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# Arabic weekday names, folded (fold turns ة into ه and أ into ا), Monday first like Python's weekday().
_ARABIC_WEEKDAYS = ("الاثنين", "الثلاثاء", "الاربعاء", "الخميس", "الجمعه", "السبت", "الاحد")


@dataclass(frozen=True)
class DateMention:
    """A date phrase at ``start``/``end`` of the searched text, resolved to ``date`` at ``time_precision``."""

    text: str
    start: int
    end: int
    date: dt.date
    time_precision: int


@lru_cache(maxsize=2048)
def _dateparser(phrase: str, published: dt.date) -> dt.date | None:
    base = dt.datetime.combine(published, dt.time(12))
    parsed = dateparser.parse(
        phrase, languages=["en", "ar"], settings={"RELATIVE_BASE": base, "PREFER_DATES_FROM": "current_period"}
    )
    return parsed.date() if parsed else None


def _calendar_day(match: re.Match, published: dt.date) -> tuple[dt.date, int] | None:
    day = _dateparser(" ".join(match.group().replace(",", " ").split()), published)
    if day is None:
        return None
    if not match.group("year") and day > published:
        if (day - published).days <= 31:
            return None
        day = day.replace(year=day.year - 1)
    return day, 1


def _weekday(match: re.Match, published: dt.date) -> tuple[dt.date, int]:
    wanted = _WEEKDAYS.index(match.group("weekday").lower())
    back = (published.weekday() - wanted) % 7
    if back == 0 and (match.group("last") or "").lower() == "last":
        back = 7
    return published - dt.timedelta(days=back), 1


def _arabic_weekday(match: re.Match, published: dt.date) -> tuple[dt.date, int]:
    wanted = _ARABIC_WEEKDAYS.index(match.group("weekday"))
    return published - dt.timedelta(days=(published.weekday() - wanted) % 7), 1


def _days_back(days: int, precision: int = 1):
    return lambda match, published: (published - dt.timedelta(days=days), precision)


def _relative(precision: int):
    def resolve(match: re.Match, published: dt.date):
        day = _dateparser(match.group().lower(), published)
        return (day, precision) if day and day <= published else None

    return resolve


# (pattern, resolver); earlier rules win where matches overlap.
_RULES: tuple[tuple[re.Pattern, Callable], ...] = (
    (
        re.compile(rf"\b(?P<month>{_MONTH})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<year>\d{{4}}))?"),
        _calendar_day,
    ),
    (
        re.compile(
            rf"\b(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month>{_MONTH})(?![a-z])"
            rf"(?:,?\s+(?P<year>\d{{4}}))?"
        ),
        _calendar_day,
    ),
    (re.compile(r"\b(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})\b"), _calendar_day),
    (
        re.compile(
            r"\b(?:(?:early|late)\s+(?:on\s+)?)?(?:(?P<last>last|this|past|on)\s+)?"
            r"(?P<weekday>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
            r"(?:\s+(?:morning|afternoon|evening|night))?\b",
            re.IGNORECASE,
        ),
        _weekday,
    ),
    (re.compile(r"\b(?:last|yester)\s*night\b|\bovernight\b|\bthe night before\b", re.IGNORECASE), _days_back(1)),
    (re.compile(r"\byesterday\b", re.IGNORECASE), _relative(1)),
    (re.compile(r"\btoday\b", re.IGNORECASE), _days_back(0)),
    (re.compile(r"\blast week\b", re.IGNORECASE), _relative(2)),
)
# Arabic rules run on folded text, where offsets equal the original's only word by word, so they
# report the folded phrase; a report is Arabic or English, never both in one sentence.
_ARABIC_RULES: tuple[tuple[re.Pattern, Callable], ...] = (
    (re.compile(r"(?:يوم\s+)?(?P<weekday>" + "|".join(_ARABIC_WEEKDAYS) + r")\b"), _arabic_weekday),
    (re.compile(r"\bالليله\s+الماضيه\b"), _days_back(1)),
    (re.compile(r"\bامس\b"), _relative(1)),
    (re.compile(r"\bاليوم\b"), _days_back(0)),
)


def find_dates(text: str, published: dt.date) -> list[DateMention]:
    """Every date phrase in ``text`` resolved against ``published``, in reading order.

    Dates after ``published`` are dropped: a report cannot tell of an event that has not happened.
    """
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    arabic = bool(re.search(r"[\u0600-\u06ff]", text))
    rules = _ARABIC_RULES if arabic else _RULES
    subject = fold(text) if arabic else text
    for pattern, resolve in rules:
        for match in pattern.finditer(subject):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            resolved = resolve(match, published)
            if resolved is None or resolved[0] > published:
                continue
            taken.append((match.start(), match.end()))
            found.append(DateMention(match.group(), match.start(), match.end(), *resolved))
    return sorted(found, key=lambda d: d.start)
