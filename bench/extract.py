"""Extraction speed (issue 7, bad input): seconds per 100 KB of report, against the plain way.

    python bench/extract.py [--sizes 25 50 100 200] [--repeat 3]

Reports are built from real text: the 157 ACLED notes of March 2019 and the Kurdistan 24 article
(``../shared``), one paragraph each, numbered so that no paragraph repeats (repeated lines are
skipped by the extractor and would flatter it), cut to the size asked (in KB of UTF-8). Figures:

- ``extract``: :func:`webmap.extract.extract`, the whole path to validated, joined drafts; places are
  looked up only in sentences that report an event;
- ``plain``: the plain way of the same reading, the gazetteer's ``find_mentions`` over every sentence
  of the report (what a gazetteer-first extractor does before it knows which sentences matter).

The target is at most 1 s per 100 KB; reports over 200,000 characters are refused (MAX_TEXT_CHARS).
The gazetteer is loaded before timing (a server loads it once).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webmap.extract import MAX_TEXT_CHARS, extract  # noqa: E402
from webmap.extract.sentences import split_article  # noqa: E402
from webmap.gazetteer import find_mentions, get_gazetteer  # noqa: E402

SHARED = ROOT.parent / "shared"
ACLED = SHARED / "data" / "acled-irq" / "ACLED_Iraq_2019-03_sample.csv"
ARTICLE = SHARED / "fixtures" / "kurdistan24_isis_attack_kirkuk.txt"


def paragraphs() -> list[str]:
    with open(ACLED, encoding="utf-8-sig", newline="") as fh:
        notes = [row["notes"] for row in csv.DictReader(fh)]
    return notes + [line for line in ARTICLE.read_text(encoding="utf-8").splitlines() if line.strip()]


def report(kb: int, source: list[str]) -> str:
    out, size, n = [], 0, 0
    while size < kb * 1000:
        line = f"Report {n}: {source[n % len(source)]}"
        out.append(line)
        size += len(line.encode("utf-8")) + 1
        n += 1
    return "\n".join(out)[: min(MAX_TEXT_CHARS, kb * 1000)]


def best(func, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[25, 50, 100, 200], help="report sizes in KB")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    get_gazetteer()
    source = paragraphs()
    published = dt.date(2019, 3, 31)
    print(f"{'KB':>5} {'drafts':>7} {'extract s':>10} {'s/100KB':>8} {'plain s':>8} {'plain/extract':>13}")
    for kb in args.sizes:
        text = report(kb, source)
        drafts = len(extract(text, published).drafts)
        ours = best(lambda text=text: extract(text, published), args.repeat)
        sentences = [s.text for s in split_article(text).sentences]
        plain = best(lambda sentences=sentences: [find_mentions(s) for s in sentences], args.repeat)
        size_kb = len(text.encode("utf-8")) / 1000
        print(f"{size_kb:5.0f} {drafts:7d} {ours:10.2f} {ours / size_kb * 100:8.2f} {plain:8.2f} {plain / ours:13.2f}")


if __name__ == "__main__":
    main()
