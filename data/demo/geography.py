"""The fictional demo region "Eenheid Doggerland": an island in the North Sea around 53.3N 3.0E
with one city (Havenstad) and three smaller gemeenten, their wijken, buurten, PC4 and PC6 areas,
addresses and inhabitants. Everything derives from one seed.

Codes use a capital letter in the number part (``GMD001``, ``WKD00101``, ``BUD0010101``) and
PC4s starting with 0, so they never collide with real CBS codes or Dutch postcodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point

from data.demo.generator import largest_remainder
from data.demo.names import pc6_letters, place_names, street_names
from geo import synthetic as syn
from geo.pointinpolygon import locate_index

#: Metric CRS used to build the region (UTM 31N; 3E is its central meridian).
METRIC = "EPSG:32631"
#: Centre of the island in METRIC coordinates (3.0E, 53.3N).
ORIGIN = (500_000.0, 5_905_644.0)

RE_CODE = "REDL"
RE_NAME = "Eenheid Doggerland (demo)"
DISTRICT = ("REDL-D1", "District Doggerland")
#: Basisteams: code -> (name, gemeente numbers).
BASISTEAMS = {"REDL-B1": ("Basisteam Havenstad", (1,)),
              "REDL-B2": ("Basisteam Polderland", (2, 3, 4))}


@dataclass(frozen=True)
class GemeenteSpec:
    number: int
    name: str
    population: int  # target for the current year
    growth: float  # yearly population growth
    rate_scale: float  # crime rate relative to the national mean
    angle: float  # direction of its main place from the island centre (radians)
    reach: float  # distance of that place as a share of the centre-to-coast distance
    wijken: tuple[int, int]
    pc4: int


GEMEENTEN = (
    GemeenteSpec(1, "Havenstad", 150_000, 0.008, 1.4, 0.05, 0.72, (12, 14), 15),
    GemeenteSpec(2, "Veendijk", 43_000, 0.004, 0.7, 2.55, 0.55, (5, 6), 5),
    GemeenteSpec(3, "Heuvelrode", 28_000, 0.002, 0.7, 4.05, 0.55, (4, 5), 4),
    GemeenteSpec(4, "Zandmeer", 21_000, 0.003, 0.7, 1.45, 0.55, (3, 4), 3),
)

#: Persistent hot spots: key -> (buurt name, street name, distance from the city centre in m).
HOTSPOT_PLACES = {
    "uitgaan": ("Binnenstad", "Grote Markt", 0.0),
    "station": ("Stationsgebied", "Stationsplein", 1300.0),
    "winkel": ("Klaverhof", "Winkelcentrum Klaverhof", 3600.0),
}

THEMED_BUURTEN = (
    "Vogelbuurt", "Bloemenbuurt", "Bomenbuurt", "Schildersbuurt", "Zeeheldenbuurt",
    "Componistenbuurt", "Rivierenbuurt", "Sterrenbuurt", "Edelstenenbuurt", "Vissersbuurt",
    "Kerkbuurt", "Molenbuurt", "Schepenbuurt", "Dichtersbuurt", "Professorenbuurt",
    "Havenbuurt", "Sluisbuurt", "Duinbuurt", "Kruidenbuurt", "Vruchtenbuurt",
)


@dataclass
class HotspotPlace:
    """A persistent hot spot of the demo region: its buurt, point and nearby addresses."""

    key: str
    name: str
    bu_index: int
    x: float
    y: float
    address_index: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


@dataclass
class DemoGeography:
    """All areas in METRIC coordinates relative to ORIGIN, with their attributes."""

    gemeenten: gpd.GeoDataFrame  # code, name, population, rate_scale, growth, geometry
    wijken: gpd.GeoDataFrame  # code, name, gm_code, geometry
    buurten: gpd.GeoDataFrame  # code, name, wk_code, gm_code, population, density, geometry
    pc4: gpd.GeoDataFrame  # code, name, gm_code, geometry
    pc6: gpd.GeoDataFrame  # code, name (street), pc4, gm_code, wk_code, bu_code, geometry
    addresses: pd.DataFrame  # x, y, bu_index, pc6, pc4, street, house_number (grouped by buurt)
    eenheid: object  # polygon
    hotspots: list[HotspotPlace]
    city_centre: tuple[float, float]


# -- building ----------------------------------------------------------------------------------
def build_geography(seed: int) -> DemoGeography:
    """The whole demo region for ``seed`` (deterministic)."""
    streams = np.random.SeedSequence([seed, 7001]).spawn(7)
    rng_shape, rng_part, rng_pc, rng_names, rng_addr, rng_pc6, rng_spot = (
        np.random.default_rng(s) for s in streams)
    centres, density, atoms, pairs = _land(rng_shape)
    people = atoms.area / 1e6 * density(atoms.x, atoms.y)  # unscaled inhabitants per atom
    gm = _gemeente_partition(rng_part, atoms, people, centres, pairs)
    wk, bu = _nested_partition(rng_part, atoms, people, gm, pairs)
    pc4 = _pc4_partition(rng_pc, atoms, people, gm, pairs)
    shapes = _shapes(atoms, gm, wk, bu, pc4)

    # Inhabitants: the density field integrated per atom, scaled to each gemeente's target.
    targets = np.array([g.population for g in GEMEENTEN])
    scale = targets / np.bincount(gm, people, minlength=len(GEMEENTEN))
    bu_pop = _integer_population(np.bincount(bu, people), shapes["bu_gm"], targets)
    pc4_pop = np.bincount(pc4, people * scale[gm])

    gemeenten = gpd.GeoDataFrame({
        "code": [gm_code(g.number) for g in GEMEENTEN],
        "name": [g.name for g in GEMEENTEN],
        "population": targets,
        "growth": [g.growth for g in GEMEENTEN],
        "rate_scale": [g.rate_scale for g in GEMEENTEN],
    }, geometry=list(shapes["gemeente"]), crs=METRIC)
    hot = _hotspot_buurten(rng_spot, centres[0], shapes["buurt"], shapes["bu_wk"], shapes["bu_gm"])
    wijken, buurten = _name_wijken_buurten(rng_names, gemeenten, centres, shapes, bu_pop, hot)
    pc4_frame = _pc4_frame(gemeenten, wijken, shapes["pc4"], shapes["pc4_gm"], centres)
    hotspots = [HotspotPlace(key, HOTSPOT_PLACES[key][0], b, px, py)
                for key, (b, px, py) in hot.items()]
    pc6 = _pc6_frame(rng_pc6, pc4_frame, pc4_pop, buurten, density)
    addresses = _addresses(rng_addr, buurten, pc6, density, hotspots)
    _name_streets(rng_names, pc6, addresses, gemeenten, hotspots)
    return DemoGeography(gemeenten, wijken, buurten, pc4_frame, pc6, addresses,
                         shapes["eenheid"], hotspots, centres[0])


def _land(rng):
    """The island outline, the main places, the density field and the atoms."""
    outline = syn.noisy_outline(rng, (0.0, 0.0), 17_000, 12_000, roughness=0.09,
                                bays=((GEMEENTEN[0].angle, 0.09, 0.07),))
    centres = [_place_centre(outline, g.angle, g.reach) for g in GEMEENTEN]
    density = _density_field(centres, _villages(rng, outline, centres))
    # Atoms are denser where people live, so small urban buurten still consist of many atoms.
    atoms = syn.tessellate(rng, outline, 14_000, lambda x, y: np.sqrt(density(x, y)) + 20)
    return centres, density, atoms, syn.adjacency(atoms.cells)


def _gemeente_partition(rng, atoms, people, centres, pairs):
    """Gemeenten around fixed seeds at their main places; the city's seed sits a bit inland."""
    seeds_x = np.array([c[0] for c in centres])
    seeds_y = np.array([c[1] for c in centres])
    seeds_x[0] -= 1500
    gm = syn.partition(rng, atoms.x, atoms.y, people, len(GEMEENTEN), wobble=0.12,
                       size_jitter=0.0, seeds=(seeds_x, seeds_y),
                       bias=np.array([-500.0, 0.0, 0.0, 0.0]), shortest_wave=800.0)[0]
    return syn.make_contiguous(gm, pairs)


def _shapes(atoms, gm, wk, bu, pc4) -> dict:
    """Polygons per level from the atom labels, plus each child's parent index.

    Fragments (atoms grouped by buurt and PC4) are the finest common layer; smoothing them
    once keeps every coarser level exactly nested and gap-free."""
    n_pc4 = pc4.max() + 1
    frag_keys, frag = np.unique(bu.astype(np.int64) * n_pc4 + pc4, return_inverse=True)
    frag_geom = syn.smooth_coverage(syn.union_groups(atoms.cells, frag, len(frag_keys)), 55.0)
    out = {"bu_wk": _parent_of(bu, wk), "wk_gm": _parent_of(wk, gm), "bu_gm": _parent_of(bu, gm),
           "pc4_gm": _parent_of(pc4, gm)}
    out["buurt"] = syn.dissolve(frag_geom, frag_keys // n_pc4, bu.max() + 1)
    out["pc4"] = syn.dissolve(frag_geom, frag_keys % n_pc4, n_pc4)
    out["wijk"] = syn.dissolve(out["buurt"], out["bu_wk"], wk.max() + 1)
    out["gemeente"] = syn.dissolve(out["wijk"], out["wk_gm"], len(GEMEENTEN))
    out["eenheid"] = syn.dissolve(out["gemeente"], np.zeros(len(GEMEENTEN), dtype=int), 1)[0]
    return out


def gm_code(number: int) -> str:
    return f"GMD{number:03d}"


def _place_centre(outline, angle: float, reach: float) -> tuple[float, float]:
    """The point at ``reach`` of the way from the island centre to the coast along ``angle``."""
    ray = shapely.LineString([(0, 0), (60_000 * np.cos(angle), 60_000 * np.sin(angle))])
    hit = ray.intersection(outline.exterior)
    dist = min(Point(0, 0).distance(p) for p in shapely.get_parts(hit))
    return (float(reach * dist * np.cos(angle)), float(reach * dist * np.sin(angle)))


def _villages(rng, outline, centres):
    """Secondary places (x, y, peak density, scale): a suburb of the city and one or two
    hamlets per small gemeente, each nearer to its own main place than to any other."""
    out = []
    inland = outline.buffer(-800)
    cx, cy = centres[0]
    ang = np.arctan2(-cy, -cx) + rng.uniform(-0.7, 0.7)
    out.append((cx + 4000 * np.cos(ang), cy + 4000 * np.sin(ang), 2600.0, 800.0))
    for own in centres[1:]:
        for _ in range(int(rng.integers(1, 3))):
            for _attempt in range(100):
                a = rng.uniform(0, 2 * np.pi)
                d = rng.uniform(2500, 5000)
                px, py = own[0] + d * np.cos(a), own[1] + d * np.sin(a)
                dists = [np.hypot(px - c[0], py - c[1]) for c in centres]
                if inland.contains(Point(px, py)) and centres[int(np.argmin(dists))] == own:
                    peak, scale = float(rng.uniform(700, 1400)), float(rng.uniform(350, 550))
                    out.append((px, py, peak, scale))
                    break
    return out


def _density_field(centres, villages):
    """Inhabitants per km^2: a dense city centre, villages, hamlets and a rural floor."""
    peaks = [(centres[0][0], centres[0][1], 9000.0, 2100.0)]
    peaks += [(c[0], c[1], 3000.0, 850.0) for c in centres[1:]]
    peaks += list(villages)
    px, py, amp, scale = (np.array(v, dtype=float) for v in zip(*peaks))

    def density(x, y):
        x = np.asarray(x, float)[..., None]
        y = np.asarray(y, float)[..., None]
        return (amp * np.exp(-np.hypot(x - px, y - py) / scale)).sum(axis=-1) + 45.0

    return density


def _nested_partition(rng, atoms, people, gm, pairs):
    """Wijken per gemeente, then buurten per wijk, each an organic partition of the atoms."""
    n = len(atoms)
    wk = np.full(n, -1, dtype=np.int64)
    nxt = 0
    for g, spec in enumerate(GEMEENTEN):
        idx = np.flatnonzero(gm == g)
        k = int(rng.integers(spec.wijken[0], spec.wijken[1] + 1))
        lab, _ = syn.partition(rng, atoms.x[idx], atoms.y[idx], people[idx] ** 0.6 + 1e-3, k,
                               wobble=0.25, size_jitter=0.12)
        wk[idx] = lab + nxt
        nxt += lab.max() + 1
    wk = np.unique(syn.make_contiguous(wk, pairs, group=gm), return_inverse=True)[1]

    bu = np.full(n, -1, dtype=np.int64)
    nxt = 0
    for w in range(wk.max() + 1):
        idx = np.flatnonzero(wk == w)
        target = 1300.0 if gm[idx[0]] == 0 else 850.0
        # ``people`` is unscaled; the city's raw total is close to its target, villages less so.
        raw_scale = GEMEENTEN[gm[idx[0]]].population / people[gm == gm[idx[0]]].sum()
        k = int(np.clip(round(people[idx].sum() * raw_scale / target), 4, 12))
        k = min(k, max(1, len(idx) // 8))
        lab, _ = syn.partition(rng, atoms.x[idx], atoms.y[idx], people[idx] ** 0.75 + 1e-3, k,
                               wobble=0.25, size_jitter=0.1)
        bu[idx] = lab + nxt
        nxt += lab.max() + 1
    bu = np.unique(syn.make_contiguous(bu, pairs, group=wk), return_inverse=True)[1]
    return wk, bu


def _pc4_partition(rng, atoms, people, gm, pairs):
    pc4 = np.full(len(atoms), -1, dtype=np.int64)
    nxt = 0
    for g, spec in enumerate(GEMEENTEN):
        idx = np.flatnonzero(gm == g)
        lab, _ = syn.partition(rng, atoms.x[idx], atoms.y[idx], people[idx] ** 0.7 + 1e-3,
                               spec.pc4, wobble=0.2, size_jitter=0.08)
        pc4[idx] = lab + nxt
        nxt += lab.max() + 1
    return np.unique(syn.make_contiguous(pc4, pairs, group=gm), return_inverse=True)[1]


def _parent_of(child, parent):
    """Parent label per child label (children nest, so any member atom tells)."""
    out = np.zeros(child.max() + 1, dtype=np.int64)
    out[child] = parent
    return out


def _integer_population(weight, group, totals):
    """Integers per item, proportional to ``weight`` within each group, summing to the totals."""
    out = np.zeros(len(weight), dtype=np.int64)
    for g, total in enumerate(totals):
        idx = np.flatnonzero(group == g)
        out[idx] = largest_remainder(weight[idx], int(total))
    return out


# -- hot spots and names -----------------------------------------------------------------------
def _hotspot_buurten(rng, centre, bu_geom, bu_wk, bu_gm) -> dict[str, tuple[int, float, float]]:
    """The buurt and point of each persistent hot spot: the centre itself, the station a little
    inland, the shopping centre further out in another wijk; all in the city."""
    tree = shapely.STRtree(bu_geom)

    def buurt_at(px, py):
        hits = tree.query(Point(px, py), predicate="intersects")
        return int(hits[0]) if len(hits) else -1

    out = {"uitgaan": (buurt_at(*centre), centre[0], centre[1])}
    inland = np.arctan2(-centre[1], -centre[0])
    labels = shapely.point_on_surface(bu_geom)
    for key in ("station", "winkel"):
        dist = HOTSPOT_PLACES[key][2]
        taken_bu = [v[0] for v in out.values()]
        taken_wk = [bu_wk[v[0]] for v in out.values()]

        def allowed(b):
            return (b >= 0 and bu_gm[b] == 0 and b not in taken_bu
                    and (key != "winkel" or bu_wk[b] not in taken_wk))

        for attempt in range(200):
            ang = inland + rng.uniform(-1.3, 1.3)
            d = dist * rng.uniform(0.9, 1.15 + attempt / 100)
            px, py = centre[0] + d * np.cos(ang), centre[1] + d * np.sin(ang)
            b = buurt_at(px, py)
            if allowed(b):
                out[key] = (b, float(px), float(py))
                break
        else:  # no luck: the allowed city buurt whose label is nearest to the wanted distance
            off = np.abs(np.hypot(shapely.get_x(labels) - centre[0],
                                  shapely.get_y(labels) - centre[1]) - dist)
            b = next(int(i) for i in np.argsort(off, kind="stable") if allowed(int(i)))
            out[key] = (b, float(labels[b].x), float(labels[b].y))
    return out


def _name_wijken_buurten(rng, gemeenten, centres, shapes, bu_pop, hot):
    """Codes (in order of distance from the main place) and Dutch names for wijken and buurten."""
    wk_gm, wk_geom = shapes["wk_gm"], shapes["wijk"]
    bu_wk, bu_geom = shapes["bu_wk"], shapes["buurt"]
    wk_label = shapely.point_on_surface(wk_geom)
    bu_label = shapely.point_on_surface(bu_geom)
    bu_area = shapely.area(bu_geom) / 1e6
    bu_density = bu_pop / np.maximum(bu_area, 1e-6)
    hot_names = {b: HOTSPOT_PLACES[key][0] for key, (b, _, _) in hot.items()}
    reserved = set(gemeenten["name"]) | set(hot_names.values()) | set(THEMED_BUURTEN)
    place_pool = iter(place_names(rng, 400, exclude=reserved))
    wk_rows, bu_rows = [], []
    for g, gm_row in gemeenten.iterrows():
        cx, cy = centres[g]
        members = np.flatnonzero(wk_gm == g)
        dist = np.hypot(shapely.get_x(wk_label[members]) - cx,
                        shapely.get_y(wk_label[members]) - cy)
        members = members[np.argsort(dist, kind="stable")]
        themed = iter(rng.permutation(THEMED_BUURTEN))
        for j, w in enumerate(members, start=1):
            wcode = f"WK{gm_row['code'][2:]}{j:02d}"
            if j == 1:
                wname = "Centrum" if g == 0 else gm_row["name"]
            else:
                wname = next(place_pool)
            wk_rows.append((w, wcode, wname, gm_row["code"]))
            bus = np.flatnonzero(bu_wk == w)
            bus = bus[np.argsort(-bu_density[bus], kind="stable")]
            anchor = bu_label[bus[0]]
            for i, b in enumerate(bus, start=1):
                bcode = f"BU{wcode[2:]}{i:02d}"
                if b in hot_names:
                    bname = hot_names[b]
                elif g == 0:
                    pick_theme = rng.random() < 0.35
                    bname = (next(themed, None) if pick_theme else None) or next(place_pool)
                else:
                    bname = _village_buurt_name(wname, i, len(bus), anchor, bu_label[b],
                                                bu_density[b])
                bu_rows.append((b, bcode, bname, wcode, gm_row["code"]))
    wk_rows.sort()
    bu_rows.sort()
    wijken = gpd.GeoDataFrame(
        pd.DataFrame([r[1:] for r in wk_rows], columns=["code", "name", "gm_code"]),
        geometry=list(wk_geom), crs=METRIC)
    buurten = gpd.GeoDataFrame(
        pd.DataFrame([r[1:] for r in bu_rows], columns=["code", "name", "wk_code", "gm_code"]),
        geometry=list(bu_geom), crs=METRIC)
    buurten["population"] = bu_pop
    buurten["density"] = bu_density
    # Make buurt names unique within their gemeente (compass names can repeat).
    dup = buurten.duplicated(["gm_code", "name"], keep="first")
    for idx in np.flatnonzero(dup.to_numpy()):
        buurten.loc[idx, "name"] = next(place_pool)
    return wijken, buurten


_COMPASS = ("Oost", "Noord", "West", "Zuid")


def _village_buurt_name(wijk: str, rank: int, count: int, anchor, label, density) -> str:
    """Village style buurt names: the core, compass quarters and "Verspreide huizen"."""
    if rank == 1:
        return f"{wijk}-Centrum" if count > 2 else wijk
    if rank == count and density < 150:
        return f"Verspreide huizen {wijk}"
    angle = np.arctan2(label.y - anchor.y, label.x - anchor.x)
    return f"{wijk}-{_COMPASS[int(((angle + np.pi / 4) % (2 * np.pi)) // (np.pi / 2))]}"


def _pc4_frame(gemeenten, wijken, pc4_geom, pc4_gm, centres):
    """PC4 codes per gemeente (0101.., 0201.., numbered outward from the main place)."""
    label = shapely.point_on_surface(pc4_geom)
    wk_tree = shapely.STRtree(wijken.geometry.values)
    rows = []
    for g, gm_row in gemeenten.iterrows():
        members = np.flatnonzero(pc4_gm == g)
        cx, cy = centres[g]
        dist = np.hypot(shapely.get_x(label[members]) - cx, shapely.get_y(label[members]) - cy)
        for j, p in enumerate(members[np.argsort(dist, kind="stable")], start=1):
            hit = wk_tree.query(label[p], predicate="intersects")
            wname = wijken["name"].iloc[int(hit[0])] if len(hit) else gm_row["name"]
            name = gm_row["name"] if wname == gm_row["name"] else f"{gm_row['name']} {wname}"
            rows.append((p, f"0{g + 1}{j:02d}", name, gm_row["code"]))
    rows.sort()
    attributes = pd.DataFrame([r[1:] for r in rows], columns=["code", "name", "gm_code"])
    return gpd.GeoDataFrame(attributes, geometry=list(pc4_geom), crs=METRIC)


def _pc6_frame(rng, pc4, pc4_pop, buurten, density):
    """PC6 areas: Voronoi cells of density-weighted seeds inside each PC4, grouped into streets
    of a few postcodes each; letters run along the streets."""
    rows = []
    street_base = 0
    for p, row in pc4.iterrows():
        poly = row.geometry
        n = int(max(6, round(pc4_pop[p] / 70)))
        sx, sy = syn.sample_points(rng, poly, n, density)
        cells = syn.clipped_voronoi(sx, sy, poly)
        k = max(1, int(np.ceil(n / 3.5)))
        tx, ty = syn.choose_seeds(rng, sx, sy, np.ones(n), k, iterations=3)
        street = syn.nearest(sx, sy, tx, ty)
        # Order streets around the PC4's centre, postcodes along each street's main axis.
        c = poly.representative_point()
        street_angle = np.arctan2(ty - c.y, tx - c.x)[street]
        axis = _principal_position(sx, sy, street)
        order = np.lexsort((axis, street_angle))
        letters = pc6_letters_spread(n)
        _, street_local = np.unique(street, return_inverse=True)
        along = pd.Series(street[order]).groupby(street[order]).cumcount().to_numpy()
        for rank, i in enumerate(order):
            rows.append((row["code"] + letters[rank], row["code"], row["gm_code"],
                         street_base + int(street_local[i]), int(along[rank]),
                         float(sx[i]), float(sy[i]), cells[i]))
        street_base += int(street_local.max()) + 1
    frame = gpd.GeoDataFrame(pd.DataFrame([r[:-1] for r in rows], columns=[
        "code", "pc4", "gm_code", "street_id", "street_pos", "seed_x", "seed_y"]),
        geometry=[r[-1] for r in rows], crs=METRIC)
    # The buurt of each PC6 is the buurt that contains its representative point. (Placing
    # points here uses STRtree query order for ties, which keeps the seeded output unchanged.)
    label = shapely.point_on_surface(frame.geometry.values)
    frame["bu_index"] = locate_index(label, buurten.geometry.values, nearest=True, ties="query")
    frame["bu_code"] = buurten["code"].to_numpy()[frame["bu_index"]]
    frame["wk_code"] = buurten["wk_code"].to_numpy()[frame["bu_index"]]
    return frame


def pc6_letters_spread(n: int) -> list[str]:
    """``n`` letter pairs in order, spread over the alphabet like real postcodes."""
    pairs = pc6_letters(26 * 26 - 3)
    step = max(1, min(3, len(pairs) // max(n, 1)))
    return pairs[::step][:n] if len(pairs[::step]) >= n else pairs[:n]


def _principal_position(x, y, group):
    """Position of each point along the main axis of its group (for ordering along a street)."""
    out = np.zeros(len(x))
    for g in np.unique(group):
        m = group == g
        px, py = x[m] - x[m].mean(), y[m] - y[m].mean()
        if m.sum() < 2:
            continue
        cov = np.cov(np.vstack([px, py]))
        vals, vecs = np.linalg.eigh(cov)
        v = vecs[:, -1]
        if v[0] < 0 or (v[0] == 0 and v[1] < 0):
            v = -v
        out[m] = px * v[0] + py * v[1]
    return out


def _addresses(rng, buurten, pc6, density, hotspots) -> pd.DataFrame:
    """Addresses (about one per 2.2 inhabitants, at least 20 per buurt), denser where the
    density field is high, with extra addresses clustered around each hot spot."""
    xs, ys, owner = [], [], []
    hot_by_bu = {h.bu_index: h for h in hotspots}
    count = 0
    for b, row in buurten.iterrows():
        n = int(max(20, round(row["population"] / 2.2)))
        x, y = syn.sample_points(rng, row.geometry, n, density)
        xs.append(x)
        ys.append(y)
        count += len(x)
        spot = hot_by_bu.get(b)
        if spot is not None:
            disc = Point(spot.x, spot.y).buffer(110).intersection(row.geometry)
            hx, hy = syn.sample_points(rng, disc, 30)
            spot.address_index = np.arange(count, count + len(hx))
            xs.append(hx)
            ys.append(hy)
            count += len(hx)
            x = np.concatenate([x, hx])
        owner.append(np.full(len(x), b))
    frame = pd.DataFrame({"x": np.concatenate(xs), "y": np.concatenate(ys),
                          "bu_index": np.concatenate(owner)})
    points = shapely.points(frame["x"].to_numpy(), frame["y"].to_numpy())
    p6 = locate_index(points, pc6.geometry.values, nearest=True, ties="query")
    frame["pc6_index"] = p6
    frame["pc6"] = pc6["code"].to_numpy()[p6]
    _pull_inside(frame, pc6.geometry.values[p6], buurten.geometry.values[frame["bu_index"]])
    frame["pc4"] = pc6["pc4"].to_numpy()[p6]
    # House numbers: postcodes alternate sides of the street (odd, even); numbers run along it.
    frame["street_id"] = pc6["street_id"].to_numpy()[p6]
    street_pos = pc6["street_pos"].to_numpy()[p6]
    frame["parity"] = street_pos % 2
    frame["_pos"] = street_pos
    frame["_axis"] = frame["x"] * 0.6 + frame["y"] * 0.8
    order = frame.sort_values(["street_id", "parity", "_pos", "_axis"], kind="stable").index
    rank = frame.loc[order].groupby(["street_id", "parity"], sort=False).cumcount()
    number = 1 + frame.loc[order, "parity"] + 2 * rank
    frame.loc[order, "number"] = number.to_numpy()
    suffix = np.where(rng.random(len(frame)) < 0.04, rng.choice(["A", "B", "C"], len(frame)), "")
    frame["house_number"] = frame["number"].astype(np.int64).astype(str) + suffix
    return frame.drop(columns=["_pos", "_axis", "parity", "number"])


def _pull_inside(frame, pc6_geoms, bu_geoms, margin: float = 0.5) -> None:
    """Addresses outside their PC6 (a hair-thin gap between cells gave them the nearest one) or
    within ``margin`` metres of its edge are moved just inside it, staying inside their buurt,
    so that they are still inside after projection and rounding of the stored boundaries."""
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    points = shapely.points(x, y)
    near = shapely.distance(shapely.boundary(pc6_geoms), points) < margin
    outside = np.flatnonzero(near | ~shapely.contains_xy(pc6_geoms, x, y))
    for i in outside:
        core = pc6_geoms[i].buffer(-margin)
        if core.is_empty:
            continue
        target = shapely.point_on_surface(core)
        for t in (0.01, 0.05, 0.2, 0.5, 1.0):
            px, py = x[i] + t * (target.x - x[i]), y[i] + t * (target.y - y[i])
            if shapely.contains_xy(core, px, py) and shapely.contains_xy(bu_geoms[i], px, py):
                frame.loc[frame.index[i], ["x", "y"]] = (px, py)
                break


def _name_streets(rng, pc6, addresses, gemeenten, hotspots) -> None:
    """Street names per gemeente; the streets at the hot spots get their fixed names."""
    names = np.empty(int(pc6["street_id"].max()) + 1, dtype=object)
    fixed = {h.key: HOTSPOT_PLACES[h.key][1] for h in hotspots}
    for code in gemeenten["code"]:
        ids = np.unique(pc6.loc[pc6["gm_code"] == code, "street_id"].to_numpy())
        names[ids] = street_names(rng, len(ids), exclude=fixed.values())
    points = shapely.points([h.x for h in hotspots], [h.y for h in hotspots])
    at = locate_index(points, pc6.geometry.values, nearest=True, ties="query")
    for h, p in zip(hotspots, at):
        names[pc6["street_id"].iloc[p]] = fixed[h.key]
    pc6["street"] = names[pc6["street_id"].to_numpy()]
    pc6["name"] = pc6["street"]
    addresses["street"] = names[addresses["street_id"].to_numpy()]
