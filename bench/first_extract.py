"""The first report after a start (issue 14, point 2): how long ``webmap serve`` takes to be ready,
and how long its first and second extraction take, after an install (no gazetteer cache yet) and
after an ordinary restart (the cache written by the first start).

    python bench/first_extract.py [--port 5391]

The server is a real ``webmap serve`` process on a fresh SQLite file and an empty cache folder
(``XDG_CACHE_HOME``), so the first start builds the gazetteer's index as an install would. The report
is the Kurdistan 24 article of ``../shared/fixtures`` (real text); the target for the first
extraction is under 2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ARTICLE = ROOT.parent / "shared" / "fixtures" / "kurdistan24_isis_attack_kirkuk.txt"


def extract_once(base: str, text: str) -> tuple[float, int]:
    """Seconds for one POST /api/extract of ``text``, and the number of drafts it proposed."""
    body = json.dumps({"text": text, "date": "2020-08-25"}).encode()
    request = urllib.request.Request(
        f"{base}/api/extract", body, {"Content-Type": "application/json", "Accept": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=120) as response:
        drafts = len(json.load(response)["drafts"])
    return time.perf_counter() - started, drafts


def one_start(folder: Path, port: int, text: str, label: str) -> None:
    env = dict(
        os.environ,
        WEBMAP_DB=f"sqlite:///{folder / 'webmap.db'}",
        WEBMAP_GEODATA=str(folder / "geodata"),
        XDG_DATA_HOME=str(folder / "data"),
        XDG_CACHE_HOME=str(folder / "cache"),
        PYTHONPATH=str(ROOT),
    )
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", "from webmap.cli import main; main()", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if "serving the map" in line:
                break
        else:
            raise SystemExit(f"webmap serve stopped: exit status {process.wait()}")
        ready = time.perf_counter() - started
        base = f"http://127.0.0.1:{port}"
        first, drafts = extract_once(base, text)
        second, _ = extract_once(base, text)
        print(
            f"{label:<16} ready after {ready:6.2f} s   first extraction {first:5.2f} s ({drafts} drafts)   "
            f"second {second:5.2f} s"
        )
    finally:
        process.terminate()
        process.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=5391)
    args = parser.parse_args()
    text = ARTICLE.read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        one_start(folder, args.port, text, "after install")
        one_start(folder, args.port, text, "after a restart")


if __name__ == "__main__":
    main()
