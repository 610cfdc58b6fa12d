"""Reading, checking and writing gazetteer CSV files, and the in-memory :class:`Gazetteer`.

A gazetteer CSV has one row per place with the columns in :data:`COLUMNS` (UTF-8, header row,
``alternate_names`` joined with ``|``, coordinates in degrees WGS 84). ``place_id`` is the
record's identity: ``gn:<GeoNames id>`` when the place has one, otherwise ``wof:<Who's On First
id>`` or ``cod:<COD-AB P-code>``.

Which file is loaded (see :func:`default_path`): ``WEBMAP_GAZETTEER`` when set; otherwise the
user's copy ``<data dir>/gazetteer.csv`` when an import has made one; otherwise the shipped
``gazetteer.csv``. Loading the shipped 57,000 places from CSV takes about 15 seconds, so the built
:class:`Gazetteer` is pickled into the user's cache folder, keyed by the CSV's path, size and
modification time and by this code's :data:`CACHE_VERSION`; a changed file is simply re-read.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import pickle
import re
import tempfile
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import SHIPPED_GAZETTEER, Config, data_dir
from ..errors import BadRows, GazetteerError, InvalidRecord
from .keys import name_key, skeleton, split_descriptor

COLUMNS = (
    "place_id",
    "geonameid",
    "wof_id",
    "name",
    "asciiname",
    "alternate_names",
    "latitude",
    "longitude",
    "feature_class",
    "feature_code",
    "population",
    "admin1",
    "admin1_pcode",
    "admin2",
    "admin2_pcode",
    "admin3",
    "admin3_pcode",
    "country_code",
    "source",
    "source_ref",
    "precision",
)
REQUIRED = ("name", "latitude", "longitude", "country_code")
ID_COLUMNS = ("place_id", "geonameid", "wof_id")
NAME_SEPARATOR = "|"
CACHE_VERSION = 10
# A progress report: the share done, 0..1. Building the index of names is told every PROGRESS_ROWS rows.
Progress = Callable[[float], None]
PROGRESS_ROWS = 2_000

# How important a kind of place is before any context: capitals above towns, towns above villages,
# abandoned (PPLQ) and destroyed (PPLW) places last. Governorates and districts weigh less than a
# big town of the same name: a bare "Kirkuk" means the city, "Kirkuk province" the governorate.
FEATURE_WEIGHT = {
    "PPLC": 1.0,
    "ADM1": 0.75,
    "PPLA": 0.85,
    "PPLA2": 0.7,
    "ADM2": 0.5,
    "PPLA3": 0.5,
    "PPLA4": 0.45,
    "ADM3": 0.45,
    "PPL": 0.3,
    "PPLX": 0.3,
    "AIRP": 0.3,
    "AIRB": 0.3,
    "PPLL": 0.2,
    "PPLF": 0.15,
    "PPLQ": 0.1,
    "PPLW": 0.1,
    "PPLH": 0.05,
    # A bare "Kurdistan" in a report means the region, not the village of that name near Rania.
    "RGN": 0.75,
}
AREA_DEPTH = {"ADM1": 1, "ADM2": 2, "ADM3": 3}
# Feature codes whose place is wider than a point, with ACLED's geo_precision for them (others are 1).
AREA_PRECISION = {
    "ADM1": 3,
    "ADM2": 3,
    "RGN": 3,
    "ADM3": 2,
    "PPLX": 2,
    "MTS": 2,
    "MT": 2,
    "VAL": 2,
    "WAD": 2,
    "DSRT": 2,
    "PLN": 2,
    "LK": 2,
    "RSV": 2,
    "AREA": 2,
}
EXACT, ALIAS, NORMALISED = 0, 1, 2
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TIER_NAMES = ("exact", "alias", "normalised")


@dataclass(slots=True)
class Place:
    """One gazetteer record; coordinates in degrees WGS 84, ``admin1`` the governorate (COD-AB
    English name for Iraq, GeoNames first-order division elsewhere), ``admin2`` the district."""

    place_id: str
    geonameid: int | None
    wof_id: int | None
    name: str
    asciiname: str
    latitude: float
    longitude: float
    feature_class: str
    feature_code: str
    population: int
    admin1: str
    admin1_pcode: str
    admin2: str
    admin2_pcode: str
    admin3: str
    admin3_pcode: str
    country_code: str
    source: str
    point_precision: int | None = None
    prior: float = 0.0

    @property
    def is_area(self) -> bool:
        """True for governorates, districts and sub-districts (their point is a representative point)."""
        return self.feature_class == "A"

    @property
    def precision(self) -> int:
        """ACLED's geo_precision of this place as an event's location: 1 a town, village or point
        landmark; 2 a sub-district, neighbourhood or area landmark (a range, a valley, a lake);
        3 a district, governorate or wider region. A record whose point is only its area's (a
        landmark no text gives a point for) says so in its ``precision`` column."""
        return self.point_precision or AREA_PRECISION.get(self.feature_code, 1)

    @property
    def depth(self) -> int:
        """1 for a governorate, 2 a district, 3 a sub-district, 0 for any other record."""
        return AREA_DEPTH.get(self.feature_code, 0)

    @property
    def own_pcode(self) -> str:
        """The COD-AB P-code of the area this record is (governorate, district, sub-district), else ``""``."""
        return _OWN_PCODE[self.feature_code](self) if self.feature_code in _OWN_PCODE else ""

    def lies_in(self, pcode: str) -> bool:
        """True when the place is the area with this COD-AB P-code or lies inside it."""
        return bool(pcode) and pcode in (self.admin1_pcode, self.admin2_pcode, self.admin3_pcode)


_OWN_PCODE = {
    "ADM1": lambda place: place.admin1_pcode,
    "ADM2": lambda place: place.admin2_pcode,
    "ADM3": lambda place: place.admin3_pcode,
}


def place_prior(feature_code: str, population: int) -> float:
    """Importance of a place before context, in 0..1, from its feature code and population."""
    size = min(1.0, math.log10(population + 1) / 7) if population > 0 else 0.0
    return 0.6 * FEATURE_WEIGHT.get(feature_code, 0.25) + 0.4 * size


def _int_or_none(value: str, field: str, row: int) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(float(value)) if "." in value else int(value)
    except ValueError:
        raise InvalidRecord(field, f"not a whole number: {value!r}", row) from None


def _coordinate(value: str, field: str, limit: float, row: int) -> float:
    try:
        number = float((value or "").strip())
    except ValueError:
        raise InvalidRecord(field, f"not a number: {value!r}", row) from None
    if not -limit <= number <= limit or math.isnan(number):
        raise InvalidRecord(field, f"{number} is outside -{limit:g}..{limit:g} degrees", row)
    return number


def check_place(mapping: dict, row: int) -> dict:
    """Check one gazetteer row (a mapping of :data:`COLUMNS`) and return it normalised.

    Raises :class:`InvalidRecord` naming ``row`` and the field: a missing required value, a
    coordinate that is not a number in range, a non-integer id or population, a control character.
    """
    # Text as read; coordinates become floats and the counts ints below.
    out: dict[str, Any] = {col: ("" if mapping.get(col) is None else str(mapping.get(col))).strip() for col in COLUMNS}
    if not out["place_id"]:
        if out["geonameid"]:
            out["place_id"] = f"gn:{out['geonameid']}"
        elif out["wof_id"]:
            out["place_id"] = f"wof:{out['wof_id']}"
        else:
            raise InvalidRecord("place_id", "missing (give place_id, geonameid or wof_id)", row)
    for col in REQUIRED:
        if not out[col]:
            raise InvalidRecord(col, "missing", row)
    for col, value in out.items():
        if _CONTROL.search(value):
            raise InvalidRecord(col, "contains a control character", row)
    if not out["place_id"].partition(":")[2]:
        raise InvalidRecord("place_id", f"expected <source>:<id>, got {out['place_id']!r}", row)
    out["latitude"] = _coordinate(out["latitude"], "latitude", 90, row)
    out["longitude"] = _coordinate(out["longitude"], "longitude", 180, row)
    for col in ("geonameid", "wof_id", "population", "precision"):
        number = _int_or_none(out[col], col, row)
        if number is not None and number < 0:
            raise InvalidRecord(col, f"negative: {number}", row)
        out[col] = number
    if out["precision"] is not None and out["precision"] not in (1, 2, 3):
        raise InvalidRecord("precision", f"expected 1, 2 or 3 (ACLED's geo_precision), got {out['precision']}", row)
    if len(out["country_code"]) != 2 or not out["country_code"].isalpha():
        raise InvalidRecord("country_code", f"expected a two-letter ISO code, got {out['country_code']!r}", row)
    out["country_code"] = out["country_code"].upper()
    out["asciiname"] = out["asciiname"] or out["name"]
    out["feature_class"] = out["feature_class"] or "P"
    out["feature_code"] = out["feature_code"] or "PPL"
    return out


def read_places_csv(path: str | os.PathLike) -> list[dict]:
    """Rows of a gazetteer CSV, each checked by :func:`check_place` (row 1 is the header).

    Raises :class:`GazetteerError` when the file cannot be read or lacks a required column, and
    :class:`~webmap.errors.ImportFailed` listing the bad rows (see :class:`~webmap.errors.BadRows`).
    """
    path = Path(path)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise GazetteerError(f"{path}: cannot read the gazetteer: {exc.strerror}") from None
    rows, bad = [], BadRows()
    with handle:
        reader = csv.DictReader(handle)
        try:
            fields = reader.fieldnames or ()  # reads (decodes) the header line
            missing = [c for c in REQUIRED if c not in fields]
            if not any(c in fields for c in ID_COLUMNS):
                missing.append("place_id (or geonameid / wof_id)")
            if missing:
                raise GazetteerError(f"{path}: not a gazetteer CSV: missing column(s) {', '.join(missing)}")
            for number, mapping in enumerate(reader, start=2):
                if None in mapping:
                    error = InvalidRecord(
                        "row",
                        f"{len(fields) + len(mapping[None])} fields, the header has {len(fields)}",
                        number,
                    )
                else:
                    try:
                        rows.append(check_place(mapping, number))
                        continue
                    except InvalidRecord as exc:
                        error = exc
                bad.add(error)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise GazetteerError(f"{path}: unreadable CSV near row {max(reader.line_num, 1)}: {exc}") from None
    if bad.count:
        raise bad.failure(f"{path}: {bad.count} bad row(s)")
    return rows


def write_places_csv(path: str | os.PathLike, rows: list[dict]) -> None:
    """Write gazetteer rows to ``path`` atomically (a temporary file renamed over it)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".gazetteer-", suffix=".csv", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                out = dict(row)
                if isinstance(out.get("alternate_names"), (list, tuple)):
                    out["alternate_names"] = NAME_SEPARATOR.join(out["alternate_names"])
                writer.writerow({c: "" if out.get(c) is None else out.get(c) for c in COLUMNS})
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


_PLACE_FIELDS = (
    "place_id",
    "geonameid",
    "wof_id",
    "name",
    "asciiname",
    "latitude",
    "longitude",
    "feature_class",
    "feature_code",
    "population",
    "admin1",
    "admin1_pcode",
    "admin2",
    "admin2_pcode",
    "admin3",
    "admin3_pcode",
    "country_code",
    "source",
    "precision",
    "prior",
)


class Gazetteer:
    """Places and their name indexes.

    ``place(row)`` gives one :class:`Place`; ``lookup(key)`` the exact, alias and
    descriptor-stripped hits for a key made by :func:`webmap.gazetteer.keys.name_key`;
    ``lookup_skeleton`` the transliteration-skeleton hits; ``fuzzy_keys`` the keys within the fuzzy
    threshold. Places are held column by column (plain lists, no object per place) so that the
    whole gazetteer pickles and unpickles quickly. Build with :meth:`from_csv` or :meth:`from_rows`.
    """

    def __init__(
        self,
        columns: dict[str, list],
        keys: dict[str, int | tuple[int, ...]],
        skeletons: dict[str, str | tuple[str, ...]],
        path: Path | None = None,
    ):
        self._columns = columns
        self._ordered = [columns[f] for f in _PLACE_FIELDS]
        self._keys = keys
        self._skeletons = skeletons
        self.path = path
        self._by_id: dict[str, int] | None = None
        self._areas: dict[str, int] | None = None
        self._memo: dict = {}
        self._blocks: dict[tuple[str, int], list[str]] | None = None
        self._starts: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._columns["place_id"])

    def __getstate__(self) -> dict:
        return {"columns": self._columns, "keys": self._keys, "skeletons": self._skeletons, "path": self.path}

    def __setstate__(self, state: dict) -> None:
        Gazetteer.__init__(self, state["columns"], state["keys"], state["skeletons"], state["path"])

    def place(self, row: int) -> Place:
        """The place at ``row``."""
        return Place(*[column[row] for column in self._ordered])

    def row_of(self, place_id: str) -> int | None:
        """The row of the place with this ``place_id``, or None."""
        if self._by_id is None:
            self._by_id = {pid: i for i, pid in enumerate(self._columns["place_id"])}
        return self._by_id.get(place_id)

    def place_by_id(self, place_id: str) -> Place:
        """The place with this ``place_id`` (a candidate's); ``KeyError`` when it has none: a
        candidate made from this gazetteer always has one."""
        row = self.row_of(place_id)
        if row is None:
            raise KeyError(place_id)
        return self.place(row)

    def remember(self, key: tuple, compute):
        """``compute()``, kept for ``key`` while this gazetteer is loaded: contexts and records name
        the same areas again and again. At most :data:`MEMO_SIZE` answers are kept (then all are
        forgotten at once); callers must not modify what they get back."""
        value = self._memo.get(key, _MISSING)
        if value is _MISSING:
            if len(self._memo) >= MEMO_SIZE:
                self._memo.clear()
            value = self._memo[key] = compute()
        return value

    def area(self, pcode: str) -> Place | None:
        """The governorate, district or sub-district record with this COD-AB P-code, or None."""
        if self._areas is None:
            codes = self._columns["feature_code"]
            self._areas = {}
            for index in range(len(self)):
                if codes[index] in _OWN_PCODE:
                    self._areas.setdefault(self.place(index).own_pcode, index)
        row = self._areas.get(pcode)
        return None if row is None else self.place(row)

    @classmethod
    def from_rows(cls, rows: list[dict], path: Path | None = None, progress: Progress | None = None) -> Gazetteer:
        """A gazetteer of rows already checked by :func:`check_place`, with the curated aliases;
        ``progress`` is told the share of the rows indexed (0..1) as it goes."""
        from .curated import apply_curated

        rows = apply_curated(rows)
        columns: dict[str, list] = {f: [] for f in _PLACE_FIELDS}
        keys: dict[str, dict[int, int]] = defaultdict(dict)
        skeletons: dict[str, set[str]] = defaultdict(set)
        for row_number, row in enumerate(rows):
            if progress is not None and row_number % PROGRESS_ROWS == 0:
                progress(row_number / len(rows))
            population = row["population"] or 0
            for f in _PLACE_FIELDS[:-1]:
                columns[f].append(population if f == "population" else row[f])
            columns["prior"].append(place_prior(row["feature_code"], population))
            alternates = str(row.get("alternate_names") or "").split(NAME_SEPARATOR)
            own = {name_key(row["name"]), name_key(row["asciiname"])}
            names = [(k, EXACT) for k in own] + [(name_key(n), ALIAS) for n in alternates if n.strip()]
            for key, tier in names:
                core, kind = split_descriptor(key)
                for k, t in ((key, tier), (core, NORMALISED)) if kind is not None else ((key, tier),):
                    if len(k) >= 2 and keys[k].get(row_number, 9) > t:
                        keys[k][row_number] = t
                skel = skeleton(core)
                if skel:
                    skeletons[skel].add(core)
        packed = {k: _pack([r * 4 + t for r, t in v.items()]) for k, v in keys.items()}
        return cls(columns, packed, {k: _pack(sorted(v)) for k, v in skeletons.items()}, path)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, cache: bool = True, progress: Progress | None = None) -> Gazetteer:
        """Load a gazetteer CSV (see the module docstring for the cache); ``progress`` as in
        :meth:`from_rows`, told nothing when the cache has it."""
        path = Path(path).resolve()
        cache_file = _cache_file(path) if cache else None
        if cache_file is not None and cache_file.exists():
            try:
                with cache_file.open("rb") as handle:
                    gazetteer = pickle.load(handle)
                if isinstance(gazetteer, cls):
                    return gazetteer
            except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, KeyError):
                pass  # a stale or broken cache is rebuilt below
        gazetteer = cls.from_rows(read_places_csv(path), path, progress)
        if cache_file is not None:
            _write_cache(cache_file, gazetteer)
        return gazetteer

    def lookup(self, key: str) -> list[tuple[int, int]]:
        """``(row, tier)`` pairs whose name key is ``key``; tier is EXACT, ALIAS or NORMALISED."""
        return [(code >> 2, code & 3) for code in _unpack(self._keys.get(key))]

    def has_key(self, key: str) -> bool:
        """True when some place has a name (exact or alias) with this key."""
        return any(code & 3 != NORMALISED for code in _unpack(self._keys.get(key)))

    def key_starts(self) -> dict[str, int]:
        """First word of every name key -> the most words a key beginning with it has."""
        if self._starts is None:
            starts: dict[str, int] = {}
            for key in self._keys:
                words = key.split()
                if words and starts.get(words[0], 0) < len(words):
                    starts[words[0]] = len(words)
            self._starts = starts
        return self._starts

    def lookup_skeleton(self, skel: str) -> tuple[str, ...]:
        """Name keys whose transliteration skeleton is ``skel``."""
        return _unpack(self._skeletons.get(skel))

    def fuzzy_keys(self, key: str, limit: int = 5) -> list[tuple[str, float]]:
        """Name keys within :data:`FUZZY_THRESHOLD` of ``key`` (rapidfuzz ``ratio``, 0..100).

        Only keys of :data:`FUZZY_MIN_LENGTH` or more characters that share the first letter and
        lie within the length band the threshold allows are compared: a typo in the first letter
        is not recovered.
        """
        from rapidfuzz import fuzz, process

        if len(key) < FUZZY_MIN_LENGTH:
            return []
        if self._blocks is None:
            blocks: dict[tuple[str, int], list[str]] = defaultdict(list)
            for k in self._keys:
                if len(k) >= FUZZY_MIN_LENGTH:
                    blocks[(k[0], len(k))].append(k)
            self._blocks = dict(blocks)
        t = FUZZY_THRESHOLD / 100
        band = int(2 * len(key) * (1 - t) / t)
        found: list[tuple[str, float]] = []
        for length in range(len(key) - band, len(key) + band + 1):
            block = self._blocks.get((key[0], length))
            if block:
                found += [
                    (m, s)
                    for m, s, _ in process.extract(
                        key, block, scorer=fuzz.ratio, score_cutoff=FUZZY_THRESHOLD, limit=limit
                    )
                ]
        found.sort(key=lambda item: -item[1])
        return found[:limit]


def _pack(values: list):
    # Most keys name one place: a bare value instead of a one-element tuple halves the objects.
    return values[0] if len(values) == 1 else tuple(values)


def _unpack(value) -> tuple:
    if value is None:
        return ()
    return value if isinstance(value, tuple) else (value,)


# rapidfuzz ``fuzz.ratio`` (0..100) a folded query must reach against a folded name to count as a
# fuzzy hit: 88 lets one typo through in a 9-letter name ("Kirkkuk", "Mosull") and keeps
# different villages that share most letters apart ("Bashiqa" / "Bashiq" is 92, "Tazah" / "Tawah" 80).
FUZZY_THRESHOLD = 88
FUZZY_MIN_LENGTH = 4
MEMO_SIZE = 4096
_MISSING = object()


def _cache_file(path: Path) -> Path | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    from .curated import ALIASES_FILE

    curated = ALIASES_FILE.stat()
    tag = f"{CACHE_VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{curated.st_size}|{curated.st_mtime_ns}"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "webmap" / f"gazetteer-{hashlib.sha1(tag.encode()).hexdigest()[:16]}.pickle"


def _write_cache(cache_file: Path, gazetteer: Gazetteer) -> None:
    try:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_file.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            pickle.dump(gazetteer, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, cache_file)
    except OSError:
        pass  # no writable cache folder: every start reads the CSV, which is slower but correct


USER_GAZETTEER = "gazetteer.csv"


def user_copy_path() -> Path:
    """Where ``webmap gazetteer import`` keeps the user's gazetteer when WEBMAP_GAZETTEER is unset."""
    return data_dir() / USER_GAZETTEER


def default_path(config: Config | None = None) -> Path:
    """The gazetteer CSV to use: WEBMAP_GAZETTEER, else the user's copy if any, else the shipped one."""
    config = config or Config.from_env()
    if Path(config.gazetteer_path) != SHIPPED_GAZETTEER:
        return Path(config.gazetteer_path)
    user = user_copy_path()
    return user if user.exists() else SHIPPED_GAZETTEER


_LOADED: dict[Path, tuple[int, Gazetteer]] = {}
_LOCK = threading.Lock()


def get_gazetteer(path: str | os.PathLike | None = None, progress: Progress | None = None) -> Gazetteer:
    """The gazetteer at ``path`` (default :func:`default_path`), loaded once per process and
    reloaded when the file changes (e.g. after an import); ``progress``: see :meth:`Gazetteer.from_rows`."""
    path = Path(path) if path is not None else default_path()
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise GazetteerError(
            f"{path}: no gazetteer file there (set WEBMAP_GAZETTEER or run scripts/build_gazetteer.py)"
        ) from None
    with _LOCK:
        loaded = _LOADED.get(path)
        if loaded is None or loaded[0] != mtime:
            _LOADED[path] = (mtime, Gazetteer.from_csv(path, progress=progress))
        return _LOADED[path][1]
