"""The incident store: the one module that opens the database and writes to it.

SQLite by default (file path in :mod:`webmap.config`), PostgreSQL with PostGIS when ``WEBMAP_DB``
is a ``postgresql://`` URL; the same SQLAlchemy Core tables serve both. The schema is created on
first use. Spatial index: on PostGIS a ``geom`` point column (kept in step with latitude/longitude
by a trigger) with a GiST index; on SQLite a B-tree index on (longitude, latitude). For points
the B-tree beats an R*Tree on SQLite (1M incidents: built in 1 s, not 14 s, during an import; a
city's box answered in 2 ms either way, a district's in 18 ms, not 186 ms) and compares the
stored doubles, where an R*Tree keeps 32-bit floats and so moves the box's edges.

Writes happen in :meth:`IncidentStore.transaction`: on SQLite it takes the write lock at once
(``BEGIN IMMEDIATE``; the database is in WAL mode, so readers never wait for a writer) and a second
writer waits for it; on PostgreSQL an advisory lock serialises writers. A writer waits at most
``write_wait`` seconds, then gets :class:`~webmap.errors.StoreBusy` (nothing written); a store may
also cap how many of its threads wait at once (the web server does, so waiting writers never hold
all its threads).

Many incidents at once (an import, a batch of drafts) go through a staging table
(:meth:`IncidentStore.staging`, :meth:`IncidentStore.save_batch`): a ``TEMPORARY`` table private to
one connection, written without the database's write lock, then merged into ``incidents`` by a
few SQL statements in one short write transaction. So an import holds the write lock only for
that merge, never while it reads, checks and places its rows, and it stays all rows or none: the
staged rows are invisible to everyone else and vanish with the connection if the import fails
or is killed. On PostgreSQL an import's new rows skip the staging table: they are copied into
``incidents`` as they come, in one transaction left open until the merge commits it, which is
just as invisible and as all-or-nothing (see :class:`Staging`). (Chunks committed straight into
``incidents`` would need every reader to hide the rows of unfinished imports and a per-row flip
at the end; a shadow copy of the table swapped in would copy every stored incident per import and
lose the edits made meanwhile.)
Reads (filters, aggregates) live in :mod:`webmap.query`.

The store also keeps the web's login sessions and failed-login counts (:data:`login_sessions`,
:data:`login_failures`), so a logout or a lockout holds for every server process on the database.

Each row also carries ``map_point``: the numbers the map draws (:data:`MAP_POINT`), packed by the
store whenever it writes the row, so the map's query reads two values per incident instead of seven
(a third of the CPU for 100,000 incidents). They are rebuilt when their format changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import math
import operator
import struct
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError, SQLAlchemyError

from .errors import ConfigError, Conflict, DuplicateRecord, Forbidden, InvalidRecord, NotFound, StoreBusy, WebmapError
from .forces import FORCE_KEYS, OTHER, forces_mask, initiating_force, involved_forces
from .records import (
    CONTENT_FIELDS,
    DELETED,
    DISPUTED,
    EVENT_TYPES,
    FIELD_SPECS,
    FIELDS,
    STORED_STATUSES,
    FieldSpec,
    Incident,
    parse_date,
)
from .roles import Actor, authorize, may

metadata = sa.MetaData()

# SQL column types of the record's field kinds (webmap.records.FIELD_SPECS).
_SQL_TYPES = {
    "int": sa.Integer,
    "count": sa.Integer,
    "float": sa.Float,
    "code": sa.SmallInteger,
    "date": sa.Date,
    "datetime": sa.DateTime,
}
# Texts longer than this are stored as TEXT, not VARCHAR(n).
_LONGEST_VARCHAR = 2000


def _column(name: str, spec: FieldSpec) -> sa.Column:
    if name == "id":
        return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)
    kind: sa.types.TypeEngine | type[sa.types.TypeEngine]
    if spec.kind in ("text", "choice"):
        kind = sa.String(spec.length) if spec.length and spec.length <= _LONGEST_VARCHAR else sa.Text
    else:
        kind = _SQL_TYPES[spec.kind]
    return sa.Column(name, kind, nullable=spec.nullable, default=spec.default)


incidents = sa.Table(
    "incidents",
    metadata,
    *(_column(name, FIELD_SPECS[name]) for name in FIELDS),
    # Derived from the row's values whenever the store writes it (_derived): every force it involves
    # (webmap.forces.forces_mask; the force filter and the counts test its bits) and the map's record.
    sa.Column("force_mask", sa.Integer),
    sa.Column("map_point", sa.LargeBinary),
    sa.UniqueConstraint("source", "source_id", name="uq_incidents_source_id"),
    sa.Index("ix_incidents_event_date", "event_date"),
    sa.Index("ix_incidents_force1", "force1"),
    sa.Index("ix_incidents_force2", "force2"),
    sa.Index("ix_incidents_admin1_pcode", "admin1_pcode"),
    sa.Index("ix_incidents_admin2_pcode", "admin2_pcode"),
    sa.Index("ix_incidents_status_date", "status", "event_date"),
    # Covers the map index's read of every packed record (webmap.query.packed_records): a narrow
    # index read end to end instead of the table's wide rows.
    sa.Index("ix_incidents_map_points", "status", "id", "map_point"),
)
# Indexes earlier versions made that no reader uses any more.
_RETIRED = (
    "DROP INDEX IF EXISTS ix_incidents_points",
    "DROP INDEX IF EXISTS ix_incidents_updated_at",
    "DROP INDEX IF EXISTS ix_incidents_coarse",
)

# What the map and its summaries read of one incident, packed with the row whenever the store writes
# it: longitude, latitude (degrees), day (since 1970-01-01), fatalities (UNKNOWN_COUNT when the
# source gives no figure), force (index in FORCE_KEYS
# of the initiating side's force, its colour), geo_precision, forces (the bit mask of every force it
# involves), status, event type and disputed (their positions in STORED_STATUSES, EVENT_TYPE_NAMES and
# DISPUTED_CODES), and the governorate's and district's codes (admin_codes; 0: none). MAP_FORMAT
# names the layout and those orders, so a change to any makes the store rebuild every row's record.
MAP_POINT = struct.Struct("<ffiIBBHBBBxHH")
MAP_POINT_DTYPE = np.dtype(
    [
        ("longitude", "<f4"),
        ("latitude", "<f4"),
        ("day", "<i4"),
        ("fatalities", "<u4"),
        ("force", "u1"),
        ("geo_precision", "u1"),
        ("forces", "<u2"),
        ("status", "u1"),
        ("event_type", "u1"),
        ("disputed", "u1"),
        ("_pad", "V1"),
        ("admin1", "<u2"),
        ("admin2", "<u2"),
    ]
)
# The packed record's fatalities of an incident whose source gives no figure: never a number to add.
UNKNOWN_COUNT = 0xFFFFFFFF
EVENT_TYPE_NAMES: tuple[str, ...] = tuple(EVENT_TYPES)
# 0: not known; then DISPUTED's values.
DISPUTED_CODES: tuple[str | None, ...] = (None, *DISPUTED)
# Stored as a digest: the description is longer than the column.
MAP_FORMAT = hashlib.sha1(
    " ".join(
        (
            MAP_POINT.format,
            f"unknown-fatalities={UNKNOWN_COUNT}",
            ",".join(FORCE_KEYS),
            ",".join(STORED_STATUSES),
            ",".join(EVENT_TYPE_NAMES),
            ",".join(DISPUTED),
        )
    ).encode()
).hexdigest()
# The content columns the derived columns are made from.
DERIVED_FROM = (
    "longitude",
    "latitude",
    "event_date",
    "fatalities",
    "force1",
    "force2",
    "assoc_actor_1",
    "assoc_actor_2",
    "geo_precision",
    "status",
    "event_type",
    "disputed",
    "admin1_pcode",
    "admin2_pcode",
)
_FORCE_INDEX = {key: i for i, key in enumerate(FORCE_KEYS)}
_STATUS_INDEX = {key: i for i, key in enumerate(STORED_STATUSES)}
_EVENT_TYPE_INDEX = {key: i for i, key in enumerate(EVENT_TYPE_NAMES)}
_DISPUTED_INDEX = {key: i for i, key in enumerate(DISPUTED_CODES)}
_EPOCH = dt.date(1970, 1, 1).toordinal()


# The columns the store derives from a row's others (see derived_values).
DERIVED_COLUMNS = ("force_mask", "map_point")


def derived_values(values: Mapping[Any, Any], admin_code: Mapping[str, int]) -> dict[str, Any]:
    """``force_mask`` and ``map_point`` (:data:`MAP_POINT`) of a row, from its :data:`DERIVED_FROM`
    values and ``admin_code`` (P-code -> its number in ``admin_codes``; every P-code of the row in it)."""
    mask = forces_mask(
        involved_forces(values["force1"], values["force2"], values["assoc_actor_1"], values["assoc_actor_2"])
    )
    initiating = _FORCE_INDEX.get(initiating_force(values["force1"], values["force2"]), _FORCE_INDEX[OTHER])
    point = MAP_POINT.pack(
        values["longitude"],
        values["latitude"],
        values["event_date"].toordinal() - _EPOCH,
        UNKNOWN_COUNT if values["fatalities"] is None else values["fatalities"],
        initiating,
        values["geo_precision"],
        mask,
        _STATUS_INDEX[values["status"]],
        _EVENT_TYPE_INDEX[values["event_type"]],
        _DISPUTED_INDEX.get(values["disputed"], 0),
        admin_code.get(values["admin1_pcode"], 0),
        admin_code.get(values["admin2_pcode"], 0),
    )
    return {"force_mask": mask, "map_point": point}


def derived_columns(columns: Mapping[str, Sequence[Any]], admin_code: Mapping[str, int]) -> dict[str, list]:
    """:func:`derived_values` of many rows at once: ``force_mask`` and ``map_point`` columns from the
    rows' :data:`DERIVED_FROM` columns, the forces worked out once per distinct combination and the
    records packed as one array of :data:`MAP_POINT_DTYPE` (the same bytes as :data:`MAP_POINT`)."""
    forces = list(zip(*(columns[name] for name in ("force1", "force2", "assoc_actor_1", "assoc_actor_2")), strict=True))
    of_forces = {
        key: (
            forces_mask(involved_forces(*key)),
            _FORCE_INDEX.get(initiating_force(key[0], key[1]), _FORCE_INDEX[OTHER]),
        )
        for key in set(forces)
    }
    masks = [of_forces[key][0] for key in forces]
    days = {date: date.toordinal() - _EPOCH for date in set(columns["event_date"])}
    points = np.zeros(len(forces), MAP_POINT_DTYPE)
    points["longitude"] = columns["longitude"]
    points["latitude"] = columns["latitude"]
    points["day"] = [days[date] for date in columns["event_date"]]
    points["fatalities"] = [UNKNOWN_COUNT if count is None else count for count in columns["fatalities"]]
    points["force"] = [of_forces[key][1] for key in forces]
    points["geo_precision"] = columns["geo_precision"]
    points["forces"] = masks
    points["status"] = [_STATUS_INDEX[status] for status in columns["status"]]
    points["event_type"] = [_EVENT_TYPE_INDEX[kind] for kind in columns["event_type"]]
    points["disputed"] = [_DISPUTED_INDEX.get(value, 0) for value in columns["disputed"]]
    for level in ("admin1", "admin2"):
        points[level] = [admin_code.get(pcode, 0) for pcode in columns[f"{level}_pcode"]]
    packed, size = points.tobytes(), MAP_POINT.size
    return {"force_mask": masks, "map_point": [packed[at : at + size] for at in range(0, len(packed), size)]}


# A number for each P-code the incidents name, so the packed record holds a governorate and a
# district in two bytes each. Numbers are never reused: a P-code keeps its number for good.
admin_codes = sa.Table(
    "admin_codes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("pcode", sa.String(20), nullable=False, unique=True),
)
# The packed record's two bytes.
MAX_ADMIN_CODE = 0xFFFF


# One row (id 1): a number that every write transaction through the store raises by one, so
# readers learn whether anything changed with one primary-key lookup (webmap.query.data_version),
# not a count of the whole table.
incidents_version = sa.Table(
    "incidents_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("map_format", sa.String(200)),  # MAP_FORMAT of the stored map_point records
    sa.Column("triggers", sa.String(64)),  # a fingerprint of the spatial and append-only statements last run
)

# Which incidents each data version changed, written in the same commit as the version: a reader
# holding an index of version V reads only the incidents changed since (webmap.query.changed_records)
# instead of the whole table. ``incident_id`` NULL: that version may have changed any incident (an
# import, a rebuild of the records). Versions older than the last CHANGES_KEPT are pruned.
incident_changes = sa.Table(
    "incident_changes",
    metadata,
    sa.Column("version", sa.BigInteger, nullable=False, index=True),
    sa.Column("incident_id", sa.BigInteger),
)
CHANGES_KEPT = 1000
# A write changing more incidents than this is logged as changing any (one row, not one per incident).
CHANGES_LISTED = 10_000

# The key in a write connection's ``info`` of the P-code numbers its transaction gave or read.
_PENDING_CODES = "webmap_admin_codes"

# Columns compared to decide whether a re-imported row changed (the others the store keeps itself).
CONTENT_COLUMNS = CONTENT_FIELDS

# A row's content columns, in order, as a tuple.
_content_of = operator.attrgetter(*CONTENT_COLUMNS)

# The incidents of one write before they are merged into ``incidents`` (see the module docstring):
# TEMPORARY, so each connection has its own, nobody else sees it, and it goes with the connection.
staged = sa.Table(
    "webmap_staged",
    sa.MetaData(),
    sa.Column("seq", sa.Integer, primary_key=True),  # the order given, which the new ids follow
    *(_column(name, FIELD_SPECS[name]) for name in CONTENT_COLUMNS),
    sa.Column("force_mask", sa.Integer),
    sa.Column("map_point", sa.LargeBinary),
    prefixes=["TEMPORARY"],
)

# The web's live logins: the digest of each session's secret id (the browser's cookie holds the id),
# the account or the fingerprint of the token it logged in with, and when it ends. Logging out
# deletes the row.
login_sessions = sa.Table(
    "login_sessions",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("token_fingerprint", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.DateTime, nullable=False),
    # The account logged in (users.id); none for the bootstrap admin's login with WEBMAP_TOKEN.
    sa.Column("user_id", sa.Integer),
)
# Wrong tokens counted per key (an address, or the account) since the start of their window.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("since", sa.DateTime, nullable=False),
)
# A key that grows past 2^31 rows on PostgreSQL; SQLite's rowid is 64-bit already (and only an
# INTEGER PRIMARY KEY is the rowid).
_SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# The accounts (webmap.roles, webmap.accounts): a name, a role and the Argon2id hash of the password.
users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(200), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("last_login_at", sa.DateTime),
)
# Personal API tokens: the token's public id, the digest of the whole token (never the token), whose
# it is, and its life.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("token_id", sa.String(12), primary_key=True),
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("label", sa.String(100)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("created_by", sa.String(40), nullable=False),
    sa.Column("expires_at", sa.DateTime),
    sa.Column("last_used_at", sa.DateTime),
    sa.Column("revoked_at", sa.DateTime),
)
# Every write of an incident, in the transaction of the write: who, when, what (``action``, see
# HISTORY_ACTIONS), the incident's version after it, the fields it changed before and after (JSON
# objects; none for a creation: version 1 is the incident with its later entries' before values
# put back), the reason, and ``ref`` (the other incident of a merge, the version a revert went
# back to). Append-only: the store never changes or deletes an entry, and triggers refuse it to
# anyone else on SQLite and PostgreSQL (_APPEND_ONLY).
incident_history = sa.Table(
    "incident_history",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("incident_id", sa.Integer, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("actor", sa.String(40), nullable=False),
    sa.Column("action", sa.String(20), nullable=False),
    sa.Column("reason", sa.Text),
    sa.Column("ref", sa.Integer),
    sa.Column("fields_before", sa.Text),
    sa.Column("fields_after", sa.Text),
    sa.Index("ix_incident_history_incident", "incident_id", "version"),
)
HISTORY_ACTIONS = {
    "create": "added",
    "import": "imported",
    "edit": "edited",
    "approve": "marked reviewed",
    "unreview": "sent back to draft",
    "delete": "deleted",
    "reject": "rejected",
    "restore": "restored",
    "revert": "reverted",
    "merge": "took the sources of a duplicate",
    "merged": "merged into another incident",
    "rejoin": "re-joined to new boundaries",
}
# Logins, logouts, refusals and changes to accounts and tokens; append-only like the history.
auth_log = sa.Table(
    "auth_log",
    metadata,
    sa.Column("id", _SERIAL, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("event", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(40)),
    sa.Column("address", sa.String(100)),
    sa.Column("target", sa.String(200)),
    sa.Column("detail", sa.Text),
)
_APPEND_ONLY_TABLES = ("incident_history", "auth_log")
_SQLITE_APPEND_ONLY = tuple(
    f"""CREATE TRIGGER IF NOT EXISTS {table}_append_only_{event.lower()} BEFORE {event} ON {table}
        BEGIN SELECT RAISE(ABORT, '{table} is append-only: its entries are never changed or deleted'); END"""
    for table in _APPEND_ONLY_TABLES
    for event in ("UPDATE", "DELETE")
)
_POSTGRES_APPEND_ONLY = (
    """CREATE OR REPLACE FUNCTION webmap_append_only() RETURNS trigger AS $$
       BEGIN
         RAISE EXCEPTION USING MESSAGE = TG_TABLE_NAME || ' is append-only: its entries are never changed or deleted';
       END
       $$ LANGUAGE plpgsql""",
    *(
        statement
        for table in _APPEND_ONLY_TABLES
        for statement in (
            f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}",
            f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
                FOR EACH ROW EXECUTE FUNCTION webmap_append_only()""",
            f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}",
            f"""CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table}
                FOR EACH STATEMENT EXECUTE FUNCTION webmap_append_only()""",
        )
    ),
)

_SQLITE_SPATIAL = (
    "CREATE INDEX IF NOT EXISTS ix_incidents_lonlat ON incidents (longitude, latitude)",
    # The R*Tree of earlier versions (see the module docstring).
    "DROP TRIGGER IF EXISTS incidents_rtree_insert",
    "DROP TRIGGER IF EXISTS incidents_rtree_update",
    "DROP TRIGGER IF EXISTS incidents_rtree_delete",
    "DROP TABLE IF EXISTS incidents_rtree",
)
_POSTGIS_SPATIAL = (
    "CREATE EXTENSION IF NOT EXISTS postgis",
    "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS geom geometry(Point, 4326)",
    "CREATE INDEX IF NOT EXISTS ix_incidents_geom ON incidents USING GIST (geom)",
    """CREATE OR REPLACE FUNCTION incidents_set_geom() RETURNS trigger AS $$
       BEGIN NEW.geom := ST_SetSRID(ST_MakePoint(NEW.longitude, NEW.latitude), 4326); RETURN NEW; END
       $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS incidents_geom ON incidents",
    """CREATE TRIGGER incidents_geom BEFORE UPDATE OF latitude, longitude ON incidents
       FOR EACH ROW EXECUTE FUNCTION incidents_set_geom()""",
    # An import gives the point itself (Staging.prepare): the trigger's function is not called
    # for each of its rows.
    "DROP TRIGGER IF EXISTS incidents_geom_insert ON incidents",
    """CREATE TRIGGER incidents_geom_insert BEFORE INSERT ON incidents
       FOR EACH ROW WHEN (NEW.geom IS NULL) EXECUTE FUNCTION incidents_set_geom()""",
)


@functools.lru_cache(maxsize=4)  # a batch shares one timestamp
def _sqlite_datetime(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


# How SQLAlchemy stores dates and times in SQLite (its DATE and DATETIME storage formats).
_SQLITE_DATES: dict[str, Callable[[Any], str]] = {
    "event_date": dt.date.isoformat,
    "created_at": _sqlite_datetime,
    "updated_at": _sqlite_datetime,
}
# Any constant: the key of the PostgreSQL advisory lock that serialises writers.
_PG_WRITE_LOCK = 7_340_140
# Another: the lock an import holds while its new rows go into ``incidents`` uncommitted (Staging).
_PG_IMPORT_LOCK = 7_340_141
# Fewer new rows than this are written with the indexes in place (see _indexes_rebuilt_after).
BULK_ROWS = 50_000
# Seconds a writer waits for the write lock before giving up (StoreBusy), unless the store says otherwise.
WRITE_WAIT = 60.0
# Seconds a writer waits for a place among a store's waiting_writers: long enough for the few quick
# writes ahead of it, short enough that refused writers hold a server thread only briefly.
SLOT_WAIT = 0.25
# The largest id the id column holds on every database (PostgreSQL's INTEGER); a larger one names no incident.
MAX_ID = 2**31 - 1


@dataclass
class SaveSummary:
    """What one write did: counts of rows inserted, updated (changed) and unchanged.

    ``differing``: of the unchanged, those whose stored copy differs from the one given (written
    only with ``update``), so a caller can say that a correction was not applied.
    """

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    differing: int = 0

    def add(self, other: SaveSummary) -> None:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.differing += other.differing


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)


def row_to_incident(row) -> Incident:
    """An :class:`Incident` from a database row (mapping with the table's columns)."""
    return Incident(**{name: row[name] for name in FIELDS})


def _values(incident: Incident, admin_code: Mapping[str, int]) -> dict:
    values = {name: getattr(incident, name) for name in CONTENT_COLUMNS}
    values.update(derived_values(values, admin_code))
    return values


def _check_id(incident_id: int) -> None:
    """:class:`NotFound` for an id no row can have (the driver would overflow on it)."""
    if not 0 < incident_id <= MAX_ID:
        raise NotFound(f"incident {incident_id} does not exist")


def _pcodes(rows: Iterable[Any]) -> set[str]:
    """The governorate and district P-codes of incidents or row mappings (the packed record's)."""
    found = set()
    for row in rows:
        for name in ("admin1_pcode", "admin2_pcode"):
            value = row[name] if isinstance(row, Mapping) else getattr(row, name)
            if isinstance(value, str) and value:  # a frame's missing value may be NaN
                found.add(value)
    return found


def _create_engine(url: str, write_wait: float) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigError("WEBMAP_DB", f"not a database URL: {url!r}") from None
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or "mode=memory" in str(parsed):
            raise ConfigError(
                "WEBMAP_DB",
                "an in-memory SQLite database keeps nothing after the command ends; "
                "give a file, e.g. sqlite:////home/me/webmap.db",
            )
        if not database.startswith("file:"):
            path = Path(database).expanduser()
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ConfigError("WEBMAP_DB", f"cannot create the folder {path.parent}: {exc.strerror}") from None
        engine = sa.create_engine(url, connect_args={"timeout": write_wait, "check_same_thread": False})
        sa.event.listen(engine, "connect", functools.partial(_sqlite_on_connect, busy_ms=round(write_wait * 1000)))
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError("WEBMAP_DB", f"unsupported database URL {parsed.drivername!r}: {exc}") from None


def _sqlite_on_connect(dbapi_conn, _record, *, busy_ms: int) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, so writers can ask for BEGIN IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    # WAL lets readers go on while a writer writes; SQLite quietly keeps its old journal where WAL
    # cannot work (a network file system, a read-only folder), and then every read waits for writes.
    mode = cur.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        cur.close()
        raise ConfigError(
            "WEBMAP_DB",
            f"SQLite cannot keep this database in WAL mode (it stays in {mode!r} mode), so reads would "
            "wait for every write: put the file on a local disk (WAL needs file locks and shared memory)",
        )
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA synchronous=NORMAL")
    # 64 MiB of page cache (default 2 MiB): a bulk import updates seven indexes at once.
    cur.execute("PRAGMA cache_size=-65536")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def _sqlite_on_begin(conn: Connection) -> None:
    immediate = conn.get_execution_options().get("webmap_write", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _column_names(conn: Connection, table: str) -> set[str]:
    with warnings.catch_warnings():
        # PostGIS's geometry is a type SQLAlchemy does not know; only the names are read here.
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'", sa.exc.SAWarning)
        return {c["name"] for c in sa.inspect(conn).get_columns(table)}


def _driver(conn: Connection):
    """The DB-API connection under ``conn`` (sqlite3 or psycopg), for the bulk paths SQLAlchemy slows down."""
    driver = conn.connection.driver_connection
    assert driver is not None, "a connection in use always has its driver connection"
    return driver


def _upgrade_disputed(conn: Connection) -> None:
    """Earlier webmaps stored ``disputed`` as a yes/no flag: now inside / partly / outside.

    True becomes ``inside`` and False ``outside``; an incident known only to a governorate that
    straddles the line had no value and gets ``partly`` at its next re-join (``webmap geodata
    import``), which places every incident by the current rule.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'", sa.exc.SAWarning)
        kind = next(c["type"] for c in sa.inspect(conn).get_columns("incidents") if c["name"] == "disputed")
    if not isinstance(kind, sa.Boolean):
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "ALTER TABLE incidents ALTER COLUMN disputed TYPE VARCHAR(10) USING "
            "CASE WHEN disputed THEN 'inside' WHEN NOT disputed THEN 'outside' END"
        )
        return
    # SQLite keeps whatever a column holds: the flags become words, the declared type stays.
    conn.exec_driver_sql(
        "UPDATE incidents SET disputed = CASE disputed WHEN 1 THEN 'inside' WHEN 0 THEN 'outside' END "
        "WHERE disputed IN (0, 1)"
    )


def _upgrade_nullable(conn: Connection) -> None:
    """Let the incident columns that may now be empty be empty: earlier webmaps stored a blank
    ``fatalities`` as 0 (NOT NULL). The zeros they stored stay zeros (nothing tells which were
    "not reported"); from now on a blank stays empty.

    PostgreSQL drops the constraint in place; SQLite cannot, so the table is rebuilt once: renamed,
    made anew with its indexes, its rows copied over in id order (ids and timestamps kept).
    """
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Did not recognize type 'geometry'", sa.exc.SAWarning)
        stored = {c["name"]: c["nullable"] for c in sa.inspect(conn).get_columns("incidents")}
    loosened = [c.name for c in incidents.columns if c.nullable and stored.get(c.name) is False]
    if not loosened:
        return
    if conn.dialect.name == "postgresql":
        for name in loosened:
            conn.exec_driver_sql(f"ALTER TABLE incidents ALTER COLUMN {name} DROP NOT NULL")
        return
    old = "incidents_before_upgrade"
    conn.exec_driver_sql(f"ALTER TABLE incidents RENAME TO {old}")
    for (name,) in conn.exec_driver_sql(
        f"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{old}' AND sql IS NOT NULL"
    ).all():
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    incidents.create(conn)
    columns = ", ".join(c.name for c in incidents.columns if c.name in stored)
    conn.exec_driver_sql(f"INSERT INTO incidents ({columns}) SELECT {columns} FROM {old} ORDER BY id")
    conn.exec_driver_sql(f"DROP TABLE {old}")


# Ids per ``IN (...)`` list: below the 999 bound parameters of SQLite builds before 3.32.
ID_CHUNK = 900


def id_chunks(ids: Sequence[int]) -> Iterator[Sequence[int]]:
    """``ids`` in slices short enough for one ``IN (...)`` list on every SQLite build."""
    for start in range(0, len(ids), ID_CHUNK):
        yield ids[start : start + ID_CHUNK]


def _changed(conn: Connection, ids: Iterable[int] | None = None) -> None:
    """Note that ``conn``'s transaction wrote the incidents ``ids`` (None: any number of them; see
    :meth:`IncidentStore.transaction`)."""
    listed = conn.info["webmap_changed"]
    if ids is None or listed is None:
        conn.info["webmap_changed"] = None
    else:
        listed.update(ids)
        if len(listed) > CHANGES_LISTED:
            conn.info["webmap_changed"] = None


def _changed_selected(conn: Connection, count: int, ids: sa.Select) -> None:
    """Note that ``conn``'s transaction wrote the ``count`` incidents whose ids ``ids`` selects: read
    and listed when they are few enough for the change log, else noted as any number."""
    _changed(conn, conn.scalars(ids).all() if count <= CHANGES_LISTED else None)


def stored_version(conn: Connection) -> int:
    """The data version (``incidents_version``) as ``conn`` sees it."""
    return conn.execute(sa.select(incidents_version.c.version).where(incidents_version.c.id == 1)).scalar_one()


def _log_changes(conn: Connection) -> None:
    """Raise the data version by one and log which incidents it changed (see ``incident_changes``)."""
    v = incidents_version.c
    version = conn.execute(
        incidents_version.update().where(v.id == 1).values(version=v.version + 1).returning(v.version)
    ).scalar_one()
    listed = conn.info["webmap_changed"]
    rows = [{"version": version, "incident_id": i} for i in sorted(listed)] if listed else []
    conn.execute(incident_changes.insert(), rows or [{"version": version, "incident_id": None}])
    conn.execute(incident_changes.delete().where(incident_changes.c.version <= version - CHANGES_KEPT))


def _insert_rows(conn: Connection, table: sa.Table, columns: Mapping[str, Sequence[Any]]) -> None:
    """Insert the rows of ``columns`` (column name -> its values) into ``table`` on the
    transaction's own connection."""
    names = ", ".join(columns)
    if conn.dialect.name == "sqlite":
        # The driver's executemany: SQLAlchemy's per-row parameter processing cost a third of
        # the writing. Values are stored as SQLAlchemy stores them (ISO dates, its datetime format).
        stored = dict(columns)
        for name, convert in _SQLITE_DATES.items():
            if name in stored:
                texts = {value: convert(value) for value in set(stored[name]) if value is not None}
                stored[name] = [texts.get(value) for value in stored[name]]
        placeholders = ", ".join("?" * len(columns))
        rows = zip(*stored.values(), strict=True)
        _driver(conn).executemany(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", rows)
        return
    # PostgreSQL: binary COPY: twice as fast as pipelined INSERTs, and a quarter of the text COPY's
    # work in this process.
    types = [_BINARY_COPY_TYPES[type(table.c[name].type)] if name in table.c else "bytea" for name in columns]
    with _driver(conn).cursor() as cursor:
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(types)
            for row in zip(*columns.values(), strict=True):
                copy.write_row(row)


# The PostgreSQL type a binary COPY sends for each column type of the tables written so; a column
# the tables do not declare (PostGIS's ``geom``) is sent as bytes (its EWKB).
_BINARY_COPY_TYPES = {
    sa.Integer: "int4",
    sa.BigInteger: "int8",
    sa.SmallInteger: "int2",
    sa.Float: "float8",
    sa.Date: "date",
    sa.DateTime: "timestamp",
    sa.String: "text",
    sa.Text: "text",
    sa.LargeBinary: "bytea",
}


def _create_staging(conn: Connection) -> None:
    conn.execute(sa.schema.CreateTable(staged, if_not_exists=True))
    conn.execute(staged.delete())


def _stage(conn: Connection, batch: list[Incident], admin_code: Mapping[str, int]) -> None:
    """Add ``batch`` to ``conn``'s staging table (``admin_code``: every P-code of ``batch`` -> its
    number); a (source, source_id) given twice in ``batch`` is an :class:`InvalidRecord` naming
    ``source_id`` and its row in ``batch`` (1-based)."""
    if not batch:
        return
    _refuse_repeated_keys(batch)
    _insert_columns(conn, staged, _batch_columns(batch, admin_code), len(batch))


def _insert_columns(conn: Connection, table: sa.Table, columns: Mapping[str, Sequence[Any]], rows: int) -> None:
    """:func:`_insert_rows` of ``rows`` rows, leaving out the columns they leave empty: the tables
    written so have no column defaults, so it is NULL all the same, and the driver binds a third
    fewer values for a file of a dozen columns."""
    _insert_rows(conn, table, {name: values for name, values in columns.items() if values.count(None) < rows})


def _refuse_repeated_keys(batch: list[Incident]) -> None:
    """An :class:`InvalidRecord` naming ``source_id`` and its row in ``batch`` (1-based) when a
    (source, source_id) is given twice in ``batch``."""
    seen: dict[tuple, int] = {}
    for row, incident in enumerate(batch, start=1):
        if incident.source_id is None:
            continue
        key = (incident.source, incident.source_id)
        if key in seen:
            raise InvalidRecord(
                "source_id", f"{incident.source_id!r} of source {incident.source!r} is also on row {seen[key]}", row
            )
        seen[key] = row


def _batch_columns(batch: list[Incident], admin_code: Mapping[str, int]) -> dict[str, Sequence[Any]]:
    """The content and derived columns of ``batch`` (column name -> its values)."""
    contents = zip(*map(_content_of, batch), strict=True)
    columns: dict[str, Sequence[Any]] = dict(zip(CONTENT_COLUMNS, contents, strict=True))
    columns.update(derived_columns(columns, admin_code))
    return columns


def _same_source_id(dialect: str):
    """The condition that a staged row and a stored one have the same (source, source_id)."""
    s, i = staged.c, incidents.c
    if dialect == "sqlite":
        return sa.and_(i.source_id == s.source_id, i.source.is_not_distinct_from(s.source))  # IS: uses the index
    # PostgreSQL uses no index for IS NOT DISTINCT FROM; an equality or IS NULL it can.
    return sa.and_(
        i.source_id == s.source_id, sa.or_(i.source == s.source, sa.and_(i.source.is_(None), s.source.is_(None)))
    )


# The history's actions that delete an incident (webmap.store.IncidentStore.restore undoes the last).
_REMOVALS = ("delete", "reject", "merged")


def _plain(value: Any) -> Any:
    """A content value as JSON keeps it: dates and times as ISO 8601 text."""
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _content_from_json(values: Mapping[str, Any]) -> dict[str, Any]:
    """Content values read back from a history entry's JSON (``event_date`` a date again)."""
    out = {name: value for name, value in values.items() if name in CONTENT_COLUMNS}
    if isinstance(out.get("event_date"), str):
        out["event_date"] = parse_date(out["event_date"])
    return out


def _changes(current: Incident, new: Incident) -> tuple[dict[str, Any], dict[str, Any]]:
    """The content fields ``new`` changes in ``current``: their values before and after."""
    changed = [name for name in CONTENT_COLUMNS if getattr(current, name) != getattr(new, name)]
    return {name: getattr(current, name) for name in changed}, {name: getattr(new, name) for name in changed}


def _reason_given(reason: str | None) -> str | None:
    """The reason, stripped; None for none or a blank one. :class:`InvalidRecord` past 2,000 characters."""
    if reason is None or not str(reason).strip():
        return None
    text = str(reason).strip()
    if len(text) > 2000:
        raise InvalidRecord("reason", "longer than 2000 characters")
    return text


def _history(
    conn: Connection,
    incident_id: int,
    version: int,
    by: Actor,
    action: str,
    at: dt.datetime,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str | None = None,
    ref: int | None = None,
) -> None:
    """Append one entry to ``incident_history`` in ``conn``'s write transaction."""

    def encoded(values: Mapping[str, Any] | None) -> str | None:
        if values is None:
            return None
        return json.dumps({name: _plain(value) for name, value in values.items()}, ensure_ascii=False)

    conn.execute(
        incident_history.insert().values(
            incident_id=incident_id,
            version=version,
            at=at,
            actor=by.name,
            action=action,
            reason=reason,
            ref=ref,
            fields_before=encoded(before),
            fields_after=encoded(after),
        )
    )


def _log(
    conn: Connection,
    event: str,
    actor: str | None,
    *,
    address: str | None = None,
    target: str | None = None,
    detail: str | None = None,
) -> None:
    """Append one event to ``auth_log`` in ``conn``'s transaction (texts cut to their columns)."""
    conn.execute(
        auth_log.insert().values(
            at=_now(),
            event=event[:40],
            actor=actor[:40] if actor else None,
            address=address[:100] if address else None,
            target=target[:200] if target else None,
            detail=detail[:1000] if detail else None,
        )
    )


def _json_of(dialect: str, table: sa.Table) -> sa.ColumnElement:
    """SQL: a JSON object (text) of ``table``'s content columns, for the history of an import's
    changes (PostgreSQL's json_build_object takes the 60 arguments; SQLite's json_object too)."""
    pairs: list[Any] = []
    for name in CONTENT_COLUMNS:
        pairs += [sa.literal_column(f"'{name}'"), table.c[name]]
    if dialect == "postgresql":
        return sa.cast(sa.func.json_build_object(*pairs), sa.Text)
    return sa.func.json_object(*pairs)


def _merged_sources(target: Incident, duplicate: Incident) -> dict[str, Any]:
    """``target``'s ``source``, ``source_url`` and ``notes`` with those of ``duplicate`` added: the
    outlets as ACLED lists them (``A; B``); the target's link (the duplicate's when it has none);
    the duplicate's other link and its notes (its evidence) after the target's notes, marked with
    where they came from. :class:`InvalidRecord` naming the field that would grow past its length."""
    sources = [part.strip() for text in (target.source, duplicate.source) for part in (text or "").split(";")]
    named = list(dict.fromkeys(part for part in sources if part))
    link = target.source_url or duplicate.source_url
    notes = target.notes or ""
    other_link = duplicate.source_url if duplicate.source_url != link else None
    carried = [text for text in (other_link, duplicate.notes) if text and text not in notes]
    if carried:
        where = f"#{duplicate.id}" + (f", {duplicate.source}" if duplicate.source else "")
        notes = (notes + "\n\n" if notes else "") + f"[from {where}] " + "\n".join(carried)
    merged = {"source": "; ".join(named) or None, "source_url": link, "notes": notes or None}
    for name, value in merged.items():
        limit = FIELD_SPECS[name].length
        if value and limit and len(value) > limit:
            raise InvalidRecord(
                name,
                f"merged, it would be {len(value)} characters, over {limit}: shorten incident {target.id}'s first",
            )
    return merged


def _drafts_only(row: int, by: Actor) -> Forbidden:
    return Forbidden("review", f"row {row}: {by} saves drafts only: its status must be draft, not reviewed")


class Staging:
    """The staged incidents of one write as ``by`` on one connection (from :meth:`IncidentStore.staging`).

    On SQLite each batch is committed to the private staging table, and :meth:`merge` writes them
    all into ``incidents``. On PostgreSQL the new incidents of each batch are copied straight into
    ``incidents`` (and their history entries into ``incident_history``), in one transaction that
    stays open, invisible to everyone else, until :meth:`merge` commits it: the server keeps the
    table's indexes current for one batch while this process checks the next, instead of for all
    rows at the end, and no row is written twice. Only the rows whose (source, source_id) is stored
    already wait in the staging table, for the merge, which holds the write lock. Either way
    nothing is seen, and no writer waits, until the merge.

    One import at a time goes so on PostgreSQL (it holds :data:`_PG_IMPORT_LOCK`): an import that
    starts meanwhile stages all its rows, and its merge waits for the first import to commit, so
    the rows both give are stored once. A writer who saves one of the import's (source, source_id)
    meanwhile waits for the import, and one who saved it first, uncommitted, makes the import fail
    on the unique constraint (nothing written)."""

    def __init__(self, store: IncidentStore, conn: Connection, by: Actor, update: bool, reason: str | None):
        authorize(by, "import")
        self._store = store
        self._conn = conn
        self._by, self._update, self._reason = by, update, reason
        self._now = _now()
        self._open: sa.engine.Transaction | None = None  # PostgreSQL: the transaction the batches go into
        self._rows = 0  # rows prepared so far
        self._inserted = 0
        # Each source seen so far: whether it had stored incidents when first seen. One that had
        # none can have none later but this import's own (or another writer's, uncommitted when
        # first seen: then the unique constraint refuses the import), so its rows are not looked up.
        self._sources_stored: dict[str | None, bool] = {}
        self._streaming = False
        if store.dialect == "postgresql":
            self._open = conn.begin()
            lock = sa.text("SELECT pg_try_advisory_xact_lock(:key)")
            self._streaming = conn.execute(lock, {"key": _PG_IMPORT_LOCK}).scalar_one()
            if not self._streaming:
                self._open.rollback()
                self._open = None

    def prepare(self, batch: list[Incident]) -> PreparedBatch:
        """``batch`` made ready for :meth:`add` (in any thread, one batch after the other, in order):
        its columns, and on PostgreSQL which rows are stored already and the new rows' ids, asked on
        a connection of its own, so the staging connection only copies. A (source, source_id) given
        twice in ``batch`` is an :class:`InvalidRecord`."""
        _refuse_repeated_keys(batch)
        codes = self._store._admin_codes_outside(_pcodes(batch))
        first = self._rows
        self._rows += len(batch)
        if not self._streaming:
            return PreparedBatch(_batch_columns(batch, codes), len(batch))
        if not may(self._by, "review"):
            row = next((row for row, incident in enumerate(batch, start=1) if incident.status != "draft"), None)
            if row is not None:
                raise _drafts_only(first + row, self._by)
        with self._store.connect() as conn:
            unseen = {incident.source for incident in batch} - self._sources_stored.keys()
            if unseen:
                self._sources_stored |= _sources_stored(conn, unseen)
            looked_up = [row for row, incident in enumerate(batch) if self._sources_stored[incident.source]]
            stored = _stored_rows(conn, batch, looked_up) if looked_up else set()
            new = [incident for row, incident in enumerate(batch) if row not in stored]
            ids = _new_ids(conn, len(new))
        columns = _new_incident_columns(new, codes, ids, self._by, self._now) if new else {}
        kept = [incident for row, incident in enumerate(batch) if row in stored]
        return PreparedBatch(columns, len(new), _batch_columns(kept, codes) if kept else None, len(kept))

    def add(self, batch: PreparedBatch) -> None:
        """Stage a batch from :meth:`prepare` (no write lock, nothing visible)."""
        if not self._streaming:
            with self._conn.begin():
                _insert_columns(self._conn, staged, batch.columns, batch.rows)
            return
        try:
            if batch.kept:
                _insert_columns(self._conn, staged, batch.kept, batch.kept_rows)
            if batch.rows:
                _insert_columns(self._conn, incidents, batch.columns, batch.rows)
                history = {
                    "incident_id": batch.columns["id"],
                    "version": [1] * batch.rows,
                    "at": [self._now] * batch.rows,
                    "actor": [self._by.name] * batch.rows,
                    "action": ["import"] * batch.rows,
                    "reason": [self._reason] * batch.rows,
                }
                _insert_columns(self._conn, incident_history, history, batch.rows)
        except Exception as exc:  # the driver's own error: the COPY bypasses SQLAlchemy
            if getattr(exc, "sqlstate", None) != "23505":  # unique_violation
                raise
            raise Conflict(
                "another writer saved an incident with the same source and source_id as a row of this "
                "import while it ran: nothing written, import again"
            ) from None
        self._inserted += batch.rows

    def merge(self) -> SaveSummary:
        """Write every staged incident into ``incidents`` in one write transaction, as
        :meth:`IncidentStore.save_batch` would; :class:`StoreBusy` when the write lock stays taken."""
        if self._store.dialect == "postgresql" and not self._streaming:
            # Before the write lock, which the streaming import takes last: no deadlock.
            self._open = self._conn.begin()
            self._store._pg_write_lock(self._conn, _PG_IMPORT_LOCK)
        with self._store._writer_slot(), self._store._writing(self._conn, self._open):
            summary = self._store._merge_staged(self._conn, self._update, self._by, self._reason)
            if self._inserted:
                summary.inserted += self._inserted
                _changed(self._conn)
        return summary


@dataclass
class PreparedBatch:
    """A batch made ready by :meth:`Staging.prepare`: ``columns`` (name -> values) of its ``rows``
    to stage (SQLite) or to insert as new incidents (PostgreSQL, ids and all), and on PostgreSQL
    the columns of the ``kept_rows`` that are stored already, to stage for the merge."""

    columns: dict[str, Sequence[Any]]
    rows: int
    kept: dict[str, Sequence[Any]] | None = None
    kept_rows: int = 0


def _sources_stored(conn: Connection, sources: set[str | None]) -> dict[str | None, bool]:
    """Whether any incident of each of ``sources`` is stored (PostgreSQL; one probe of the unique
    index each)."""
    found = conn.exec_driver_sql(
        """SELECT k.source FROM jsonb_array_elements_text(%(sources)s::jsonb) AS k(source)
           WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.source = k.source)
              OR (k.source IS NULL AND EXISTS (SELECT 1 FROM incidents i WHERE i.source IS NULL))""",
        {"sources": json.dumps(list(sources))},
    )
    stored = {source for (source,) in found}
    return {source: source in stored for source in sources}


def _stored_rows(conn: Connection, batch: list[Incident], rows: list[int]) -> set[int]:
    """Those of ``rows`` (positions in ``batch``) whose incident's (source, source_id) is stored
    already (PostgreSQL: two probes of the unique index per row). The keys go as one JSON text: a
    tenth of the work of binding two arrays of texts."""
    found = conn.exec_driver_sql(
        """SELECT (k.key->>2)::int FROM jsonb_array_elements(%(keys)s::jsonb) AS k(key)
           WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.source = k.key->>0 AND i.source_id = k.key->>1)
              OR (k.key->0 = 'null' AND EXISTS (
                  SELECT 1 FROM incidents i WHERE i.source IS NULL AND i.source_id = k.key->>1))""",
        {"keys": json.dumps([(batch[row].source, batch[row].source_id, row) for row in rows])},
    )
    return {row for (row,) in found}


def _new_ids(conn: Connection, count: int) -> list[int]:
    """``count`` new incident ids, rising (PostgreSQL: the sequence gives them whatever the transaction)."""
    if not count:
        return []
    return conn.exec_driver_sql(
        "SELECT array_agg(nextval(pg_get_serial_sequence('incidents', 'id'))) FROM generate_series(1, %(n)s)",
        {"n": count},
    ).scalar_one()


# The head of a point's EWKB (little-endian, type Point with an SRID, SRID 4326): a geometry value
# as a binary COPY gives it to PostGIS.
_EWKB_POINT = np.dtype([("head", "S9"), ("x", "<f8"), ("y", "<f8")])
_EWKB_HEAD = bytes.fromhex("0101000020E6100000")


def _new_incident_columns(
    batch: list[Incident], admin_code: Mapping[str, int], ids: list[int], by: Actor, now: dt.datetime
) -> dict[str, Sequence[Any]]:
    """The columns of ``batch`` inserted as new incidents with ``ids``, saved by ``by`` at ``now``,
    and their ``geom`` (which the trigger then need not make row by row)."""
    columns = _batch_columns(batch, admin_code)
    reviewer = [by.name if status == "reviewed" else None for status in columns["status"]]
    points = np.zeros(len(batch), _EWKB_POINT)
    points["head"], points["x"], points["y"] = _EWKB_HEAD, columns["longitude"], columns["latitude"]
    packed, size = points.tobytes(), _EWKB_POINT.itemsize
    return columns | {
        "id": ids,
        "created_at": [now] * len(batch),
        "updated_at": [now] * len(batch),
        "created_by": [by.name] * len(batch),
        "version": [1] * len(batch),
        "reviewed_by": reviewer,
        "reviewed_at": [now if name else None for name in reviewer],
        "geom": [packed[at : at + size] for at in range(0, len(packed), size)],
    }


class IncidentStore:
    """The incident database behind a SQLAlchemy URL; creates its schema on first use.

    ``write_wait``: seconds a writer waits for another's write lock before :class:`StoreBusy`;
    ``waiting_writers``: how many of this store's threads may write or wait to at once (None: no
    limit); one more waits :data:`SLOT_WAIT` seconds for a place, then gets :class:`StoreBusy`.
    Raises :class:`ConfigError` naming ``WEBMAP_DB`` when the URL is malformed or the database
    cannot be opened or written.
    """

    def __init__(self, url: str, *, write_wait: float = WRITE_WAIT, waiting_writers: int | None = None):
        self.url = url
        self.write_wait = write_wait
        self._writer_slots = threading.BoundedSemaphore(waiting_writers) if waiting_writers else None
        self.engine = _create_engine(url, write_wait)
        self.dialect = self.engine.dialect.name
        self._admin_code: dict[str, int] = {}  # P-code -> number, as in admin_codes (numbers never change)
        self._admin_code_lock = threading.Lock()
        self._ensure_schema()
        self._refresh_map_points()

    def _ensure_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                metadata.create_all(conn)
                # Columns a database made by an earlier webmap lacks (create_all adds only tables).
                for table in (incidents, incidents_version, login_sessions):
                    present = _column_names(conn, table.name)
                    for column in table.columns:
                        if column.name not in present:
                            kind = column.type.compile(dialect=conn.dialect)
                            default = column.default.arg if isinstance(column.default, sa.ColumnDefault) else None
                            if isinstance(default, int) and not column.nullable:  # every earlier incident is version 1
                                kind += f" DEFAULT {int(default)} NOT NULL"
                            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                _upgrade_disputed(conn)
                _upgrade_nullable(conn)
                for statement in _RETIRED:
                    conn.exec_driver_sql(statement)
                for index in incidents.indexes:  # a database made by an older webmap gets new indexes too
                    index.create(conn, checkfirst=True)
                # Only when missing: a needless write would make every process's start a writer.
                if conn.execute(sa.select(incidents_version.c.id)).first() is None:
                    conn.exec_driver_sql(
                        "INSERT INTO incidents_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING"
                    )
                if self.dialect == "sqlite":
                    statements = (*_SQLITE_SPATIAL, *_SQLITE_APPEND_ONLY)
                else:
                    statements = (*_POSTGIS_SPATIAL, *_POSTGRES_APPEND_ONLY)
                # Only when they changed: on PostgreSQL they lock the tables, so a server starting
                # during an import would wait for it, and every reader would queue behind.
                fingerprint = hashlib.sha256("\n".join(statements).encode()).hexdigest()[:16]
                if conn.execute(sa.select(incidents_version.c.triggers)).scalar_one() != fingerprint:
                    for statement in statements:
                        conn.exec_driver_sql(statement)
                    conn.execute(incidents_version.update().values(triggers=fingerprint))
        except SQLAlchemyError as exc:
            # The driver's own message, first line: SQLAlchemy's adds the SQL and a link on more lines.
            orig = getattr(exc, "orig", None)
            reason = (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]
            verb = "open" if isinstance(exc, OperationalError) else "prepare"
            raise ConfigError("WEBMAP_DB", f"cannot {verb} the database {self.safe_url}: {reason}") from None

    def _refresh_map_points(self, batch: int = 10_000) -> None:
        """Write every row's derived columns (``force_mask``, ``map_point``) again when the stored
        ones have another format (a database made by an earlier webmap, or the forces list
        changed), in one transaction."""
        version = incidents_version.c

        def current(conn) -> bool:
            return conn.execute(sa.select(version.map_format)).scalar_one() == MAP_FORMAT

        with self.connect() as conn:
            if current(conn):
                return
        c = incidents.c
        with self.transaction() as conn:
            if current(conn):  # another process did it meanwhile
                return
            last = 0
            update = (
                incidents.update()
                .where(c.id == sa.bindparam("_id"))
                .values(force_mask=sa.bindparam("_mask"), map_point=sa.bindparam("_point"))
            )
            while (
                rows := conn.execute(
                    sa.select(c.id, *(c[n] for n in DERIVED_FROM)).where(c.id > last).order_by(c.id).limit(batch)
                )
                .mappings()
                .all()
            ):
                codes = self.admin_code(conn, _pcodes(rows))
                derived = [derived_values(row, codes) for row in rows]
                conn.execute(
                    update,
                    [
                        {"_id": row["id"], "_mask": d["force_mask"], "_point": d["map_point"]}
                        for row, d in zip(rows, derived, strict=True)
                    ],
                )
                last = rows[-1]["id"]
                _changed(conn)
            conn.execute(incidents_version.update().values(map_format=MAP_FORMAT))

    def database_files(self) -> list[Path]:
        """The files of a SQLite database (the database, its rollback journal, write-ahead log and
        shared memory), which no output may overwrite; none for PostgreSQL."""
        database = make_url(self.url).database if self.dialect == "sqlite" else None
        if not database:
            return []
        if database.startswith("file:"):  # a URI filename: file:path?mode=...
            database = database.removeprefix("file:").split("?", 1)[0]
        path = Path(database)
        return [path.with_name(path.name + suffix) for suffix in ("", "-journal", "-wal", "-shm")]

    def admin_code(self, conn: Connection, pcodes: Iterable[str]) -> dict[str, int]:
        """The numbers of ``pcodes`` in ``admin_codes``, giving new P-codes one inside ``conn``'s
        write transaction. Returns every P-code known so far.

        Numbers this transaction gave are remembered by the store only once it commits: a rolled
        back number may go to another P-code later."""
        pending: dict[str, int] = conn.info.setdefault(_PENDING_CODES, {})
        with self._admin_code_lock:
            known = {**self._admin_code, **pending}
        missing = set(pcodes) - known.keys()
        if not missing:
            return known
        stored = self._read_admin_codes(conn)
        if missing - stored.keys():
            new = sorted(missing - stored.keys())
            values = ", ".join(f"(:p{i})" for i in range(len(new)))
            conn.execute(
                sa.text(f"INSERT INTO admin_codes (pcode) VALUES {values} ON CONFLICT (pcode) DO NOTHING"),
                {f"p{i}": pcode for i, pcode in enumerate(new)},
            )
            stored = self._read_admin_codes(conn)
            if max(stored.values(), default=0) > MAX_ADMIN_CODE:
                raise WebmapError(f"more than {MAX_ADMIN_CODE:,} P-codes: the map's record cannot number them")
        pending.update(stored)
        return {**known, **stored}

    def _admin_codes_outside(self, pcodes: Iterable[str]) -> dict[str, int]:
        """:meth:`admin_code` for a caller outside a write transaction (staging): a short write
        transaction of its own only when a P-code has no number yet."""
        wanted = set(pcodes)
        with self._admin_code_lock:
            if wanted <= self._admin_code.keys():
                return dict(self._admin_code)
        with self.transaction() as conn:
            self.admin_code(conn, wanted)
        with self._admin_code_lock:
            return dict(self._admin_code)

    @staticmethod
    def _read_admin_codes(conn: Connection) -> dict[str, int]:
        return {pcode: number for number, pcode in conn.execute(sa.select(admin_codes.c.id, admin_codes.c.pcode))}

    def admin_codes(self) -> dict[int, str]:
        """Number -> P-code of every governorate and district the packed records name."""
        with self.connect() as conn:
            return {number: pcode for pcode, number in self._read_admin_codes(conn).items()}

    @property
    def safe_url(self) -> str:
        """The URL with any password hidden, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    def connect(self) -> Connection:
        """A read connection (callers close it, or use it in a ``with``)."""
        return self.engine.connect()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed if the block ends normally, rolled back otherwise.

        Concurrent writers wait for each other instead of interleaving; a writer that has waited
        ``write_wait`` seconds in vain, or finds all ``waiting_writers`` places taken, gets a
        :class:`StoreBusy` (nothing written). A transaction that wrote any incident raises
        ``incidents_version`` by one, in the same commit.
        """
        with self._writer_slot(), self.engine.connect() as conn, self._writing(conn):
            yield conn

    def _busy(self, why: str) -> StoreBusy:
        return StoreBusy(
            f"the database is busy: {why}; nothing written, try again in a few seconds",
            retry_after=max(1, math.ceil(min(self.write_wait, 5))),
        )

    @contextmanager
    def _writer_slot(self) -> Iterator[None]:
        if self._writer_slots is None:
            yield
            return
        if not self._writer_slots.acquire(timeout=SLOT_WAIT):
            raise self._busy("other changes are already waiting to be written")
        try:
            yield
        finally:
            self._writer_slots.release()

    @contextmanager
    def _writing(self, conn: Connection, begun: sa.engine.Transaction | None = None) -> Iterator[None]:
        """A write transaction on ``conn`` (see :meth:`transaction`): ``begun``, when the connection
        has one open already (PostgreSQL only), else a new one."""
        conn.execution_options(webmap_write=True)
        try:
            try:
                transaction = begun or conn.begin()
            except OperationalError as exc:
                if "locked" not in str(exc.orig):
                    raise
                raise self._busy(
                    f"an import or another edit has held the write lock for over {self.write_wait:g} s"
                ) from None
            conn.info[_PENDING_CODES] = {}
            with transaction:
                if self.dialect == "postgresql":
                    self._pg_write_lock(conn)
                conn.info["webmap_changed"] = set()
                yield
                if conn.info["webmap_changed"] != set():
                    _log_changes(conn)
            with self._admin_code_lock:  # committed: its new P-code numbers hold for good
                self._admin_code.update(conn.info[_PENDING_CODES])
        finally:
            conn.info.pop(_PENDING_CODES, None)
            conn.execution_options(webmap_write=False)

    def _pg_write_lock(self, conn: Connection, key: int = _PG_WRITE_LOCK) -> None:
        conn.execute(sa.text(f"SET LOCAL lock_timeout = {max(1, round(self.write_wait * 1000))}"))
        try:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        except OperationalError as exc:
            if getattr(exc.orig, "sqlstate", None) != "55P03":  # lock_not_available
                raise
            raise self._busy(
                f"an import or another edit has held the write lock for over {self.write_wait:g} s"
            ) from None

    # -- writes -----------------------------------------------------------------------------
    def save_batch(
        self,
        conn: Connection,
        batch: list[Incident],
        *,
        by: Actor,
        update: bool = False,
        reason: str | None = None,
    ) -> SaveSummary:
        """Store ``batch`` inside ``conn``'s write transaction as ``by``, idempotent on ``source`` + ``source_id``.

        A row whose (source, source_id) is already stored is left alone (``unchanged``; counted in
        ``differing`` too when its content differs), or, with ``update``, replaced when any content
        column differs (``updated``; a deleted incident is never brought back so). One (source,
        source_id) given twice is an :class:`InvalidRecord` naming ``source_id`` and the row
        (1-based in ``batch``). Who may write what: :meth:`_merge_staged`.
        """
        # On an error the caller's rollback takes the staging table away with the rest.
        _create_staging(conn)
        _stage(conn, batch, self.admin_code(conn, _pcodes(batch)))
        summary = self._merge_staged(conn, update, by, reason)
        conn.execute(sa.schema.DropTable(staged))
        return summary

    @contextmanager
    def staging(self, *, by: Actor, update: bool = False, reason: str | None = None) -> Iterator[Staging]:
        """A :class:`Staging` for one big write (an import) as ``by`` on its own connection (``update``
        and ``reason`` as for :meth:`save_batch`): batches are added without the write lock, then
        :meth:`Staging.merge` finishes the write in one short write transaction. Nothing is seen in
        ``incidents`` unless the merge commits; the staged rows go when the block ends."""
        with self.engine.connect() as conn:
            try:
                with conn.begin():
                    _create_staging(conn)
                yield Staging(self, conn, by, update, reason)
            finally:
                conn.invalidate()  # closed, not pooled: its temporary tables, and any open transaction, go with it

    def _merge_staged(self, conn: Connection, update: bool, by: Actor, reason: str | None) -> SaveSummary:
        """Merge the staged rows into ``incidents`` inside ``conn``'s write transaction as ``by``
        (see :meth:`save_batch`), with one history entry per new or changed incident.

        ``by`` needs ``import``; a reviewed row needs ``review`` (an analyst imports drafts), and
        marking a stored draft reviewed follows the two-person rule; an analyst's ``update`` may
        change only their own drafts, and changing a reviewed incident needs a ``reason``."""
        authorize(by, "import")
        s, i = staged.c, incidents.c
        summary = SaveSummary()
        if self.dialect == "postgresql":
            conn.exec_driver_sql(f"ANALYZE {staged.name}")  # autovacuum never sees a temporary table
        if not may(by, "review"):
            first = conn.execute(sa.select(s.seq).where(s.status != "draft").order_by(s.seq).limit(1)).scalar()
            if first is not None:
                raise _drafts_only(first, by)
        same_key = _same_source_id(self.dialect)
        differs = sa.or_(*(i[name].is_distinct_from(s[name]) for name in CONTENT_COLUMNS))
        stored, differing = conn.execute(
            sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(sa.case((differs, 1), else_=0)), 0)).select_from(
                staged.join(incidents, same_key)
            )
        ).one()
        now = _now()
        approving = sa.and_(i.status == "draft", s.status == "reviewed")
        if update and differing:
            changing = sa.and_(same_key, differs, i.status != DELETED)
            self._check_staged_changes(conn, changing, by, reason)
            # Listed while they still differ.
            _changed_selected(
                conn, differing, sa.select(i.id).select_from(staged.join(incidents, same_key)).where(changing)
            )
            self._history_of_staged(conn, changing, by, reason, now)
            replaced = {name: s[name] for name in (*CONTENT_COLUMNS, *DERIVED_COLUMNS)}
            summary.updated = conn.execute(
                incidents.update()
                .values(
                    **replaced,
                    updated_at=sa.literal(now, sa.DateTime),
                    version=i.version + 1,
                    reviewed_by=sa.case((approving, sa.literal(by.name)), else_=i.reviewed_by),
                    reviewed_at=sa.case((approving, sa.literal(now, sa.DateTime)), else_=i.reviewed_at),
                )
                .where(changing)
            ).rowcount
            summary.differing = differing - summary.updated
        else:
            summary.differing = differing
        summary.unchanged = stored - summary.updated
        columns = (*CONTENT_COLUMNS, *DERIVED_COLUMNS)
        reviewed = s.status == "reviewed"
        new_rows = (
            sa.select(
                *(s[name] for name in columns),
                sa.literal(now, sa.DateTime),
                sa.literal(now, sa.DateTime),
                sa.literal(by.name),
                sa.literal(1),
                sa.case((reviewed, sa.literal(by.name)), else_=None),
                sa.case((reviewed, sa.literal(now, sa.DateTime)), else_=None),
            )
            # When none of the staged rows is stored (counted above, in this write), all are new.
            .where(~sa.exists().where(same_key) if stored else sa.true())
            .order_by(s.seq)
        )
        # Every staged row not stored yet is new (a batch never stages one key twice); counted, as
        # drivers need not report the rows of an INSERT ... SELECT.
        summary.inserted = conn.execute(sa.select(sa.func.count()).select_from(staged)).scalar_one() - stored
        if summary.inserted:
            last_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(i.id), 0))).scalar_one()
            with self._indexes_rebuilt_after(conn, summary.inserted):
                conn.execute(
                    incidents.insert().from_select(
                        [*columns, "created_at", "updated_at", "created_by", "version", "reviewed_by", "reviewed_at"],
                        new_rows,
                    )
                )
            # The writer holds the write lock: the new rows are exactly those after the last id.
            conn.execute(
                incident_history.insert().from_select(
                    ["incident_id", "version", "at", "actor", "action", "reason"],
                    sa.select(
                        i.id,
                        sa.literal(1),
                        sa.literal(now, sa.DateTime),
                        sa.literal(by.name),
                        sa.literal("import"),
                        sa.literal(reason, sa.Text),
                    )
                    .where(i.id > last_id)
                    .order_by(i.id),
                )
            )
            _changed_selected(conn, summary.inserted, sa.select(i.id).where(i.id > last_id))
        return summary

    def _check_staged_changes(self, conn: Connection, changing, by: Actor, reason: str | None) -> None:
        """Refuse (nothing written) an import's changes to stored incidents that ``by`` may not make:
        an analyst's to anything but their own drafts (left drafts), anyone's marking of their own
        draft reviewed (the two-person rule, unless alone), a reviewed incident's without a reason."""
        s, i = staged.c, incidents.c

        def first(*conditions) -> Any:
            found = conn.execute(
                sa.select(s.seq, i.id, i.status, i.created_by)
                .select_from(staged.join(incidents, changing))
                .where(*conditions)
                .order_by(s.seq)
                .limit(1)
            ).first()
            return found

        if not may(by, "review"):
            found = first(sa.or_(i.status != "draft", i.created_by.is_distinct_from(by.name)))
            if found is not None:
                authorize(by, "edit", SimpleNamespace(id=found.id, status=found.status, created_by=found.created_by))
        alone = self._alone(conn, by)
        found = first(i.status == "draft", s.status == "reviewed", i.created_by == by.name)
        if found is not None:
            authorize(
                by,
                "review",
                SimpleNamespace(id=found.id, status=found.status, created_by=found.created_by),
                alone=alone,
            )
        found = first(i.status == "reviewed")
        if found is not None and not _reason_given(reason):
            raise InvalidRecord(
                "reason",
                f'row {found.seq} changes incident {found.id}, which is reviewed: say why (--reason, or "reason")',
            )

    def _history_of_staged(self, conn: Connection, changing, by: Actor, reason: str | None, now: dt.datetime) -> None:
        """One history entry per stored incident the staged rows change (``changing``), with every
        content field before and after, written before the change itself."""
        s, i = staged.c, incidents.c
        action = sa.case((sa.and_(i.status == "draft", s.status == "reviewed"), sa.literal("approve")), else_="import")
        conn.execute(
            incident_history.insert().from_select(
                ["incident_id", "version", "at", "actor", "action", "reason", "fields_before", "fields_after"],
                sa.select(
                    i.id,
                    i.version + 1,
                    sa.literal(now, sa.DateTime),
                    sa.literal(by.name),
                    action,
                    sa.literal(_reason_given(reason), sa.Text),
                    _json_of(self.dialect, incidents),
                    _json_of(self.dialect, staged),
                ).select_from(staged.join(incidents, changing)),
            )
        )

    @contextmanager
    def _indexes_rebuilt_after(self, conn: Connection, new_rows: int) -> Iterator[None]:
        """On SQLite, when ``new_rows`` are many and at least half as many as the table holds, drop
        the incidents' secondary indexes for the block and build them again after it: one sort per
        index is 2.5x faster than updating every index row by row (1M rows into an empty table:
        9 s, not 22 s). It all happens in ``conn``'s write transaction, so a failure leaves the
        indexes as they were, and readers go on with theirs meanwhile (WAL). PostgreSQL would lock
        the readers out for the block, so it updates its indexes as it goes."""
        if self.dialect != "sqlite" or new_rows < BULK_ROWS:
            yield
            return
        if new_rows * 2 < conn.execute(sa.select(sa.func.count()).select_from(incidents)).scalar_one():
            yield
            return
        indexes = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'incidents' AND sql IS NOT NULL"
        ).all()
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        yield
        for _, sql in indexes:
            conn.exec_driver_sql(sql)

    def _alone(self, conn: Connection, by: Actor) -> bool:
        """Whether ``by`` is the bootstrap admin of a database without accounts (see :mod:`webmap.roles`)."""
        return by.bootstrap and conn.execute(sa.select(users.c.id).limit(1)).first() is None

    def add(self, incident: Incident, *, by: Actor) -> Incident:
        """Store one new incident made by ``by`` (who needs ``create``, and ``review`` for a reviewed
        one); returns it with its id, timestamps and version 1. Its history begins with ``create``.
        :class:`DuplicateRecord` when another stored incident has its ``source`` and ``source_id``."""
        authorize(by, "create")
        if incident.status != "draft":
            authorize(by, "review")
        now = _now()
        reviewed = incident.status == "reviewed"
        with self._unique_source_id(incident), self.transaction() as conn:
            values = _values(incident, self.admin_code(conn, _pcodes([incident])))
            result = conn.execute(
                incidents.insert().values(
                    **values,
                    created_at=now,
                    updated_at=now,
                    created_by=by.name,
                    version=1,
                    reviewed_by=by.name if reviewed else None,
                    reviewed_at=now if reviewed else None,
                )
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # an insert has its key
            _history(conn, new_id, 1, by, "create", now)
            _changed(conn, [new_id])
        return self.get(new_id)

    @contextmanager
    def _unique_source_id(self, incident: Incident) -> Iterator[None]:
        """Turn the unique constraint on ``source`` + ``source_id`` failing inside the block (rolled
        back) into a :class:`DuplicateRecord` naming the incident that holds the pair."""
        try:
            yield
        except IntegrityError:
            c = incidents.c
            with self.connect() as conn:
                holder = conn.execute(
                    sa.select(c.id).where(
                        c.source.is_not_distinct_from(incident.source), c.source_id == incident.source_id
                    )
                ).scalar()
            if holder is None or incident.source_id is None:
                raise
            raise DuplicateRecord(incident.source, incident.source_id, holder) from None

    def replace(self, incident_id: int, incident: Incident, *, by: Actor, reason: str | None = None) -> Incident:
        """Overwrite the stored incident ``incident_id`` with ``incident``'s values as ``by``.

        ``by`` needs ``edit`` (an analyst: only their own drafts); a change of status needs
        ``review`` (marking a draft reviewed: never one's own, the two-person rule); changing a
        reviewed incident needs a ``reason``. Nothing changed: nothing written. Raises
        :class:`NotFound`, :class:`Conflict` (deleted: restore it first), :class:`Forbidden`,
        :class:`InvalidRecord` naming ``reason``, :class:`DuplicateRecord` when another incident
        has its ``source`` and ``source_id``."""
        _check_id(incident_id)
        with self._unique_source_id(incident), self.transaction() as conn:
            current = self._current(conn, incident_id)
            return self._rewrite(conn, current, incident, by, reason, action=None)

    def _rewrite(
        self,
        conn: Connection,
        current: Incident,
        incident: Incident,
        by: Actor,
        reason: str | None,
        *,
        action: str | None,
        ref: int | None = None,
    ) -> Incident:
        """Write ``incident``'s content over ``current`` (the rules of :meth:`replace`); ``action``
        names the history entry (None: ``edit``, or ``approve``/``unreview`` for a change of status)."""
        if current.status == DELETED:
            raise Conflict(f"incident {current.id} is deleted: a reviewer must restore it before it can change")
        authorize(by, "edit", current)
        if incident.status != current.status:
            authorize(by, "review", current, alone=self._alone(conn, by))
        before, after = _changes(current, incident)
        if not after:
            return current
        reason = _reason_given(reason)
        if current.status == "reviewed" and not reason:
            raise InvalidRecord("reason", f"incident {current.id} is reviewed: say why it changes")
        approving = current.status == "draft" and incident.status == "reviewed"
        if action is None:
            action = {"draft": "unreview", "reviewed": "approve"}.get(incident.status, "edit")
            action = action if incident.status != current.status else "edit"
        now = _now()
        version = current.version + 1
        review = {"reviewed_by": by.name, "reviewed_at": now} if approving else {}
        if incident.status == "draft":
            review = {"reviewed_by": None, "reviewed_at": None}
        conn.execute(
            incidents.update()
            .where(incidents.c.id == current.id)
            .values(
                **_values(incident, self.admin_code(conn, _pcodes([incident]))),
                **review,
                updated_at=now,
                version=version,
            )
        )
        assert current.id is not None  # read from the table: it has its id
        _history(conn, current.id, version, by, action, now, before=before, after=after, reason=reason, ref=ref)
        _changed(conn, [current.id])
        return self._current(conn, current.id)

    def _current(self, conn: Connection, incident_id: int) -> Incident:
        _check_id(incident_id)
        row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist")
        return row_to_incident(row)

    def _set_status(
        self,
        conn: Connection,
        current: Incident,
        status: str,
        by: Actor,
        action: str,
        reason: str | None,
        ref: int | None = None,
    ) -> None:
        now = _now()
        version = current.version + 1
        values = {"status": status}
        values.update(derived_values({**vars(current), "status": status}, self.admin_code(conn, _pcodes([current]))))
        conn.execute(
            incidents.update().where(incidents.c.id == current.id).values(**values, updated_at=now, version=version)
        )
        assert current.id is not None  # read from the table: it has its id
        _history(
            conn,
            current.id,
            version,
            by,
            action,
            now,
            before={"status": current.status},
            after={"status": status},
            reason=reason,
            ref=ref,
        )
        _changed(conn, [current.id])

    def delete(self, incident_id: int, *, by: Actor, reason: str | None) -> None:
        """Delete incident ``incident_id`` as ``by`` (who needs ``delete``), for ``reason`` (required):
        the incident is kept with the status ``deleted``, hidden from every view, and a reviewer can
        :meth:`restore` it. :class:`NotFound`, :class:`Conflict` when it is deleted already."""
        self._remove(incident_id, by, reason, "delete")

    def reject(self, incident_id: int, *, by: Actor, reason: str | None) -> None:
        """Reject the draft ``incident_id`` for ``reason`` (a delete: restorable); :class:`Conflict`
        when it is no draft."""
        self._remove(incident_id, by, reason, "reject")

    def _remove(self, incident_id: int, by: Actor, reason: str | None, action: str) -> None:
        authorize(by, "delete")
        self.get(incident_id)  # NotFound before asking for a reason
        reason = _reason_given(reason)
        if not reason:
            raise InvalidRecord("reason", f"say why incident {incident_id} is {HISTORY_ACTIONS[action]}")
        with self.transaction() as conn:
            current = self._current(conn, incident_id)
            if current.status == DELETED:
                raise Conflict(f"incident {incident_id} is deleted already")
            if action == "reject" and current.status != "draft":
                raise Conflict(f"incident {incident_id} is {current.status}: only a draft can be rejected")
            self._set_status(conn, current, DELETED, by, action, reason)

    def restore(self, incident_id: int, *, by: Actor, reason: str | None = None) -> Incident:
        """Bring the deleted incident ``incident_id`` back with the status it had (``by`` needs
        ``restore``); :class:`Conflict` when it is not deleted."""
        authorize(by, "restore")
        with self.transaction() as conn:
            current = self._current(conn, incident_id)
            if current.status != DELETED:
                raise Conflict(f"incident {incident_id} is not deleted: nothing to restore")
            last = conn.execute(
                sa.select(incident_history.c.fields_before)
                .where(incident_history.c.incident_id == incident_id, incident_history.c.action.in_(_REMOVALS))
                .order_by(incident_history.c.version.desc())
                .limit(1)
            ).scalar()
            status = json.loads(last).get("status", "draft") if last else "draft"
            if status == "reviewed":
                authorize(by, "review")
            self._set_status(conn, current, status, by, "restore", _reason_given(reason))
            return self._current(conn, incident_id)

    def approve(self, incident_id: int, *, by: Actor, reason: str | None = None) -> Incident:
        """Mark the draft ``incident_id`` reviewed as ``by`` (who needs ``review``, and did not make
        it: the two-person rule); an ``approve`` entry. :class:`Conflict` when it is no draft."""
        authorize(by, "review")
        with self.transaction() as conn:
            current = self._current(conn, incident_id)
            if current.status != "draft":
                raise Conflict(f"incident {incident_id} is {current.status}: only a draft can be marked reviewed")
            reviewed = Incident(**{**vars(current), "status": "reviewed"})
            return self._rewrite(conn, current, reviewed, by, reason, action="approve")

    def revert(self, incident_id: int, version: int, *, by: Actor, reason: str | None = None) -> Incident:
        """Give incident ``incident_id`` the content it had at ``version`` again (its status stays),
        as a new version with a ``revert`` entry; the rules of :meth:`replace` hold.
        :class:`InvalidRecord` naming ``version`` when it is not an earlier version."""
        with self.transaction() as conn:
            current = self._current(conn, incident_id)
            authorize(by, "edit", current)  # refused before the version is even looked at
            if not 1 <= version < current.version:
                raise InvalidRecord(
                    "version",
                    f"incident {incident_id} has versions 1 to {current.version}: {version} is not an earlier one",
                )
            content = self._version_content(conn, current, version)
            content["status"] = current.status
            earlier = Incident(**{**vars(current), **content})
            return self._rewrite(conn, current, earlier, by, reason, action="revert", ref=version)

    def merge(self, duplicate_id: int, target_id: int, *, by: Actor, reason: str | None = None) -> Incident:
        """Merge incident ``duplicate_id`` (a draft, usually) into ``target_id``, which reports the
        same event: the target keeps its content and gains every source of the duplicate (its
        ``source`` names, ``source_url`` links and ``notes``); the duplicate is deleted (restorable),
        its history saying where it went. ``by`` needs ``merge``; merging away a reviewed incident
        needs a ``reason``. Returns the target."""
        authorize(by, "merge")
        if duplicate_id == target_id:
            raise Conflict(f"incident {target_id} cannot be merged into itself")
        with self.transaction() as conn:
            duplicate, target = self._current(conn, duplicate_id), self._current(conn, target_id)
            for incident in (duplicate, target):
                if incident.status == DELETED:
                    raise Conflict(f"incident {incident.id} is deleted: restore it before merging")
            reason = _reason_given(reason)
            if duplicate.status == "reviewed" and not reason:
                raise InvalidRecord("reason", f"incident {duplicate_id} is reviewed: say why it is merged away")
            merged = Incident(**{**vars(target), **_merged_sources(target, duplicate)})
            before, after = _changes(target, merged)
            now = _now()
            if after:
                version = target.version + 1
                conn.execute(
                    incidents.update()
                    .where(incidents.c.id == target_id)
                    .values(**after, updated_at=now, version=version)
                )
            else:  # the duplicate brings nothing new: the target's entry still says it was merged
                version = target.version + 1
                conn.execute(
                    incidents.update().where(incidents.c.id == target_id).values(updated_at=now, version=version)
                )
            _history(
                conn, target_id, version, by, "merge", now, before=before, after=after, reason=reason, ref=duplicate_id
            )
            _changed(conn, [target_id])
            self._set_status(conn, duplicate, DELETED, by, "merged", reason, ref=target_id)
            return self._current(conn, target_id)

    def _version_content(self, conn: Connection, current: Incident, version: int) -> dict[str, Any]:
        """The content fields incident ``current`` had at ``version``: its stored values with the
        before values of every later history entry put back, newest first."""
        content = {name: getattr(current, name) for name in CONTENT_COLUMNS}
        h = incident_history.c
        later = conn.execute(
            sa.select(h.fields_before)
            .where(h.incident_id == current.id, h.version > version)
            .order_by(h.version.desc(), h.id.desc())
        ).scalars()
        for before in later:
            if before:
                content.update(_content_from_json(json.loads(before)))
        return content

    def history(self, incident_id: int) -> list[dict[str, Any]]:
        """The history of incident ``incident_id``, oldest first: per entry ``version``, ``at``
        (ISO UTC), ``actor``, ``action``, ``reason``, ``ref``, ``changes`` (field -> [before,
        after], the fields the entry changed; for the first version every field it had), and
        ``fields`` (every content field at that version). :class:`NotFound` if there is no such incident."""
        h = incident_history.c
        with self.connect() as conn:
            current = self._current(conn, incident_id)
            rows = (
                conn.execute(sa.select(incident_history).where(h.incident_id == incident_id).order_by(h.version, h.id))
                .mappings()
                .all()
            )
        content = {name: _plain(getattr(current, name)) for name in CONTENT_COLUMNS}
        snapshots: list[dict[str, Any]] = []
        for row in reversed(rows):  # newest first: each entry's before values give the version before it
            snapshots.append(dict(content))
            if row["fields_before"]:
                content.update(json.loads(row["fields_before"]))
        snapshots.reverse()
        entries = []
        previous: dict[str, Any] = {}
        for row, fields in zip(rows, snapshots, strict=True):
            changes = {
                name: [previous.get(name), value]
                for name, value in fields.items()
                if previous.get(name) != value and (previous or value is not None)
            }
            entries.append(
                {
                    "version": row["version"],
                    "at": row["at"].isoformat(),
                    "actor": row["actor"],
                    "action": row["action"],
                    "reason": row["reason"],
                    "ref": row["ref"],
                    "changes": changes,
                    "fields": fields,
                }
            )
            previous = fields
        return entries

    def get(self, incident_id: int) -> Incident:
        """The stored incident ``incident_id``; :class:`NotFound` if there is none."""
        _check_id(incident_id)
        with self.connect() as conn:
            row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist")
        return row_to_incident(row)

    def get_many(self, ids: list[int]) -> list[Incident]:
        """The stored incidents ``ids``, in that order (ids that do not exist are left out)."""
        found: dict[int, Incident] = {}
        with self.connect() as conn:
            for chunk in id_chunks(ids):
                rows = conn.execute(sa.select(incidents).where(incidents.c.id.in_(chunk)))
                found.update((row["id"], row_to_incident(row)) for row in rows.mappings())
        return [found[i] for i in ids if i in found]

    def ids_of(self, conn: Connection, keys: Iterable[tuple[str | None, str]]) -> list[int]:
        """The ids of the stored incidents with these ``(source, source_id)`` pairs, in id order (after a
        :meth:`save_batch`, to show the incidents just written)."""
        c = incidents.c
        pairs = list(dict.fromkeys(keys))
        found: list[int] = []
        for start in range(0, len(pairs), 400):
            chosen = [
                sa.and_(c.source.is_not_distinct_from(source), c.source_id == source_id)
                for source, source_id in pairs[start : start + 400]
            ]
            found.extend(conn.execute(sa.select(c.id).where(sa.or_(*chosen))).scalars())
        return sorted(found)

    def iter_all(self, conn: Connection, columns: Iterable[str] | None = None, batch: int = 10_000):
        """Every stored row (selected columns), streamed in batches of ``batch`` mappings."""
        cols = [incidents.c[name] for name in columns] if columns else [incidents]
        # Options on this statement only: Connection.execution_options() would change ``conn`` for
        # good, and later writes on it (executemany) fail on PostgreSQL's server-side cursors.
        result = conn.execute(
            sa.select(*cols).order_by(incidents.c.id),
            execution_options={"stream_results": True, "yield_per": batch},
        )
        yield from result.mappings().partitions(batch)

    def update_admin_areas(self, conn: Connection, assignments: list[dict], *, by: Actor) -> int:
        """Write re-joined admin areas as ``by`` (who needs ``geodata``): each dict has ``id`` and
        the admin*/disputed columns. Only incidents whose areas change are written, each with a
        ``rejoin`` history entry and a new version; their packed records follow (they hold the
        governorate and district). Returns how many incidents were re-joined (all given)."""
        authorize(by, "geodata")
        if not assignments:
            return 0
        names = [k for k in assignments[0] if k != "id"]
        c = incidents.c
        current: dict[int, dict] = {}
        ids = [a["id"] for a in assignments]
        for chunk in id_chunks(ids):
            rows = conn.execute(
                sa.select(c.id, c.version, *(c[n] for n in dict.fromkeys((*DERIVED_FROM, *names)))).where(
                    c.id.in_(chunk)
                )
            )
            current.update((row["id"], dict(row)) for row in rows.mappings())
        changed = [a for a in assignments if any(current[a["id"]][k] != a[k] for k in names)]
        if not changed:
            return len(assignments)
        merged = [{**current[a["id"]], **{k: a[k] for k in names}} for a in changed]
        codes = self.admin_code(conn, _pcodes(merged))
        now = _now()
        stmt = (
            incidents.update()
            .where(c.id == sa.bindparam("_id"))
            .values({name: sa.bindparam(name) for name in (*names, "force_mask", "map_point", "version")})
        )
        conn.execute(
            stmt,
            [
                {
                    **{k: row[k] for k in names},
                    **derived_values(row, codes),
                    "version": row["version"] + 1,
                    "_id": row["id"],
                }
                for row in merged
            ],
        )
        entries = []
        for a in changed:
            old = current[a["id"]]
            keys = [k for k in names if old[k] != a[k]]
            entries.append(
                {
                    "incident_id": a["id"],
                    "version": old["version"] + 1,
                    "at": now,
                    "actor": by.name,
                    "action": "rejoin",
                    "fields_before": json.dumps({k: old[k] for k in keys}, ensure_ascii=False),
                    "fields_after": json.dumps({k: a[k] for k in keys}, ensure_ascii=False),
                }
            )
        conn.execute(incident_history.insert(), entries)
        _changed(conn, [a["id"] for a in changed])
        return len(assignments)

    # -- the web's logins (webmap.web.auth) --------------------------------------------------
    def start_login(
        self, digest: str, fingerprint: str, expires_at: dt.datetime, now: dt.datetime, *, user_id: int | None = None
    ) -> None:
        """Record a login session (``digest`` of its id, its end, UTC) of the account ``user_id``, or
        with None of the bootstrap admin with the token of ``fingerprint``; the sessions that ended,
        and the bootstrap admin's made with another token, are forgotten on the way."""
        s = login_sessions.c
        with self.transaction() as conn:
            conn.execute(
                login_sessions.delete().where(
                    sa.or_(s.expires_at <= now, sa.and_(s.user_id.is_(None), s.token_fingerprint != fingerprint))
                )
            )
            conn.execute(
                login_sessions.insert().values(
                    digest=digest, token_fingerprint=fingerprint, expires_at=expires_at, user_id=user_id
                )
            )
            if user_id is not None:
                conn.execute(users.update().where(users.c.id == user_id).values(last_login_at=now))

    def end_logins_except(self, fingerprint: str | None) -> None:
        """Forget every login session of the bootstrap admin made with a token other than the one of
        ``fingerprint`` (None: all of them); writes only when there is one to forget."""
        s = login_sessions.c
        other = sa.and_(s.user_id.is_(None), s.token_fingerprint != fingerprint if fingerprint else sa.true())
        with self.connect() as conn:
            if conn.execute(sa.select(s.digest).where(other).limit(1)).first() is None:
                return
        with self.transaction() as conn:
            conn.execute(login_sessions.delete().where(other))

    def login_session(self, digest: str, now: dt.datetime) -> sa.RowMapping | None:
        """The live session ``digest`` at ``now``: ``user_id`` and ``token_fingerprint``, and for an
        account's its ``name``, ``role`` and ``disabled``; None when it ended or never was."""
        s, u = login_sessions.c, users.c
        with self.connect() as conn:
            return (
                conn.execute(
                    sa.select(s.user_id, s.token_fingerprint, u.name, u.role, u.disabled)
                    .select_from(login_sessions.outerjoin(users, u.id == s.user_id))
                    .where(s.digest == digest, s.expires_at > now)
                )
                .mappings()
                .first()
            )

    def end_login(self, digest: str) -> None:
        """Forget the session ``digest`` (a logout)."""
        with self.transaction() as conn:
            conn.execute(login_sessions.delete().where(login_sessions.c.digest == digest))

    def end_logins_of(self, user_id: int | None) -> int:
        """Forget every session of the account ``user_id`` (None: of the bootstrap admin): logging
        out everywhere. Returns how many there were."""
        s = login_sessions.c
        with self.transaction() as conn:
            return conn.execute(
                login_sessions.delete().where(s.user_id.is_(None) if user_id is None else s.user_id == user_id)
            ).rowcount

    # -- accounts and their tokens (webmap.roles, webmap.accounts) ---------------------------
    def has_accounts(self) -> bool:
        """Whether the database has any account (without, the bootstrap admin is alone)."""
        with self.connect() as conn:
            return conn.execute(sa.select(users.c.id).limit(1)).first() is not None

    def account(self, name: str) -> sa.RowMapping | None:
        """The account ``name``: ``id``, ``name``, ``role``, ``password_hash``, ``disabled``,
        ``created_at``, ``last_login_at``; None when there is none."""
        with self.connect() as conn:
            return conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()

    def accounts(self, *, by: Actor) -> list[dict[str, Any]]:
        """Every account, by name (``by`` needs ``users``): ``name``, ``role``, ``disabled``,
        ``created_at``, ``last_login_at`` and ``tokens`` (live ones); never the password's hash."""
        authorize(by, "users")
        u, t = users.c, api_tokens.c
        live = sa.select(sa.func.count()).where(t.user_id == u.id, t.revoked_at.is_(None)).scalar_subquery()
        with self.connect() as conn:
            rows = conn.execute(
                sa.select(u.name, u.role, u.disabled, u.created_at, u.last_login_at, live.label("tokens")).order_by(
                    u.name
                )
            )
            return [dict(row) for row in rows.mappings()]

    def add_account(self, name: str, role: str, password_hash: str, *, by: Actor) -> None:
        """Add the account ``name`` with ``role`` and the hash of its password (``by`` needs
        ``users``); :class:`Conflict` when the name is taken."""
        authorize(by, "users")
        with self.transaction() as conn:
            if conn.execute(sa.select(users.c.id).where(users.c.name == name)).first() is not None:
                raise Conflict(f"name: an account named {name!r} exists already")
            conn.execute(
                users.insert().values(
                    name=name, role=role, password_hash=password_hash, disabled=False, created_at=_now()
                )
            )
            _log(conn, "account_added", by.name, target=name, detail=f"role {role}")

    def _account_row(self, conn: Connection, name: str) -> sa.RowMapping:
        row = conn.execute(sa.select(users).where(users.c.name == name)).mappings().first()
        if row is None:
            raise NotFound(f"no account named {name!r}")
        return row

    def _keep_an_admin(self, conn: Connection, name: str) -> None:
        """:class:`Conflict` when the account ``name`` is the last enabled admin account."""
        u = users.c
        others = conn.execute(
            sa.select(sa.func.count()).where(u.role == "admin", u.disabled.is_(False), u.name != name)
        ).scalar_one()
        if not others:
            raise Conflict(f"{name} is the last admin account: make another account admin first")

    def set_role(self, name: str, role: str, *, by: Actor) -> None:
        """Give the account ``name`` the role ``role`` (``by`` needs ``users``); it holds from the
        account's next request. :class:`Conflict` when that would leave no admin account."""
        authorize(by, "users")
        with self.transaction() as conn:
            row = self._account_row(conn, name)
            if row["role"] == "admin" and role != "admin" and not row["disabled"]:
                self._keep_an_admin(conn, name)
            conn.execute(users.update().where(users.c.id == row["id"]).values(role=role))
            _log(conn, "role_set", by.name, target=name, detail=f"{row['role']} -> {role}")

    def set_disabled(self, name: str, disabled: bool, *, by: Actor) -> None:
        """Disable (or enable again) the account ``name`` (``by`` needs ``users``): a disabled
        account's sessions end at once and its tokens are refused. :class:`Conflict` when that
        would leave no admin account."""
        authorize(by, "users")
        with self.transaction() as conn:
            row = self._account_row(conn, name)
            if disabled and row["role"] == "admin" and not row["disabled"]:
                self._keep_an_admin(conn, name)
            conn.execute(users.update().where(users.c.id == row["id"]).values(disabled=disabled))
            if disabled:
                conn.execute(login_sessions.delete().where(login_sessions.c.user_id == row["id"]))
            _log(conn, "account_disabled" if disabled else "account_enabled", by.name, target=name)

    def set_password(self, name: str, password_hash: str, *, by: Actor) -> None:
        """Give the account ``name`` a new password (its hash; ``by`` needs ``users``): every
        session of the account ends."""
        authorize(by, "users")
        with self.transaction() as conn:
            row = self._account_row(conn, name)
            conn.execute(users.update().where(users.c.id == row["id"]).values(password_hash=password_hash))
            conn.execute(login_sessions.delete().where(login_sessions.c.user_id == row["id"]))
            _log(conn, "password_reset", by.name, target=name)

    def _authorize_tokens_of(self, by: Actor, name: str) -> None:
        """Anyone manages their own tokens (``tokens``); an admin anyone's (``users``)."""
        authorize(by, "tokens" if by.name == name and not by.bootstrap else "users")

    def create_token(
        self,
        name: str,
        token_id: str,
        digest: str,
        *,
        by: Actor,
        label: str | None = None,
        expires_at: dt.datetime | None = None,
    ) -> None:
        """Keep a new personal token of the account ``name``: its public ``token_id`` and its
        ``digest`` (:func:`webmap.accounts.new_token`), a ``label``, when it expires (UTC; None: never)."""
        self._authorize_tokens_of(by, name)
        if label is not None and len(label) > 100:
            raise InvalidRecord("label", "longer than 100 characters")
        with self.transaction() as conn:
            row = self._account_row(conn, name)
            if row["disabled"]:
                raise Conflict(f"the account {name} is disabled: enable it before giving it a token")
            conn.execute(
                api_tokens.insert().values(
                    token_id=token_id,
                    digest=digest,
                    user_id=row["id"],
                    label=label,
                    created_at=_now(),
                    created_by=by.name,
                    expires_at=expires_at,
                )
            )
            _log(conn, "token_created", by.name, target=name, detail=f"token {token_id}")

    def tokens(self, name: str | None = None, *, by: Actor) -> list[dict[str, Any]]:
        """The personal tokens (of the account ``name``, or of all), newest first, as ``by`` may
        see them (their own; an admin's anyone's): ``token_id``, ``user``, ``label``,
        ``created_at``, ``created_by``, ``expires_at``, ``last_used_at``, ``revoked_at``; never
        the token or its digest."""
        if name is None:
            authorize(by, "users")
        else:
            self._authorize_tokens_of(by, name)
        t, u = api_tokens.c, users.c
        stmt = (
            sa.select(
                t.token_id,
                u.name.label("user"),
                t.label,
                t.created_at,
                t.created_by,
                t.expires_at,
                t.last_used_at,
                t.revoked_at,
            )
            .select_from(api_tokens.join(users, u.id == t.user_id))
            .order_by(t.created_at.desc(), t.token_id)
        )
        if name is not None:
            stmt = stmt.where(u.name == name)
        with self.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    def token_record(self, token_id: str) -> sa.RowMapping | None:
        """The token ``token_id`` with its account: ``digest``, ``expires_at``, ``revoked_at``,
        ``user_id``, ``name``, ``role``, ``disabled``; None when there is none."""
        t, u = api_tokens.c, users.c
        with self.connect() as conn:
            return (
                conn.execute(
                    sa.select(t.token_id, t.digest, t.expires_at, t.revoked_at, t.last_used_at, u.id.label("user_id"))
                    .add_columns(u.name, u.role, u.disabled)
                    .select_from(api_tokens.join(users, u.id == t.user_id))
                    .where(t.token_id == token_id)
                )
                .mappings()
                .first()
            )

    def revoke_token(self, token_id: str, *, by: Actor) -> None:
        """Revoke the token ``token_id`` (its owner, or an admin): refused from then on.
        :class:`NotFound`, :class:`Conflict` when it is revoked already."""
        record = self.token_record(token_id)
        if record is None:
            raise NotFound(f"no token {token_id!r}")
        self._authorize_tokens_of(by, record["name"])
        with self.transaction() as conn:
            done = conn.execute(
                api_tokens.update()
                .where(api_tokens.c.token_id == token_id, api_tokens.c.revoked_at.is_(None))
                .values(revoked_at=_now())
            ).rowcount
            if not done:
                raise Conflict(f"token {token_id} is revoked already")
            _log(conn, "token_revoked", by.name, target=record["name"], detail=f"token {token_id}")

    def note_token_use(self, token_id: str, now: dt.datetime, last_used: dt.datetime | None) -> None:
        """Remember that the token ``token_id`` was used at ``now`` (written at most once a minute a token)."""
        if last_used is not None and now - last_used < dt.timedelta(minutes=1):
            return
        with self.transaction() as conn:
            conn.execute(api_tokens.update().where(api_tokens.c.token_id == token_id).values(last_used_at=now))

    # -- the auth log ------------------------------------------------------------------------
    def log_auth(
        self,
        event: str,
        *,
        actor: str | None = None,
        address: str | None = None,
        target: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Append one event to the auth log (a login, a logout, a refusal), in its own transaction."""
        with self.transaction() as conn:
            _log(conn, event, actor, address=address, target=target, detail=detail)

    def auth_events(self, limit: int = 100, *, actor: str | None = None) -> list[dict[str, Any]]:
        """The newest ``limit`` events of the auth log (of ``actor``, when given), newest first."""
        stmt = sa.select(auth_log).order_by(auth_log.c.id.desc()).limit(limit)
        if actor is not None:
            stmt = stmt.where(auth_log.c.actor == actor)
        with self.connect() as conn:
            return [dict(row) for row in conn.execute(stmt).mappings()]

    def login_failures(self, keys: list[str], window_start: dt.datetime) -> list[tuple[str, int, dt.datetime]]:
        """``(key, failures, since)`` of each of ``keys`` whose count started at or after ``window_start``."""
        f = login_failures.c
        with self.connect() as conn:
            rows = conn.execute(sa.select(f.key, f.failures, f.since).where(f.key.in_(keys), f.since >= window_start))
            return [(row.key, row.failures, row.since) for row in rows]

    def count_login_failure(self, keys: list[str], now: dt.datetime, window_start: dt.datetime) -> None:
        """Count one failed login for each of ``keys``; a count older than ``window_start`` starts again at ``now``."""
        f = login_failures.c
        with self.transaction() as conn:
            for key in keys:
                since = conn.execute(sa.select(f.since).where(f.key == key)).scalar()
                if since is None:
                    conn.execute(login_failures.insert().values(key=key, failures=1, since=now))
                elif since < window_start:
                    conn.execute(login_failures.update().where(f.key == key).values(failures=1, since=now))
                else:
                    conn.execute(login_failures.update().where(f.key == key).values(failures=f.failures + 1))

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
