"""The gazetteer through its doors: ``webmap geocode``, ``webmap gazetteer import``, GET /api/gazetteer."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys

import pytest
from helpers import ROOT, WOF

from webmap.cli import main
from webmap.config import SHIPPED_GAZETTEER
from webmap.gazetteer import Gazetteer
from webmap.gazetteer.load import read_places_csv


@pytest.fixture
def home(monkeypatch, tmp_path):
    """No WEBMAP_GAZETTEER and a fresh data folder: the shipped gazetteer is the default."""
    monkeypatch.delenv("WEBMAP_GAZETTEER", raising=False)
    monkeypatch.delenv("WEBMAP_GEOCODER", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data-home"))
    return tmp_path / "data-home"


def wof_rows(predicate, limit: int) -> tuple[list[str], list[dict]]:
    """Header and the first ``limit`` real rows of the WOF excerpt (``tests/data``) matching ``predicate``."""
    with WOF.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        rows = [r for r in reader if predicate(r)][:limit]
    assert len(rows) == limit, "tests/data lacks rows this test takes: rerun scripts/build_test_data.py"
    return reader.fieldnames, rows


def write_csv(path, header, rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header)
        writer.writeheader()
        writer.writerows(rows)


# -- webmap geocode -------------------------------------------------------------------------------
def test_geocode_json_with_context(runner, home):
    result = runner.invoke(main, ["geocode", "Riyadh", "--context", "Riyadh district, southwest of Kirkuk", "--json"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["query"] == "Riyadh"
    assert answer["match"]["geonameid"] == 98697
    assert answer["match"]["governorate"] == "Kirkuk" and answer["match"]["district"] == "Al-Hawiga"
    assert answer["candidates"][0] == answer["match"]
    assert any(c["country_code"] == "SA" for c in answer["candidates"])


def test_geocode_plain_output_lists_the_match_first(runner, home):
    result = runner.invoke(main, ["geocode", "Shingal"])
    assert result.exit_code == 0
    first = result.output.splitlines()[0]
    assert first.startswith("Sinj") and "Ninewa / Sinjar" in first and "gn:448149" in first


def test_geocode_without_match_exits_1_with_one_line(runner, home):
    result = runner.invoke(main, ["geocode", "Qxzvbnmw", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {
        "query": "Qxzvbnmw",
        "context": None,
        "district": None,
        "governorate": None,
        "match": None,
        "candidates": [],
    }
    assert result.stderr.strip() == "no match for 'Qxzvbnmw'"


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Error: NAME: empty (give a name, or --district or --governorate)"),
        ("x" * 10_000, "Error: name: longer than 200 characters (10000)"),
    ],
)
def test_geocode_bad_names_exit_2_without_traceback(runner, home, name, message):
    result = runner.invoke(main, ["geocode", name])
    assert result.exit_code == 2
    assert result.stderr.strip() == message
    assert "Traceback" not in result.output


def test_geocode_control_characters_and_mixed_scripts(runner, home):
    for name in ("Kirk\x07uk", "كركوك Kirkuk", "Kerkûk\t"):
        result = runner.invoke(main, ["geocode", name, "--json"])
        assert result.exit_code in (0, 1)
        json.loads(result.stdout)


def test_geocode_uses_webmap_gazetteer(runner, home, tmp_path, monkeypatch):
    rows = [r for r in read_places_csv(SHIPPED_GAZETTEER) if r["admin1"] == "Kirkuk"]
    small = tmp_path / "kirkuk-only.csv"
    from webmap.gazetteer.load import write_places_csv

    write_places_csv(small, rows)
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(small))
    answer = json.loads(runner.invoke(main, ["geocode", "Riyadh", "--json"]).output)
    assert answer["match"]["place_id"] == "gn:98697"  # the Saudi capital is not in this gazetteer


def test_no_default_path_touches_geopy():
    # A fresh interpreter: resolving and the CLI without --online never import geopy.
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from webmap.cli import main\n"
        "from webmap.gazetteer import resolve, find_mentions\n"
        "assert resolve('Qxzvbnmw') == []\n"
        "find_mentions('Fighting near Qxzvbnmw and Kirkuk')\n"
        "result = CliRunner().invoke(main, ['geocode', 'Qxzvbnmw'])\n"
        "assert result.exit_code == 1, result.output\n"
        "print('geopy' in sys.modules)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("WEBMAP_GEOCODER", "WEBMAP_GAZETTEER")}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


# -- webmap gazetteer import ----------------------------------------------------------------------
def test_import_real_wof_subset_into_new_gazetteer(runner, home, tmp_path, monkeypatch):
    header, rows = wof_rows(lambda r: r["county_name"] == "Kirkuk" and r["placetype"] == "locality", 60)
    rows += wof_rows(lambda r: r["gn_geonameid"] == "94001", 1)[1]  # Laylan (WOF: Daquq county)
    source = tmp_path / "wof_kirkuk.csv"
    write_csv(source, header, rows)
    target = tmp_path / "gazetteer.csv"
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(target))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))

    result = runner.invoke(main, ["gazetteer", "import", str(source), "--format", "wof", "--country", "IQ"])
    assert result.exit_code == 0, result.output
    imported = read_places_csv(target)
    assert result.output.strip() == f"{len(imported)} place(s) added, 0 replaced in {target}"
    assert len(imported) == len({r["wof_id"] for r in rows}) - sum(r["is_deprecated"] == "1" for r in rows)
    assert all(r["admin1"] == "Kirkuk" for r in imported)

    answer = json.loads(runner.invoke(main, ["geocode", "Laylan", "--json"]).output)
    assert answer["match"]["place_id"] == "gn:94001"
    # COD-AB puts Laylan (Lilan sub-district) in Kirkuk district, whatever WOF says
    assert (answer["match"]["governorate"], answer["match"]["district"]) == ("Kirkuk", "Kirkuk")

    again = runner.invoke(main, ["gazetteer", "import", str(source), "--format", "wof", "--country", "IQ"])
    assert again.output.strip() == f"0 place(s) added, {len(imported)} replaced in {target}"


def test_import_geonames_dump_of_real_rows(runner, home, tmp_path, monkeypatch):
    _, rows = wof_rows(lambda r: r["gn_geonameid"] and r["gn_name"] and r["region_name"] == "Diyala", 30)
    lines = [
        "\t".join(
            [
                r["gn_geonameid"],
                r["gn_name"],
                r["gn_asciiname"],
                r["name_ara"].replace("|", ","),
                r["latitude"],
                r["longitude"],
                r["gn_feature_class"],
                r["gn_feature_code"],
                "IQ",
                "",
                r["gn_admin1_code"],
                r["gn_admin2_code"],
                "",
                "",
                r["gn_population"] or "0",
                "",
                "",
                "Asia/Baghdad",
                r["gn_modification_date"],
            ]
        )
        for r in rows
    ]
    dump = tmp_path / "IQ.txt"
    dump.write_text("\n".join(lines) + "\n", encoding="utf-8")
    target = tmp_path / "gazetteer.csv"
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(target))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    result = runner.invoke(main, ["gazetteer", "import", str(dump), "--format", "geonames"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"{len(rows)} place(s) added")
    first = rows[0]
    answer = json.loads(runner.invoke(main, ["geocode", first["gn_name"], "--json"]).output)
    assert answer["match"]["geonameid"] == int(first["gn_geonameid"])
    assert answer["match"]["governorate"] == "Diyala"


def test_import_without_webmap_gazetteer_writes_a_user_copy_not_the_shipped_file(runner, home, tmp_path):
    shipped = SHIPPED_GAZETTEER.read_bytes()
    header, rows = wof_rows(lambda r: r["gn_geonameid"] == "94001", 1)
    rows[0] = {**rows[0], "gn_name": "Laylān (checked 2024)"}
    source = tmp_path / "laylan.csv"
    write_csv(source, header, rows)
    result = runner.invoke(main, ["gazetteer", "import", str(source), "--format", "wof", "--country", "IQ"])
    assert result.exit_code == 0, result.output
    copy = home / "webmap" / "gazetteer.csv"
    assert result.output.strip() == f"0 place(s) added, 1 replaced in {copy}"
    assert SHIPPED_GAZETTEER.read_bytes() == shipped
    replaced = [r for r in read_places_csv(copy) if r["place_id"] == "gn:94001"]
    assert [r["name"] for r in replaced] == ["Laylān (checked 2024)"]


def test_malformed_wof_file_names_the_row_and_changes_nothing(runner, home, tmp_path, monkeypatch):
    header, rows = wof_rows(lambda r: r["county_name"] == "Daquq", 6)
    rows[2] = {**rows[2], "latitude": "north"}  # file row 4
    rows[4] = {**rows[4], "longitude": "200.5"}  # file row 6
    source = tmp_path / "bad_wof.csv"
    write_csv(source, header, rows)
    target = tmp_path / "gazetteer.csv"
    target.write_bytes((ROOT / "gazetteer.csv").read_bytes()[:20_000].rsplit(b"\n", 1)[0] + b"\n")
    before = target.read_bytes()
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(target))
    result = runner.invoke(main, ["gazetteer", "import", str(source), "--format", "wof", "--country", "IQ"])
    assert result.exit_code == 2
    assert "row 4: latitude: not a number: 'north'" in result.stderr
    assert "row 6: longitude: 200.5 is outside -180..180 degrees" in result.stderr
    assert "Traceback" not in result.output
    assert target.read_bytes() == before


@pytest.mark.parametrize(
    "content, fmt, message",
    [
        ("1\tKirkuk\tKirkuk\t\t35.4\t44.3\tP\tPPL\tIQ\n", "geonames", "row 1: row: 9 tab-separated fields"),
        ("place_id,name,longitude,country_code\ngn:1,Kirkuk,44.3,IQ\n", "csv", "missing column(s) latitude"),
        (
            "place_id,name,latitude,longitude,country_code\ngn:94787,Kirkuk,35.4,44.3,IQ\n,Daquq,35.1,44.4,IQ\n",
            "csv",
            "row 3: place_id: missing (give place_id, geonameid or wof_id)",
        ),
        (
            "wof_id,placetype,name,latitude,longitude\n1,locality,Kirkuk,35.4,44.3\n",
            "wof",
            "country: the file has no country column",
        ),
    ],
)
def test_malformed_files_are_refused(runner, home, tmp_path, monkeypatch, content, fmt, message):
    source = tmp_path / "bad.txt"
    source.write_text(content, encoding="utf-8")
    target = tmp_path / "gazetteer.csv"
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(target))
    result = runner.invoke(main, ["gazetteer", "import", str(source), "--format", fmt])
    assert result.exit_code == 2
    assert message in result.stderr
    assert not target.exists()


@pytest.mark.parametrize("fmt", ["csv", "wof", "geonames"])
def test_import_of_a_file_that_is_not_utf8_text(runner, home, tmp_path, monkeypatch, fmt):
    # The WOF extract saved by a spreadsheet as Windows-1256: the Arabic names are not UTF-8.
    source = tmp_path / "wof-cp1256.csv"
    header, rows = wof_rows(
        lambda r: r["name_ara"] and r["name_ara"].encode("cp1256", "ignore").decode("cp1256") == r["name_ara"], 3
    )
    text = (
        ",".join(header[:6] + ["name_ara"])
        + "\n"
        + "".join(",".join([*(r[c] for c in header[:6]), r["name_ara"]]) + "\n" for r in rows)
    )
    source.write_bytes(text.encode("cp1256"))
    target = tmp_path / "gazetteer.csv"
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(target))
    result = runner.invoke(main, ["gazetteer", "import", str(source), "--format", fmt, "--country", "IQ"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {source}: ") and "UTF-8" in result.stderr.replace("utf-8", "UTF-8")
    assert "Traceback" not in result.output
    assert not target.exists()


def test_geocode_with_a_gazetteer_that_is_not_text(runner, home, tmp_path, monkeypatch):
    binary = tmp_path / "gazetteer.csv"  # a PNG saved under the gazetteer's name
    binary.write_bytes((ROOT / "webmap" / "static" / "vendor" / "leaflet" / "images" / "layers.png").read_bytes())
    monkeypatch.setenv("WEBMAP_GAZETTEER", str(binary))
    result = runner.invoke(main, ["geocode", "Kirkuk"])
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"Error: {binary}: unreadable CSV near row 1: ")
    assert "Traceback" not in result.output


def test_import_of_a_missing_file(runner, home, tmp_path):
    result = runner.invoke(main, ["gazetteer", "import", str(tmp_path / "nope.csv"), "--format", "csv"])
    assert result.exit_code == 2
    assert "cannot read" in result.stderr


# -- GET /api/gazetteer ---------------------------------------------------------------------------
def test_api_gazetteer_same_json_as_cli(client, runner, home):
    response = client.get("/api/gazetteer", query_string={"q": "Riyadh", "context": "southwest of Kirkuk"})
    assert response.status_code == 200
    body = response.get_json()
    cli = json.loads(runner.invoke(main, ["geocode", "Riyadh", "--context", "southwest of Kirkuk", "--json"]).output)
    assert body == cli
    assert body["match"]["place_id"] == "gn:98697"


def test_api_gazetteer_no_match_is_null(client, home):
    body = client.get("/api/gazetteer?q=Qxzvbnmw").get_json()
    assert body["match"] is None and body["candidates"] == []


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "   "}, {"q": "x" * 10_000}])
def test_api_gazetteer_bad_q_is_400_naming_q(client, home, query):
    response = client.get("/api/gazetteer", query_string=query)
    assert response.status_code == 400
    assert response.get_json()["parameter"] == "q"


def test_api_gazetteer_hostile_text(client, home):
    for q in ("Kirk\x00uk", "كركوك🙂", "'; DROP TABLE places; --"):
        response = client.get("/api/gazetteer", query_string={"q": q, "context": "\x07" * 50})
        assert response.status_code == 200
        assert set(response.get_json()) == {"query", "context", "district", "governorate", "match", "candidates"}


def test_gazetteer_from_csv_loads_a_user_file(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    rows = [r for r in read_places_csv(SHIPPED_GAZETTEER) if r["admin2"] == "Sinjar"]
    from webmap.gazetteer.load import write_places_csv

    path = tmp_path / "sinjar.csv"
    write_places_csv(path, rows)
    gaz = Gazetteer.from_csv(path)
    assert len(gaz) == len(rows)
    assert len(list((tmp_path / "cache" / "webmap").glob("gazetteer-*.pickle"))) == 1
    assert Gazetteer.from_csv(path).row_of("gn:448149") is not None  # second load: from the cache
