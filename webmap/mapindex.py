"""Every incident's packed numbers in memory, for the map and its summaries at any size.

:class:`MapIndex` holds, for one data version of the store, the packed record of every incident
(:data:`webmap.store.MAP_POINT`: point, day, fatalities, forces, status, event type, disputed,
governorate and district) as numpy columns, sorted along a Morton curve of the Web Mercator plane,
and the same incidents counted in :class:`Groups` (those of one 39 km cell and one day alike in
every column a filter names): the aggregates every summary is added up from.

A filter (:class:`webmap.query.IncidentFilter`) selects groups (:meth:`Groups.select`); the counts of
the view and per force, the incidents per period and per district, the extent and the areas are sums
over the groups it selects (:meth:`MapIndex.groups_of`), and so are the clusters of a country-wide map
tile. Only what needs the incidents themselves reads them: the points of a small view or a close
tile (one slice of the Morton order), a page of the table, the edge of a box (the cells it cuts), and
a filter by ids or actor (the groups of its incidents). So the cost of a request follows what the
screen shows and how varied the data is, not how many incidents the database holds: reading the
records as a server starts is the only pass over the table. After a write, :meth:`MapIndex.refreshed`
reads only the incidents written since (the store's change log) and counts again only the groups of
the cells they left or entered.

Built by :meth:`MapIndex.build` from :meth:`webmap.store.IncidentStore` (about 1 s for a million
incidents on SQLite; one binary COPY on PostGIS); every process builds its own from the same rows,
so every process answers the same bytes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from .forces import FORCE_BITS, FORCE_KEYS
from .query import IncidentFilter, changed_records, data_version, ids_naming_actor, packed_records, stored_points
from .records import DELETED, STORED_STATUSES
from .store import DISPUTED_CODES, EVENT_TYPE_NAMES, MAP_POINT_DTYPE, UNKNOWN_COUNT, IncidentStore

# Positions along each axis at the deepest level of the Morton order: 2^20 cells across the world,
# about 38 m at the equator, finer than any map tile webmap draws clusters for.
LEVELS = 20
# A map tile is cut into 2^CELL_LEVELS x 2^CELL_LEVELS cells (64 px on a 256 px tile); each cell's
# incidents are one cluster.
CELL_LEVELS = 2
# A tile holding at most this many incidents of the view sends them as points, not clusters.
TILE_POINTS = 256
# From this zoom on, a tile always sends points.
POINTS_ZOOM = 16
# How far a stored coordinate may be from its float32 copy in the index, in degrees (half a float32
# step at 180 degrees is 7.6e-6): an incident this near a box's edge is settled by the stored figures.
NEAR = 1e-5
# The groups' cells (:class:`Groups`): the Morton order's prefix at this level, 2^10 cells across the
# world (about 39 km at the equator). A map tile up to GROUPED_ZOOM is clustered from the groups.
GROUP_LEVEL = 10
GROUPED_ZOOM = GROUP_LEVEL - CELL_LEVELS
# The columns a filter selects by, and the initiating force (counted per cluster and area): the
# incidents of one cell and day alike in these are one group.
GROUP_KEYS = ("forces", "force", "event_type", "status", "disputed", "geo_precision", "admin1", "admin2")
# An index brought up to date reads at most this many changed incidents (or a twentieth of its
# own); when more changed, it reads the whole table (MapIndex.refreshed).
CHANGES_APPLIED = 50_000
_EPOCH = dt.date(1970, 1, 1)
_REVIEWED = STORED_STATUSES.index("reviewed")
_DELETED = STORED_STATUSES.index(DELETED)


def _spread(v: np.ndarray) -> np.ndarray:
    """The bits of 32-bit integers moved to the even positions of 64-bit ones (for Morton codes)."""
    v = v.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    for shift, mask in (
        (16, 0x0000FFFF0000FFFF),
        (8, 0x00FF00FF00FF00FF),
        (4, 0x0F0F0F0F0F0F0F0F),
        (2, 0x3333333333333333),
        (1, 0x5555555555555555),
    ):
        v = (v | (v << np.uint64(shift))) & np.uint64(mask)
    return v


def morton(cx: np.ndarray, cy: np.ndarray) -> np.ndarray:
    """The Morton code of cell positions (column ``cx``, row ``cy``), x in the even bits."""
    return _spread(cx) | (_spread(cy) << np.uint64(1))


def mercator(lon: ArrayLike, lat: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Web Mercator position of degrees WGS 84, each in 0..1 of the world (y grows southwards)."""
    x = (np.asarray(lon, dtype=np.float64) + 180.0) / 360.0
    s = np.sin(np.radians(np.clip(np.asarray(lat, dtype=np.float64), -85.05, 85.05)))
    y = 0.5 - np.log((1 + s) / (1 - s)) / (4 * np.pi)
    return x, y


def degrees_of(x: ArrayLike, y: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """The longitude and latitude (degrees WGS 84) of Web Mercator positions (0..1, :func:`mercator`)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return x * 360.0 - 180.0, np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * y))))


@dataclass
class Tile:
    """One map tile of a view: ``clusters`` (each a dict: ``lat``, ``lon`` of the members' centre,
    ``count``, ``fatalities`` (the known figures added up), ``no_figure`` (members whose source gives
    no figure), ``first``/``last`` day, ``bounds`` [[south, west], [north, east]],
    ``forces``: count per initiating force, in FORCE_KEYS order) and ``points``: the positions in the
    index of the incidents drawn as themselves (every one when the tile holds few, else those alone
    in their cell), or None."""

    clusters: list[dict]
    points: np.ndarray | None


def _coarse(geo_precision: np.ndarray, admin1: np.ndarray) -> np.ndarray:
    return (geo_precision == 3) & (admin1 != 0)


def _area_codes(geo_precision: np.ndarray, admin1: np.ndarray, admin2: np.ndarray) -> np.ndarray:
    area = np.where(admin2 != 0, admin2, admin1)
    return np.where(_coarse(geo_precision, admin1), area, 0).astype(np.uint16)


@dataclass
class Groups:
    """Incidents counted together: those in one cell of the Morton order at :data:`GROUP_LEVEL`, on one
    day, alike in every column of :data:`GROUP_KEYS`. Every summary of a view (counts per force, per
    period and per district, the extent, the areas, the clusters of a country-wide tile) adds up the
    groups it selects instead of the incidents, so its cost follows how varied the data is, not how
    many incidents there are.

    Columns (numpy arrays of equal length, ascending by ``cell``): ``cell`` (the Morton code at
    GROUP_LEVEL), ``day`` and the GROUP_KEYS (the members' values), ``count``, ``killed`` (the known
    figures added up), ``no_figure`` (members without one), ``x_sum``/``y_sum`` (of their Web
    Mercator positions), ``west``/``south``/``east``/``north`` (their extent, degrees as stored) and
    ``position`` (of a member in the index: the incident itself when ``count`` is 1).
    """

    cell: np.ndarray
    day: np.ndarray
    forces: np.ndarray
    force: np.ndarray
    event_type: np.ndarray
    status: np.ndarray
    disputed: np.ndarray
    geo_precision: np.ndarray
    admin1: np.ndarray
    admin2: np.ndarray
    count: np.ndarray
    killed: np.ndarray
    no_figure: np.ndarray
    x_sum: np.ndarray
    y_sum: np.ndarray
    west: np.ndarray
    south: np.ndarray
    east: np.ndarray
    north: np.ndarray
    position: np.ndarray

    def coarse(self) -> np.ndarray:
        """The groups of incidents known only to a district or governorate (drawn as that area)."""
        return _coarse(self.geo_precision, self.admin1)

    def area_codes(self) -> np.ndarray:
        """Per group, the admin number of the area its incidents are drawn as (0: at their points)."""
        return _area_codes(self.geo_precision, self.admin1, self.admin2)

    def select(self, flt: IncidentFilter, code_of: dict[str, int]) -> np.ndarray:
        """The groups the filter selects by the grouped columns (its ``ids``, ``actor`` and ``bbox``
        are not theirs to tell: see :meth:`MapIndex.groups_of`), as a boolean array."""
        keep = np.ones(len(self.count), dtype=bool)
        if not flt.include_drafts:
            keep &= self.status == _REVIEWED
        else:
            keep &= self.status != _DELETED
        if flt.governorates:
            keep &= np.isin(self.admin1, [code_of[p] for p in flt.governorates if p in code_of])
        if flt.districts:
            keep &= np.isin(self.admin2, [code_of[p] for p in flt.districts if p in code_of])
        if flt.forces:
            mask = 0
            for key in flt.forces:
                mask |= FORCE_BITS[key]
            keep &= (self.forces & np.uint16(mask)) != 0
        if flt.event_types:
            keep &= np.isin(self.event_type, [EVENT_TYPE_NAMES.index(t) for t in flt.event_types])
        for first, last in ((flt.since, flt.until), flt.window or (None, None)):
            if first is not None:
                keep &= self.day >= (first - _EPOCH).days
            if last is not None:
                keep &= self.day <= (last - _EPOCH).days
        if flt.disputed:
            keep &= np.isin(self.disputed, [DISPUTED_CODES.index(d) for d in flt.disputed])
        if flt.precisions:
            keep &= np.isin(self.geo_precision, flt.precisions)
        if flt.area:
            keep &= self.area_codes() == code_of.get(flt.area, -1)
        return keep

    # -- what the selected groups add up to ----------------------------------------------------------
    def tally(self, keep: np.ndarray) -> tuple[int, int, int]:
        """How many incidents the groups ``keep`` hold, the known figures of their killed added up,
        and how many of them have none."""
        return int(self.count[keep].sum()), int(self.killed[keep].sum()), int(self.no_figure[keep].sum())

    def force_counts(self, keep: np.ndarray) -> dict[str, int]:
        """Per force key, how many incidents of the groups ``keep`` involve it."""
        forces, counts = self.forces[keep], self.count[keep]
        return {key: int(counts[(forces & np.uint16(FORCE_BITS[key])) != 0].sum()) for key in FORCE_KEYS}

    def date_range(self, keep: np.ndarray) -> tuple[dt.date, dt.date] | None:
        """The first and last day of the groups ``keep``, or None for none."""
        days = self.day[keep]
        if not len(days):
            return None
        return _EPOCH + dt.timedelta(days=int(days.min())), _EPOCH + dt.timedelta(days=int(days.max()))

    def bounds(self, keep: np.ndarray) -> list[list[float]] | None:
        """[[south, west], [north, east]] of the points of the groups ``keep``, or None for none."""
        if not keep.any():
            return None
        south, west = float(self.south[keep].min()), float(self.west[keep].min())
        return [[south, west], [float(self.north[keep].max()), float(self.east[keep].max())]]

    def per_period(self, keep: np.ndarray, period: str) -> dict:
        """Incidents and fatalities of the groups ``keep`` per period start (ISO date), in all and per
        force involved: ``{"total": {start: (n, killed)}, "forces": {key: {start: (n, killed)}}}``;
        ``killed`` adds the known figures only."""
        days = self.day[keep].astype(np.int64)
        # Periods numbered, not sorted (np.unique's sort was most of the time at 1M incidents).
        if period == "week":  # weeks from the Monday 1969-12-29 (1970-01-01 was a Thursday)
            numbers = (days + 3) // 7
        else:
            numbers = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        first = int(numbers.min()) if len(numbers) else 0
        inverse = numbers - first
        size = int(inverse.max()) + 1 if len(numbers) else 0
        counts, killed, forces = self.count[keep], self.killed[keep], self.forces[keep]

        def label(i: int) -> str:
            number = first + i
            if period == "week":
                return str(np.datetime64(number * 7 - 3, "D"))
            return str(np.datetime64(number, "M").astype("datetime64[D]"))

        def tally(rows: np.ndarray) -> dict[str, tuple[int, int]]:
            n = np.bincount(inverse[rows], weights=counts[rows], minlength=size)
            dead = np.bincount(inverse[rows], weights=killed[rows], minlength=size)
            return {label(i): (int(n[i]), int(dead[i])) for i in np.flatnonzero(n).tolist()}

        everything = np.ones(len(days), dtype=bool)
        per_force = {}
        for key in FORCE_KEYS:
            member = (forces & np.uint16(FORCE_BITS[key])) != 0
            if member.any():
                per_force[key] = tally(member)
        return {"total": tally(everything), "forces": per_force}

    def per_district(self, keep: np.ndarray, pcode_of: dict[int, str]) -> dict[str, dict]:
        """District P-code -> ``{"incidents", "fatalities", "no_figure"}`` of the groups ``keep``
        placed in one: ``fatalities`` adds the known figures, ``no_figure`` counts the incidents
        without one."""
        placed = keep & (self.admin2 != 0)
        districts = self.admin2[placed]
        n = np.bincount(districts, weights=self.count[placed], minlength=1)
        killed = np.bincount(districts, weights=self.killed[placed], minlength=1)
        unknown = np.bincount(districts, weights=self.no_figure[placed], minlength=1)
        return {
            pcode_of[int(code)]: {
                "incidents": int(n[code]),
                "fatalities": int(killed[code]),
                "no_figure": int(unknown[code]),
            }
            for code in np.flatnonzero(n)
        }


def _combined(parts: list[np.ndarray]) -> np.ndarray:
    """One int64 per row, equal for rows equal in every one of ``parts`` (integer arrays) and only for them."""
    key = np.zeros(len(parts[0]), dtype=np.int64)
    for part in parts:
        values = part.astype(np.int64)
        low = int(values.min()) if len(values) else 0
        span = int(values.max()) - low + 1 if len(values) else 1
        if (int(key.max()) + 1 if len(key) else 1) * span >= 1 << 62:
            key = pd.factorize(key)[0].astype(np.int64)  # numbered: the same equalities in fewer bits
        key = key * span + (values - low)
    return key


def _grouped(index: MapIndex, rows: np.ndarray | None = None) -> tuple[Groups, np.ndarray]:
    """The :class:`Groups` of the index's incidents at positions ``rows`` (ascending; None: every
    one), and for each of those incidents the number of its group."""

    def take(values: np.ndarray) -> np.ndarray:
        return values if rows is None else values[rows]

    cell = take(index.morton) >> np.uint64(2 * (LEVELS - GROUP_LEVEL))
    # Numbered in the order met, which is the Morton order: the groups come ascending by cell.
    group_of = pd.factorize(_combined([cell, take(index.day), *(take(index.columns[name]) for name in GROUP_KEYS)]))[0]
    size = int(group_of.max()) + 1 if len(group_of) else 0
    first = np.flatnonzero(group_of > np.maximum.accumulate(np.r_[-1, group_of[:-1]]))
    head = first if rows is None else rows[first]  # a member of each group, as a position in the index

    def added(values: np.ndarray, dtype=np.int64) -> np.ndarray:
        return np.bincount(group_of, weights=take(values), minlength=size).astype(dtype)

    def extreme(values: np.ndarray, how: np.ufunc) -> np.ndarray:
        out = take(values)[first].copy()
        how.at(out, group_of, take(values))
        return out

    groups = Groups(
        cell=cell[first],
        day=index.day[head],
        **{name: index.columns[name][head] for name in GROUP_KEYS},
        count=np.bincount(group_of, minlength=size).astype(np.int64),
        killed=added(index.killed),
        no_figure=added(index.no_figure),
        x_sum=added(index.x, np.float64),
        y_sum=added(index.y, np.float64),
        west=extreme(index.longitude, np.minimum),
        south=extreme(index.latitude, np.minimum),
        east=extreme(index.longitude, np.maximum),
        north=extreme(index.latitude, np.maximum),
        position=head,
    )
    return groups, group_of.astype(np.int32)


def _morton_of(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The Morton code at :data:`LEVELS` of Web Mercator positions (0..1)."""
    scale = float(1 << LEVELS)
    return morton(
        np.clip(x * scale, 0, scale - 1).astype(np.uint32), np.clip(y * scale, 0, scale - 1).astype(np.uint32)
    )


def _columns(ids: np.ndarray, table: np.ndarray) -> dict[str, np.ndarray]:
    """The index's columns of packed records (:data:`MAP_POINT_DTYPE`) and their ids."""
    columns = {name: table[name] for name in MAP_POINT_DTYPE.names or () if not name.startswith("_")}
    columns["id"] = ids
    return columns


class _Splice:
    """Ranges ``starts[i]..ends[i]`` (ascending, apart) of an array replaced by blocks of ``counts[i]``
    items: ``new_starts`` where the blocks begin in the new array, ``shifts`` how far the items
    before each range (and the last ones, after every range) move."""

    def __init__(self, starts: np.ndarray, ends: np.ndarray, counts: np.ndarray):
        self.starts, self.ends, self.counts = starts, ends, counts
        moved = np.cumsum(counts - (ends - starts))
        self.shifts = np.r_[0, moved]
        self.new_starts = starts + self.shifts[:-1]

    def spliced(self, old: np.ndarray, blocks: np.ndarray, shifts: np.ndarray | None = None) -> np.ndarray:
        """``old`` with the ranges replaced by ``blocks`` (all the blocks, one after another); with
        ``shifts``, the items kept have ``shifts[i]`` added when they come before range ``i``."""
        pieces, taken, after = [], 0, 0
        for i, (start, end, count) in enumerate(
            zip(self.starts.tolist(), self.ends.tolist(), self.counts.tolist(), strict=True)
        ):
            kept = old[after:start]
            pieces += [kept if shifts is None else kept + kept.dtype.type(shifts[i]), blocks[taken : taken + count]]
            taken, after = taken + count, end
        last = old[after:]
        pieces.append(last if shifts is None else last + last.dtype.type(shifts[-1]))
        return np.concatenate(pieces)


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The integers of the ranges ``starts[i]..ends[i]`` (ends excluded), one after another."""
    lengths = ends - starts
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths)
    return offsets + np.arange(int(lengths.sum()))


class MapIndex:
    """The packed records of every stored incident at one data version (see the module docstring).

    Columns (numpy arrays of equal length, in Morton order): ``id``, ``longitude``, ``latitude``,
    ``x``, ``y`` (Web Mercator, 0..1), ``day``, ``fatalities``, ``force``, ``geo_precision``,
    ``forces``, ``status``, ``event_type``, ``disputed``, ``admin1``, ``admin2`` (numbers of
    ``admin_codes``), ``morton``. ``fatalities`` holds :data:`webmap.store.UNKNOWN_COUNT` where
    the source gives no figure; ``killed`` is the same with 0 there (to add up) and ``no_figure``
    marks those incidents: every sum of the killed adds the known figures only, and says how many
    incidents had none. ``pcode_of``/``code_of`` translate the admin numbers. ``groups`` are the
    incidents counted together (:class:`Groups`), ``group_of`` each incident's group.
    """

    def __init__(self, version: int, columns: dict[str, np.ndarray], pcode_of: dict[int, str]):
        x, y = mercator(columns["longitude"], columns["latitude"])
        cells = _morton_of(x, y)
        # Along the Morton curve, then by id: the same order whatever order the rows were read in,
        # so every process's index (built whole or brought up to date) answers the same bytes.
        by_id = np.argsort(columns["id"], kind="stable")
        order = by_id[np.argsort(cells[by_id], kind="stable")]
        self._fill(version, {name: values[order] for name, values in columns.items()}, x[order], y[order], pcode_of)
        self.morton = cells[order]
        self.groups, self.group_of = _grouped(self)

    def _fill(
        self, version: int, columns: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray, pcode_of: dict[int, str]
    ) -> None:
        self.version = version
        self.pcode_of = pcode_of
        self.code_of = {pcode: code for code, pcode in pcode_of.items()}
        self.x, self.y = x, y
        self.columns = {name: np.ascontiguousarray(values) for name, values in columns.items()}
        c = self.columns
        self.n = len(c["id"])
        self.id, self.longitude, self.latitude, self.day = c["id"], c["longitude"], c["latitude"], c["day"]
        self.fatalities, self.force, self.geo_precision = c["fatalities"], c["force"], c["geo_precision"]
        self.forces, self.status, self.event_type = c["forces"], c["status"], c["event_type"]
        self.disputed, self.admin1, self.admin2 = c["disputed"], c["admin1"], c["admin2"]
        self.no_figure = self.fatalities == UNKNOWN_COUNT
        self.killed = np.where(self.no_figure, np.uint32(0), self.fatalities)
        # The store the index was read from: actor names are not in the index, SQL finds them.
        self.store: IncidentStore | None = None
        self._actor_ids: dict[str, np.ndarray] = {}
        self._splits: dict[tuple[float, float, float, float], tuple[np.ndarray, np.ndarray]] = {}

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, store: IncidentStore) -> MapIndex:
        """Read every incident's packed record (one pass over the table) at the current data version."""
        version = data_version(store)  # before the read: a write meanwhile makes the index look stale
        ids, table = packed_records(store)
        index = cls(version, _columns(ids, table), store.admin_codes())
        index.store = store
        return index

    def refreshed(self, store: IncidentStore) -> MapIndex:
        """This index brought to the store's current data version: from the incidents written since
        (:func:`webmap.query.changed_records`) when the store lists them, else read whole
        (:meth:`build`). Itself when nothing was written."""
        found = changed_records(store, self.version, most=max(CHANGES_APPLIED, self.n // 20))
        if found is None:
            return MapIndex.build(store)
        version, ids, table = found
        if version == self.version:
            return self
        index = self.updated(version, _columns(ids, table), store.admin_codes())
        index.store = store
        return index

    def updated(self, version: int, columns: dict[str, np.ndarray], pcode_of: dict[int, str]) -> MapIndex:
        """A new index of data ``version``: this one with the incidents of ``columns`` (the packed
        columns and ``id``, as :meth:`build` reads them) in place of those of the same id, or added.
        Equal to an index built whole from the same rows. Only the incidents and groups of the
        cells the change touches (those its incidents leave or enter) are sorted and counted
        again; the rest is copied over in slices, so the cost follows the change, plus one copy of
        each array."""
        ids = columns["id"]
        shift = np.uint64(2 * (LEVELS - GROUP_LEVEL))
        span = int(ids.max()) - int(ids.min()) if len(ids) else 0
        gone = np.flatnonzero(np.isin(self.id, ids, kind="table" if span <= 4 * self.n + 1024 else None))
        x, y = mercator(columns["longitude"], columns["latitude"])
        cells = _morton_of(x, y)
        touched = np.unique(np.r_[self.morton[gone] >> shift, cells >> shift])
        # The touched cells' incidents after the change (those staying, those added), in index order.
        starts = np.searchsorted(self.morton, touched << shift)
        ends = np.searchsorted(self.morton, (touched + np.uint64(1)) << shift)
        old_rows = _ranges(starts, ends)
        staying = old_rows[~np.isin(old_rows, gone)]
        morton_now = np.r_[self.morton[staying], cells]
        order = np.lexsort((np.r_[self.id[staying], ids], morton_now))
        counts = np.bincount(np.searchsorted(touched, morton_now >> shift), minlength=len(touched))
        rows_at = _Splice(starts, ends, counts)

        def now(old: np.ndarray, added: np.ndarray) -> np.ndarray:
            return rows_at.spliced(old, np.r_[old[staying], added][order])

        index = MapIndex.__new__(MapIndex)
        index._fill(
            version,
            {name: now(values, columns[name]) for name, values in self.columns.items()},
            now(self.x, x),
            now(self.y, y),
            pcode_of,
        )
        index.morton = now(self.morton, cells)
        rows = _ranges(rows_at.new_starts, rows_at.new_starts + counts)
        fresh, fresh_of = _grouped(index, rows)
        old = self.groups
        fresh_counts = np.bincount(np.searchsorted(touched, fresh.cell), minlength=len(touched))
        groups_at = _Splice(
            np.searchsorted(old.cell, touched), np.searchsorted(old.cell, touched, side="right"), fresh_counts
        )
        index.groups = Groups(
            **{
                field.name: groups_at.spliced(getattr(old, field.name), getattr(fresh, field.name))
                for field in dataclasses.fields(Groups)
                if field.name != "position"
            },
            position=groups_at.spliced(old.position, fresh.position, rows_at.shifts),
        )
        # A fresh group's number: where its cell's groups begin now, plus its rank among them.
        fresh_starts = np.r_[0, np.cumsum(fresh_counts)[:-1]]
        numbers = fresh_of + np.repeat(groups_at.new_starts - fresh_starts, counts)
        index.group_of = rows_at.spliced(self.group_of, numbers.astype(np.int32), groups_at.shifts)
        return index

    # -- selecting ------------------------------------------------------------------------------
    def select(self, flt: IncidentFilter, at: slice | np.ndarray = slice(None)) -> np.ndarray:
        """The incidents the filter selects (of the positions ``at``, default all), as a boolean
        array (the same rows as :meth:`IncidentFilter.conditions` selects in SQL)."""
        keep = self.groups.select(flt, self.code_of)[self.group_of[at]]
        if flt.ids:
            keep &= np.isin(self.id[at], flt.ids)
        if flt.actor:
            keep &= np.isin(self.id[at], self.naming_actor(flt.actor))
        if flt.bbox:
            keep &= self._in_bbox(flt.bbox, at)
        return keep

    def _in_bbox(self, bbox: tuple[float, float, float, float], at: slice | np.ndarray) -> np.ndarray:
        if isinstance(at, slice) and at == slice(None):
            # Every incident: those of the groups wholly inside at once, the cells around the edge one by one.
            whole, edge = self._bbox_split(bbox)
            inside = whole[self.group_of]
            inside[edge] = self._in_bbox(bbox, edge)
            return inside
        west, south, east, north = bbox
        lon, lat = self.longitude[at].astype(np.float64), self.latitude[at].astype(np.float64)
        inside = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        near = (np.abs(lon - west) <= NEAR) | (np.abs(lon - east) <= NEAR)
        near |= (np.abs(lat - south) <= NEAR) | (np.abs(lat - north) <= NEAR)
        if near.any() and self.store is not None:  # settled by the stored figures, as SQL settles them
            ids = self.id[at][near].tolist()
            stored = stored_points(self.store, ids)
            inside[near] = [
                west <= stored[i][0] <= east and south <= stored[i][1] <= north if i in stored else False for i in ids
            ]
        return inside

    def _bbox_split(self, bbox: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        """The groups whose every incident lies in ``bbox`` (west, south, east, north) and none of whose
        cell's groups straddles its edge, and the positions of the incidents of the cells where one does.
        Kept for the last few boxes: a table page asks for it twice, the counts of the same view once more."""
        found = self._splits.get(bbox)
        if found is None:  # another request's thread may clear the dict meanwhile: keep our own copy
            if len(self._splits) >= 8:
                self._splits.clear()
            found = self._splits[bbox] = self._split(bbox)
        return found

    def _split(self, bbox: tuple[float, float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        west, south, east, north = bbox
        g = self.groups
        g_west, g_east = g.west.astype(np.float64), g.east.astype(np.float64)
        g_south, g_north = g.south.astype(np.float64), g.north.astype(np.float64)
        inside = (
            (g_west >= west + NEAR) & (g_east <= east - NEAR) & (g_south >= south + NEAR) & (g_north <= north - NEAR)
        )
        outside = (g_east < west - NEAR) | (g_west > east + NEAR) | (g_north < south - NEAR) | (g_south > north + NEAR)
        cells = np.unique(g.cell[~inside & ~outside])
        shift = np.uint64(2 * (LEVELS - GROUP_LEVEL))
        edge = _ranges(np.searchsorted(self.morton, cells << shift), np.searchsorted(self.morton, (cells + 1) << shift))
        return inside & ~np.isin(g.cell, cells), edge

    def groups_of(self, flt: IncidentFilter) -> tuple[Groups, np.ndarray]:
        """The groups to count the view ``flt`` from, and which of them it selects: the index's own, or,
        for a filter by ids, actor or bbox (which cut across groups), the groups of its incidents."""
        if flt.ids or flt.actor or flt.bbox:
            groups = _grouped(self, np.flatnonzero(self.select(flt)))[0]
            return groups, np.ones(len(groups.count), dtype=bool)
        return self.groups, self.groups.select(flt, self.code_of)

    def tally(self, flt: IncidentFilter) -> tuple[int, int, int]:
        """How many incidents the filter selects, the known figures of their killed added up, and
        how many of them have none."""
        if flt.ids or flt.actor:
            return self._row_tally(flt)
        keep = self.groups.select(flt, self.code_of)
        if not flt.bbox:
            return self.groups.tally(keep)
        whole, edge = self._bbox_split(flt.bbox)
        count, killed, unknown = self.groups.tally(whole & keep)
        chosen = edge[self.select(flt, edge)]
        return (
            count + len(chosen),
            killed + int(self.killed[chosen].sum(dtype=np.int64)),
            unknown + int(self.no_figure[chosen].sum()),
        )

    def _row_tally(self, flt: IncidentFilter) -> tuple[int, int, int]:
        chosen = self.select(flt)
        return int(chosen.sum()), int(self.killed[chosen].sum(dtype=np.int64)), int(self.no_figure[chosen].sum())

    # -- what a view shows ----------------------------------------------------------------------------
    def coarse(self, part: slice = slice(None)) -> np.ndarray:
        """The incidents (of the positions ``part``, default all) known only to a district or
        governorate (drawn as that area)."""
        return _coarse(self.geo_precision[part], self.admin1[part])

    def area_codes(self) -> np.ndarray:
        """Per incident, the admin number of the area a coarse incident is drawn as (0: a point)."""
        return _area_codes(self.geo_precision, self.admin1, self.admin2)

    def naming_actor(self, text: str) -> np.ndarray:
        """The ids of the incidents with ``text`` in an actor's name (asked of the store once per
        text and index: a write builds a new index)."""
        if text not in self._actor_ids:
            if self.store is None:
                raise ValueError("an index not read from a store cannot select by actor")
            if len(self._actor_ids) >= 64:
                self._actor_ids.clear()
            self._actor_ids[text] = np.asarray(ids_naming_actor(self.store, text), dtype=np.int64)
        return self._actor_ids[text]

    def page(self, flt: IncidentFilter, sort: str, descending: bool, limit: int, offset: int) -> list[int]:
        """Ids of the incidents the filter selects ordered by ``sort`` (``event_date``, ``fatalities``
        or ``id``) then by id, the page ``offset``..``offset + limit``. An incident without a figure
        of the killed sorts below every figure, as the database orders it
        (:func:`webmap.query.select_incidents`)."""
        selected = self.select(flt)
        wanted = offset + limit
        if sort == "event_date" and not (flt.ids or flt.actor):
            # Only the days the page can reach: the groups wholly in the view, latest (or earliest) first,
            # hold enough incidents by some day; the incidents of later (earlier) days cannot be on it.
            g = self.groups
            whole = g.select(flt, self.code_of)
            if flt.bbox:
                whole &= self._bbox_split(flt.bbox)[0]
            days, counts = g.day[whole], g.count[whole]
            if counts.sum() > 4 * wanted:
                order = np.argsort(days, kind="stable")
                if descending:
                    order = order[::-1]
                reach = np.searchsorted(np.cumsum(counts[order]), wanted)
                limit_day = days[order[reach]]
                selected &= (self.day >= limit_day) if descending else (self.day <= limit_day)
        positions = np.flatnonzero(selected)
        if sort == "fatalities":
            primary = np.where(self.no_figure[positions], -1, self.fatalities[positions].astype(np.int64))
        else:
            primary = {"event_date": self.day, "id": self.id}[sort][positions]
        ids = self.id[positions]
        # One key per incident: the sort column, then the id (ids stay below 2^31).
        key = primary.astype(np.int64) * np.int64(1 << 31) + ids
        if descending:
            key = -key
        wanted = min(wanted, len(key))
        if wanted < len(key) // 4:  # a first page of many: no need to sort them all
            top = np.argpartition(key, wanted - 1)[:wanted] if wanted else np.array([], dtype=np.intp)
            order = top[np.argsort(key[top], kind="stable")]
        else:
            order = np.argsort(key, kind="stable")
        return ids[order[offset : offset + limit]].tolist()

    def tile(self, flt: IncidentFilter, z: int, x: int, y: int) -> Tile:
        """The clusters (or the points, when few) of the incidents the filter selects drawn at their
        point in map tile ``z``/``x``/``y``; an incident alone in its cluster's cell is among the
        points. Up to :data:`GROUPED_ZOOM` the clusters are added up from the groups."""
        corner = morton(np.array([x], dtype=np.uint32), np.array([y], dtype=np.uint32))[0]
        if z <= GROUPED_ZOOM and not (flt.ids or flt.actor or flt.bbox):
            g = self.groups
            shift = np.uint64(2 * (GROUP_LEVEL - z))
            lo, hi = np.searchsorted(g.cell, [corner << shift, (corner + np.uint64(1)) << shift])
            part = slice(lo, hi)
            inside = np.flatnonzero(g.select(flt, self.code_of)[part] & ~g.coarse()[part]) + lo
            if int(g.count[inside].sum()) > TILE_POINTS:
                cells = g.cell[inside] >> np.uint64(2 * (GROUP_LEVEL - z - CELL_LEVELS))
                starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
                counts = np.add.reduceat(g.count[inside], starts)
                cluster = np.repeat(np.arange(len(starts)), np.diff(np.r_[starts, len(inside)]))
                per_force = np.bincount(
                    cluster * len(FORCE_KEYS) + g.force[inside],
                    weights=g.count[inside],
                    minlength=len(starts) * len(FORCE_KEYS),
                )
                return _clustered(
                    counts,
                    _over(inside, starts),
                    {"x": g.x_sum, "y": g.y_sum, "killed": g.killed, "no_figure": g.no_figure, "day": g.day},
                    {"west": g.west, "south": g.south, "east": g.east, "north": g.north},
                    per_force.astype(np.int64).reshape(len(starts), len(FORCE_KEYS)),
                    lambda alone: g.position[inside[starts[alone]]],
                )
        shift = np.uint64(2 * (LEVELS - z))
        lo, hi = np.searchsorted(self.morton, [corner << shift, (corner + np.uint64(1)) << shift])
        part = slice(lo, hi)
        inside = np.flatnonzero(self.select(flt, part) & ~self.coarse(part)) + lo
        if z >= POINTS_ZOOM or len(inside) <= TILE_POINTS:
            return Tile([], inside)
        cells = self.morton[inside] >> np.uint64(2 * (LEVELS - z - CELL_LEVELS))
        starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
        counts = np.diff(np.r_[starts, len(inside)])
        cluster = np.repeat(np.arange(len(starts)), counts)
        per_force = np.bincount(cluster * len(FORCE_KEYS) + self.force[inside], minlength=len(starts) * len(FORCE_KEYS))
        return _clustered(
            counts,
            _over(inside, starts),
            {"x": self.x, "y": self.y, "killed": self.killed, "no_figure": self.no_figure, "day": self.day},
            {"west": self.longitude, "south": self.latitude, "east": self.longitude, "north": self.latitude},
            per_force.reshape(len(starts), len(FORCE_KEYS)),
            lambda alone: inside[starts[alone]],
        )

    def point_columns(self, selected: np.ndarray) -> dict[str, np.ndarray]:
        """The selected incidents as the map's point columns (:func:`webmap.mapview.encode_points`),
        in id order, with ``area``: the admin number of the area a coarse incident is drawn as."""
        positions = np.flatnonzero(selected)
        positions = positions[np.argsort(self.id[positions], kind="stable")]
        out = {name: values[positions] for name, values in self.columns.items()}
        out["area"] = self.area_codes()[positions]
        return out


def _over(members: np.ndarray, starts: np.ndarray) -> Callable[..., np.ndarray]:
    """``total(values, how=np.add)``: ``how`` over each run of ``values[members]`` beginning at ``starts``
    (counts and flags added as int64)."""

    def total(values: np.ndarray, how: np.ufunc = np.add) -> np.ndarray:
        gathered = values[members]
        if gathered.dtype.kind in "bu":
            gathered = gathered.astype(np.int64)
        return how.reduceat(gathered, starts) if len(starts) else gathered[:0]

    return total


def _clustered(
    counts: np.ndarray,
    total: Callable[..., np.ndarray],
    sums: dict[str, np.ndarray],
    extents: dict[str, np.ndarray],
    per_force: np.ndarray,
    alone_at: Callable[[np.ndarray], np.ndarray],
) -> Tile:
    """A tile of clusters: ``counts`` incidents each; ``total(values, how)`` adds up (or takes the
    minimum or maximum of) a column over each cluster's members; ``sums``: the columns ``x``, ``y``
    (positions, or their sums per group), ``killed``, ``no_figure`` and ``day`` (whose minimum and
    maximum are the cluster's span) of the members; ``extents``: ``west``, ``south``, ``east``,
    ``north`` columns; ``per_force``: the count per initiating force of each cluster;
    ``alone_at(alone)``: the index positions of the clusters of one incident."""
    x_mean, y_mean = total(sums["x"]) / counts, total(sums["y"]) / counts
    centre_lon, centre_lat = degrees_of(x_mean, y_mean)
    fields = zip(
        centre_lat.tolist(),
        centre_lon.tolist(),
        counts.tolist(),
        total(sums["killed"]).tolist(),
        total(sums["no_figure"]).tolist(),
        total(sums["day"], np.minimum).tolist(),
        total(sums["day"], np.maximum).tolist(),
        total(extents["south"], np.minimum).astype(np.float64).tolist(),
        total(extents["west"], np.minimum).astype(np.float64).tolist(),
        total(extents["north"], np.maximum).astype(np.float64).tolist(),
        total(extents["east"], np.maximum).astype(np.float64).tolist(),
        per_force.tolist(),
        strict=True,
    )
    clusters = [
        {
            "lat": round(c_lat, 5),
            "lon": round(c_lon, 5),
            "count": count,
            "fatalities": killed,
            "no_figure": unknown,
            "first": first,
            "last": last,
            "bounds": [[round(s, 5), round(w, 5)], [round(nn, 5), round(e, 5)]],
            "forces": forces,
        }
        for c_lat, c_lon, count, killed, unknown, first, last, s, w, nn, e, forces in fields
    ]
    # An incident alone in its cell is sent as itself: the browser draws and opens it as a point.
    alone = counts == 1
    clusters = [cluster for cluster, single in zip(clusters, alone.tolist(), strict=True) if not single]
    return Tile(clusters, alone_at(alone) if alone.any() else None)
