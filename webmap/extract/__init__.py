"""From a news report to draft incidents: the analyst reviews, corrects and saves them.

:func:`extract_incidents` reads a report (English or Arabic; HTML is reduced to its text) with its
publication date and proposes one draft :class:`~webmap.records.Incident` per distinct attack or
clash, each with the sentences it came from as evidence. The steps, one module each:

* :mod:`.text` cleans the input, limits its size and identifies its language;
* :mod:`.sentences` cuts it into sentences and clauses (datelines and "Read More" lines aside);
* :mod:`.events` finds the words that report an event and types it in ACLED's taxonomy;
* :mod:`.actors` finds the forces and who attacked whom; :mod:`.counts` the killed and wounded;
  :mod:`.dates` the date; :mod:`.places` the place, through the gazetteer;
* this module groups clauses into incidents and builds the records.

Grouping: a clause that reports an event joins the incident before it unless it says it is a new
one ("the first assault", "the second one", "in a separate attack"), names another place (more
than 25 km away and not inside it), another attacked force or another day. A clause that sums up
several ("two armed assaults by ISIS", "four attacks in all") creates none; it lends its attacker
and date to the clauses that follow. An incident whose clauses name no usable place is left out
and listed in :attr:`Extraction.left_out`: a record needs a point, and a made-up point is worse than none.

Counts: summed within a sentence, the largest of the sentences of one incident (reports repeat
themselves). Dates: the clause's own, else its sentence's, else the last one the report named
before, else the publication date at week precision.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from dataclasses import dataclass, field

from .. import spatial
from ..errors import InvalidRecord
from ..forces import force_label
from ..records import FIELD_SPECS, Incident, parse_date, validate_incident
from .actors import ForceMention, find_forces, find_units, pick_actors
from .counts import INJURED, KILLED, Count, find_counts, total, vague_phrases
from .dates import DateMention, find_dates
from .events import NEW_EVENT, SUMMARY, Trigger, classify, find_triggers, reports_event
from .places import EventPlace, choose_place, find_places
from .sentences import Article, Sentence, split_article, split_clauses
from .text import MAX_HTML_CHARS, MAX_REPORT_BYTES, MAX_TEXT_CHARS, prepare_text

__all__ = [
    "Draft",
    "Evidence",
    "Extraction",
    "MAX_HTML_CHARS",
    "MAX_REPORT_BYTES",
    "MAX_TEXT_CHARS",
    "extract",
    "extract_incidents",
]

SAME_PLACE_KM = 25.0
NOTES_LIMIT = FIELD_SPECS["notes"].length or 0


@dataclass(frozen=True)
class Evidence:
    """A sentence of the report: its text and ``start``/``end`` character offsets in the cleaned text."""

    text: str
    start: int
    end: int


@dataclass
class Draft:
    """A proposed incident (status ``draft``) with the sentences it came from.

    ``place_words`` are the report's words for the place; ``alternatives`` other gazetteer
    candidates for them (name, latitude, longitude, governorate, district, feature_code, score);
    ``vague`` amounts the report gives in words ("killed several terrorists").
    """

    incident: Incident
    evidence: list[Evidence]
    place_words: str
    alternatives: list[dict] = field(default_factory=list)
    vague: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """The incident's fields (ISO dates) plus ``evidence``, ``place_words``, ``alternatives``, ``vague``."""
        out = self.incident.to_dict()
        out["evidence"] = [e.__dict__ for e in self.evidence]
        out["place_words"] = self.place_words
        out["alternatives"] = self.alternatives
        out["vague"] = self.vague
        return out


@dataclass
class Extraction:
    """What a report gave: the drafts, the events left out for want of a place, and the language read."""

    drafts: list[Draft]
    left_out: list[Evidence]
    language: str | None

    def to_dict(self) -> dict:
        return {
            "language": self.language,
            "drafts": [d.to_dict() for d in self.drafts],
            "left_out": [e.__dict__ for e in self.left_out],
        }


@dataclass
class _Report:
    """One clause that reports an event."""

    text: str
    sentence: Sentence
    triggers: list[Trigger]
    forces: list[ForceMention]
    counts: list[Count]
    own_date: DateMention | None
    context_date: DateMention | None
    place: EventPlace | None
    summary: bool
    new: bool

    @property
    def targets(self) -> set[str]:
        return {f.force for f in self.forces if f.role == "target"}


@dataclass
class _Incident:
    reports: list[_Report]
    place: EventPlace | None
    context_attacker: str | None
    # The forces its reports name as attacked and the first date they give, kept up as reports join:
    # working them out on each look was quadratic (a report of 1,000 similar sentences took 20 s).
    targets: set[str] = field(default_factory=set)
    own_date: DateMention | None = None

    def __post_init__(self) -> None:
        reports, self.reports = self.reports, []
        for report in reports:
            self.join(report)

    def join(self, report: _Report) -> None:
        self.reports.append(report)
        self.targets |= report.targets
        self.own_date = self.own_date or report.own_date


def _published(value) -> dt.date:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidRecord("date", "is required (the report's publication date, YYYY-MM-DD)")
    published = parse_date(value, "date")
    if published > dt.date.today():
        raise InvalidRecord("date", f"{published.isoformat()} is in the future")
    return published


def _sums_up(clause: str) -> bool:
    """Whether the clause sums up several attacks ("two armed assaults"), not "one of the attacks"."""
    return any(
        not clause[max(0, m.start() - 7) : m.start()].lower().endswith("one of ") for m in SUMMARY.finditer(clause)
    )


class _Deadline:
    """A time limit on reading one report: :meth:`check` raises :class:`InvalidRecord` on ``text``
    once ``seconds`` have passed since it was made (never when ``seconds`` is None)."""

    def __init__(self, seconds: float | None):
        self.seconds = seconds
        self.end = None if seconds is None else time.monotonic() + seconds

    def check(self) -> None:
        if self.end is not None and time.monotonic() > self.end:
            raise InvalidRecord(
                "text",
                f"reading it took more than {self.seconds:g} s, the limit: send a shorter report or a part of it",
            )


def _reports(article: Article, published: dt.date, deadline: _Deadline) -> list[_Report]:
    reports: list[_Report] = []
    narrative: DateMention | None = None
    named: list[EventPlace] = []
    for sentence in article.sentences:
        deadline.check()
        dates = find_dates(sentence.text, published)
        if reports_event(sentence.text):
            forces = find_forces(sentence.text)
            places = find_places(sentence.text, forbidden=[(f.start, f.end) for f in forces], earlier=named[-5:])
            named += [p for p in places if p.level != "governorate"]
            for clause, offset in split_clauses(sentence.text, reports_event):
                triggers = find_triggers(clause)
                if not triggers:
                    continue
                end = offset + len(clause)
                within = [d for d in dates if offset <= d.start < end]
                reports.append(
                    _Report(
                        text=clause,
                        sentence=sentence,
                        triggers=triggers,
                        forces=[f for f in forces if offset <= f.start < end],
                        counts=find_counts(clause),
                        own_date=next(iter(within or dates), None),
                        context_date=narrative,
                        place=choose_place([p for p in places if offset <= p.start < end]),
                        summary=_sums_up(clause),
                        new=bool(NEW_EVENT.search(clause)),
                    )
                )
        if dates:
            narrative = dates[-1]
    return reports


def _places_agree(a: EventPlace | None, b: EventPlace | None) -> bool:
    if a is None or b is None:
        return True
    return a.contains(b) or b.contains(a) or a.km_to(b) <= SAME_PLACE_KM


def _compatible(incident: _Incident, report: _Report) -> bool:
    if incident.targets and report.targets and not incident.targets & report.targets:
        return False
    if not _places_agree(incident.place, report.place):
        return False
    mine, theirs = incident.own_date, report.own_date
    return not (mine and theirs and mine.time_precision == theirs.time_precision == 1 and mine.date != theirs.date)


def _more_precise(current: EventPlace | None, new: EventPlace | None) -> EventPlace | None:
    if current is None:
        return new
    if new is not None and (new.geo_precision, new.reference_only) < (current.geo_precision, current.reference_only):
        return new
    return current


def _segment(reports: list[_Report]) -> list[_Incident]:
    incidents: list[_Incident] = []
    attacker: str | None = None
    for report in reports:
        actor1, _ = pick_actors(report.forces)
        if report.summary:
            attacker = actor1 or attacker
            continue
        home = None
        if not report.new:
            home = next((inc for inc in reversed(incidents[-3:]) if _compatible(inc, report)), None)
        if home is None:
            incidents.append(_Incident([report], report.place, attacker))
        else:
            home.join(report)
            home.place = _more_precise(home.place, report.place)
        attacker = actor1 or attacker
    return incidents


def _counts(reports: list[_Report], kind: str) -> int | None:
    """The largest sentence total of ``kind`` among the incident's sentences (clauses of one sentence add up)."""
    by_sentence: dict[int, list[Count]] = {}
    for report in reports:
        by_sentence.setdefault(report.sentence.start, []).extend(report.counts)
    totals = [n for n in (total(counts, kind) for counts in by_sentence.values()) if n is not None]
    return max(totals) if totals else None


def _evidence(reports: list[_Report]) -> list[Evidence]:
    seen: dict[int, Evidence] = {}
    for report in reports:
        s = report.sentence
        seen.setdefault(s.start, Evidence(s.text, s.start, s.end))
    return sorted(seen.values(), key=lambda e: e.start)


def _actors(incident: _Incident) -> tuple[str | None, str | None, list[str], list[str]]:
    """The forces of actor 1 and actor 2, and the other forces the incident's clauses name on each
    side (ACLED's associated actors): those named as attackers go with actor 1, the rest with actor 2."""
    forces = [f for r in incident.reports for f in r.forces]
    actor1, actor2 = pick_actors(forces)
    if actor1 is None and incident.context_attacker not in (None, actor2):
        actor1 = incident.context_attacker
    if actor2 == actor1:
        actor2 = None
    others = [k for k in dict.fromkeys(f.force for f in forces) if k not in (actor1, actor2)]
    attackers = {f.force for f in forces if f.role == "attacker"}
    return actor1, actor2, [k for k in others if k in attackers], [k for k in others if k not in attackers]


def _actor_names(incident: _Incident) -> dict[str, str]:
    """Force key -> the actor text of that force in this incident: its label, with the units the
    report names for it ("Federal Police (3rd Division)"), as ACLED keeps units in the actor."""
    units: dict[str, list[str]] = {}
    for report in incident.reports:
        for mention in report.forces:
            units.setdefault(mention.force, []).extend(find_units(report.sentence.text, mention))
    return {
        force: force_label(force) + (f" ({'; '.join(dict.fromkeys(named))})" if named else "")
        for force, named in units.items()
    }


def _date(incident: _Incident, published: dt.date) -> tuple[dt.date, int]:
    mention = incident.own_date or incident.reports[0].context_date
    return (mention.date, mention.time_precision) if mention else (published, 2)


def _draft(incident: _Incident, place: EventPlace, published: dt.date, source: str | None) -> Draft:
    """The draft of an incident the report places at ``place``."""
    actor1, actor2, with1, with2 = _actors(incident)
    names = _actor_names(incident)

    def actor(force: str) -> str:
        return names.get(force) or force_label(force)

    evidence = _evidence(incident.reports)
    text = " ".join(r.text for r in incident.reports)
    event_type, sub_event_type = classify([t for r in incident.reports for t in r.triggers], actor2, text)
    event_date, time_precision = _date(incident, published)
    vague = [v for r in incident.reports for v in vague_phrases(r.counts)]
    notes = " ".join(e.text for e in evidence)
    if vague:
        notes += " [Not counted, no number given: " + "; ".join(vague) + "]"
    if len(notes) > NOTES_LIMIT:  # the evidence itself stays whole
        notes = notes[: NOTES_LIMIT - 1] + "…"
    # The same report extracted again gives the same ids, so saving it twice stores nothing new.
    identity = f"{published.isoformat()}|{notes}|{place.words}|{place.start}|{place.latitude:.5f},{place.longitude:.5f}"
    digest = hashlib.sha1(identity.encode("utf-8")).hexdigest()[:16]
    killed, injured = _counts(incident.reports, KILLED), _counts(incident.reports, INJURED)
    record = validate_incident(
        {
            "event_date": event_date,
            "time_precision": time_precision,
            "event_type": event_type,
            "sub_event_type": sub_event_type,
            "actor1": actor(actor1) if actor1 else None,
            "assoc_actor_1": "; ".join(actor(k) for k in with1) or None,
            "force1": actor1,
            "actor2": actor(actor2) if actor2 else None,
            "assoc_actor_2": "; ".join(actor(k) for k in with2) or None,
            "force2": actor2,
            "location": place.description,
            "latitude": round(place.latitude, 5),
            "longitude": round(place.longitude, 5),
            "geo_precision": place.geo_precision,
            "fatalities": killed,  # None: the report gives no number (not reported), never a 0 it did not say
            "injured": injured,
            "notes": notes,
            "source": source,
            "source_id": f"extract:{digest}",
            "status": "draft",
        }
    )
    return Draft(record, evidence, place.words, place.alternatives, vague)


def extract(text: str, published, *, source: str | None = None, time_limit: float | None = None) -> Extraction:
    """Draft incidents from a report, with what was left out (see the module docstring).

    ``text``: the report (plain text or HTML, at most :data:`MAX_TEXT_CHARS` characters);
    ``published``: its publication date (``date`` or ISO ``YYYY-MM-DD``), against which "on
    Saturday" or "yesterday" are resolved; ``source``: the outlet, else the one a dateline names;
    ``time_limit``: seconds the reading may take (None: no limit). Raises :class:`InvalidRecord`
    naming ``text``, ``date`` or ``source`` for unusable input (too long, not English or Arabic, a bad
    or future date, a report that takes longer than ``time_limit``). Empty text gives no drafts.
    """
    deadline = _Deadline(time_limit)
    published = _published(published)
    source_limit = FIELD_SPECS["source"].length or 0
    if source is not None and len(source) > source_limit:
        raise InvalidRecord("source", f"longer than {source_limit} characters")
    clean, language = prepare_text(text)
    if not clean or language is None:
        return Extraction([], [], language)
    deadline.check()
    article = split_article(clean, language)
    incidents = _segment(_reports(article, published, deadline))
    deadline.check()
    left_out = [e for inc in incidents if inc.place is None for e in _evidence(inc.reports)]
    drafts = [
        _draft(inc, place, published, source or article.outlet) for inc in incidents if (place := inc.place) is not None
    ]
    spatial.place_incidents([d.incident for d in drafts])
    return Extraction(drafts, left_out, language)


def extract_incidents(text: str, published, *, source: str | None = None) -> list[Draft]:
    """The draft incidents of a report: :func:`extract` without what was left out."""
    return extract(text, published, source=source).drafts
