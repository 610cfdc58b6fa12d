"""Names people use (issue 14, point 6): each governorate and district shows a display name (Hawija,
Tel Kaif, Baiji, Tuz Khurmatu) beside its official COD-AB name and P-code, in the filters, the CSV,
the table and the popups; filters take the official, display, Arabic and former names."""

from __future__ import annotations

import csv
import subprocess
import sys

import pytest
from helpers import ROOT, csv_rows, import_, open_map, serve_demo, settled, watched_page

from webmap.cli import main
from webmap.io.demo import load_demo
from webmap.query import IncidentFilter, count_incidents
from webmap.roles import BOOTSTRAP
from webmap.store import IncidentStore


@pytest.fixture
def demo(app, store):
    return load_demo(store, by=BOOTSTRAP, geodata_dir=app.extensions["webmap"]["config"].geodata_dir).inserted


@pytest.mark.parametrize(
    "parameter, spellings, pcode",
    [
        ("governorate", ["Kirkuk", "IQG13", "كركوك", "Tameem", "at-Ta'mim", "At-Ta'mim", "التأميم"], "IQG13"),
        ("governorate", ["Ninewa", "Nineveh", "نينوى"], "IQG15"),
        ("district", ["Al-Hawiga", "Hawija", "الحويجة", "iqg13q01"], "IQG13Q01"),
        ("district", ["Tilkaef", "Tel Kaif", "تلكيف"], "IQG15Q09"),
        ("district", ["Beygee", "Baiji", "بيجي"], "IQG16Q03"),
        ("district", ["Tooz Khurmato", "Tuz Khurmatu", "طوز خورماتو"], "IQG16Q07"),
    ],
)
def test_filters_take_the_official_display_arabic_and_former_names(client, demo, parameter, spellings, pcode):
    totals = set()
    for spelling in spellings:
        response = client.get("/api/incidents", query_string={parameter: spelling, "limit": 1})
        assert response.status_code == 200, (spelling, response.get_json())
        totals.add(response.get_json()["total"])
    by_pcode = client.get("/api/incidents", query_string={parameter: pcode, "limit": 1}).get_json()["total"]
    assert totals == {by_pcode} and by_pcode > 0


def test_the_boundary_layers_carry_the_display_names_beside_the_official_ones(client):
    districts = client.get("/api/layers/adm2").get_json()["features"]
    tuz = next(f["properties"] for f in districts if f["properties"]["pcode"] == "IQG16Q07")
    assert (tuz["name"], tuz["display_name"]) == ("Tooz Khurmato", "Tuz Khurmatu")
    # The offline base map's country view names the governorates as people say them.
    labels = client.get("/api/basemap/0").get_json()["labels"]
    governorates = {label[2] for label in labels if label[4] == "governorate"}
    assert {"Nineveh", "Salah ad Din", "Kirkuk"} <= governorates and "Ninewa" not in governorates


def test_the_table_sorts_districts_by_the_names_it_shows(client, demo):
    found = client.get("/api/incidents?sort=admin2&limit=5000").get_json()["features"]
    shown = [f["properties"]["admin2_display"] for f in found]
    # By the official names Tikrit would come before Tilkaef; as shown, Tel Kaif comes before Tikrit.
    assert shown.index("Tel Kaif") < shown.index("Tikrit")
    descending = client.get("/api/incidents?sort=-admin2&limit=5000").get_json()["features"]
    assert descending[0]["properties"]["admin2_display"] == [n for n in shown if n][-1]


def test_a_name_of_no_area_is_still_refused_by_name(client):
    response = client.get("/api/incidents?governorate=Tamimville")
    assert response.status_code == 400
    assert "governorate" in response.get_json()["error"]


def test_the_csv_has_display_columns_beside_the_official_names_and_p_codes(runner, demo, store, tmp_path):
    out = tmp_path / "tuz.csv"
    result = runner.invoke(main, ["export", "-o", str(out), "--district", "Tuz Khurmatu"])
    assert result.exit_code == 0, result.output
    header, *rows = csv_rows(out)
    for name in ("admin1", "admin2"):
        assert header.index(f"{name}_display") == header.index(name) + 1
        assert f"{name}_pcode" in header
    row = dict(zip(header, rows[0], strict=True))
    assert (row["admin2"], row["admin2_display"], row["admin2_pcode"]) == ("Tooz Khurmato", "Tuz Khurmatu", "IQG16Q07")
    assert (row["admin1"], row["admin1_display"], row["admin1_pcode"]) == ("Salah Al-Din", "Salah ad Din", "IQG16")
    # The display columns are derived: the file imports back, into an empty database, whole.
    again = f"sqlite:///{tmp_path / 'again.db'}"
    other = IncidentStore(again)
    try:
        result = runner.invoke(main, ["import", str(out)], env={"WEBMAP_DB": again})
        assert result.exit_code == 0, result.output
        assert count_incidents(other, IncidentFilter.build(drafts=True)) == len(rows)
    finally:
        other.dispose()


def test_the_display_names_are_built_from_open_sources_and_cite_them():
    with open(ROOT / "geodata" / "admin_names.csv", encoding="utf-8", newline="") as handle:
        rows = {row["pcode"]: row for row in csv.DictReader(handle)}
    assert len(rows) == 18 + 101
    for pcode, official, shown in [
        ("IQG13Q01", "Al-Hawiga", "Hawija"),
        ("IQG15Q09", "Tilkaef", "Tel Kaif"),
        ("IQG16Q03", "Beygee", "Baiji"),
        ("IQG16Q07", "Tooz Khurmato", "Tuz Khurmatu"),
    ]:
        assert (rows[pcode]["name"], rows[pcode]["display_name"]) == (official, shown)
        assert rows[pcode]["display_source"].startswith(("GeoNames ", "WOF "))
    assert rows["IQG13"]["former_names"] == "At-Ta'mim" and rows["IQG13"]["former_sources"].startswith("WOF ")
    provenance = (ROOT / "geodata" / "PROVENANCE.md").read_text(encoding="utf-8")
    assert "build_admin_names.py: begin" in provenance and "Data from Who's On First" in provenance


@pytest.mark.shared
def test_the_build_gives_the_shipped_bytes_and_refuses_a_name_no_source_gives(tmp_path):
    out, provenance = tmp_path / "admin_names.csv", tmp_path / "PROVENANCE.md"
    command = [sys.executable, str(ROOT / "scripts" / "build_admin_names.py"), "--out", str(out)]
    done = subprocess.run([*command, "--provenance", str(provenance)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert out.read_bytes() == (ROOT / "geodata" / "admin_names.csv").read_bytes()

    invented = tmp_path / "choices.csv"
    invented.write_text("pcode,kind,name\nIQG13Q01,display,Hawijaville\n", encoding="utf-8")
    refused = subprocess.run(
        [*command, "--provenance", str(provenance), "--choices", str(invented)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert refused.returncode != 0
    assert "IQG13Q01 display 'Hawijaville'" in refused.stderr


@pytest.mark.browser
def test_the_map_shows_the_names_people_use_beside_the_official_ones(browser, tmp_path, artifacts):
    with serve_demo(tmp_path, "t0ken") as server, watched_page(browser, server) as page:
        open_map(page, server + "/?district=Tel Kaif")
        settled(page)
        # The filter form: governorates and districts by the names people use.
        governorates = page.locator("#f-governorate option").all_inner_texts()
        assert "Nineveh" in governorates and "Ninewa" not in governorates
        assert page.input_value("#f-district") == "Tel Kaif"
        hawija = page.locator("#wm-districts option[value='Hawija']")
        assert hawija.text_content() == "Al-Hawiga (official), Kirkuk"
        # The table: the district column shows the display name.
        rows = page.locator("#wm-table tbody tr")
        rows.first.wait_for()
        cells = rows.first.locator("td").all_inner_texts()
        assert "Tel Kaif" in cells and "Tilkaef" not in cells
        # The popup: the display names, then the official names with their P-codes.
        rows.first.click()
        popup = page.locator(".leaflet-popup-content")
        popup.locator("dt", has_text="Official areas").wait_for()  # the details, once loaded
        text = popup.inner_text()
        assert "Tel Kaif, Nineveh" in text
        assert "Tilkaef IQG15Q09, Ninewa IQG15" in text
        page.wait_for_function("() => getComputedStyle(document.querySelector('.leaflet-popup')).opacity === '1'")
        page.screenshot(path=str(artifacts / "display_names.png"))
        # A former name is a filter too.
        open_map(page, server + "/?governorate=Tameem")
        settled(page)
        assert page.locator("#f-governorate option:checked").inner_text() == "Kirkuk"


def test_import_reads_csv_display_columns_as_derived(runner, tmp_path):
    # A file with the display columns (as the CSV export writes) imports; the columns are not read.
    path = tmp_path / "one.csv"
    path.write_text(
        "event_date,latitude,longitude,event_type,admin2,admin2_display,source,source_id\n"
        "2017-01-05,35.5,44.4,Battles,Kirkuk,Somewhere else,test,1\n",
        encoding="utf-8",
    )
    result = import_(runner, path)
    assert result.exit_code == 0, result.output
    assert "admin2_display" not in result.output
