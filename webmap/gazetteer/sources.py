"""Readers of place files (GeoNames dump, Who's On First CSV, gazetteer CSV) and the import.

Every reader returns gazetteer rows (dicts of :data:`~.load.COLUMNS`, checked by
:func:`~.load.check_place`) or raises :class:`ImportFailed` listing each bad row as
``row N: field: problem``. :func:`import_places` merges them into a gazetteer CSV, all or nothing.

Formats (:data:`FORMATS`):

* ``geonames``: a GeoNames country dump (``IQ.txt``: tab-separated, no header, 19 columns:
  geonameid, name, asciiname, alternatenames (comma-separated), latitude, longitude, feature
  class, feature code, country code, cc2, admin1..4 codes, population, elevation, dem, timezone,
  modification date).
* ``wof``: the flattened Who's On First layout of ``wof_iq_gazetteer.csv`` (columns wof_id,
  placetype, name, latitude, longitude, is_deprecated, gn_geonameid, gn_name, gn_asciiname,
  gn_feature_class, gn_feature_code, gn_population, name_eng/ara/kur/ckb/kmr/..., all_names;
  only wof_id, placetype, name, latitude, longitude are required). WOF records carry no country
  column there: the country comes from a ``country`` column or the ``country`` argument.
  Deprecated records are skipped; a record with a GeoNames id becomes ``gn:<id>``.
* ``csv``: a gazetteer CSV (the columns of ``gazetteer.csv``; ``place_id`` may be left empty when
  ``geonameid`` or ``wof_id`` is given).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..config import SHIPPED_GAZETTEER, Config
from ..errors import BadRows, GazetteerError, InvalidRecord
from ..files import check_input_file
from .load import NAME_SEPARATOR, check_place, read_places_csv, user_copy_path, write_places_csv

_SCRIPT_LETTERS = re.compile(
    r"^[\sA-Za-zÀ-ɏḀ-ỿ\u0300-\u036f\u02b0-\u02ff\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff"
    r"\u200c\u200d0-9'’‘`´.,()\-/]+$"
)
_CODE = re.compile(r"^[A-Z0-9]{2,4}$")
# The largest place file an import reads (it is held in memory whole): GeoNames' dumps of Iraq and its
# neighbours are 2-40 MB; the all-countries dump (1.6 GB) is not a gazetteer for one region.
MAX_IMPORT_BYTES = 200_000_000
WOF_FEATURES = {
    "locality": ("P", "PPL"),
    "neighbourhood": ("P", "PPLX"),
    "campus": ("S", "AIRP"),
    "county": ("A", "ADM2"),
    "region": ("A", "ADM1"),
    "country": ("A", "PCLI"),
}


# UCDP GED events whose id is divisible by this are never read by the gazetteer build: the held-out
# evaluation (bench/gazetteer_accuracy.py) measures the gazetteer on them.
UCDP_HOLDOUT_MODULUS = 5


def ucdp_held_out(event_id: int) -> bool:
    """True for a UCDP GED event the gazetteer build leaves to the held-out evaluation."""
    return int(event_id) % UCDP_HOLDOUT_MODULUS == 0


def keep_name(name: str) -> bool:
    """True for a name worth indexing: Latin or Arabic script (Arabic, Kurdish, Persian letters),
    not an airport/ICAO code such as "KIK" or "ORBM", and no longer than 100 characters."""
    name = name.strip()
    return (
        bool(name)
        and len(name) <= 100
        and not _CODE.match(name)
        and bool(_SCRIPT_LETTERS.match(name))
        and NAME_SEPARATOR not in name
    )


def merge_names(*groups) -> list[str]:
    """Names from several lists, each kept once (first spelling wins), filtered by :func:`keep_name`."""
    seen, out = set(), []
    for group in groups:
        for name in group or ():
            name = name.strip()
            if name not in seen and keep_name(name):
                seen.add(name)
                out.append(name)
    return out


def merged_alternates(row: dict, *groups) -> str:
    """The alternate names of ``row`` with the names of ``groups`` added (see :func:`merge_names`),
    joined for the CSV, the row's own name left out."""
    names = merge_names(str(row.get("alternate_names") or "").split(NAME_SEPARATOR), *groups)
    return NAME_SEPARATOR.join(n for n in names if n != row["name"])


def _open(path: Path):
    try:
        return path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise GazetteerError(f"{path}: cannot read: {exc.strerror}") from None


def read_geonames(path: str | Path, country: str | None = None) -> list[dict]:
    """Rows of a GeoNames country dump (see the module docstring); row N is line N."""
    path = Path(path)
    rows, bad = [], BadRows()
    with _open(path) as handle:
        try:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != 19:
                    bad.add(InvalidRecord("row", f"{len(fields)} tab-separated fields, a GeoNames dump has 19", number))
                    continue
                (gid, name, ascii_, alts, lat, lon, fclass, fcode, cc, _cc2, _a1, _a2, _a3, _a4, pop, *_rest) = fields
                row = {
                    "place_id": f"gn:{gid.strip()}",
                    "geonameid": gid,
                    "name": name,
                    "asciiname": ascii_,
                    "alternate_names": NAME_SEPARATOR.join(merge_names(alts.split(","))),
                    "latitude": lat,
                    "longitude": lon,
                    "feature_class": fclass,
                    "feature_code": fcode,
                    "population": pop,
                    "country_code": cc,
                    "source": "geonames",
                }
                try:
                    rows.append(check_place(row, number))
                except InvalidRecord as exc:
                    bad.add(exc)
        except UnicodeDecodeError:
            raise GazetteerError(f"{path}: not UTF-8 text") from None
    if bad.count:
        raise bad.failure(f"{path}: import refused, nothing written: {bad.count} bad row(s)")
    return rows


def wof_row(record: dict, country: str | None) -> dict | None:
    """A gazetteer row (unchecked) from one flattened WOF record, or None for a deprecated one."""
    if (record.get("is_deprecated") or "0").strip() == "1":
        return None
    gid = (record.get("gn_geonameid") or "").strip()
    placetype = (record.get("placetype") or "").strip()
    fclass, fcode = WOF_FEATURES.get(placetype, ("P", "PPL"))
    name = (record.get("gn_name") or "").strip() or (record.get("name") or "").strip()
    # The all_names of WOF counties and regions mix in other areas' names ("Tỉnh Duhok" on Ninawa):
    # for those only the English, Arabic, Kurdish and Turkish names are kept.
    columns: tuple[str, ...] = ("name_eng", "name_ara", "name_kur", "name_ckb", "name_kmr", "name_tur")
    if fclass != "A":
        columns += ("all_names",)
    variants = [v for col in columns for v in (record.get(col) or "").split("|")]
    return {
        "place_id": f"gn:{gid}" if gid else f"wof:{(record.get('wof_id') or '').strip()}",
        "geonameid": gid,
        "wof_id": record.get("wof_id"),
        "name": name,
        "asciiname": (record.get("gn_asciiname") or "").strip(),
        "alternate_names": NAME_SEPARATOR.join(merge_names([record.get("name") or ""], variants)),
        "latitude": record.get("latitude"),
        "longitude": record.get("longitude"),
        "feature_class": (record.get("gn_feature_class") or "").strip() or fclass,
        "feature_code": (record.get("gn_feature_code") or "").strip() or fcode,
        "population": (record.get("gn_population") or "").strip() or "0",
        "country_code": (record.get("country") or "").strip() or (country or ""),
        "source": "wof",
    }


def read_wof(path: str | Path, country: str | None = None) -> list[dict]:
    """Rows of a flattened WOF CSV (see the module docstring); row 1 is the header."""
    path = Path(path)
    rows, bad = [], BadRows()
    with _open(path) as handle:
        reader = csv.DictReader(handle)
        try:
            fields = reader.fieldnames or ()  # reads (decodes) the header line
            missing = [c for c in ("wof_id", "placetype", "name", "latitude", "longitude") if c not in fields]
            if missing:
                raise GazetteerError(f"{path}: not a WOF gazetteer CSV: missing column(s) {', '.join(missing)}")
            if "country" not in fields and not country:
                raise GazetteerError(
                    f"{path}: --country: the file has no country column; give the country code, e.g. --country IQ"
                )
            for number, record in enumerate(reader, start=2):
                if None in record:
                    bad.add(InvalidRecord("row", "more fields than the header", number))
                    continue
                row = wof_row(record, country)
                if row is None:
                    continue
                if not (record.get("wof_id") or "").strip().isdigit():
                    bad.add(InvalidRecord("wof_id", f"not a WOF id: {record.get('wof_id')!r}", number))
                    continue
                try:
                    rows.append(check_place(row, number))
                except InvalidRecord as exc:
                    bad.add(exc)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise GazetteerError(f"{path}: unreadable CSV near row {max(reader.line_num, 1)}: {exc}") from None
    if bad.count:
        raise bad.failure(f"{path}: import refused, nothing written: {bad.count} bad row(s)")
    return rows


def read_csv(path: str | Path, country: str | None = None) -> list[dict]:
    """Rows of a gazetteer CSV (``country`` fills an empty country_code)."""
    del country  # a gazetteer CSV names each row's country
    return read_places_csv(path)


def merge_duplicates(rows: list[dict]) -> list[dict]:
    """Rows with one row per ``place_id``: a repeated id (several WOF records of one GeoNames
    place) keeps the first row and adds the later rows' names to its alternate names."""
    merged: dict[str, dict] = {}
    for row in rows:
        first = merged.get(row["place_id"])
        if first is None:
            merged[row["place_id"]] = row
            continue
        alternates = merged_alternates(first, [row["name"]], row["alternate_names"].split(NAME_SEPARATOR))
        merged[row["place_id"]] = {**first, "alternate_names": alternates}
    return list(merged.values())


FORMATS: dict[str, Callable[..., list[dict]]] = {"geonames": read_geonames, "wof": read_wof, "csv": read_csv}


@dataclass
class ImportSummary:
    """What an import did: rows added and replaced, and the file written."""

    added: int
    replaced: int
    target: Path


def import_target(config: Config | None = None) -> Path:
    """The CSV an import writes: WEBMAP_GAZETTEER when set, else the user's copy in the data folder
    (never the shipped ``gazetteer.csv``)."""
    config = config or Config.from_env()
    if Path(config.gazetteer_path) != SHIPPED_GAZETTEER:
        return Path(config.gazetteer_path)
    return user_copy_path()


ADMIN_COLUMNS = ("admin1", "admin1_pcode", "admin2", "admin2_pcode", "admin3", "admin3_pcode")


def fill_admin_areas(rows: list[dict], join: Callable) -> list[dict]:
    """Rows with governorate, district and sub-district filled in, for Iraqi rows that have none.

    ``join`` takes a DataFrame with ``latitude``/``longitude`` columns and returns it with the
    columns of :data:`ADMIN_COLUMNS` (``webmap.spatial.join_admin_areas``; passed in because the
    gazetteer does not import the spatial module, its neighbour in the same layer).
    """
    import pandas as pd

    todo = [i for i, row in enumerate(rows) if row["country_code"] == "IQ" and not row.get("admin1")]
    if not todo:
        return rows
    frame = pd.DataFrame(
        {"latitude": [rows[i]["latitude"] for i in todo], "longitude": [rows[i]["longitude"] for i in todo]}
    )
    joined = join(frame)
    rows = list(rows)
    for i, values in zip(todo, joined[list(ADMIN_COLUMNS)].itertuples(index=False), strict=False):
        rows[i] = {**rows[i], **{col: value or "" for col, value in zip(ADMIN_COLUMNS, values, strict=False)}}
    return rows


def import_places(
    path: str | Path,
    fmt: str,
    *,
    target: str | Path | None = None,
    country: str | None = None,
    admin_join: Callable | None = None,
) -> ImportSummary:
    """Add or replace (by ``place_id``) the places of ``path`` in the gazetteer CSV ``target``.

    ``fmt``: a key of :data:`FORMATS`. ``target`` defaults to :func:`import_target`; when it does
    not exist yet it starts as a copy of the shipped gazetteer (WEBMAP_GAZETTEER naming a new file
    starts empty). ``admin_join`` fills the governorate/district of new Iraqi rows that lack
    them (see :func:`fill_admin_areas`; the CLI passes ``webmap.spatial.join_admin_areas``). ``path`` must be a
    regular file of at most :data:`MAX_IMPORT_BYTES` (:class:`~webmap.errors.UnreadableFile`). All or nothing:
    any bad row raises :class:`ImportFailed` (row number, field, problem) before anything is written; the file
    is replaced atomically.
    """
    if fmt not in FORMATS:
        raise GazetteerError(f"format: {fmt!r} is not one of {', '.join(FORMATS)}")
    check_input_file(path, MAX_IMPORT_BYTES)
    new_rows = FORMATS[fmt](Path(path), country=country)
    if not new_rows:
        raise GazetteerError(f"{path}: no places in the file")
    if admin_join is not None:
        new_rows = fill_admin_areas(new_rows, admin_join)
    target = Path(target) if target is not None else import_target()
    if target.exists():
        existing = read_places_csv(target)
    elif target == user_copy_path() and SHIPPED_GAZETTEER.exists():
        existing = read_places_csv(SHIPPED_GAZETTEER)
    else:
        existing = []
    index = {row["place_id"]: i for i, row in enumerate(existing)}
    added = replaced = 0
    for row in merge_duplicates(new_rows):
        i = index.get(row["place_id"])
        if i is None:
            index[row["place_id"]] = len(existing)
            existing.append(row)
            added += 1
        else:
            existing[i] = row
            replaced += 1
    write_places_csv(target, existing)
    return ImportSummary(added, replaced, target)
