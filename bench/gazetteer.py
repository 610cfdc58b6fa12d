"""Gazetteer speed: load time and memory, exact/alias lookups/s, fuzzy-miss lookups/s, mentions.

    python bench/gazetteer.py [--queries 5000]

Compares each figure with the plain way: loading = reading and indexing the CSV (vs the pickle
cache); exact lookups = a linear scan of every folded name; fuzzy = rapidfuzz over every name key
without the first-letter/length blocks. Queries are real names from the gazetteer (alternate
spellings of Iraqi places), and for the fuzzy misses the same names with one letter changed.
Targets (issue 4): >= 20,000 exact lookups/s, >= 1,000 fuzzy lookups/s, load < 1 s for 25,000 places.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from webmap.gazetteer import Gazetteer, find_mentions, resolve  # noqa: E402
from webmap.gazetteer.keys import name_key  # noqa: E402
from webmap.gazetteer.load import read_places_csv, write_places_csv  # noqa: E402

GAZETTEER = ROOT / "gazetteer.csv"
ARTICLE = ROOT.parent / "shared" / "fixtures" / "kurdistan24_isis_attack_kirkuk.txt"


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6


def timed(func, *args, repeat: int = 1):
    start = time.perf_counter()
    for _ in range(repeat):
        result = func(*args)
    return (time.perf_counter() - start) / repeat, result


def load_figures(rows: list[dict], label: str, cache_home: Path) -> tuple[float, float, Gazetteer]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gazetteer.csv"
        write_places_csv(path, rows)
        os.environ["XDG_CACHE_HOME"] = str(cache_home / label)
        before = rss_mb()
        cold, gaz = timed(Gazetteer.from_csv, path)
        memory = rss_mb() - before
        warm, _ = timed(Gazetteer.from_csv, path, repeat=3)
    print(
        f"| load {label} ({len(rows):,} places) | {warm:.3f} s from cache | {cold:.2f} s from CSV "
        f"| {cold / warm:.0f}x | {memory:.0f} MB |"
    )
    return warm, cold, gaz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queries", type=int, default=5000)
    args = parser.parse_args(argv)
    rng = random.Random(4)
    rows = read_places_csv(GAZETTEER)
    cache_home = Path(tempfile.mkdtemp(prefix="webmap-bench-"))
    print("| what | webmap | plain way | ratio | memory |")
    print("| --- | --- | --- | --- | --- |")
    load_figures(rows[:25_000], "25k subset", cache_home)
    _, _, gaz = load_figures(rows, "full", cache_home)

    iraq = [r for r in rows if r["country_code"] == "IQ" and r["alternate_names"]]
    names = [rng.choice(r["alternate_names"].split("|")) for r in rng.sample(iraq, args.queries)]
    all_keys = [
        (name_key(n), i) for i, r in enumerate(rows) for n in [r["name"], *r["alternate_names"].split("|")] if n
    ]

    def exact_all():
        for n in names:
            resolve(n, gazetteer=gaz)

    def plain_exact(sample):
        for n in sample:
            key = name_key(n)
            [i for k, i in all_keys if k == key]

    t, _ = timed(exact_all)
    plain_sample = names[:20]
    tp, _ = timed(plain_exact, plain_sample)
    exact_rate, plain_rate = len(names) / t, len(plain_sample) / tp
    print(
        f"| exact/alias resolve | {exact_rate:,.0f} /s | {plain_rate:,.1f} /s (linear scan) "
        f"| {exact_rate / plain_rate:,.0f}x | |"
    )

    def typo(name: str) -> str:
        letters = [i for i, ch in enumerate(name) if ch.isalpha()]
        i = rng.choice(letters[1:] or letters)
        return name[:i] + ("q" if name[i] != "q" else "x") + name[i + 1 :]

    misses = [typo(n) + "zq" for n in names[: args.queries // 5]]
    hit_or_miss = [len(resolve(m, gazetteer=gaz, limit=1)) for m in misses[:200]]

    def fuzzy_all():
        for m in misses:
            resolve(m, gazetteer=gaz)

    from rapidfuzz import fuzz, process

    unique_keys = list({k for k, _ in all_keys})

    def plain_fuzzy(sample):
        for m in sample:
            process.extractOne(name_key(m), unique_keys, scorer=fuzz.ratio, score_cutoff=88)

    t, _ = timed(fuzzy_all)
    fuzzy_rate = len(misses) / t
    tp, _ = timed(plain_fuzzy, misses[:20])
    plain_fuzzy_rate = 20 / tp
    print(
        f"| fuzzy-miss resolve ({sum(hit_or_miss)} of 200 found anything) | {fuzzy_rate:,.0f} /s "
        f"| {plain_fuzzy_rate:,.1f} /s (rapidfuzz over all {len(unique_keys):,} keys) "
        f"| {fuzzy_rate / plain_fuzzy_rate:,.0f}x | |"
    )

    contexts = ["southwest of Kirkuk", "in Diyala province", "Hawija district", "near Mosul, Nineveh"]

    def context_all():
        for i, n in enumerate(names[:2000]):
            resolve(n, contexts[i % 4], gazetteer=gaz)

    t, _ = timed(context_all)
    print(f"| resolve with context | {2000 / t:,.0f} /s | | | |")
    text = ARTICLE.read_text(encoding="utf-8") if ARTICLE.exists() else "Riyadh district, southwest of Kirkuk."
    t, mentions = timed(find_mentions, text, gaz, repeat=20)
    print(
        f"| find_mentions, {len(text):,}-character article ({len(mentions)} mentions) "
        f"| {len(text) / t / 1000:,.0f}k chars/s | | | |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
