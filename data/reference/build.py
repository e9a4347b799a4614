"""Regenerate the reference facts in this folder from the public CBS/Politie tables.

Writes two small files that the project ships and the app reads at run time:

* ``crime_types.csv``: the 59 SoortMisdrijf codes of Politie table 47018NED with title,
  description (the underlying BVI incident codes) and the "brengdelict" flag of
  Bernasco et al. (2024). Source: CBS/Politie open data, table 47018NED (CC BY, "Bron: CBS").
* ``national_rates.csv``: registered crimes per 100,000 inhabitants per SoortMisdrijf code,
  the mean over 2019-2023 of table 47025NED (national, yearly) divided by the national
  population of 1 January of the same year (CBS). The demo generator uses these rates.

Usage: ``python -m data.reference.build ../shared/data``. Only facts (code lists, titles and
national rates) are written; no boundary or count data is copied into the project.
"""
from __future__ import annotations

import csv
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent

# National population on 1 January (CBS StatLine 37296ned / 70072ned), a published fact.
NATIONAL_POPULATION = {
    2019: 17_282_163,
    2020: 17_407_585,
    2021: 17_475_415,
    2022: 17_590_672,
    2023: 17_811_291,
}


def build(shared_data: Path) -> None:
    with open(shared_data / "soort_misdrijf_47018NED.csv", encoding="utf-8", newline="") as fh:
        types = list(csv.DictReader(fh))
    with open(HERE / "crime_types.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["code", "title", "description", "brengdelict"])
        for row in types:
            description = row["description"].split(" | (uitgebreide beschrijving")[0]
            out.writerow([row["code"], row["title"], description, row["brengdelict"]])

    totals: dict[str, list[float]] = defaultdict(list)
    with open(shared_data / "crime_nl_by_type_year_2012_2023.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            year = int(row["year"])
            if year in NATIONAL_POPULATION:
                totals[row["code"]].append(
                    int(row["registered_crimes"]) / NATIONAL_POPULATION[year] * 100_000
                )
    with open(HERE / "national_rates.csv", "w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(["code", "per_100k_per_year"])
        for row in types:
            values = totals.get(row["code"], [])
            rate = sum(values) / len(values) if values else 0.0
            out.writerow([row["code"], f"{rate:.3f}"])


if __name__ == "__main__":
    build(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
