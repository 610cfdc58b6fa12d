"""Every incident's packed numbers in memory, for the map and its summaries at any size.

:class:`MapIndex` holds, for one data version of the store, the packed record of every incident
(:data:`webmap.store.MAP_POINT`: point, day, fatalities, forces, status, event type, disputed,
governorate and district) as numpy columns, sorted along a Morton curve of the Web Mercator plane.
A filter (:class:`webmap.query.IncidentFilter`) becomes one vectorised selection
(:meth:`MapIndex.select`), and everything the map page asks per view is an operation on it: the
points of a small view, the clusters of one map tile (one slice of the Morton order, grouped by
cell), the count of the view and per force, the incidents per period and per district, and the page
of the table. So the cost of a request follows what the screen shows, not what the database holds:
reading the records once per data version is the only pass over the table.

Built by :meth:`MapIndex.build` from :meth:`webmap.store.IncidentStore` (about 0.8 s for a million
incidents on SQLite); every process builds its own from the same rows, so every process answers the
same bytes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from .forces import FORCE_BITS, FORCE_KEYS
from .query import IncidentFilter, data_version, ids_naming_actor, packed_records
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


def mercator(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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


class MapIndex:
    """The packed records of every stored incident at one data version (see the module docstring).

    Columns (numpy arrays of equal length, in Morton order): ``id``, ``longitude``, ``latitude``,
    ``x``, ``y`` (Web Mercator, 0..1), ``day``, ``fatalities``, ``force``, ``geo_precision``,
    ``forces``, ``status``, ``event_type``, ``disputed``, ``admin1``, ``admin2`` (numbers of
    ``admin_codes``), ``morton``. ``fatalities`` holds :data:`webmap.store.UNKNOWN_COUNT` where
    the source gives no figure; ``killed`` is the same with 0 there (to add up) and ``no_figure``
    marks those incidents: every sum of the killed adds the known figures only, and says how many
    incidents had none. ``pcode_of``/``code_of`` translate the admin numbers.
    """

    def __init__(self, version: int, columns: dict[str, np.ndarray], pcode_of: dict[int, str]):
        self.version = version
        self.pcode_of = pcode_of
        self.code_of = {pcode: code for code, pcode in pcode_of.items()}
        x, y = mercator(columns["longitude"], columns["latitude"])
        scale = float(1 << LEVELS)
        cells = morton(
            np.clip(x * scale, 0, scale - 1).astype(np.uint32), np.clip(y * scale, 0, scale - 1).astype(np.uint32)
        )
        order = np.argsort(cells, kind="stable")
        self.morton = cells[order]
        self.x, self.y = x[order], y[order]
        self.columns = {name: np.ascontiguousarray(values[order]) for name, values in columns.items()}
        self.n = len(order)
        c = self.columns
        self.id, self.longitude, self.latitude, self.day = c["id"], c["longitude"], c["latitude"], c["day"]
        self.fatalities, self.force, self.geo_precision = c["fatalities"], c["force"], c["geo_precision"]
        self.forces, self.status, self.event_type = c["forces"], c["status"], c["event_type"]
        self.disputed, self.admin1, self.admin2 = c["disputed"], c["admin1"], c["admin2"]
        self.no_figure = self.fatalities == UNKNOWN_COUNT
        self.killed = np.where(self.no_figure, np.uint32(0), self.fatalities)
        # The store the index was read from: actor names are not in the index, SQL finds them.
        self.store: IncidentStore | None = None
        self._actor_ids: dict[str, np.ndarray] = {}

    # -- building -------------------------------------------------------------------------------
    @classmethod
    def build(cls, store: IncidentStore) -> MapIndex:
        """Read every incident's packed record (one pass over the table) at the current data version."""
        version = data_version(store)  # before the read: a write meanwhile makes the index look stale
        ids, table = packed_records(store)
        columns = {name: table[name] for name in MAP_POINT_DTYPE.names or () if not name.startswith("_")}
        columns["id"] = ids
        index = cls(version, columns, store.admin_codes())
        index.store = store
        return index

    # -- selecting ------------------------------------------------------------------------------
    def select(self, flt: IncidentFilter) -> np.ndarray:
        """The incidents the filter selects, as a boolean array over the index (the same rows as
        :meth:`IncidentFilter.conditions` selects in SQL)."""
        keep = np.ones(self.n, dtype=bool)
        if not flt.include_drafts:
            keep &= self.status == _REVIEWED
        else:
            keep &= self.status != _DELETED
        if flt.governorates:
            keep &= np.isin(self.admin1, self._codes(flt.governorates))
        if flt.districts:
            keep &= np.isin(self.admin2, self._codes(flt.districts))
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
            keep &= self.area_codes() == self.code_of.get(flt.area, -1)
        if flt.ids:
            keep &= np.isin(self.id, flt.ids)
        if flt.actor:
            keep &= np.isin(self.id, self.naming_actor(flt.actor))
        if flt.bbox:
            west, south, east, north = flt.bbox
            lon, lat = self.longitude.astype(np.float64), self.latitude.astype(np.float64)
            keep &= (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
        return keep

    def _codes(self, pcodes) -> list[int]:
        return [self.code_of[p] for p in pcodes if p in self.code_of]

    # -- what a view shows ----------------------------------------------------------------------------
    def coarse(self, part: slice = slice(None)) -> np.ndarray:
        """The incidents (of the positions ``part``, default all) known only to a district or
        governorate (drawn as that area)."""
        return (self.geo_precision[part] == 3) & (self.admin1[part] != 0)

    def area_codes(self) -> np.ndarray:
        """Per incident, the admin number of the area a coarse incident is drawn as (0: a point)."""
        area = np.where(self.admin2 != 0, self.admin2, self.admin1)
        return np.where(self.coarse(), area, 0).astype(np.uint16)

    def force_counts(self, selected: np.ndarray) -> dict[str, int]:
        """Per force key, how many selected incidents involve it."""
        forces = self.forces[selected]
        return {key: int(np.count_nonzero(forces & np.uint16(FORCE_BITS[key]))) for key in FORCE_KEYS}

    def bounds(self, selected: np.ndarray) -> list[list[float]] | None:
        """[[south, west], [north, east]] of the selected incidents' points, or None for none."""
        if not selected.any():
            return None
        lon, lat = self.longitude[selected], self.latitude[selected]
        return [[float(lat.min()), float(lon.min())], [float(lat.max()), float(lon.max())]]

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

    def date_range(self, selected: np.ndarray) -> tuple[dt.date, dt.date] | None:
        days = self.day[selected]
        if not len(days):
            return None
        return _EPOCH + dt.timedelta(days=int(days.min())), _EPOCH + dt.timedelta(days=int(days.max()))

    def per_period(self, selected: np.ndarray, period: str) -> dict:
        """Incidents and fatalities per period start (ISO date), in all and per force involved:
        ``{"total": {start: (n, killed)}, "forces": {key: {start: (n, killed)}}}``; ``killed`` adds
        the known figures only."""
        days = self.day[selected].astype(np.int64)
        # Periods numbered, not sorted (np.unique's sort was most of the time at 1M incidents).
        if period == "week":  # weeks from the Monday 1969-12-29 (1970-01-01 was a Thursday)
            numbers = (days + 3) // 7
        else:
            numbers = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
        first = int(numbers.min()) if len(numbers) else 0
        inverse = numbers - first
        size = int(inverse.max()) + 1 if len(numbers) else 0
        fatalities = self.killed[selected].astype(np.int64)
        forces = self.forces[selected]

        def label(i: int) -> str:
            number = first + i
            if period == "week":
                return str(np.datetime64(number * 7 - 3, "D"))
            return str(np.datetime64(number, "M").astype("datetime64[D]"))

        def tally(rows: np.ndarray) -> dict[str, tuple[int, int]]:
            n = np.bincount(inverse[rows], minlength=size)
            killed = np.bincount(inverse[rows], weights=fatalities[rows], minlength=size)
            return {label(i): (int(n[i]), int(killed[i])) for i in np.flatnonzero(n).tolist()}

        everything = np.ones(len(days), dtype=bool)
        per_force = {}
        for key in FORCE_KEYS:
            member = (forces & np.uint16(FORCE_BITS[key])) != 0
            if member.any():
                per_force[key] = tally(member)
        return {"total": tally(everything), "forces": per_force}

    def per_district(self, selected: np.ndarray) -> dict[str, dict]:
        """District P-code -> ``{"incidents", "fatalities", "no_figure"}`` of the selected incidents
        placed in one: ``fatalities`` adds the known figures, ``no_figure`` counts the incidents without one."""
        districts = self.admin2[selected]
        placed = districts != 0
        n = np.bincount(districts[placed], minlength=1)
        killed = np.bincount(districts[placed], weights=self.killed[selected][placed].astype(np.int64), minlength=1)
        unknown = np.bincount(districts[placed], weights=self.no_figure[selected][placed], minlength=1)
        return {
            self.pcode_of[int(code)]: {
                "incidents": int(n[code]),
                "fatalities": int(killed[code]),
                "no_figure": int(unknown[code]),
            }
            for code in np.flatnonzero(n)
        }

    def page(self, selected: np.ndarray, sort: str, descending: bool, limit: int, offset: int) -> list[int]:
        """Ids of the selected incidents ordered by ``sort`` (``event_date``, ``fatalities`` or ``id``)
        then by id, the page ``offset``..``offset + limit``. An incident without a figure of the
        killed sorts below every figure, as the database orders it (:func:`webmap.query.select_incidents`)."""
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
        wanted = min(offset + limit, len(key))
        if wanted < len(key) // 4:  # a first page of many: no need to sort them all
            top = np.argpartition(key, wanted - 1)[:wanted] if wanted else np.array([], dtype=np.intp)
            order = top[np.argsort(key[top], kind="stable")]
        else:
            order = np.argsort(key, kind="stable")
        return ids[order[offset : offset + limit]].tolist()

    def tile(self, selected: np.ndarray, z: int, x: int, y: int) -> Tile:
        """The clusters (or the points, when few) of the selected incidents drawn at their point in
        map tile ``z``/``x``/``y``; an incident alone in its cluster's cell is among the points."""
        shift = np.uint64(2 * (LEVELS - z))
        start = morton(np.array([x], dtype=np.uint32), np.array([y], dtype=np.uint32))[0] << shift
        end = start + (np.uint64(1) << shift)
        lo, hi = np.searchsorted(self.morton, [start, end])
        inside = np.flatnonzero(selected[lo:hi] & ~self.coarse(slice(lo, hi))) + lo
        if z >= POINTS_ZOOM or len(inside) <= TILE_POINTS:
            return Tile([], inside)
        cell_shift = np.uint64(2 * (LEVELS - z - CELL_LEVELS))
        cells = self.morton[inside] >> cell_shift
        starts = np.flatnonzero(np.r_[True, cells[1:] != cells[:-1]])
        counts = np.diff(np.r_[starts, len(inside)])

        def total(values: np.ndarray, how=np.add) -> np.ndarray:
            return how.reduceat(values, starts)

        lon, lat = self.longitude[inside].astype(np.float64), self.latitude[inside].astype(np.float64)
        x_mean, y_mean = total(self.x[inside]) / counts, total(self.y[inside]) / counts
        centre_lon, centre_lat = degrees_of(x_mean, y_mean)
        group = np.repeat(np.arange(len(starts)), counts)
        per_force = np.bincount(group * len(FORCE_KEYS) + self.force[inside], minlength=len(starts) * len(FORCE_KEYS))
        per_force = per_force.reshape(len(starts), len(FORCE_KEYS))
        days = self.day[inside]
        fields = zip(
            centre_lat.tolist(),
            centre_lon.tolist(),
            counts.tolist(),
            total(self.killed[inside].astype(np.int64)).tolist(),
            total(self.no_figure[inside].astype(np.int64)).tolist(),
            total(days, np.minimum).tolist(),
            total(days, np.maximum).tolist(),
            total(lat, np.minimum).tolist(),
            total(lon, np.minimum).tolist(),
            total(lat, np.maximum).tolist(),
            total(lon, np.maximum).tolist(),
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
        return Tile(clusters, inside[starts[alone]] if alone.any() else None)

    def point_columns(self, selected: np.ndarray) -> dict[str, np.ndarray]:
        """The selected incidents as the map's point columns (:func:`webmap.mapview.encode_points`),
        in id order, with ``area``: the admin number of the area a coarse incident is drawn as."""
        positions = np.flatnonzero(selected)
        positions = positions[np.argsort(self.id[positions], kind="stable")]
        out = {name: values[positions] for name, values in self.columns.items()}
        out["area"] = self.area_codes()[positions]
        return out
