"""Dutch-sounding fictional names for the demo region: wijken, buurten, villages, streets.

Names are built from word parts, so they sound plausible without copying real places on
purpose. Every generator takes a ``numpy.random.Generator`` and is deterministic.
"""
from __future__ import annotations

import numpy as np

PLACE_HEADS = (
    "Ooster", "Wester", "Noorder", "Zuider", "Hoog", "Laag", "Oud", "Nieuw", "Groot", "Klein",
    "Duin", "Zee", "Kreek", "Wilgen", "Eiken", "Linden", "Beuken", "Riet", "Molen", "Kerk",
    "Sluis", "Dijk", "Polder", "Veen", "Zand", "Heide", "Berken", "Vlas", "Koren", "Elzen",
    "Esch", "Hazel", "Haver", "Vossen", "Ganzen", "Meeuwen", "Schelp", "Slik", "Kwel", "Dorst",
    "Ham", "Bram", "Helm", "Wad", "Geest", "Klei", "Broek", "Lis", "Horn", "Tjong",
)
PLACE_TAILS = (
    "hof", "wijk", "veld", "kamp", "hoek", "dorp", "meer", "park", "weide", "rijk", "oord",
    "horst", "akker", "burg", "donk", "hage", "lo", "hout", "dam", "zijl", "werf", "wierde",
    "haven", "kerk", "buren", "stede", "beek", "waard", "hem", "laar",
)
CITY_WIJKEN = ("Centrum", "Oude Haven", "Stationskwartier", "Havenkwartier")

STREET_HEADS = (
    # birds, trees, flowers
    "Merel", "Lijster", "Spreeuw", "Kievit", "Grutto", "Reiger", "Zwaluw", "Vink", "Mees",
    "Specht", "Havik", "Valk", "Uilen", "Wulp", "Tureluur", "Scholekster", "Eider", "Aalscholver",
    "Eiken", "Beuken", "Linden", "Esdoorn", "Wilgen", "Populieren", "Berken", "Elzen",
    "Kastanje", "Iepen", "Platanen", "Hazelaar", "Vlier", "Meidoorn", "Rozen", "Tulpen",
    "Lelie", "Narcis", "Krokus", "Hyacint", "Iris", "Dahlia", "Anjer", "Seringen", "Klaver",
    # trades, water, ordinary words
    "Bakkers", "Smids", "Vissers", "Kuipers", "Touwslagers", "Molenaars", "Scheepmakers",
    "Zeilmakers", "Netboeters", "Haven", "Sluis", "Duin", "Strand", "Kreek", "Geul", "Slik",
    "Kerk", "School", "Markt", "Molen", "Dorps", "Nieuwe", "Oude", "Lange", "Korte", "Brede",
    "Hoge", "Lage", "Achter", "Voor", "Noorder", "Zuider", "Ooster", "Wester", "Kaap", "Baken",
    "Vuurtoren", "Loods", "Dijkgraaf", "Schout", "Veerman", "Zandloper", "Kompas", "Anker",
    "Roer", "Mast", "Kiel", "Boei", "Getijden", "Eb", "Vloed", "Helmgras", "Zeekraal", "Lamsoor",
    "Pieter Doggers", "Jan Kreeftmans", "Aaltje Zeeuw", "Klaas Wadlopers", "Grietje Helms",
    "Dirk Strandvogt", "Willem Kwelder", "Trijntje Baak", "Hendrik Slikker", "Maartje Geul",
)
STREET_TAILS = (
    "straat", "laan", "weg", "dijk", "kade", "plein", "singel", "gracht", "steeg", "pad",
    "dreef", "hof", "erf", "park", "wal", "plantsoen",
)
# Tails that read as separate words after a person's name ("Pieter Doggersstraat" is fine).
_SPACED = {"hof", "erf", "park", "plantsoen"}


def _compose(head: str, tail: str) -> str:
    if " " in head and tail in _SPACED:
        return f"{head}{tail}"
    if head.endswith(tail[0]) and tail[0] in "aeiou":
        return f"{head}-{tail}"
    return head + tail


def place_names(rng: np.random.Generator, n: int, exclude=()) -> list[str]:
    """``n`` distinct village or neighbourhood names such as "Wilgenhorst" or "Ooster-oord"."""
    return _distinct(rng, n, PLACE_HEADS, PLACE_TAILS, exclude)


def street_names(rng: np.random.Generator, n: int, exclude=()) -> list[str]:
    """``n`` distinct street names such as "Merelstraat" or "Pieter Doggerslaan"."""
    return _distinct(rng, n, STREET_HEADS, STREET_TAILS, exclude)


def _distinct(rng, n, heads, tails, exclude) -> list[str]:
    pool = [_compose(h, t) for h in heads for t in tails]
    taken = set(exclude)
    pool = [p for p in pool if p not in taken]
    if n > len(pool):
        raise ValueError(f"cannot make {n} distinct names from {len(pool)} combinations")
    picks = rng.choice(len(pool), size=n, replace=False)
    return [pool[i] for i in picks]


def pc6_letters(n: int) -> list[str]:
    """The first ``n`` postcode letter pairs in order (AA, AB, ...), skipping SA, SD and SS,
    which PostNL does not use."""
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    pairs = [a + b for a in letters for b in letters if a + b not in ("SA", "SD", "SS")]
    if n > len(pairs):
        raise ValueError("too many postcodes in one PC4")
    return pairs[:n]
