"""Files as analysts have them: encodings, delimiters, HXL rows, and files that are not CSV at all.

Every bad file must be refused with one clear message, exit code 2, and nothing written. The files
are real UCDP GED events: in GED's HDX layout, and written in ACLED's export layout (``tests/data``).
"""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest
from helpers import ACLED_LAYOUT, GED, ROOT, assert_refused, csv_rows, import_, write_rows

from webmap import spatial
from webmap.query import IncidentFilter, count_incidents, select_incidents

ALL = IncidentFilter.build(drafts=True)
EVENTS = len(csv_rows(ACLED_LAYOUT)) - 1  # 171


def test_utf8_with_bom_is_read(runner, store, tmp_path):
    path = tmp_path / "acled_bom.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ACLED_LAYOUT.read_bytes())
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert f"{EVENTS} rows read (UTF-8 with BOM, comma-separated): {EVENTS} inserted" in result.output
    # the BOM must not stick to the first column's name: event ids and dates are intact
    assert count_incidents(store, ALL) == EVENTS
    header, *rows = csv_rows(ACLED_LAYOUT)
    ids = {row[header.index("event_id_cnty")] for row in rows}
    assert {i.source_id for i in select_incidents(store, ALL)} == ids


@pytest.mark.parametrize("delimiter,name", [(";", "semicolon"), ("\t", "tab"), ("|", "pipe")])
def test_other_delimiters_are_detected(runner, store, tmp_path, delimiter, name):
    path = write_rows(tmp_path / "acled.csv", csv_rows(ACLED_LAYOUT), delimiter=delimiter)
    result = import_(runner, path, "--format", "acled")
    assert result.exit_code == 0, result.output
    assert f"{name}-separated): {EVENTS} inserted" in result.output
    reference = write_rows(tmp_path / "acled_comma.csv", csv_rows(ACLED_LAYOUT))
    assert f"{EVENTS} unchanged" in import_(runner, reference, "--format", "acled").output


def kirkuk_events_in_arabic(n=12) -> list[list[str]]:
    """Real UCDP events in Kirkuk district, the place given by its Arabic name from COD-AB."""
    ged = pd.read_csv(GED, skiprows=[1], dtype=str)
    joined = spatial.join_admin_areas(ged[["longitude", "latitude"]].astype(float))
    kirkuk = spatial.find_admin_area("Kirkuk", "adm2")
    rows = ged[(joined["admin2_pcode"] == kirkuk["pcode"]).to_numpy() & (ged["where_prec"] == "1").to_numpy()]
    assert len(rows) >= n
    out = [["المعرف", "التاريخ", "خط العرض", "خط الطول", "event_type", "المكان", "actor1", "actor2"]]
    for _, r in rows.head(n).iterrows():
        kind = "Violence against civilians" if r["type_of_violence"] == "3" else "Battles"
        out.append(
            [r["id"], r["date_start"], r["latitude"], r["longitude"], kind, kirkuk["name_ar"], r["side_a"], r["side_b"]]
        )
    return out


ARABIC_MAP = [
    "--map",
    "المعرف=source_id",
    "--map",
    "التاريخ=event_date",
    "--map",
    "خط العرض=latitude",
    "--map",
    "خط الطول=longitude",
    "--map",
    "المكان=location",
]


def test_windows_1256_arabic_csv_is_detected(runner, store, tmp_path):
    rows = kirkuk_events_in_arabic()
    path = write_rows(tmp_path / "kirkuk_cp1256.csv", rows, encoding="cp1256")
    with pytest.raises(UnicodeDecodeError):
        path.read_bytes().decode("utf-8")
    result = import_(runner, path, "--format", "csv", *ARABIC_MAP)
    assert result.exit_code == 0, result.output
    assert f"{len(rows) - 1} rows read (Windows-1256, comma-separated): {len(rows) - 1} inserted" in result.output
    stored = select_incidents(store, ALL)
    assert {i.location for i in stored} == {spatial.find_admin_area("Kirkuk", "adm2")["name_ar"]}
    assert {i.admin2 for i in stored} == {"Kirkuk"}


def test_the_same_arabic_file_in_utf8_gives_the_same_records(runner, store, tmp_path):
    rows = kirkuk_events_in_arabic()
    import_(runner, write_rows(tmp_path / "a.csv", rows, encoding="cp1256"), *ARABIC_MAP)
    result = import_(runner, write_rows(tmp_path / "b.csv", rows, encoding="utf-8"), *ARABIC_MAP)
    assert f"0 inserted, 0 updated, {len(rows) - 1} unchanged" in result.output


def test_latin1_file_is_refused_until_its_encoding_is_named(runner, store, tmp_path):
    ged = pd.read_csv(GED, skiprows=[1], dtype=str)
    accented = ged[ged["where_coordinates"].map(lambda s: not s.isascii() and all(ord(c) < 256 for c in s))]
    keep = [
        "id",
        "type_of_violence",
        "side_a",
        "side_b",
        "where_prec",
        "where_coordinates",
        "latitude",
        "longitude",
        "date_prec",
        "date_start",
        "date_end",
        "best",
    ]
    path = tmp_path / "ged_latin1.csv"
    path.write_bytes(accented[keep].to_csv(index=False).encode("latin-1"))
    message = assert_refused(import_(runner, path), "neither UTF-8 nor Windows-1256", "--encoding", "nothing written")
    assert count_incidents(store, ALL) == 0, message
    result = import_(runner, path, "--encoding", "latin-1")
    assert result.exit_code == 0, result.output
    assert {i.location for i in select_incidents(store, ALL)} == set(accented["where_coordinates"])


def test_hxl_tag_row_is_skipped_and_plain_ged_reads_the_same(runner, store, tmp_path):
    rows = csv_rows(GED)
    assert rows[1][1].startswith("#")
    plain = write_rows(tmp_path / "ged_plain.csv", [rows[0], *rows[2:402]])
    hxl = write_rows(tmp_path / "ged_hxl.csv", rows[:402])
    first = import_(runner, hxl)
    assert "HXL tag row skipped" in first.output and "400 inserted" in first.output
    second = import_(runner, plain)
    assert "HXL" not in second.output and "400 unchanged" in second.output


def test_png_renamed_csv_is_refused(runner, store, tmp_path):
    png = next((ROOT / "webmap" / "static").rglob("*.png"))
    path = tmp_path / "incidents.csv"
    path.write_bytes(png.read_bytes())
    assert_refused(
        import_(runner, path, "--format", "csv"), "incidents.csv: not a text file: it is a PNG image", "nothing written"
    )
    assert count_incidents(store, ALL) == 0


def test_zip_or_xlsx_renamed_csv_is_refused(runner, store, tmp_path):
    path = tmp_path / "acled.csv"
    with zipfile.ZipFile(path, "w") as zf:
        zf.write(ACLED_LAYOUT, ACLED_LAYOUT.name)
    assert_refused(import_(runner, path, "--format", "acled"), "a zip archive", "xlsx")
    assert count_incidents(store, ALL) == 0


def test_empty_file_and_missing_file(runner, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert_refused(import_(runner, empty, "--format", "acled"), "empty.csv: the file is empty")
    assert_refused(
        import_(runner, tmp_path / "absent.csv", "--format", "acled"), "absent.csv: cannot read: no such file"
    )


def test_every_missing_required_column_is_listed(runner, store, tmp_path):
    rows = csv_rows(ACLED_LAYOUT)
    drop = {rows[0].index("event_date"), rows[0].index("latitude"), rows[0].index("actor1")}
    path = write_rows(tmp_path / "acled.csv", [[v for i, v in enumerate(r) if i not in drop] for r in rows])
    assert_refused(
        import_(runner, path, "--format", "acled"),
        "not an ACLED export: missing required column(s) event_date, actor1, latitude",
    )
    assert count_incidents(store, ALL) == 0


def test_row_with_too_many_values_names_its_row(runner, store, tmp_path):
    rows = csv_rows(ACLED_LAYOUT)
    rows[4] = rows[4] + ["stray"]
    path = write_rows(tmp_path / "acled.csv", rows)
    message = assert_refused(
        import_(runner, path),
        "1 bad row(s)",
        "header is row 1",
        "row 5: columns: 32 values but the header has 31 columns",
    )
    assert count_incidents(store, ALL) == 0, message


def test_generic_csv_without_required_columns_lists_them(runner, tmp_path):
    rows = csv_rows(ACLED_LAYOUT)
    drop = {rows[0].index("event_type"), rows[0].index("latitude")}
    path = write_rows(tmp_path / "sheet.csv", [[v for i, v in enumerate(r) if i not in drop] for r in rows])
    assert_refused(import_(runner, path, "--format", "csv"), "no column for the required field(s) latitude, event_type")
    message = assert_refused(
        import_(runner, path, "--format", "csv", "--map", "nope=event_date"),
        "--map nope=event_date: the header has no column 'nope'",
    )
    assert "event_id_cnty" in message
    assert_refused(import_(runner, path, "--format", "csv", "--map", "event_date"), "--map: expected COLUMN=FIELD")


@pytest.mark.parametrize(
    "encoding, fragment",
    [
        ("utf-16", "the header cannot be read as utf-16"),  # UTF-16 named for a file without its BOM
        ("rot13", "--encoding: unknown text encoding 'rot13'"),  # a codec, but not bytes to text
        ("hex", "--encoding: unknown text encoding 'hex'"),
        ("no-such-codec", "--encoding: unknown text encoding 'no-such-codec'"),
    ],
)
def test_an_encoding_that_cannot_read_the_file_is_refused(runner, store, encoding, fragment):
    assert_refused(import_(runner, ACLED_LAYOUT, "--encoding", encoding), f"{ACLED_LAYOUT.name}: ", fragment)
    assert count_incidents(store, ALL) == 0
