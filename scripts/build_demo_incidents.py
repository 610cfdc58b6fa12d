"""Build ``geodata/demo_incidents.csv``, the demo incidents ``webmap demo`` loads, from UCDP GED.

Usage::

    python scripts/build_demo_incidents.py [--ged ../shared/data/ucdp-ged-irq/conflict_data_irq.csv]
                                           [--out geodata/demo_incidents.csv]

Selection: the GED events whose ``date_start`` falls in 2014-2018 and whose point lies in Kirkuk,
Ninewa (Nineveh), Salah al-Din, Diyala or Erbil governorate by the shipped COD-AB boundaries
(:func:`webmap.spatial.join_admin_areas`), among those for which UCDP knows at least the
governorate (``where_prec`` 1-4). Columns: UCDP's structured fields and the source outlet and date
only (:data:`KEEP`; no headline, article reference or original-source text), UCDP's own column
names, so the file is a UCDP GED CSV and loads through the ordinary UCDP importer. Rows are
ordered by date, then id. Rerunnable: the same input gives a byte-identical file. Finally the
script rewrites its own section of ``geodata/PROVENANCE.md`` (between markers) with the counts
and the checksum.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from provenance import markers, write_section  # noqa: E402  (scripts/ is on sys.path)

from webmap import spatial  # noqa: E402  (the repo's package, also when not installed)

DEFAULT_GED = ROOT.parent / "shared" / "data" / "ucdp-ged-irq" / "conflict_data_irq.csv"
DEFAULT_OUT = ROOT / "geodata" / "demo_incidents.csv"
PROVENANCE = ROOT / "geodata" / "PROVENANCE.md"
GOVERNORATES = {"IQG13": "Kirkuk", "IQG15": "Ninewa", "IQG16": "Salah al-Din", "IQG10": "Diyala", "IQG11": "Erbil"}
YEARS = (2014, 2018)
KEEP = (
    "id",
    "type_of_violence",
    "conflict_name",
    "side_a",
    "side_b",
    "source_office",
    "source_date",
    "where_prec",
    "where_coordinates",
    "latitude",
    "longitude",
    "date_prec",
    "date_start",
    "date_end",
    "deaths_a",
    "deaths_b",
    "deaths_civilians",
    "deaths_unknown",
    "low",
    "best",
    "high",
)
BEGIN, END = markers("build_demo_incidents.py")


def select_events(ged: pd.DataFrame) -> pd.DataFrame:
    """The demo rows of a GED table (HXL row already dropped), with :data:`KEEP` columns only."""
    years = pd.to_datetime(ged["date_start"]).dt.year
    ged = ged[years.between(*YEARS) & ged["where_prec"].astype(int).le(4)]
    joined = spatial.join_admin_areas(ged[["longitude", "latitude"]].astype(float))
    chosen = ged[joined["admin1_pcode"].isin(list(GOVERNORATES)).to_numpy()]
    chosen = chosen.assign(_governorate=joined.loc[chosen.index, "admin1_pcode"].map(GOVERNORATES))
    return chosen.sort_values(["date_start", "id"])


def _provenance(rows: pd.DataFrame, out: Path, ged: Path) -> str:
    data = out.read_bytes()
    per = rows["_governorate"].value_counts().reindex(list(GOVERNORATES.values()), fill_value=0)
    counts = ", ".join(f"{name} {n}" for name, n in per.items())
    first, last = rows["date_start"].min(), rows["date_start"].max()
    digest = hashlib.sha256(data).hexdigest()
    return f"""{BEGIN}
## Demo incidents (`scripts/build_demo_incidents.py`)

**Source**: UCDP Georeferenced Event Dataset (GED), Uppsala Conflict Data Program, the Iraq events
as distributed on HDX (`{ged.name}`, 7,473 events 1989-2018, GED version not stated in the file;
read from `ucdp-ged-irq/`). **Licence**: UCDP publishes its datasets under Creative Commons
Attribution 4.0 (CC BY 4.0), as UCDP states; the copy read here carries no licence statement of its
own. **Attribution**: Uppsala Conflict Data Program (UCDP), https://ucdp.uu.se. **Cite**: Sundberg,
Ralph and Erik Melander (2013), "Introducing the UCDP Georeferenced Event Dataset", *Journal of
Peace Research* 50(4): 523-532; and Davies, Pettersson and Öberg for the dataset year.

**How the file was derived** (rerun `python scripts/build_demo_incidents.py` to rebuild it byte for
byte): the events with `date_start` in {YEARS[0]}-{YEARS[1]} and `where_prec` 1-4 (UCDP knows at
least the governorate) whose point lies in Kirkuk, Ninewa (Nineveh), Salah al-Din, Diyala or Erbil
governorate of the shipped COD-AB boundaries; values unchanged; columns kept: {", ".join(KEEP)}.
The headline, article reference and original-source columns are left out: the file carries the
structured fields and the source outlet and date only. Loaded by `webmap demo` through the UCDP
importer (`webmap/io/ucdp.py` documents how UCDP codes map to the record).

| file | rows | by governorate | first | last | bytes | sha256 |
| --- | --- | --- | --- | --- | --- | --- |
| `{out.name}` | {len(rows)} | {counts} | {first} | {last} | {len(data)} | `{digest}` |
{END}"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ged", type=Path, default=DEFAULT_GED, help="UCDP GED CSV (HDX export)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--provenance", type=Path, default=PROVENANCE, help="PROVENANCE.md whose section to rewrite")
    args = parser.parse_args(argv)
    ged = pd.read_csv(args.ged, dtype=str, keep_default_na=False)
    ged = ged[~ged["id"].str.startswith("#") & ged["id"].ne("")]  # the HXL tag row has no id
    rows = select_events(ged)
    rows[list(KEEP)].to_csv(args.out, index=False, lineterminator="\n", encoding="utf-8")
    write_section(args.provenance, "build_demo_incidents.py", _provenance(rows, args.out, args.ged))
    print(f"{args.out}: {len(rows)} events")
    return 0


if __name__ == "__main__":
    sys.exit(main())
