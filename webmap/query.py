"""The one filter: which incidents a view, an API call or an export is about.

:class:`IncidentFilter` is built from web query parameters or CLI options (both go through
:meth:`IncidentFilter.from_params`, with the parameters of :data:`FILTER_PARAMETERS`), validated
(unknown district, bad date, unknown force: :class:`~webmap.errors.InvalidFilter` naming the
parameter), and applied in SQL by the read functions below, so the same filter means the same rows
on the map, in the API and in exports.

Parameters (repeat a parameter or separate values with commas for several; the CLI option in brackets):

==========================  ====================================================================
governorate                 governorate name (English or Arabic, any common spelling) or P-code
district                    district name or P-code
force                       force key or label (see :mod:`webmap.forces`); matches either actor
event_type (--event-type)   ACLED event type
from (--since)              first date, YYYY-MM-DD (inclusive)
to (--until)                last date, YYYY-MM-DD (inclusive)
disputed                    1: only the disputed territories; 0: only outside them
drafts                      1: include draft incidents (hidden by default)
bbox                        west,south,east,north in degrees WGS 84
==========================  ====================================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from . import spatial
from .errors import InvalidFilter, InvalidRecord
from .forces import parse_force
from .records import EARLIEST_DATE, EVENT_TYPES, FIELDS, Incident, parse_bool, parse_date
from .store import (
    MAP_POINT_COLUMNS,
    MAP_POINT_DTYPE,
    IncidentStore,
    incidents,
    incidents_version,
    map_point,
    row_to_incident,
)


@dataclass(frozen=True)
class FilterParameter:
    """One parameter of the filter: its name in a query string, its CLI option, what it means.

    ``several``: it takes several values (repeated, or separated by commas); ``flag``: the CLI
    option takes no value and means ``1``.
    """

    name: str
    option: str
    help: str
    metavar: str = "TEXT"
    several: bool = False
    flag: bool = False


FILTER_PARAMETERS: tuple[FilterParameter, ...] = (
    FilterParameter(
        "governorate", "--governorate", "governorate name (any common spelling) or P-code", "NAME", several=True
    ),
    FilterParameter("district", "--district", "district name or P-code", "NAME", several=True),
    FilterParameter("force", "--force", "force key or name (either actor)", "FORCE", several=True),
    FilterParameter("event_type", "--event-type", "ACLED event type", "TYPE", several=True),
    FilterParameter("from", "--since", "first date (inclusive)", "YYYY-MM-DD"),
    FilterParameter("to", "--until", "last date (inclusive)", "YYYY-MM-DD"),
    FilterParameter("disputed", "--disputed", "1: only inside the disputed territories; 0: only outside", "1|0"),
    FilterParameter("drafts", "--drafts", "include draft incidents", flag=True),
    FilterParameter("bbox", "--bbox", "west,south,east,north in degrees WGS 84", "W,S,E,N"),
)
PARAMETERS = tuple(p.name for p in FILTER_PARAMETERS)
PARAMETER_ALIASES = {"since": "from", "until": "to", "date_from": "from", "date_to": "to"}
_SEVERAL = frozenset(p.name for p in FILTER_PARAMETERS if p.several)
# The most different values one parameter takes (the shipped layers have 101 districts; all of them is no filter).
MAX_FILTER_VALUES = 200


@dataclass(frozen=True)
class IncidentFilter:
    """A validated selection of incidents; the empty filter selects every reviewed incident.

    ``governorates`` and ``districts`` hold P-codes; ``forces`` force keys; dates are inclusive.
    """

    governorates: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    forces: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    disputed: bool | None = None
    include_drafts: bool = False
    bbox: tuple[float, float, float, float] | None = None

    # -- building --------------------------------------------------------------------------
    @classmethod
    def from_params(cls, params: Mapping) -> IncidentFilter:
        """Parse query parameters (a Flask ``request.args``, a dict of str or list of str).

        Unknown parameters are ignored (``limit``, ``offset`` belong to the caller); every value
        of a known parameter is validated. A parameter that takes one value (``from``, ``to``,
        ``disputed``, ``drafts``, ``bbox``) given twice, even blank or under an alias, is refused; one
        that takes several takes at most :data:`MAX_FILTER_VALUES` different ones.
        """
        values: dict[str, list[str]] = {}
        given: dict[str, int] = {}
        for key in params.keys():
            name = PARAMETER_ALIASES.get(key, key)
            if name not in PARAMETERS:
                continue
            raw = params.getlist(key) if hasattr(params, "getlist") else params[key]
            if raw is None:
                continue
            for item in [raw] if isinstance(raw, (str, int, float)) else raw:
                if item is None:
                    continue
                given[name] = given.get(name, 0) + 1
                if name not in _SEVERAL and given[name] > 1:
                    raise InvalidFilter(name, f"give one value, not {given[name]}{_same_parameter(name)}")
                parts = str(item).split(",") if name in _SEVERAL else [str(item)]
                values.setdefault(name, []).extend(p.strip() for p in parts if p.strip())
        for name, given_values in values.items():
            # Each value is looked up (a district name costs a search): the same one twice is looked up once.
            values[name] = list(dict.fromkeys(given_values))
            if len(values[name]) > MAX_FILTER_VALUES:
                raise InvalidFilter(name, f"{len(values[name]):,} values; at most {MAX_FILTER_VALUES}")
        return cls.build(
            governorate=values.get("governorate", ()),
            district=values.get("district", ()),
            force=values.get("force", ()),
            event_type=values.get("event_type", ()),
            since=_single(values, "from"),
            until=_single(values, "to"),
            disputed=_single(values, "disputed"),
            drafts=_single(values, "drafts"),
            bbox=_single(values, "bbox"),
        )

    @classmethod
    def build(
        cls,
        *,
        governorate=(),
        district=(),
        force=(),
        event_type=(),
        since=None,
        until=None,
        disputed=None,
        drafts=None,
        bbox=None,
    ) -> IncidentFilter:
        """Validate raw values (strings or already typed) into a filter; the CLI calls this."""
        since_date = _date("from", since)
        until_date = _date("to", until)
        if since_date and until_date and since_date > until_date:
            raise InvalidFilter("from", f"{since_date} is after the last date, {until_date}")
        return cls(
            governorates=tuple(_admin_pcode("governorate", v, "adm1") for v in governorate),
            districts=tuple(_admin_pcode("district", v, "adm2") for v in district),
            forces=tuple(_force(v) for v in force),
            event_types=tuple(_event_type(v) for v in event_type),
            since=since_date,
            until=until_date,
            disputed=_bool("disputed", disputed),
            include_drafts=bool(_bool("drafts", drafts)),
            bbox=_bbox(bbox),
        )

    def to_params(self) -> dict[str, list[str]]:
        """The query parameters that rebuild this filter (for shareable URLs and links)."""
        out: dict[str, list[str]] = {}
        if self.governorates:
            out["governorate"] = list(self.governorates)
        if self.districts:
            out["district"] = list(self.districts)
        if self.forces:
            out["force"] = list(self.forces)
        if self.event_types:
            out["event_type"] = list(self.event_types)
        if self.since:
            out["from"] = [self.since.isoformat()]
        if self.until:
            out["to"] = [self.until.isoformat()]
        if self.disputed is not None:
            out["disputed"] = ["1" if self.disputed else "0"]
        if self.include_drafts:
            out["drafts"] = ["1"]
        if self.bbox:
            out["bbox"] = [",".join(f"{v:g}" for v in self.bbox)]
        return out

    # -- SQL ---------------------------------------------------------------------------------
    def conditions(self, dialect: str) -> list:
        """SQLAlchemy conditions on :data:`webmap.store.incidents` for this filter."""
        c = incidents.c
        where = []
        if not self.include_drafts:
            where.append(c.status == "reviewed")
        if self.governorates:
            where.append(c.admin1_pcode.in_(self.governorates))
        if self.districts:
            where.append(c.admin2_pcode.in_(self.districts))
        if self.forces:
            where.append(sa.or_(c.force1.in_(self.forces), c.force2.in_(self.forces)))
        if self.event_types:
            where.append(c.event_type.in_(self.event_types))
        if self.since:
            where.append(c.event_date >= self.since)
        if self.until:
            where.append(c.event_date <= self.until)
        if self.disputed is True:
            where.append(c.disputed.is_(True))
        elif self.disputed is False:
            where.append(sa.or_(c.disputed.is_(False), c.disputed.is_(None)))
        if self.bbox:
            where.append(_bbox_condition(self.bbox, dialect))
        return where


def _bbox_condition(bbox, dialect: str):
    west, south, east, north = bbox
    params = {"w": west, "s": south, "e": east, "n": north}
    if dialect == "postgresql":
        return sa.text("incidents.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)").bindparams(**params)
    return incidents.c.id.in_(
        sa.text(
            "SELECT id FROM incidents_rtree WHERE min_lon >= :w AND max_lon <= :e AND min_lat >= :s AND max_lat <= :n"
        ).bindparams(**params)
    )


def _single(values: dict, name: str):
    items = values.get(name)
    return items[0] if items else None


def _same_parameter(name: str) -> str:
    """`` (from, since and date_from are one parameter)`` for a parameter with aliases, else nothing."""
    aliases = [alias for alias, target in PARAMETER_ALIASES.items() if target == name]
    return f" ({', '.join([name, *aliases[:-1]])} and {aliases[-1]} are one parameter)" if aliases else ""


def _date(name: str, value) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        day = parse_date(value, name)
    except InvalidRecord:
        raise InvalidFilter(name, f"not a date: {str(value)[:40]!r} (expected YYYY-MM-DD)") from None
    if day < EARLIEST_DATE:
        raise InvalidFilter(name, f"{day.isoformat()} is before {EARLIEST_DATE.year}, the earliest incident date")
    return day


def _bool(name: str, value) -> bool | None:
    try:
        return parse_bool(value)
    except ValueError:
        raise InvalidFilter(name, f"expected 1 or 0, not {str(value)[:40]!r}") from None


def _bbox(value) -> tuple[float, float, float, float] | None:
    if value is None or value == "":
        return None
    parts = value if isinstance(value, (tuple, list)) else str(value).split(",")
    try:
        west, south, east, north = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise InvalidFilter("bbox", "expected west,south,east,north in degrees") from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidFilter("bbox", "expected west <= east within -180..180 and south <= north within -90..90")
    return (west, south, east, north)


def _admin_pcode(name: str, value: str, level: str) -> str:
    area = spatial.find_admin_area(str(value), level)
    if area is None:
        raise InvalidFilter(name, f"unknown {name} {str(value)[:60]!r}")
    return area["pcode"]


def _force(value: str) -> str:
    try:
        return parse_force(str(value))
    except KeyError:
        raise InvalidFilter("force", f"unknown force {str(value)[:60]!r}") from None


def _event_type(value: str) -> str:
    for known in EVENT_TYPES:
        if known.casefold() == str(value).strip().casefold():
            return known
    raise InvalidFilter("event_type", f"unknown event type {str(value)[:60]!r} (known: {', '.join(EVENT_TYPES)})")


# -- reads ----------------------------------------------------------------------------------
def _select(store: IncidentStore, flt: IncidentFilter, *columns):
    return sa.select(*(columns or [incidents.c[name] for name in FIELDS])).where(*flt.conditions(store.dialect))


def count_incidents(store: IncidentStore, flt: IncidentFilter) -> int:
    """How many stored incidents the filter selects."""
    with store.connect() as conn:
        return conn.execute(_select(store, flt, sa.func.count()).select_from(incidents)).scalar_one()


def select_incidents(
    store: IncidentStore, flt: IncidentFilter, *, limit: int | None = None, offset: int = 0, sort: str | None = None
) -> list[Incident]:
    """The filtered incidents ordered by ``sort`` (default newest first; see :func:`parse_sort`),
    then by id, paged by ``limit``/``offset``."""
    column, descending = parse_sort(sort)
    order = [
        incidents.c[name].desc() if descending else incidents.c[name].asc() for name in dict.fromkeys((column, "id"))
    ]
    stmt = _select(store, flt).order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    with store.connect() as conn:
        return [row_to_incident(row) for row in conn.execute(stmt).mappings()]


def iter_incidents(store: IncidentStore, flt: IncidentFilter, *, batch: int = 5_000) -> Iterator[Incident]:
    """The filtered incidents in id order, streamed from the database (constant memory)."""
    stmt = _select(store, flt).order_by(incidents.c.id)
    with store.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for row in result.mappings():
            yield row_to_incident(row)


# -- map, chart and cache reads (the web map) -------------------------------------------------
# The map colours an incident by the force of its first actor (the second when the first has none).
SORT_COLUMNS = (
    "event_date",
    "fatalities",
    "injured",
    "location",
    "admin1",
    "admin2",
    "event_type",
    "force1",
    "force2",
    "id",
)
PERIODS = ("week", "month")


def primary_force():
    """SQL expression: the force key an incident is drawn and counted under (``other`` if none)."""
    c = incidents.c
    return sa.func.coalesce(sa.func.nullif(c.force1, ""), sa.func.nullif(c.force2, ""), "other")


def _period_start(dialect: str, period: str):
    if period not in PERIODS:
        raise InvalidFilter("period", f"expected one of {', '.join(PERIODS)}, not {str(period)[:20]!r}")
    if dialect == "postgresql":
        return sa.func.to_char(sa.func.date_trunc(period, incidents.c.event_date), "YYYY-MM-DD")
    if period == "week":  # the Monday on or before the date
        return sa.func.date(incidents.c.event_date, "weekday 0", "-6 days")
    return sa.func.strftime("%Y-%m-01", incidents.c.event_date)


def parse_sort(text: str | None) -> tuple[str, bool]:
    """``"-fatalities"`` -> ``("fatalities", True)`` (descending); :class:`InvalidFilter` on ``sort``."""
    text = (text or "-event_date").strip()
    descending = text.startswith("-")
    column = text[1:] if text[:1] in ("-", "+") else text
    if column not in SORT_COLUMNS:
        raise InvalidFilter(
            "sort",
            f"cannot sort by {text[:40]!r}: give a column, - before it to reverse (known: {', '.join(SORT_COLUMNS)})",
        )
    return column, descending


def data_version(store: IncidentStore) -> int:
    """A number that changes whenever webmap adds, edits, re-joins or deletes incidents.

    The store raises it in every write transaction (:meth:`webmap.store.IncidentStore.transaction`);
    reading it is one primary-key lookup, whatever the table's size. Cache validators (ETags) of
    every filtered view are derived from it, so a reload of an unchanged view is a 304. Rows
    changed behind webmap's back (an SQL client writing to the table) do not move it.
    """
    with store.connect() as conn:
        return conn.execute(sa.select(incidents_version.c.version).where(incidents_version.c.id == 1)).scalar_one()


POINT_COLUMNS = ("id", "longitude", "latitude", "day", "force", "geo_precision", "fatalities")


def point_columns(store: IncidentStore, flt: IncidentFilter) -> dict[str, np.ndarray]:
    """The filtered incidents as numeric columns for the map, in id order.

    Keys (numpy arrays of equal length): ``id`` (int64); then, in the types of the rows' packed
    ``map_point`` records (:data:`webmap.store.MAP_POINT_DTYPE`): ``longitude``, ``latitude``
    (degrees WGS 84, float32); ``day`` (days since 1970-01-01); ``force`` (index in
    :data:`webmap.forces.FORCE_KEYS` of the :func:`primary_force`; an unknown key counts as
    ``other``); ``geo_precision``; ``fatalities``.
    """
    c = incidents.c
    with store.connect() as conn:
        # Two plain values a row, read as the driver gives them: wrapping 100,000 rows in
        # SQLAlchemy Row objects would double the time of the map's main request.
        rows = conn.execute(_select(store, flt, c.id, c.map_point).order_by(c.id)).cursor.fetchall()
        ids, records = [row[0] for row in rows], [row[1] for row in rows]
        if None in records:  # rows written by another program than webmap have no record: pack them here
            missing = [i for i, record in zip(ids, records, strict=False) if record is None]
            packed: dict[int, bytes] = {}
            for start in range(0, len(missing), 900):
                chosen = sa.select(c.id, *(c[n] for n in MAP_POINT_COLUMNS)).where(
                    c.id.in_(missing[start : start + 900])
                )
                packed.update((row[0], map_point(*row[1:])) for row in conn.execute(chosen))
            records = [packed[i] if record is None else record for i, record in zip(ids, records, strict=False)]
    table = np.frombuffer(b"".join(records), dtype=MAP_POINT_DTYPE)
    return {"id": np.array(ids, dtype=np.int64), **{name: table[name] for name in POINT_COLUMNS[1:]}}


def date_range(store: IncidentStore, flt: IncidentFilter) -> tuple[dt.date, dt.date] | None:
    """The first and last event dates of the filtered incidents, or None when there are none."""
    with store.connect() as conn:
        first, last = conn.execute(
            _select(store, flt, sa.func.min(incidents.c.event_date), sa.func.max(incidents.c.event_date))
        ).one()
    if first is None:
        return None
    return parse_date(first, "from"), parse_date(last, "to")


def counts_by_district(store: IncidentStore, flt: IncidentFilter) -> dict[str, dict]:
    """District P-code -> ``{"incidents": n, "fatalities": n}`` for the filtered incidents."""
    c = incidents.c
    stmt = (
        _select(store, flt, c.admin2_pcode, sa.func.count(), sa.func.coalesce(sa.func.sum(c.fatalities), 0))
        .where(c.admin2_pcode.is_not(None))
        .group_by(c.admin2_pcode)
    )
    with store.connect() as conn:
        return {pcode: {"incidents": n, "fatalities": int(f)} for pcode, n, f in conn.execute(stmt)}


def counts_by_period(store: IncidentStore, flt: IncidentFilter, period: str = "week") -> list[dict]:
    """Incidents and fatalities per period (``week`` from Monday, or ``month``) and primary force.

    Each dict: ``period`` (ISO date of the period's first day), ``force``, ``incidents``,
    ``fatalities``; in period order.
    """
    start = _period_start(store.dialect, period).label("period")
    force = primary_force().label("force")
    stmt = (
        _select(
            store,
            flt,
            start,
            force,
            sa.func.count().label("incidents"),
            sa.func.coalesce(sa.func.sum(incidents.c.fatalities), 0).label("fatalities"),
        )
        .group_by(start, force)
        .order_by(start, force)
    )
    with store.connect() as conn:
        return [{**row, "fatalities": int(row["fatalities"])} for row in conn.execute(stmt).mappings()]
