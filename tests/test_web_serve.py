"""``webmap serve`` and ``webmap demo`` (issue 3, items 2 and 7; issue 8, item 8): waitress with
threads, gzip, a clear message for a port in use or an unusable WEBMAP_DB."""

from __future__ import annotations

import gzip
import json
import socket
import urllib.request

import pytest
from helpers import AUTH, NRT_REPORT, free_port, get, webmap_running

from webmap.cli import main


def test_help_lists_serve_and_demo(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output and "demo" in result.output
    serve_help = runner.invoke(main, ["serve", "--help"]).output
    assert "--host" in serve_help and "--port" in serve_help and "--threads" in serve_help
    assert "127.0.0.1" in serve_help and "5000" in serve_help


def test_a_port_in_use_is_one_clear_line(runner):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(main, ["serve", "--port", str(port)])
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: --port: 127.0.0.1:{port} is already in use (is webmap already running? try --port {port + 1})"
    )


@pytest.mark.parametrize("command", ["serve", "demo"])
@pytest.mark.parametrize("url", ["sqlite:////proc/webmap-cannot-be-here/webmap.db", "not a database url"])
def test_an_unusable_database_is_one_line_naming_the_variable(runner, monkeypatch, command, url):
    monkeypatch.setenv("WEBMAP_DB", url)
    result = runner.invoke(main, [command, "--port", str(free_port())])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: WEBMAP_DB: ")
    assert "Traceback" not in result.output


def test_serve_answers_with_waitress_and_gzip(server_env):
    with webmap_running("serve", "--threads", "4", env={**server_env, "WEBMAP_TOKEN": "test-token"}) as server:
        status, headers, body = get(f"{server.url}/", {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["Content-Encoding"] == "gzip"
        assert headers["Server"] == "waitress"
        assert b"folium-map" in gzip.decompress(body)
        status, headers, body = get(f"{server.url}/api/incidents")
        assert json.loads(body)["total"] == 0
        # What a report needs was loaded before the first request (bench/first_extract.py times it).
        request = urllib.request.Request(
            f"{server.url}/api/extract",
            json.dumps({"text": NRT_REPORT, "date": "2020-08-25"}).encode(),
            {"Content-Type": "application/json", **AUTH},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert len(json.load(response)["drafts"]) == 2
    out = server.out
    assert f"serving the map at {server.url}/" in out
    assert "webmap: Loading the gazetteer" in out and "ready to read reports" in out
    assert out.index("ready to read reports") < out.index("serving the map")
    assert "Traceback" not in server.err


def test_demo_loads_the_real_incidents_and_serves_them(server_env):
    with webmap_running("demo", env=server_env, timeout=120) as server:
        _, _, body = get(f"{server.url}/api/incidents?limit=1")
        listing = json.loads(body)
        assert listing["total"] == 1783
        assert listing["features"][0]["properties"]["source"] == "UCDP GED"
    assert "1783 inserted" in server.out
    assert "Traceback" not in server.err
