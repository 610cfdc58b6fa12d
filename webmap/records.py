"""The incident record, its taxonomies and its validation (the bottom layer).

An :class:`Incident` is ACLED-compatible: ACLED's field names and precision codes, plus the
normalised forces of both actors, the P-codes of its administrative areas, injuries and a review
status. :func:`validate_incident` is the only way a record is built from untrusted input: every
door (import, form, API, extraction) goes through it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

from .errors import InvalidRecord

# ACLED's time_precision: 1 the day is known, 2 the week, 3 only the month.
TIME_PRECISION = {1: "day", 2: "week", 3: "month"}
# ACLED's geo_precision: 1 the named place, 2 near it or part of a district, 3 only the district or governorate.
GEO_PRECISION = {1: "named place", 2: "near the place / part of a district", 3: "district or governorate only"}
STATUSES = ("draft", "reviewed")
# What the store keeps of a soft-deleted incident (webmap.store.IncidentStore.delete): never given
# by a caller, hidden from every filter, restorable by a reviewer.
DELETED = "deleted"
STORED_STATUSES = (*STATUSES, DELETED)
# No incident happened before this day (a date before it is a typo); filters do not reach before it either.
EARLIEST_DATE = dt.date(1900, 1, 1)
# Whether an incident's known area lies in the disputed territories: wholly (or its point does),
# not at all, or it straddles the line (a Ninewa-wide report). None: nothing is known.
DISPUTED = ("inside", "partly", "outside")

# ACLED's event taxonomy (event type -> sub-event types), as in ACLED's codebook.
EVENT_TYPES: dict[str, tuple[str, ...]] = {
    "Battles": ("Armed clash", "Government regains territory", "Non-state actor overtakes territory"),
    "Explosions/Remote violence": (
        "Chemical weapon",
        "Air/drone strike",
        "Suicide bomb",
        "Shelling/artillery/missile attack",
        "Remote explosive/landmine/IED",
        "Grenade",
    ),
    "Violence against civilians": ("Sexual violence", "Attack", "Abduction/forced disappearance"),
    "Protests": ("Peaceful protest", "Protest with intervention", "Excessive force against protesters"),
    "Riots": ("Violent demonstration", "Mob violence"),
    "Strategic developments": (
        "Agreement",
        "Arrests",
        "Change to group/activity",
        "Disrupted weapons use",
        "Headquarters or base established",
        "Looting/property destruction",
        "Non-violent transfer of territory",
        "Other",
    ),
}


@dataclass(frozen=True)
class AreaOfInterest:
    """A bounding box in degrees WGS 84 that every incident must fall in."""

    min_lon: float
    min_lat: float
    max_lon: float
    max_lat: float
    name: str = "area of interest"

    def contains(self, lon: float, lat: float) -> bool:
        return self.min_lon <= lon <= self.max_lon and self.min_lat <= lat <= self.max_lat


# Iraq's extent (COD-AB adm0: 38.79..48.64 E, 29.06..37.38 N) with a margin of about 5 km.
IRAQ = AreaOfInterest(38.74, 29.01, 48.69, 37.43, name="Iraq")
WORLD = AreaOfInterest(-180.0, -90.0, 180.0, 90.0, name="the world")


@dataclass
class Incident:
    """One event, ACLED-compatible. Coordinates in degrees WGS 84; dates are ``datetime.date``."""

    event_date: dt.date
    latitude: float
    longitude: float
    event_type: str
    id: int | None = None
    source_id: str | None = None
    time_precision: int = 1
    sub_event_type: str | None = None
    actor1: str | None = None
    assoc_actor_1: str | None = None
    actor2: str | None = None
    assoc_actor_2: str | None = None
    force1: str | None = None
    force2: str | None = None
    location: str | None = None
    geo_precision: int = 1
    admin1: str | None = None
    admin1_pcode: str | None = None
    admin2: str | None = None
    admin2_pcode: str | None = None
    admin3: str | None = None
    admin3_pcode: str | None = None
    disputed: str | None = None
    place_id: str | None = None
    place_score: float | None = None
    # None: the source gives no figure ("not reported"), which is not a claim that nobody died.
    fatalities: int | None = None
    injured: int | None = None
    notes: str | None = None
    source: str | None = None
    source_url: str | None = None
    status: str = "reviewed"
    created_at: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    # Kept by the store (webmap.store): who made it, who reviewed it and when, and its version (one
    # more with each entry of its history).
    created_by: str | None = None
    reviewed_by: str | None = None
    reviewed_at: dt.datetime | None = None
    version: int = 1

    def to_dict(self) -> dict[str, Any]:
        """Plain values: dates and times as ISO 8601 strings, everything else as is."""
        out = dict(vars(self))  # the record is flat: no need for asdict's deep copy, 10x slower
        for key, value in out.items():
            if isinstance(value, (dt.date, dt.datetime)):
                out[key] = value.isoformat()
        return out


@dataclass(frozen=True)
class FieldSpec:
    """How one record field is typed, bounded and stored; :data:`FIELD_SPECS` has one per field.

    ``kind``: ``text``, ``int``, ``count`` (a whole number >= 0), ``float``, ``code`` (a key of
    ``codes``), ``choice`` (one of ``choices``), ``date`` or ``datetime``. ``length``:
    the most characters a text may have (the store's column width). ``required``: no record without
    it; ``default``: the value a blank takes. ``maximum``: the largest plausible count. The store
    keeps a column NOT NULL when a field is required or has a default.
    """

    kind: str
    length: int | None = None
    required: bool = False
    default: Any = None
    codes: Mapping[int, str] | None = None
    maximum: int | None = None
    choices: tuple[str, ...] | None = None

    @property
    def nullable(self) -> bool:
        return not self.required and self.default is None


# The most people one incident can plausibly have killed or injured: more is a typo or an aggregate
# (the deadliest single events recorded in Iraq count hundreds, a few over a thousand). It also keeps
# counts inside the store's 32-bit columns and the map's packed record (webmap.store.MAP_POINT).
MAX_COUNT = 100_000

FIELD_SPECS: dict[str, FieldSpec] = {
    "event_date": FieldSpec("date", required=True),
    "latitude": FieldSpec("float", required=True),
    "longitude": FieldSpec("float", required=True),
    "event_type": FieldSpec("text", 100, required=True),
    "id": FieldSpec("int"),
    "source_id": FieldSpec("text", 200),
    "time_precision": FieldSpec("code", default=1, codes=TIME_PRECISION),
    "sub_event_type": FieldSpec("text", 100),
    "actor1": FieldSpec("text", 500),
    "assoc_actor_1": FieldSpec("text", 1000),
    "actor2": FieldSpec("text", 500),
    "assoc_actor_2": FieldSpec("text", 1000),
    "force1": FieldSpec("text", 100),
    "force2": FieldSpec("text", 100),
    "location": FieldSpec("text", 500),
    "geo_precision": FieldSpec("code", default=1, codes=GEO_PRECISION),
    "admin1": FieldSpec("text", 200),
    "admin1_pcode": FieldSpec("text", 20),
    "admin2": FieldSpec("text", 200),
    "admin2_pcode": FieldSpec("text", 20),
    "admin3": FieldSpec("text", 200),
    "admin3_pcode": FieldSpec("text", 20),
    "disputed": FieldSpec("choice", 10, choices=DISPUTED),
    # The gazetteer record a geocoded incident was placed at, and how sure the match was (0..1).
    "place_id": FieldSpec("text", 200),
    "place_score": FieldSpec("float"),
    # No default: a blank is "not reported", never 0 (ACLED imports keep ACLED's own 0 for unknown).
    "fatalities": FieldSpec("count", maximum=MAX_COUNT),
    "injured": FieldSpec("count", maximum=MAX_COUNT),
    "notes": FieldSpec("text", 20_000),
    "source": FieldSpec("text", 500),
    "source_url": FieldSpec("text", 2000),
    "status": FieldSpec("text", 20, default="reviewed"),
    "created_at": FieldSpec("datetime", required=True),
    "updated_at": FieldSpec("datetime", required=True),
    "created_by": FieldSpec("text", 64),
    "reviewed_by": FieldSpec("text", 64),
    "reviewed_at": FieldSpec("datetime"),
    "version": FieldSpec("int", default=1),
}
FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Incident))
# What exports and the API add to the record's fields, derived from them: ``forces``, every force
# the incident involves (webmap.forces.incident_forces), and the names people use for its governorate
# and district (webmap.spatial.display_name; the official names and P-codes stay). Imports and
# request bodies skip them.
DERIVED_FIELDS = ("forces", "admin1_display", "admin2_display")
# Fields the store sets itself: a caller never does (webmap.intake drops them from input).
STORE_KEPT_FIELDS = ("id", "created_at", "updated_at", "created_by", "reviewed_by", "reviewed_at", "version")
# Who made and reviewed an incident, and its version: exports add them on request.
PROVENANCE_FIELDS = ("created_by", "reviewed_by", "reviewed_at", "version")
# Fields a caller may set; the rest are derived (forces, admin areas) or kept by the store.
INPUT_FIELDS = tuple(f for f in FIELDS if f not in STORE_KEPT_FIELDS)
# What an incident says (compared to tell whether a write changed it; kept in its history).
CONTENT_FIELDS = INPUT_FIELDS
REQUIRED_FIELDS = ("event_date", "latitude", "longitude", "event_type")


def is_blank(value: Any) -> bool:
    """True for a value a record field leaves empty: None, NaN, or text of only spaces."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def parse_date(value: Any, field_name: str = "event_date") -> dt.date:
    """A date from ``date``/``datetime``, ISO ``YYYY-MM-DD``, ``YYYYMMDD`` or ``DD Month YYYY``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = str(value).strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        text = str(int(value))
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        try:  # the common case, ten times faster than strptime
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
    for fmt in (
        "%Y-%m-%d",
        "%Y%m%d",
        "%d %B %Y",
        "%d %b %Y",
        "%d-%b-%Y",
        "%d-%B-%Y",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S",
    ):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise InvalidRecord(field_name, f"not a date: {text[:40]!r} (expected YYYY-MM-DD, YYYYMMDD or DD Month YYYY)")


def _number(value: Any, name: str, kind=float):
    if isinstance(value, float) and not math.isfinite(value):  # NaN is no blank here: JSON's NaN is a value sent
        raise InvalidRecord(name, f"not a finite number: {value!r}")
    if value is None or is_blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidRecord(name, f"not a number: {value!r}")
    try:
        number = float(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        raise InvalidRecord(name, f"not a number: {str(value)[:40]!r}") from None
    except OverflowError:  # an integer of hundreds of digits
        raise InvalidRecord(name, f"out of range: {str(value)[:40]}...") from None
    if not math.isfinite(number):
        raise InvalidRecord(name, f"not a finite number: {str(value)[:40]!r}")
    if kind is int:
        if not number.is_integer():
            raise InvalidRecord(name, f"not a whole number: {value!r}")
        return int(number)
    return number


def _count(value: Any, name: str) -> int | None:
    number = _number(value, name, int)
    if number is None:
        return None
    if number < 0:
        raise InvalidRecord(name, f"must not be negative: {number}")
    maximum = FIELD_SPECS[name].maximum
    if maximum is not None and number > maximum:
        raise InvalidRecord(name, f"{number:,} is more than {maximum:,}, the most one incident can plausibly have")
    return number


def _code(value: Any, name: str) -> int:
    spec = FIELD_SPECS[name]
    allowed = spec.codes or {}
    code = _number(value, name, int) if not is_blank(value) else spec.default
    if code not in allowed:
        codes = ", ".join(f"{k} {v}" for k, v in allowed.items())
        raise InvalidRecord(name, f"unknown precision code {value!r} (known: {codes})")
    return code


def _text(value: Any, name: str) -> str | None:
    limit = FIELD_SPECS[name].length
    if value is None:
        return None
    if type(value) is str:  # the common case, checked once instead of in _blank and str() (imports)
        text = value.strip()
    elif is_blank(value):
        return None
    else:
        text = str(value).strip()
    if not text:
        return None
    if limit is not None and len(text) > limit:
        raise InvalidRecord(name, f"longer than {limit} characters")
    return text


TRUE_WORDS = frozenset({"1", "true", "yes", "y", "t", "on"})
FALSE_WORDS = frozenset({"0", "false", "no", "n", "f", "off"})


def parse_bool(value: Any) -> bool | None:
    """True, False, or None for a blank, from a bool or a word (1/0, true/false, yes/no, y/n,
    t/f, on/off, any case); ``ValueError`` for anything else. The one yes/no reader of records,
    filters and settings."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"not a yes/no value: {str(value)[:40]!r}")


def _choice(value: Any, name: str) -> str | None:
    if name == "disputed":
        try:  # exports of earlier webmaps wrote it as a yes/no flag
            flag = parse_bool(value)
        except ValueError:
            flag = None
        if flag is not None:
            return "inside" if flag else "outside"
    text = _text(value, name)
    choices = FIELD_SPECS[name].choices or ()
    if text is not None and text.lower() not in choices:
        raise InvalidRecord(name, f"{text[:40]!r} is not one of {', '.join(choices)}")
    return text.lower() if text is not None else None


def checked_point(data: Mapping[str, Any], *, area: AreaOfInterest = IRAQ) -> tuple[float, float]:
    """The ``latitude`` and ``longitude`` of ``data`` (untrusted values) as floats, or
    :class:`InvalidRecord` naming the one that is missing, no number, out of range, 0,0 or outside
    ``area``."""
    for name in ("latitude", "longitude"):
        if is_blank(data.get(name)):
            raise InvalidRecord(name, "is required")
    lat = _number(data["latitude"], "latitude")
    lon = _number(data["longitude"], "longitude")
    if not -90 <= lat <= 90:
        raise InvalidRecord("latitude", f"{lat} is out of range -90..90")
    if not -180 <= lon <= 180:
        raise InvalidRecord("longitude", f"{lon} is out of range -180..180")
    if lat == 0 and lon == 0:
        raise InvalidRecord("latitude", "0,0 is not a place (missing coordinates?)")
    if not area.contains(lon, lat):
        hint = " (latitude and longitude swapped?)" if area.contains(lat, lon) else ""
        raise InvalidRecord("latitude", f"point {lat}, {lon} (lat, lon) is outside {area.name}{hint}")
    return lat, lon


def _required(value: Any, name: str) -> Any:
    if is_blank(value):
        raise InvalidRecord(name, "is required")
    return value


def _event_date(value: Any, today: dt.date) -> dt.date:
    event_date = parse_date(_required(value, "event_date"))
    if event_date > today:
        raise InvalidRecord("event_date", f"{event_date.isoformat()} is in the future")
    if event_date < EARLIEST_DATE:
        raise InvalidRecord("event_date", f"{event_date.isoformat()} is before {EARLIEST_DATE.year}")
    return event_date


def _coordinate(value: Any, name: str) -> float:
    return _number(_required(value, name), name)


def _event_type(value: Any) -> str:
    event_type = _text(_required(value, "event_type"), "event_type")
    if event_type not in EVENT_TYPES:
        raise InvalidRecord("event_type", f"unknown event type {event_type!r} (known: {', '.join(EVENT_TYPES)})")
    return event_type


def _sub_event_type(value: Any, event_type: str) -> str | None:
    sub_event_type = _text(value, "sub_event_type")
    if sub_event_type is not None and sub_event_type not in EVENT_TYPES[event_type]:
        raise InvalidRecord("sub_event_type", f"{sub_event_type!r} is not a sub-event type of {event_type!r}")
    return sub_event_type


def _status(value: Any) -> str:
    status = _text(value, "status") or FIELD_SPECS["status"].default
    if status not in STATUSES:
        raise InvalidRecord("status", f"unknown status {status!r} (known: {', '.join(STATUSES)})")
    return status


def _place_score(value: Any) -> float | None:
    place_score = _number(value, "place_score")
    if place_score is not None and not 0 <= place_score <= 1:
        raise InvalidRecord("place_score", f"{place_score} is out of range 0..1")
    return place_score


def _source_url(value: Any) -> str | None:
    source_url = _text(value, "source_url")
    if source_url and not source_url.lower().startswith(("http://", "https://")):
        raise InvalidRecord("source_url", "must start with http:// or https://")
    return source_url


def _checks(kind: Callable[..., Any], *names: str) -> dict[str, Callable[[Any], Any]]:
    return {name: functools.partial(kind, name=name) for name in names}


# The checks of validate_incident that look at one field's value alone, in the order it makes them
# (the first refusal is the one reported); event_date and the point are checked before them,
# sub_event_type with event_type.
_VALUE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "event_type": _event_type,
    "status": _status,
    "place_score": _place_score,
    "source_url": _source_url,
    "id": functools.partial(_number, name="id", kind=int),
    **_checks(_text, "source_id"),
    **_checks(_code, "time_precision"),
    **_checks(_text, "actor1", "assoc_actor_1", "actor2", "assoc_actor_2", "force1", "force2", "location"),
    **_checks(_code, "geo_precision"),
    **_checks(_text, "admin1", "admin1_pcode", "admin2", "admin2_pcode", "admin3", "admin3_pcode"),
    **_checks(_choice, "disputed"),
    **_checks(_text, "place_id"),
    **_checks(_count, "fatalities", "injured"),
    **_checks(_text, "notes", "source"),
}
# The fields validate_incident gives an Incident, in the order Incident takes them.
_CHECKED_FIELDS = FIELDS[: FIELDS.index("status") + 1]


def validate_incident(
    data: Mapping[str, Any],
    *,
    area: AreaOfInterest = IRAQ,
    today: dt.date | None = None,
) -> Incident:
    """Build an :class:`Incident` from untrusted values, or raise :class:`InvalidRecord`.

    ``data`` maps field names (see :data:`FIELDS`) to values as read from a file, a form or JSON.
    Refused, with the field named: missing required fields, latitude/longitude out of range or
    outside ``area`` (Iraq by default, which catches swapped coordinates; pass :data:`WORLD` to
    widen it), coordinates of exactly 0,0, unparseable or future dates, NaN or infinite numbers,
    negative counts or counts above :data:`MAX_COUNT`, unknown
    precision codes, event types outside ACLED's taxonomy, unknown status.
    """
    for name in REQUIRED_FIELDS:
        _required(data.get(name), name)
    values: dict[str, Any] = {"event_date": _event_date(data["event_date"], today or dt.date.today())}
    values["latitude"], values["longitude"] = checked_point(data, area=area)
    for name, check in _VALUE_CHECKS.items():
        values[name] = check(data.get(name))
        if name == "event_type":
            values["sub_event_type"] = _sub_event_type(data.get("sub_event_type"), values["event_type"])
    return Incident(**values)


_REFUSED = object()


def _refused_or(check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except InvalidRecord:
        return _REFUSED


def _texts(values: list) -> bool:
    """Whether every one of ``values`` is a text or None: values equal only when they are the same
    (unlike 1, 1.0 and True)."""
    return set(map(type, values)) <= {str, type(None)}


def _checked_column(values: list, check: Callable[[Any], Any], *, by_value: bool | None = None) -> tuple[list, bool]:
    """``check`` of each of ``values`` (``_REFUSED`` where it raises :class:`InvalidRecord`), and
    whether it refused any: once per distinct value when ``by_value`` (default: when all are texts or
    None; names, types, dates and counts repeat in a file)."""
    if _texts(values) if by_value is None else by_value:
        outcome = {value: _refused_or(check, value) for value in set(values)}
        if _REFUSED not in outcome.values():
            return list(map(outcome.__getitem__, values)), False
        return [outcome[value] for value in values], True
    checked = [_refused_or(check, value) for value in values]
    return checked, _REFUSED in checked


def validate_incidents(
    rows: Sequence[Mapping[str, Any]], *, area: AreaOfInterest = IRAQ, today: dt.date | None = None
) -> list[Incident | InvalidRecord]:
    """:func:`validate_incident` of each of ``rows``: its :class:`Incident`, or the
    :class:`InvalidRecord` it raises. The same checks, made column by column for a batch of rows
    (each distinct text once, the coordinates' ranges and the area as arrays); a row any of them
    refuses is validated alone again, so its error is exactly the one :func:`validate_incident` gives."""
    today = today or dt.date.today()
    present = set().union(*rows)
    refused = np.zeros(len(rows), dtype=bool)

    def column(name: str, check: Callable[[Any], Any]) -> list:
        if name in present:
            checked, any_refused = _checked_column([row.get(name) for row in rows], check)
        else:
            checked = [_refused_or(check, None)] * len(rows)
            any_refused = checked[0] is _REFUSED if rows else False
        if any_refused:
            refused[[value is _REFUSED for value in checked]] = True
        return checked

    columns = {"event_date": column("event_date", functools.partial(_event_date, today=today))}
    for name in ("latitude", "longitude"):
        values = [row.get(name) for row in rows]
        numbers: list | None = None
        if set(map(type, values)) == {str}:
            try:
                # Texts of numbers, the common case: float() reads them as _number does (it ignores the
                # same spaces); a blank raises, and a non-finite number fails the range checks below.
                numbers = list(map(float, cast(list[str], values)))
            except ValueError:
                pass
        columns[name] = numbers if numbers is not None else column(name, functools.partial(_coordinate, name=name))
    lat, lon = (
        np.array([np.nan if value is _REFUSED else value for value in columns[name]], dtype=float)
        if _REFUSED in columns[name]
        else np.array(columns[name], dtype=float)
        for name in ("latitude", "longitude")
    )
    refused |= ~(
        (lat >= max(-90, area.min_lat))
        & (lat <= min(90, area.max_lat))
        & (lon >= max(-180, area.min_lon))
        & (lon <= min(180, area.max_lon))
        & ((lat != 0) | (lon != 0))
    )
    for name, check in _VALUE_CHECKS.items():
        columns[name] = column(name, check)
    # A sub-event type is checked with its event type: once per distinct pair.
    subs = [row.get("sub_event_type") for row in rows] if "sub_event_type" in present else [None] * len(rows)
    columns["sub_event_type"], any_refused = _checked_column(
        list(zip(subs, columns["event_type"], strict=True)),
        lambda pair: None if pair[1] is _REFUSED else _sub_event_type(*pair),
        by_value=_texts(subs),
    )
    if any_refused:
        refused[[value is _REFUSED for value in columns["sub_event_type"]]] = True
    out: list[Incident | InvalidRecord] = list(map(Incident, *(columns[name] for name in _CHECKED_FIELDS)))
    for position in np.flatnonzero(refused).tolist():
        try:
            out[position] = validate_incident(rows[position], area=area, today=today)
        except InvalidRecord as exc:
            out[position] = exc
    return out
