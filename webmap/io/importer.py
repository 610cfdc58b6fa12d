"""The import pipeline: one file in, every row checked, all rows stored or none.

:func:`import_file` is what ``webmap import``, the web upload form and ``webmap demo`` call.
Per row: the format's reader maps its columns to record fields (:data:`IMPORTERS`). Per batch of
:data:`BATCH` rows: the records are checked as at every other door, column by column
(:func:`webmap.intake.check_batch`, the batch form of :func:`webmap.intake.check_values`:
validated, both actors given their force; unknown actors map to ``other`` and are listed in the
summary; a refused row gets the error it would get alone), duplicate ids inside the file are
refused, and the incidents are placed in their governorates, districts and sub-districts by the
one placement rule (:func:`webmap.spatial.place_incidents`, with the levels the source vouches
for) and written.
The checked and placed rows are staged (:meth:`webmap.store.IncidentStore.staging`: no write
lock taken, nothing visible; on PostgreSQL the new rows go on into the incidents, uncommitted) and
merged into the incidents in one short write transaction at the end, so the web's writers wait
only for that merge, never for the reading and checking. One bad row anywhere means an
:class:`~webmap.errors.ImportFailed` listing the bad rows (see :class:`~webmap.errors.BadRows`)
before anything is merged, so the database is exactly as before.

A row without coordinates is geocoded by its place name and the district and governorate it
states (:func:`webmap.intake.geocode_values`, ``geocode`` its mode). A row the gazetteer cannot
place surely enough is not imported but listed (``ImportSummary.unplaced``, written out by
:func:`write_review`), unless ``strict``: then it is a bad row and nothing is written.

Idempotency rests on ``source`` + ``source_id``: importing a file again adds nothing, and with
``update=True`` changed rows are replaced. Rows that carry no ``source_id`` (a spreadsheet without
an id column, an incident typed into the form and exported) get one made from their content,
``sha1:<16 hex digits>`` (``-2``, ``-3`` ... for identical rows within the file, which are
taken to be distinct events), so re-importing the same rows still adds nothing; an edited row
then counts as a new incident.
"""

from __future__ import annotations

import csv as csv_module
import gc
import hashlib
import operator
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from .. import spatial
from ..errors import BadRows, InvalidRecord, UnplacedRecord
from ..gazetteer.resolve import MIN_PLACE_SCORE
from ..intake import check_batch, geocode_values, may_geocode
from ..records import FIELDS, IRAQ, STORE_KEPT_FIELDS, AreaOfInterest, Incident
from ..roles import Actor, authorize, may
from ..store import IncidentStore, SaveSummary
from . import acled, csv, geojson, ucdp
from .readers import RowStream, open_csv, refuse

IMPORTERS: dict[str, Callable[..., RowStream]] = {
    "acled": acled.open_rows,
    "ucdp": ucdp.open_rows,
    "geojson": geojson.open_rows,
    "csv": csv.open_rows,
}
BATCH = 5_000
# Imports of files larger than this show a progress bar (about 2,000 ACLED rows).
PROGRESS_BYTES = 1_000_000
# The gazetteer's match (place_id, place_score) is left out: content ids stay those of earlier webmaps.
_DIGEST_VALUES = operator.attrgetter(
    *(f for f in FIELDS if f not in (*STORE_KEPT_FIELDS, "source_id", "place_id", "place_score", *spatial.ADMIN_FIELDS))
)
REVIEW_COLUMNS = ("row", "location", "admin2", "admin1", "best_candidate", "place_id", "score", "why")


@dataclass
class ImportSummary(SaveSummary):
    """What an import did: the store's counts, plus ``unassigned``: rows not joined to any district,
    ``geocoded``: rows placed by their place name, ``unplaced``: rows left out because the gazetteer
    could not place them (each an :class:`~webmap.errors.UnplacedRecord` with its row number),
    ``as_drafts``: the rows were imported as drafts (the importer's role may not review)."""

    rows: int = 0
    unassigned: int = 0
    geocoded: int = 0
    unplaced: list[UnplacedRecord] = field(default_factory=list)
    unknown_actors: Counter = field(default_factory=Counter)
    read_as: str = ""
    ignored_columns: list[str] = field(default_factory=list)
    as_drafts: bool = False

    def lines(self) -> list[str]:
        """The summary as a user reads it, one fact per line."""
        out = [
            f"{self.rows} rows read ({self.read_as}): {self.inserted} inserted, {self.updated} updated, "
            f"{self.unchanged} unchanged; {self.unassigned} not in any district"
        ]
        if self.as_drafts:
            out.append("imported as drafts: a reviewer marks them reviewed in the review queue (/review)")
        if self.differing:
            out.append(
                f"{self.differing} of the unchanged differ from the stored incident (same source and id) "
                "and were not written: import again with --update to replace them"
            )
        if self.geocoded:
            out.append(f"{self.geocoded} rows placed by their place name (geocoded)")
        if self.unplaced:
            listed = "; ".join(str(u) for u in self.unplaced[:5])
            rest = f" and {len(self.unplaced) - 5} more" if len(self.unplaced) > 5 else ""
            out.append(f"{len(self.unplaced)} rows not imported, the gazetteer could not place them: {listed}{rest}")
        if self.unknown_actors:
            shown = ", ".join(f"{name} ({n})" for name, n in self.unknown_actors.most_common(15))
            more = len(self.unknown_actors) - 15
            out.append(f"unknown actors, mapped to force 'other': {shown}" + (f" and {more} more" if more > 0 else ""))
        if self.ignored_columns:
            out.append(f"ignored columns: {', '.join(self.ignored_columns)}")
        return out


def detect_format(path: Path | str, encoding: str | None = None) -> str:
    """The import format of a file: ``geojson`` by extension, else ``acled``/``ucdp`` by their
    key columns, else the generic ``csv``."""
    path = Path(path)
    if path.suffix.lower() in (".geojson", ".json"):
        return "geojson"
    columns = {c.lower() for c in open_csv(path, encoding=encoding).columns}
    if "event_id_cnty" in columns:
        return "acled"
    if {"type_of_violence", "where_prec", "date_prec"} <= columns:
        return "ucdp"
    return "csv"


def import_file(
    store: IncidentStore,
    path: Path | str,
    fmt: str | None = None,
    *,
    column_map: Mapping[str, str] | None = None,
    update: bool = False,
    encoding: str | None = None,
    progress: bool | None = None,
    area: AreaOfInterest = IRAQ,
    geodata_dir: Path | str | None = None,
    geocode: str = "missing",
    min_score: float = MIN_PLACE_SCORE,
    strict: bool = False,
    gazetteer_path: Path | str | None = None,
    by: Actor,
    reason: str | None = None,
) -> ImportSummary:
    """Import every row of ``path`` into ``store`` as ``by``: all of them, or nothing.

    ``by`` needs the ``import`` permission; the rows of someone who may not ``review`` (an
    analyst) are imported as drafts, whatever the file says (``summary.as_drafts``). ``reason``:
    why an ``update`` changes reviewed incidents (required then).

    ``fmt`` is a key of :data:`IMPORTERS` (None: :func:`detect_format`); ``column_map`` maps
    file columns to record fields (``csv``, ``geojson``); ``update`` replaces stored rows whose
    content changed; ``encoding`` overrides detection; ``progress`` True/False forces the
    progress bar on stderr on or off (None: on for files over about 1 MB when stderr is a
    terminal); ``area`` is the area of interest every point must fall in; ``geodata_dir`` the
    folder of replacement boundary layers (default ``WEBMAP_GEODATA``). ``geocode`` (never,
    missing, always), ``min_score`` and ``gazetteer_path``: how rows are geocoded (see
    :func:`webmap.intake.geocode_values`); a row that cannot be placed is listed in the summary's
    ``unplaced`` and left out, or with ``strict`` refused like a bad row.
    Raises :class:`~webmap.errors.ImportFailed` (nothing written) for an unreadable file or any bad
    row, :class:`~webmap.errors.StoreBusy` (nothing written) when the merge cannot get the write lock.
    """
    authorize(by, "import")
    path = Path(path)
    fmt = fmt or detect_format(path, encoding)
    if fmt not in IMPORTERS:
        raise refuse(path, f"--format: unknown format {fmt!r} (known: {', '.join(IMPORTERS)})")
    stream = IMPORTERS[fmt](path, column_map=column_map, encoding=encoding)
    summary = ImportSummary(
        read_as=stream.described, ignored_columns=stream.ignored_columns, as_drafts=not may(by, "review")
    )
    bad = BadRows()
    seen_ids: dict[int, int] = {}
    digests: Counter = Counter()
    batch: list[tuple[Incident, int | None]] = []
    show = progress if progress is not None else (stream.size > PROGRESS_BYTES and sys.stderr.isatty())
    # A pipeline: while this thread reads and checks batch N+2, one thread places batch N+1 and
    # another stages batch N (on PostgreSQL the server then inserts it): SQLite, PostgreSQL and
    # GEOS do their work without holding the GIL. At most two batches wait.
    pending: list[Future] = []
    geocoding = {"mode": geocode, "min_score": min_score, "gazetteer_path": gazetteer_path}

    def store_batch(rows: list[tuple[Incident, int | None]]) -> None:
        prepared = placer.submit(lambda: staging.prepare(_placed(rows, summary, geodata_dir)))
        if len(pending) >= 2:
            pending.pop(0).result()
        pending.append(writer.submit(lambda: staging.add(prepared.result())))

    with (
        _cycle_collector_paused(),
        store.staging(by=by, update=update, reason=reason) as staging,
        tqdm(
            total=stream.size,
            unit="B",
            unit_scale=True,
            desc=f"importing {path.name}",
            disable=not show,
            file=sys.stderr,
        ) as bar,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="webmap-place") as placer,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="webmap-stage") as writer,
    ):

        def check(rows: list[tuple[int, Any]]) -> None:
            for row_number, outcome, depth in _checked_rows(stream, rows, area, summary, geocoding):
                try:
                    if isinstance(outcome, InvalidRecord):
                        raise outcome
                    if summary.as_drafts:
                        outcome.status = "draft"
                    _claim_id(outcome, row_number, seen_ids, digests)
                except UnplacedRecord as exc:
                    if strict:
                        bad.add(exc.at_row(row_number))
                    else:
                        summary.unplaced.append(exc.at_row(row_number))
                    continue
                except InvalidRecord as exc:
                    bad.add(InvalidRecord(stream.columns.get(exc.field, exc.field), exc.problem, row_number))
                    continue
                if not bad.count:  # else the import is lost; rows are read only to list the other bad rows
                    batch.append((outcome, depth))

        rows: list[tuple[int, Any]] = []
        for row in stream.rows:
            summary.rows += 1
            rows.append(row)
            if len(rows) >= BATCH:
                check(rows)
                rows = []
                if batch:
                    store_batch(batch)
                    batch = []
                bar.update(stream.position() - bar.n)
        check(rows)
        if bad.count:
            raise bad.failure(
                f"{path.name}: import refused, nothing written: {bad.count} bad row(s) ({stream.numbering})"
            )
        if batch:
            store_batch(batch)
        while pending:
            pending.pop(0).result()
        summary.add(staging.merge())
        bar.update(stream.size - bar.n)
    return summary


def _checked_rows(
    stream: RowStream, rows: list[tuple[int, Any]], area: AreaOfInterest, summary: ImportSummary, geocoding: dict
) -> Iterator[tuple[int, Incident | InvalidRecord, int | None]]:
    """``(row number, outcome, depth)`` of each of ``rows`` (``(row number, raw row)``), in order:
    the validated incident, geocoded when it asks for it (``geocoding``: the arguments of
    :func:`webmap.intake.geocode_values`), with its forces, or the :class:`InvalidRecord` (an
    :class:`UnplacedRecord` for a place the gazetteer could not place) that refuses it; and the
    admin depth its source (or the area it was geocoded to) vouches for."""
    outcomes: list[InvalidRecord | None] = []
    depths: list[int | None] = []
    values_of: list[dict] = []
    hints_of: list[dict] = []
    for _, raw in rows:
        vouched = None
        try:
            if isinstance(raw, InvalidRecord):
                raise raw
            values = stream.convert(raw)
            hints = {n: values.pop(f"_force{n}_hint", None) for n in (1, 2)}
            vouched = values.pop("_admin_depth", None)
            if may_geocode(values, geocoding["mode"]):
                geocoded = geocode_values(values, **geocoding)
                values = geocoded.values
                if geocoded.match is not None:
                    summary.geocoded += 1
                    vouched = geocoded.depth
        except InvalidRecord as exc:
            outcomes.append(exc)
            depths.append(None)
            continue
        outcomes.append(None)
        depths.append(vouched)
        values_of.append(values)
        hints_of.append(hints)
    checked = iter(check_batch(values_of, hints_of, area=area))
    for (row_number, _), refused, depth in zip(rows, outcomes, depths, strict=True):
        if refused is not None:
            yield row_number, refused, depth
            continue
        outcome = next(checked)
        if isinstance(outcome, InvalidRecord):
            yield row_number, outcome, depth
            continue
        incident, unmatched = outcome
        for actor in unmatched:
            summary.unknown_actors[actor] += 1
        yield row_number, incident, depth


def write_review(path: Path | str, unplaced: list[UnplacedRecord]) -> None:
    """Write the rows an import left out (``ImportSummary.unplaced``) to the CSV ``path`` for a
    person to place: row number, the place name and stated areas, the best candidate and its
    score, and why (columns :data:`REVIEW_COLUMNS`)."""
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv_module.writer(handle)
        writer.writerow(REVIEW_COLUMNS)
        for record in unplaced:
            best = record.candidates[0] if record.candidates else {}
            writer.writerow(
                [
                    record.row,
                    record.name,
                    record.district,
                    record.governorate,
                    best.get("name", ""),
                    best.get("place_id", ""),
                    f"{best['score']:.2f}" if best else "",
                    record.problem,
                ]
            )


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Python's cycle collector off for the block and on again after it (when it was on): the rows
    of an import hold no reference cycles, yet their allocations set the collector off again and
    again to walk every live object, about a sixth of a million-row import's time."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _claim_id(incident: Incident, row_number: int, seen: dict[int, int], digests: Counter) -> None:
    """Refuse an id already used earlier in the file; give id-less rows a content id.

    ``seen`` maps the 64-bit hash of each (source, source_id) to its row: a third of the memory
    of keeping the strings, which matters for files of millions of rows (a false duplicate needs
    two ids of one file to share a 64-bit hash: about 3 in 10^6 for 10 million rows).
    """
    if incident.source_id is None:
        digest = hashlib.sha1(repr(_DIGEST_VALUES(incident)).encode()).hexdigest()[:16]
        digests[digest] += 1
        n = digests[digest]
        incident.source_id = f"sha1:{digest}" if n == 1 else f"sha1:{digest}-{n}"
        return
    key = hash((incident.source, incident.source_id))
    first = seen.get(key)
    if first is not None:
        raise InvalidRecord("source_id", f"{incident.source_id!r} is already on row {first} (duplicate id in the file)")
    seen[key] = row_number


def _placed(
    batch: list[tuple[Incident, int | None]],
    summary: ImportSummary,
    geodata_dir,
) -> list[Incident]:
    """A batch of incidents placed in their admin areas (:func:`webmap.spatial.place_incidents`)."""
    incidents = spatial.place_incidents(
        [inc for inc, _ in batch], [depth for _, depth in batch], geodata_dir=geodata_dir
    )
    summary.unassigned += sum(1 for inc in incidents if inc.admin2_pcode is None)
    return incidents
