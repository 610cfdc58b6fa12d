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
force                       force key or label (see :mod:`webmap.forces`): incidents involving it (as
                            actor 1, actor 2 or an associated actor); the map's ticked forces
event_type (--event-type)   ACLED event type
from (--since)              first date, YYYY-MM-DD (inclusive)
to (--until)                last date, YYYY-MM-DD (inclusive)
disputed                    inside, partly, outside (several allowed); 1: inside and partly (the
                            "disputed only" box); 0: outside
window (--window)           the map's time window, FIRST/LAST (YYYY-MM-DD/YYYY-MM-DD): like from/to,
                            but the chart keeps the whole range and marks the window
precision                   geo precision codes: 1 the named place, 2 near it, 3 only the district or
                            governorate
area                        the incidents known only to this district or governorate (P-code or name):
                            what the map draws as that area
drafts                      1: include draft incidents (hidden by default)
bbox                        west,south,east,north in degrees WGS 84
ids                         these incidents only, by id (the incidents just saved from a report)
actor                       words in an actor's name, either side or an associated actor, any case
                            (a unit: "11th Brigade"; a group: "Peace Brigades")
==========================  ====================================================================
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa

from . import spatial
from .errors import InvalidFilter, InvalidRecord
from .forces import FORCE_BITS, forces_mask, incident_forces, parse_force
from .records import DISPUTED, EARLIEST_DATE, EVENT_TYPES, FIELDS, STATUSES, Incident, parse_bool, parse_date
from .store import (
    DERIVED_FROM,
    MAP_POINT_DTYPE,
    IncidentStore,
    derived_values,
    id_chunks,
    incident_changes,
    incidents,
    row_to_incident,
    stored_version,
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
    FilterParameter(
        "disputed",
        "--disputed",
        "inside, partly or outside the disputed territories (1: inside or partly; 0: outside)",
        "WHERE",
        several=True,
    ),
    FilterParameter("window", "--window", "time window, first and last day", "YYYY-MM-DD/YYYY-MM-DD"),
    FilterParameter(
        "precision",
        "--precision",
        "geo precision: 1 named place, 2 near it, 3 district or governorate only",
        "1|2|3",
        several=True,
    ),
    FilterParameter("area", "--area", "incidents known only to this district or governorate", "NAME"),
    FilterParameter("drafts", "--drafts", "include draft incidents", flag=True),
    FilterParameter("bbox", "--bbox", "west,south,east,north in degrees WGS 84", "W,S,E,N"),
    FilterParameter("ids", "--ids", "these incidents only, by id", "ID", several=True),
    FilterParameter("actor", "--actor", "words in an actor's name (either side, or an associated actor)", "TEXT"),
)
PARAMETERS = tuple(p.name for p in FILTER_PARAMETERS)
PARAMETER_ALIASES = {"since": "from", "until": "to", "date_from": "from", "date_to": "to"}
_SEVERAL = frozenset(p.name for p in FILTER_PARAMETERS if p.several)
# The most different values one parameter takes (the shipped layers have 101 districts; all of them is no filter).
MAX_FILTER_VALUES = 200


@dataclass(frozen=True)
class IncidentFilter:
    """A validated selection of incidents; the empty filter selects every reviewed incident.

    ``governorates`` and ``districts`` hold P-codes; ``forces`` force keys (an incident involving
    any of them passes); ``disputed`` values of :data:`webmap.records.DISPUTED`; dates, and the
    time window's first and last days, are inclusive.
    """

    governorates: tuple[str, ...] = ()
    districts: tuple[str, ...] = ()
    forces: tuple[str, ...] = ()
    event_types: tuple[str, ...] = ()
    since: dt.date | None = None
    until: dt.date | None = None
    disputed: tuple[str, ...] = ()
    include_drafts: bool = False
    bbox: tuple[float, float, float, float] | None = None
    window: tuple[dt.date, dt.date] | None = None
    precisions: tuple[int, ...] = ()
    area: str | None = None
    ids: tuple[int, ...] = ()
    actor: str | None = None

    # -- building --------------------------------------------------------------------------
    @classmethod
    def from_params(cls, params: Mapping) -> IncidentFilter:
        """Parse query parameters (a Flask ``request.args``, a dict of str or list of str).

        Unknown parameters are ignored (``limit``, ``offset`` belong to the caller); every value
        of a known parameter is validated. A parameter that takes one value (``from``, ``to``,
        ``window``, ``area``, ``drafts``, ``bbox``) given twice, even blank or under an alias, is
        refused; one that takes several takes at most :data:`MAX_FILTER_VALUES` different ones.
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
            disputed=values.get("disputed", ()),
            drafts=_single(values, "drafts"),
            bbox=_single(values, "bbox"),
            window=_single(values, "window"),
            precision=values.get("precision", ()),
            area=_single(values, "area"),
            ids=values.get("ids", ()),
            actor=_single(values, "actor"),
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
        disputed=(),
        drafts=None,
        bbox=None,
        window=None,
        precision=(),
        area=None,
        ids=(),
        actor=None,
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
            disputed=_disputed(disputed),
            include_drafts=bool(_bool("drafts", drafts)),
            bbox=_bbox(bbox),
            window=_window(window),
            precisions=tuple(_precision(v) for v in precision),
            area=_area_pcode(area),
            ids=tuple(sorted({_id(v) for v in ids})),
            actor=_actor(actor),
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
        if self.disputed:
            out["disputed"] = list(self.disputed)
        if self.include_drafts:
            out["drafts"] = ["1"]
        if self.bbox:
            out["bbox"] = [",".join(f"{v:g}" for v in self.bbox)]
        if self.window:
            out["window"] = [f"{self.window[0].isoformat()}/{self.window[1].isoformat()}"]
        if self.precisions:
            out["precision"] = [str(p) for p in self.precisions]
        if self.area:
            out["area"] = [self.area]
        if self.ids:
            out["ids"] = [",".join(str(i) for i in self.ids)]
        if self.actor:
            out["actor"] = [self.actor]
        return out

    def without(self, *parts: str) -> IncidentFilter:
        """This filter without some of its parts (``"forces"``, ``"window"``): the map loads the points
        of the filter without the ticks and the window, and applies them itself as they change."""
        return dataclasses.replace(self, **{part: _UNSET[part] for part in parts})

    # -- SQL ---------------------------------------------------------------------------------
    def conditions(self, dialect: str) -> list:
        """SQLAlchemy conditions on :data:`webmap.store.incidents` for this filter."""
        c = incidents.c
        where = []
        if not self.include_drafts:
            where.append(c.status == "reviewed")
        else:  # drafts too, never a deleted incident
            where.append(c.status.in_(STATUSES))
        if self.governorates:
            where.append(c.admin1_pcode.in_(self.governorates))
        if self.districts:
            where.append(c.admin2_pcode.in_(self.districts))
        if self.forces:
            where.append(involves_any(self.forces))
        if self.event_types:
            where.append(c.event_type.in_(self.event_types))
        if self.since:
            where.append(c.event_date >= self.since)
        if self.until:
            where.append(c.event_date <= self.until)
        if self.disputed:
            where.append(c.disputed.in_(self.disputed))
        if self.window:
            where.append(c.event_date.between(*self.window))
        if self.precisions:
            where.append(c.geo_precision.in_(self.precisions))
        if self.area:
            known = sa.or_(c.admin2_pcode == self.area, sa.and_(c.admin2_pcode.is_(None), c.admin1_pcode == self.area))
            where.append(sa.and_(c.geo_precision == 3, known))
        if self.bbox:
            where.append(_bbox_condition(self.bbox, dialect))
        if self.ids:
            where.append(c.id.in_(self.ids))
        if self.actor:
            where.append(names_actor(self.actor))
        return where


# The value of a part of the filter that selects everything (IncidentFilter.without).
_UNSET: dict[str, Any] = {"forces": (), "window": None, "bbox": None}


ACTOR_COLUMNS = ("actor1", "actor2", "assoc_actor_1", "assoc_actor_2")
MAX_ACTOR_CHARS = 100


def names_actor(text: str) -> sa.ColumnElement:
    """SQL condition: ``text`` occurs in an actor's name (either side or an associated actor), any
    case (SQLite folds the case of ASCII letters only)."""
    return sa.or_(*(incidents.c[name].icontains(text, autoescape=True) for name in ACTOR_COLUMNS))


def ids_naming_actor(store: IncidentStore, text: str) -> list[int]:
    """The ids of every incident (drafts too) with ``text`` in an actor's name: the map's index
    selects by actor through this, so SQL and the index agree."""
    with store.connect() as conn:
        return list(conn.execute(sa.select(incidents.c.id).where(names_actor(text))).scalars())


def stored_points(store: IncidentStore, ids: list[int]) -> dict[int, tuple[float, float]]:
    """The longitude and latitude of the stored incidents ``ids``, exactly as stored: the map's index
    holds them as float32 and settles an incident at a box's edge through this, so SQL and the
    index agree."""
    found: dict[int, tuple[float, float]] = {}
    c = incidents.c
    with store.connect() as conn:
        for chunk in id_chunks(ids):
            chosen = sa.select(c.id, c.longitude, c.latitude).where(c.id.in_(chunk))
            found.update((row[0], (row[1], row[2])) for row in conn.execute(chosen))
    return found


def involves(force: str):
    """SQL condition: the incident involves ``force`` (a key), as actor 1, actor 2 or an associated
    actor: its bit in the stored ``force_mask`` (:func:`webmap.forces.forces_mask`)."""
    return incidents.c.force_mask.op("&")(FORCE_BITS[force]) != 0


def involves_any(forces) -> sa.ColumnElement:
    """SQL condition: the incident involves at least one of ``forces``."""
    return incidents.c.force_mask.op("&")(forces_mask(forces)) != 0


def _bbox_condition(bbox, dialect: str):
    west, south, east, north = bbox
    if dialect == "postgresql":
        envelope = sa.text("incidents.geom && ST_MakeEnvelope(:w, :s, :e, :n, 4326)")
        return envelope.bindparams(w=west, s=south, e=east, n=north)
    c = incidents.c  # SQLite: read from the index on (longitude, latitude)
    return sa.and_(c.longitude.between(west, east), c.latitude.between(south, north))


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


def _disputed(values) -> tuple[str, ...]:
    """``inside``/``partly``/``outside`` values; ``1`` stands for inside and partly, ``0`` for outside."""
    found: list[str] = []
    for value in [values] if isinstance(values, (str, bool)) else values or ():
        text = str(value).strip().lower()
        try:
            flag = parse_bool(value)
        except ValueError:
            flag = None
        if flag is not None:
            words = ["inside", "partly"] if flag else ["outside"]
        elif text in DISPUTED:
            words = [text]
        else:
            raise InvalidFilter(
                "disputed",
                f"expected {', '.join(DISPUTED)} (or 1 for inside and partly, 0 for outside), not {text[:40]!r}",
            )
        found += [w for w in words if w not in found]
    return tuple(w for w in DISPUTED if w in found)


def _area_pcode(value) -> str | None:
    if value is None or value == "":
        return None
    for level in ("adm2", "adm1"):
        found = spatial.find_admin_area(str(value), level)
        if found is not None:
            return found["pcode"]
    raise InvalidFilter("area", f"no district or governorate named {str(value)[:60]!r}")


def _actor(value) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    if len(text) > MAX_ACTOR_CHARS:
        raise InvalidFilter("actor", f"at most {MAX_ACTOR_CHARS} characters, not {len(text)}")
    return text or None


def _id(value) -> int:
    text = str(value).strip()
    if not text.isdigit() or not 0 < int(text) < 2**31:
        raise InvalidFilter("ids", f"expected incident ids (whole numbers from 1), not {text[:20]!r}")
    return int(text)


def _precision(value) -> int:
    text = str(value).strip()
    if text not in ("1", "2", "3"):
        raise InvalidFilter("precision", f"expected 1, 2 or 3, not {text[:20]!r}")
    return int(text)


def _window(value) -> tuple[dt.date, dt.date] | None:
    if value is None or value == "":
        return None
    parts = list(value) if isinstance(value, (tuple, list)) else str(value).split("/")
    if len(parts) != 2:
        raise InvalidFilter("window", f"expected FIRST/LAST, two dates YYYY-MM-DD/YYYY-MM-DD, not {str(value)[:40]!r}")
    first, last = (_date("window", part) for part in parts)
    if first is None or last is None:
        raise InvalidFilter("window", "give both days, YYYY-MM-DD/YYYY-MM-DD")
    if first > last:
        raise InvalidFilter("window", f"{first} is after its last day, {last}")
    return first, last


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
    then by id, paged by ``limit``/``offset``. An empty value (a killed count not reported, no
    place name) sorts below every value, on SQLite and PostgreSQL alike: first ascending, last
    descending."""
    column, descending = parse_sort(sort)
    order = [
        _sort_key(name).desc().nulls_last() if descending else _sort_key(name).asc().nulls_first()
        for name in dict.fromkeys((column, "id"))
    ]
    stmt = _select(store, flt).order_by(*order)
    if limit is not None:
        stmt = stmt.limit(limit)
    if offset:
        stmt = stmt.offset(offset)
    with store.connect() as conn:
        return [row_to_incident(row) for row in conn.execute(stmt).mappings()]


def _sort_key(name: str) -> sa.ColumnElement:
    """What a sort by ``name`` orders by: the column, or for ``admin1``/``admin2`` the name people use
    (:func:`webmap.spatial.display_name`, as the table shows it)."""
    column = incidents.c[name]
    if name not in ("admin1", "admin2"):
        return column
    pcode = incidents.c[f"{name}_pcode"]
    renamed = [
        (sa.and_(pcode == code, column == official), shown)
        for code, (official, shown, _) in sorted(spatial.people_names().items())
        if shown != official
    ]
    return sa.case(*renamed, else_=column) if renamed else column


def iter_incidents(store: IncidentStore, flt: IncidentFilter, *, batch: int = 5_000) -> Iterator[Incident]:
    """The filtered incidents in id order, streamed from the database (constant memory)."""
    stmt = _select(store, flt).order_by(incidents.c.id)
    with store.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch).execute(stmt)
        for row in result.mappings():
            yield row_to_incident(row)


# -- map, chart and cache reads (the web map) -------------------------------------------------
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
        return stored_version(conn)


def packed_records(store: IncidentStore) -> tuple[np.ndarray, np.ndarray]:
    """Every stored incident's id (int64) and packed record (:data:`webmap.store.MAP_POINT_DTYPE`):
    the one pass over the table :class:`webmap.mapindex.MapIndex` is built from."""
    c = incidents.c
    with store.connect() as conn:
        if conn.dialect.name == "postgresql":
            found = _copied_records(conn)
            if found is not None:
                return found
        # Two plain values a row, read as the driver gives them: wrapping a million rows in
        # SQLAlchemy Row objects would double the time.
        rows = conn.execute(sa.select(c.id, c.map_point)).cursor.fetchall()
        return _packed(store, conn, rows)


def _packed(store: IncidentStore, conn, rows: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """The ids and packed records of ``rows`` (id, map_point) read on ``conn``; a row written by
    another program than webmap has no record, and is packed here."""
    c = incidents.c
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    records = [row[1] for row in rows]
    if None in records:
        codes = {pcode: number for number, pcode in store.admin_codes().items()}
        missing = [i for i, record in zip(ids.tolist(), records, strict=True) if record is None]
        packed: dict[int, bytes] = {}
        for chunk in id_chunks(missing):
            chosen = sa.select(c.id, *(c[n] for n in DERIVED_FROM)).where(c.id.in_(chunk))
            for row in conn.execute(chosen).mappings():
                packed[row["id"]] = derived_values(row, codes)["map_point"]
        records = [packed[i] if r is None else r for i, r in zip(ids.tolist(), records, strict=True)]
    return ids, np.frombuffer(b"".join(records), dtype=MAP_POINT_DTYPE)


def changed_records(store: IncidentStore, since: int, most: int) -> tuple[int, np.ndarray, np.ndarray] | None:
    """The store's data version, and the ids and packed records (as :func:`packed_records`) of the
    incidents written after version ``since`` up to it: what an index of version ``since`` lacks
    (none when the version is still ``since``).
    None when the store cannot tell which they are (a version pruned from its change log, or one
    that changed any number of incidents, such as an import) or they are more than ``most``: then
    the whole table must be read."""
    c, ch = incidents.c, incident_changes.c
    with store.connect() as conn:
        version = stored_version(conn)
        if version < since:
            return None
        logged = conn.execute(
            sa.select(ch.version, ch.incident_id).where(ch.version > since, ch.version <= version)
        ).all()
        # Every version in between wrote its rows in its own commit: one missing was pruned.
        if len({v for v, _ in logged}) != version - since:
            return None
        ids = {i for _, i in logged}
        if None in ids or len(ids) > most:
            return None
        rows: list = []
        for chunk in id_chunks(sorted(ids)):
            rows += conn.execute(sa.select(c.id, c.map_point).where(c.id.in_(chunk))).cursor.fetchall()
        return (version, *_packed(store, conn, rows))


# PostgreSQL's binary COPY: a header, then per row its number of fields and each field's length and bytes
# (big-endian), then -1. With every record present a row is of fixed size, read by numpy as it is.
_COPY_HEADER = 19
_COPIED_ROW = np.dtype(
    [
        ("fields", ">i2"),
        ("id_length", ">i4"),
        ("id", ">i4"),
        ("length", ">i4"),
        ("record", f"V{MAP_POINT_DTYPE.itemsize}"),
    ]
)


def _copied_records(conn) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`packed_records` by one binary COPY (ten times the speed of fetching rows at ten million
    incidents), or None when a row has no packed record."""
    with conn.connection.driver_connection.cursor() as cursor:
        with cursor.copy("COPY (SELECT id, map_point FROM incidents) TO STDOUT (FORMAT BINARY)") as copy:
            data = b"".join(bytes(chunk) for chunk in copy)
    count, rest = divmod(len(data) - _COPY_HEADER - 2, _COPIED_ROW.itemsize)
    if rest:
        return None
    rows = np.frombuffer(data, dtype=_COPIED_ROW, count=count, offset=_COPY_HEADER)
    if not (
        (rows["fields"] == 2).all()
        and (rows["id_length"] == 4).all()
        and (rows["length"] == MAP_POINT_DTYPE.itemsize).all()
    ):
        return None
    return rows["id"].astype(np.int64), np.frombuffer(rows["record"].tobytes(), dtype=MAP_POINT_DTYPE)


# -- the review queue (webmap.web.review) -------------------------------------------------------
# How near another incident must be to a draft to be offered as the same event.
MERGE_DAYS = 1
MERGE_KM = 25.0
_EARTH_KM = 6371.0088


def review_queue(store: IncidentStore, *, limit: int = 200) -> tuple[list[Incident], int]:
    """The drafts waiting for review, oldest first (by when they were made), at most ``limit``,
    and how many wait in all."""
    c = incidents.c
    with store.connect() as conn:
        total = conn.execute(sa.select(sa.func.count()).where(c.status == "draft")).scalar_one()
        rows = conn.execute(
            sa.select(incidents).where(c.status == "draft").order_by(c.created_at, c.id).limit(limit)
        ).mappings()
        return [row_to_incident(row) for row in rows], total


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two points in degrees WGS 84 (haversine)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat, dlon = p2 - p1, np.radians(lon2 - lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return float(2 * _EARTH_KM * np.arcsin(np.sqrt(a)))


def merge_candidates(store: IncidentStore, draft: Incident, *, limit: int = 10) -> list[tuple[Incident, float]]:
    """The stored incidents that may report the same event as ``draft``: within
    :data:`MERGE_DAYS` of its day, :data:`MERGE_KM` of its point, and involving a force it
    involves; nearest first, with their distance in km. Deleted incidents and ``draft`` itself are
    left out."""
    c = incidents.c
    mask = forces_mask(incident_forces(draft))
    if not mask:
        return []
    day = dt.timedelta(days=MERGE_DAYS)
    # A box around the point that holds the circle, so the index on (longitude, latitude) answers.
    dlat = np.degrees(MERGE_KM / _EARTH_KM)
    dlon = dlat / max(np.cos(np.radians(draft.latitude)), 0.01)
    stmt = sa.select(incidents).where(
        c.id != draft.id,
        c.status.in_(STATUSES),
        c.event_date.between(draft.event_date - day, draft.event_date + day),
        c.latitude.between(draft.latitude - dlat, draft.latitude + dlat),
        c.longitude.between(draft.longitude - dlon, draft.longitude + dlon),
        c.force_mask.op("&")(mask) != 0,
    )
    with store.connect() as conn:
        found = [row_to_incident(row) for row in conn.execute(stmt).mappings()]
    near = [(i, distance_km(draft.latitude, draft.longitude, i.latitude, i.longitude)) for i in found]
    near = [(i, km) for i, km in near if km <= MERGE_KM]
    near.sort(key=lambda pair: (pair[1], pair[0].id))
    return near[:limit]
