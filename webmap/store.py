"""The incident store: the one module that opens the database and writes to it.

SQLite by default (file path in :mod:`webmap.config`), PostgreSQL with PostGIS when ``WEBMAP_DB``
is a ``postgresql://`` URL; the same SQLAlchemy Core tables serve both. The schema is created on
first use. Spatial index: on PostGIS a ``geom`` point column (kept in step with latitude/longitude
by a trigger) with a GiST index; on SQLite an R*Tree table that the store fills after each insert
(in bulk: much faster than a per-row trigger) and triggers keep in step on update and delete.

Writes happen in :meth:`IncidentStore.transaction`: on SQLite it takes the write lock at once
(``BEGIN IMMEDIATE``) and a second writer waits for it (up to ``busy_timeout``); on PostgreSQL an
advisory lock serialises imports. Either way an import is one transaction: all rows or none.
Reads (filters, aggregates) live in :mod:`webmap.query`.

Each row also carries ``map_point``: the numbers the map draws (:data:`MAP_POINT`), packed by the
store whenever it writes the row, so the map's query reads two values per incident instead of seven
(a third of the CPU for 100,000 incidents). They are rebuilt when their format changes.
"""

from __future__ import annotations

import datetime as dt
import functools
import struct
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError, OperationalError, SQLAlchemyError

from .errors import ConfigError, DuplicateRecord, NotFound, WebmapError
from .forces import FORCE_KEYS, OTHER
from .records import FIELD_SPECS, FIELDS, FieldSpec, Incident

metadata = sa.MetaData()

# SQL column types of the record's field kinds (webmap.records.FIELD_SPECS).
_SQL_TYPES = {
    "int": sa.Integer,
    "count": sa.Integer,
    "float": sa.Float,
    "code": sa.SmallInteger,
    "date": sa.Date,
    "datetime": sa.DateTime,
    "bool": sa.Boolean,
}
# Texts longer than this are stored as TEXT, not VARCHAR(n).
_LONGEST_VARCHAR = 2000


def _column(name: str, spec: FieldSpec) -> sa.Column:
    if name == "id":
        return sa.Column("id", sa.Integer, primary_key=True, autoincrement=True)
    kind: sa.types.TypeEngine | type[sa.types.TypeEngine]
    if spec.kind == "text":
        kind = sa.String(spec.length) if spec.length and spec.length <= _LONGEST_VARCHAR else sa.Text
    else:
        kind = _SQL_TYPES[spec.kind]
    return sa.Column(name, kind, nullable=spec.nullable, default=spec.default)


incidents = sa.Table(
    "incidents",
    metadata,
    *(_column(name, FIELD_SPECS[name]) for name in FIELDS),
    sa.Column("map_point", sa.LargeBinary),  # MAP_POINT of the row, written with it
    sa.UniqueConstraint("source", "source_id", name="uq_incidents_source_id"),
    sa.Index("ix_incidents_event_date", "event_date"),
    sa.Index("ix_incidents_force1", "force1"),
    sa.Index("ix_incidents_force2", "force2"),
    sa.Index("ix_incidents_admin1_pcode", "admin1_pcode"),
    sa.Index("ix_incidents_admin2_pcode", "admin2_pcode"),
    sa.Index("ix_incidents_status_date", "status", "event_date"),
    # Covers the map's points of every view without a narrower filter (webmap.query.point_columns):
    # read in id order straight from the index, not from rows fetched and then sorted.
    sa.Index("ix_incidents_map_points", "status", "id", "map_point"),
)
# Indexes earlier versions made that no reader uses any more.
_RETIRED = ("DROP INDEX IF EXISTS ix_incidents_points", "DROP INDEX IF EXISTS ix_incidents_updated_at")

# What the map draws of one incident: longitude, latitude (degrees), day (since 1970-01-01),
# fatalities, force index (in FORCE_KEYS, of the first actor's force, else the second's, else
# "other") and geo_precision. MAP_FORMAT names the layout and the force order, so a change to
# either makes the store rebuild every row's record.
MAP_POINT = struct.Struct("<ffiIBB")
MAP_POINT_DTYPE = np.dtype(
    [
        ("longitude", "<f4"),
        ("latitude", "<f4"),
        ("day", "<i4"),
        ("fatalities", "<u4"),
        ("force", "u1"),
        ("geo_precision", "u1"),
    ]
)
MAP_FORMAT = f"{MAP_POINT.format} {','.join(FORCE_KEYS)}"
MAP_POINT_COLUMNS = ("longitude", "latitude", "event_date", "fatalities", "force1", "force2", "geo_precision")
_FORCE_INDEX = {key: i for i, key in enumerate(FORCE_KEYS)}
_EPOCH = dt.date(1970, 1, 1).toordinal()


def map_point(
    longitude: float,
    latitude: float,
    event_date: dt.date,
    fatalities: int,
    force1: str | None,
    force2: str | None,
    geo_precision: int,
) -> bytes:
    """The :data:`MAP_POINT` record of an incident's values (in :data:`MAP_POINT_COLUMNS` order)."""
    force = _FORCE_INDEX.get(force1 or force2 or OTHER, _FORCE_INDEX[OTHER])
    return MAP_POINT.pack(longitude, latitude, event_date.toordinal() - _EPOCH, fatalities, force, geo_precision)


# One row (id 1): a number that every write transaction through the store raises by one, so
# readers learn whether anything changed with one primary-key lookup (webmap.query.data_version),
# not a count of the whole table.
incidents_version = sa.Table(
    "incidents_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("map_format", sa.String(200)),  # MAP_FORMAT of the stored map_point records
)

# Columns compared to decide whether a re-imported row changed.
CONTENT_COLUMNS = tuple(c for c in FIELDS if c not in ("id", "created_at", "updated_at"))

_SQLITE_SPATIAL = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS incidents_rtree USING rtree(id, min_lon, max_lon, min_lat, max_lat)",
    # New rows enter the R*Tree in one statement after each insert (IncidentStore._index_new_points):
    # a per-row insert trigger interleaves R*Tree pages with the table's and made imports 3x slower.
    "DROP TRIGGER IF EXISTS incidents_rtree_insert",
    """CREATE TRIGGER IF NOT EXISTS incidents_rtree_update AFTER UPDATE OF latitude, longitude ON incidents BEGIN
         UPDATE incidents_rtree SET min_lon = NEW.longitude, max_lon = NEW.longitude,
                                    min_lat = NEW.latitude, max_lat = NEW.latitude WHERE id = NEW.id;
       END""",
    """CREATE TRIGGER IF NOT EXISTS incidents_rtree_delete AFTER DELETE ON incidents BEGIN
         DELETE FROM incidents_rtree WHERE id = OLD.id;
       END""",
)
_POSTGIS_SPATIAL = (
    "CREATE EXTENSION IF NOT EXISTS postgis",
    "ALTER TABLE incidents ADD COLUMN IF NOT EXISTS geom geometry(Point, 4326)",
    "CREATE INDEX IF NOT EXISTS ix_incidents_geom ON incidents USING GIST (geom)",
    """CREATE OR REPLACE FUNCTION incidents_set_geom() RETURNS trigger AS $$
       BEGIN NEW.geom := ST_SetSRID(ST_MakePoint(NEW.longitude, NEW.latitude), 4326); RETURN NEW; END
       $$ LANGUAGE plpgsql""",
    "DROP TRIGGER IF EXISTS incidents_geom ON incidents",
    """CREATE TRIGGER incidents_geom BEFORE INSERT OR UPDATE OF latitude, longitude ON incidents
       FOR EACH ROW EXECUTE FUNCTION incidents_set_geom()""",
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
    data = {name: row[name] for name in FIELDS}
    if data["disputed"] is not None:
        data["disputed"] = bool(data["disputed"])
    return Incident(**data)


def _values(incident: Incident) -> dict:
    values = {name: getattr(incident, name) for name in CONTENT_COLUMNS}
    values["map_point"] = map_point(*(values[name] for name in MAP_POINT_COLUMNS))
    return values


def _check_id(incident_id: int) -> None:
    """:class:`NotFound` for an id no row can have (the driver would overflow on it)."""
    if not 0 < incident_id <= MAX_ID:
        raise NotFound(f"incident {incident_id} does not exist")


def _create_engine(url: str) -> Engine:
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
        engine = sa.create_engine(url, connect_args={"timeout": 60, "check_same_thread": False})
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        sa.event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    try:
        return sa.create_engine(url, pool_pre_ping=True)
    except (NoSuchModuleError, ImportError) as exc:
        raise ConfigError("WEBMAP_DB", f"unsupported database URL {parsed.drivername!r}: {exc}") from None


def _sqlite_on_connect(dbapi_conn, _record) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN, so writers can ask for BEGIN IMMEDIATE.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=60000")
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


def _changed(conn: Connection) -> None:
    """Note that ``conn``'s transaction wrote incidents (see :meth:`IncidentStore.transaction`)."""
    conn.info["webmap_changed"] = True


class IncidentStore:
    """The incident database behind a SQLAlchemy URL; creates its schema on first use.

    Raises :class:`ConfigError` naming ``WEBMAP_DB`` when the URL is malformed or the database
    cannot be opened or written.
    """

    def __init__(self, url: str):
        self.url = url
        self.engine = _create_engine(url)
        self.dialect = self.engine.dialect.name
        self._ensure_schema()
        self._refresh_map_points()

    def _ensure_schema(self) -> None:
        try:
            with self.engine.begin() as conn:
                metadata.create_all(conn)
                # Columns a database made by an earlier webmap lacks (create_all adds only tables).
                for table, column in ((incidents, "map_point"), (incidents_version, "map_format")):
                    if column not in _column_names(conn, table.name):
                        kind = table.c[column].type.compile(dialect=conn.dialect)
                        conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column} {kind}")
                for statement in _RETIRED:
                    conn.exec_driver_sql(statement)
                for index in incidents.indexes:  # a database made by an older webmap gets new indexes too
                    index.create(conn, checkfirst=True)
                for statement in _SQLITE_SPATIAL if self.dialect == "sqlite" else _POSTGIS_SPATIAL:
                    conn.exec_driver_sql(statement)
                # Only when missing: a needless write would make every process's start a writer.
                if conn.execute(sa.select(incidents_version.c.id)).first() is None:
                    conn.exec_driver_sql(
                        "INSERT INTO incidents_version (id, version) VALUES (1, 0) ON CONFLICT DO NOTHING"
                    )
        except SQLAlchemyError as exc:
            # The driver's own message, first line: SQLAlchemy's adds the SQL and a link on more lines.
            orig = getattr(exc, "orig", None)
            reason = (str(orig or exc).strip().splitlines() or [type(exc).__name__])[0]
            verb = "open" if isinstance(exc, OperationalError) else "prepare"
            raise ConfigError("WEBMAP_DB", f"cannot {verb} the database {self.safe_url}: {reason}") from None

    def _refresh_map_points(self, batch: int = 10_000) -> None:
        """Write every row's ``map_point`` again when the stored ones have another format (a
        database made by an earlier webmap, or the forces list changed), in one transaction."""
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
            while rows := conn.execute(
                sa.select(c.id, *(c[n] for n in MAP_POINT_COLUMNS)).where(c.id > last).order_by(c.id).limit(batch)
            ).all():
                conn.execute(
                    incidents.update().where(c.id == sa.bindparam("_id")).values(map_point=sa.bindparam("_point")),
                    [{"_id": row[0], "_point": map_point(*row[1:])} for row in rows],
                )
                last = rows[-1][0]
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

        Concurrent writers wait for each other instead of interleaving; a SQLite writer that has
        waited ``busy_timeout`` in vain gets a :class:`WebmapError` (nothing written). A transaction
        that wrote any incident raises ``incidents_version`` by one, in the same commit.
        """
        with self.engine.connect().execution_options(webmap_write=True) as conn:
            try:
                transaction = conn.begin()
            except OperationalError as exc:
                if "locked" not in str(exc.orig):
                    raise
                raise WebmapError(
                    "the database is busy: another import or edit has been writing to it for too long; "
                    "nothing written, try again"
                ) from None
            with transaction:
                if self.dialect == "postgresql":
                    conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_WRITE_LOCK})
                conn.info["webmap_inserted"] = conn.info["webmap_analyzed"] = 0
                conn.info["webmap_changed"] = False
                yield conn
                if conn.info["webmap_changed"]:
                    conn.execute(
                        incidents_version.update()
                        .where(incidents_version.c.id == 1)
                        .values(version=incidents_version.c.version + 1)
                    )

    # -- writes -----------------------------------------------------------------------------
    def save_batch(self, conn: Connection, batch: list[Incident], *, update: bool = False) -> SaveSummary:
        """Insert ``batch`` inside ``conn``'s transaction, idempotent on ``source`` + ``source_id``.

        A row whose (source, source_id) is already stored is left alone (``unchanged``; counted in
        ``differing`` too when its content differs), or, with ``update``, replaced when any content
        column differs (``updated``).
        """
        summary = SaveSummary()
        now = _now()
        existing: dict[tuple, dict] = {}
        by_source: dict[str | None, list[str]] = {}
        for inc in batch:
            if inc.source_id is not None:
                by_source.setdefault(inc.source, []).append(inc.source_id)
        for source, ids in by_source.items():
            source_clause = incidents.c.source.is_(None) if source is None else incidents.c.source == source
            for start in range(0, len(ids), 900):
                chunk = ids[start : start + 900]
                rows = conn.execute(
                    sa.select(incidents).where(source_clause, incidents.c.source_id.in_(chunk))
                ).mappings()
                for row in rows:
                    existing[(row["source"], row["source_id"])] = dict(row)
        inserts, updates = [], []
        for inc in batch:
            values = _values(inc)
            old = existing.get((inc.source, inc.source_id)) if inc.source_id is not None else None
            if old is None:
                inserts.append({**values, "created_at": now, "updated_at": now})
                if inc.source_id is not None:
                    existing[(inc.source, inc.source_id)] = values
            elif any(old[k] != v for k, v in values.items()):
                if update:
                    updates.append({**values, "updated_at": now, "_id": old["id"]})
                else:
                    summary.unchanged += 1
                    summary.differing += 1
            else:
                summary.unchanged += 1
        if inserts:
            last_id = self._last_id(conn) if self.dialect == "sqlite" else 0
            self._insert_rows(conn, inserts)
            self._index_new_points(conn, last_id)
            self._refresh_statistics(conn, len(inserts))
            summary.inserted = len(inserts)
        if updates:
            stmt = incidents.update().where(incidents.c.id == sa.bindparam("_id"))
            conn.execute(stmt, updates)
            summary.updated = len(updates)
        if inserts or updates:
            _changed(conn)
        return summary

    def add(self, incident: Incident) -> Incident:
        """Store one new incident; returns it with its id and timestamps.

        :class:`DuplicateRecord` when another stored incident has its ``source`` and ``source_id``.
        """
        now = _now()
        with self._unique_source_id(incident), self.transaction() as conn:
            result = conn.execute(incidents.insert().values(**_values(incident), created_at=now, updated_at=now))
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # an insert has its key
            self._index_new_points(conn, new_id - 1)
            _changed(conn)
        return self.get(new_id)

    @contextmanager
    def _unique_source_id(self, incident: Incident) -> Iterator[None]:
        """Turn the unique constraint on ``source`` + ``source_id`` failing inside the block (rolled
        back) into a :class:`DuplicateRecord` naming the incident that holds the pair."""
        try:
            yield
        except IntegrityError:
            source = incidents.c.source
            with self.connect() as conn:
                holder = conn.execute(
                    sa.select(incidents.c.id).where(
                        source.is_(None) if incident.source is None else source == incident.source,
                        incidents.c.source_id == incident.source_id,
                    )
                ).scalar()
            if holder is None or incident.source_id is None:
                raise
            raise DuplicateRecord(incident.source, incident.source_id, holder) from None

    @staticmethod
    def _last_id(conn: Connection) -> int:
        return conn.execute(sa.select(sa.func.coalesce(sa.func.max(incidents.c.id), 0))).scalar_one()

    def _insert_rows(self, conn: Connection, rows: list[dict]) -> None:
        """Insert many rows (dicts with the same keys) on the transaction's own connection."""
        columns = list(rows[0])
        if self.dialect == "sqlite":
            # The driver's executemany: SQLAlchemy's per-row parameter processing cost a third of
            # the writing. Values are stored as SQLAlchemy stores them (ISO dates, its datetime format).
            dates = [(i, _SQLITE_DATES[name]) for i, name in enumerate(columns) if name in _SQLITE_DATES]
            values = []
            for row in rows:
                value = list(row.values())
                for i, convert in dates:
                    if value[i] is not None:
                        value[i] = convert(value[i])
                values.append(value)
            placeholders = ", ".join("?" * len(columns))
            _driver(conn).executemany(f"INSERT INTO incidents ({', '.join(columns)}) VALUES ({placeholders})", values)
            return
        # PostgreSQL: COPY: twice as fast as pipelined INSERTs, and the geom trigger still fires for every row.
        with _driver(conn).cursor() as cursor:
            with cursor.copy(f"COPY incidents ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([row[name] for name in columns])

    def _refresh_statistics(self, conn: Connection, inserted: int) -> None:
        # PostgreSQL plans the id lookups of the next batch from statistics that know nothing of the
        # rows this transaction inserted: a big import into a young table would look ids up by
        # scanning, ever slower. ANALYZE (it sees our own rows) each time the inserted rows double.
        if self.dialect != "postgresql":
            return
        info = conn.info
        info["webmap_inserted"] = info.get("webmap_inserted", 0) + inserted
        if info["webmap_inserted"] >= 2 * max(info.get("webmap_analyzed", 0), 2_500):
            conn.exec_driver_sql("ANALYZE incidents (source, source_id)")
            info["webmap_analyzed"] = info["webmap_inserted"]

    def _index_new_points(self, conn: Connection, after_id: int) -> None:
        """Add the rows with an id above ``after_id`` to SQLite's R*Tree (PostGIS keeps its own index)."""
        if self.dialect == "sqlite":
            conn.exec_driver_sql(
                "INSERT INTO incidents_rtree SELECT id, longitude, longitude, latitude, latitude "
                "FROM incidents WHERE id > ?",
                (after_id,),
            )

    def replace(self, incident_id: int, incident: Incident) -> Incident:
        """Overwrite the stored incident ``incident_id`` with ``incident``'s values; :class:`NotFound`
        if there is none, :class:`DuplicateRecord` when another incident has its ``source`` and ``source_id``."""
        _check_id(incident_id)
        with self._unique_source_id(incident), self.transaction() as conn:
            result = conn.execute(
                incidents.update().where(incidents.c.id == incident_id).values(**_values(incident), updated_at=_now())
            )
            if result.rowcount == 0:
                raise NotFound(f"incident {incident_id} does not exist")
            _changed(conn)
        return self.get(incident_id)

    def delete(self, incident_id: int) -> None:
        """Remove incident ``incident_id``; :class:`NotFound` if there is none."""
        _check_id(incident_id)
        with self.transaction() as conn:
            if conn.execute(incidents.delete().where(incidents.c.id == incident_id)).rowcount == 0:
                raise NotFound(f"incident {incident_id} does not exist")
            _changed(conn)

    def get(self, incident_id: int) -> Incident:
        """The stored incident ``incident_id``; :class:`NotFound` if there is none."""
        _check_id(incident_id)
        with self.connect() as conn:
            row = conn.execute(sa.select(incidents).where(incidents.c.id == incident_id)).mappings().first()
        if row is None:
            raise NotFound(f"incident {incident_id} does not exist")
        return row_to_incident(row)

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

    def update_admin_areas(self, conn: Connection, assignments: list[dict]) -> int:
        """Write re-joined admin areas: each dict has ``id`` and the admin*/disputed columns."""
        if not assignments:
            return 0
        names = [k for k in assignments[0] if k != "id"]
        stmt = (
            incidents.update()
            .where(incidents.c.id == sa.bindparam("_id"))
            .values({name: sa.bindparam(name) for name in names})
        )
        conn.execute(stmt, [{**{k: a[k] for k in names}, "_id": a["id"]} for a in assignments])
        _changed(conn)
        return len(assignments)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()
