"""The test data in ``tests/data``: recorded in its PROVENANCE.md, rebuilt byte for byte by
``scripts/build_test_data.py``, never a copy of a shared file, and in ACLED's real export layout."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys

import pytest
from helpers import ACLED_LAYOUT, ROOT, SHARED, SHARED_ACLED, TEST_DATA, csv_rows

FILES = sorted(p for p in TEST_DATA.iterdir() if p.name != "PROVENANCE.md")


def test_every_file_is_recorded_with_its_size_and_checksum():
    provenance = (TEST_DATA / "PROVENANCE.md").read_text(encoding="utf-8")
    assert len(FILES) == 5
    total = 0
    for path in FILES:
        data = path.read_bytes()
        total += len(data)
        digest = hashlib.sha256(data).hexdigest()
        assert re.search(rf"\| `{re.escape(path.name)}` \| [^|]+ \| {len(data)} \| `{digest}` \|", provenance), path
    assert total < 1_000_000


@pytest.mark.shared
def test_the_script_rebuilds_every_file_byte_for_byte(tmp_path):
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build_test_data.py"), "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    for path in [*FILES, TEST_DATA / "PROVENANCE.md"]:
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.shared
def test_no_file_is_a_copy_of_a_shared_file():
    shared = {hashlib.sha256(p.read_bytes()).digest() for p in (SHARED / "data").rglob("*") if p.is_file()}
    assert not [p.name for p in FILES if hashlib.sha256(p.read_bytes()).digest() in shared]


def _kind(value: str) -> str:
    """The form of an ACLED value: empty, number, or text."""
    if value == "":
        return "empty"
    return "number" if re.fullmatch(r"-?\d+(\.\d+)?", value) else "text"


@pytest.mark.shared
def test_ucdp_events_in_acled_layout_have_the_real_exports_columns_and_forms():
    real_header, *real = csv_rows(SHARED_ACLED)
    header, *ours = csv_rows(ACLED_LAYOUT)
    assert header == real_header
    # Columns GED has nothing for stay empty (documented in tests/data/PROVENANCE.md).
    empty = {"sub_event_type", "source_scale", "timestamp", "assoc_actor_1", "assoc_actor_2", "admin3"}
    for i, column in enumerate(header):
        real_kinds = {_kind(row[i]) for row in real}
        our_kinds = {_kind(row[i]) for row in ours}
        allowed = real_kinds | ({"empty"} if column in empty | {"admin1", "admin2"} else set())
        assert our_kinds <= allowed, (column, our_kinds, real_kinds)
    dates = [row[header.index("event_date")] for row in ours]
    real_dates = [row[header.index("event_date")] for row in real]
    assert all(re.fullmatch(r"20\d{6}", d) for d in dates + real_dates)  # YYYYMMDD, as in the ACLED copy
    assert ACLED_LAYOUT.read_bytes().count(b"\r\n") == len(ours) + 1
