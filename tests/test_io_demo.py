"""The shipped demo incidents: real UCDP GED events, rebuilt byte for byte by their script."""

from __future__ import annotations

import hashlib
import subprocess
import sys

import pandas as pd
import pytest
from helpers import GED, ROOT, SHARED_GED

from webmap.io.demo import DEMO_INCIDENTS, load_demo
from webmap.query import IncidentFilter, select_incidents
from webmap.roles import BOOTSTRAP

GOVERNORATES = {"IQG13", "IQG15", "IQG16", "IQG10", "IQG11"}  # Kirkuk, Ninewa, Salah al-Din, Diyala, Erbil


def test_load_demo_is_idempotent_and_stays_in_scope(store):
    first = load_demo(store, by=BOOTSTRAP)
    assert first.inserted == first.rows > 1000
    again = load_demo(store, by=BOOTSTRAP)
    assert (again.inserted, again.unchanged) == (0, first.rows)
    stored = select_incidents(store, IncidentFilter())
    assert len(stored) == first.rows
    assert {i.admin1_pcode for i in stored} == GOVERNORATES
    assert min(i.event_date for i in stored).year == 2014 and max(i.event_date for i in stored).year == 2018
    assert {i.source for i in stored} == {"UCDP GED"}
    # real events: every one that the GED excerpt holds has the same date, actors and deaths there
    ged = pd.read_csv(GED, skiprows=[1], dtype=str, keep_default_na=False).set_index("id")
    in_excerpt = [i for i in stored if i.source_id in ged.index]
    assert len(in_excerpt) > 100
    for incident in in_excerpt:
        event = ged.loc[incident.source_id]
        assert (incident.event_date.isoformat(), incident.actor1, incident.actor2, incident.fatalities) == (
            event["date_start"],
            event["side_a"],
            event["side_b"],
            int(event["best"]),
        )
        # outlet and date only: no headline or article text
        headline = event["source_headline"]
        assert headline in ("", event["source_office"]) or headline not in incident.notes
    assert sum(i.disputed == "inside" for i in stored) > 300


def test_demo_file_has_its_recorded_checksum_and_no_headlines():
    digest = hashlib.sha256(DEMO_INCIDENTS.read_bytes()).hexdigest()
    assert f"`{digest}`" in (ROOT / "geodata" / "PROVENANCE.md").read_text(encoding="utf-8")
    header = DEMO_INCIDENTS.read_text(encoding="utf-8").splitlines()[0].split(",")
    assert not {"source_headline", "source_article", "source_original"} & set(header)


@pytest.mark.shared
def test_demo_file_is_rebuilt_byte_for_byte_from_the_full_ucdp_extract(tmp_path):
    out = tmp_path / "demo_incidents.csv"
    provenance = tmp_path / "PROVENANCE.md"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "scripts" / "build_demo_incidents.py"),
            "--ged",
            str(SHARED_GED),
            "--out",
            str(out),
            "--provenance",
            str(provenance),
        ],
        check=True,
        capture_output=True,
    )
    assert out.read_bytes() == DEMO_INCIDENTS.read_bytes()
    digest = hashlib.sha256(DEMO_INCIDENTS.read_bytes()).hexdigest()
    assert f"`{digest}`" in provenance.read_text(encoding="utf-8")
