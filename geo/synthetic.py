"""Synthetic area boundaries that look organic, and random points inside polygons.

Used by the demo region (``data.demo``) and by tests. Everything works in a metric CRS
(metres) and is deterministic for a given ``numpy.random.Generator``.

How nested layers are made so that they tile without gaps and nest exactly:

1. :func:`noisy_outline` draws a star-shaped coastline (always a simple polygon).
2. :func:`tessellate` fills it with a fine Voronoi tessellation of random "atoms" (denser where
   the density field is high, so small urban areas still consist of many atoms).
3. :func:`partition` assigns atoms to seeds by a *warped*, additively weighted distance: the
   warp bends the straight Voronoi edges into wavy ones and the weights vary region sizes.
   :func:`make_contiguous` then moves stray fragments to a neighbour so every region is one
   piece. Running it per parent (gemeente -> wijken -> buurten) keeps the levels nested.
4. :func:`union_groups` unions atoms per region, and :func:`smooth_coverage` simplifies the
   finest common layer once (coverage-aware), so the coarser levels built from it with
   :func:`dissolve` share every edge exactly.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import MultiPoint, Polygon


# -- smooth random fields ----------------------------------------------------------------------
@dataclass(frozen=True)
class SmoothField:
    """A smooth random scalar field: a sum of plane waves with random directions."""

    kx: np.ndarray
    ky: np.ndarray
    phase: np.ndarray
    amplitude: np.ndarray

    def __call__(self, x, y):
        x = np.asarray(x, dtype=float)[..., None]
        y = np.asarray(y, dtype=float)[..., None]
        return (self.amplitude * np.sin(self.kx * x + self.ky * y + self.phase)).sum(axis=-1)


def smooth_field(rng: np.random.Generator, *, wavelength: tuple[float, float],
                 amplitude: float, waves: int = 8) -> SmoothField:
    """A field with wavelengths in ``wavelength`` (metres) and standard deviation ~``amplitude``."""
    lengths = rng.uniform(*wavelength, size=waves)
    angles = rng.uniform(0, 2 * np.pi, size=waves)
    k = 2 * np.pi / lengths
    weights = rng.uniform(0.5, 1.0, size=waves)
    # The sum of sines with amplitudes a_i has variance sum(a_i^2) / 2.
    weights *= amplitude / np.sqrt((weights ** 2).sum() / 2)
    return SmoothField(k * np.cos(angles), k * np.sin(angles),
                       rng.uniform(0, 2 * np.pi, size=waves), weights)


# -- outline -----------------------------------------------------------------------------------
def noisy_outline(rng: np.random.Generator, center: tuple[float, float], radius_x: float,
                  radius_y: float, *, vertices: int = 900, roughness: float = 0.10,
                  bays: tuple[tuple[float, float, float], ...] = ()) -> Polygon:
    """A star-shaped, coastline-like polygon around ``center``.

    The radius is an ellipse modulated by random harmonics (large ones for the overall shape,
    many small ones for a ragged coast). ``bays`` are (angle in radians, relative depth, angular
    width) notches, e.g. a harbour. Star-shaped with a positive radius means always simple.
    """
    theta = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    r = np.ones_like(theta)
    for k in range(2, 80):
        amp = roughness * rng.normal() / k ** 1.15
        r += amp * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    for angle, depth, width in bays:
        delta = np.angle(np.exp(1j * (theta - angle)))
        r -= depth * np.exp(-(delta / width) ** 2)
    r = np.maximum(r, 0.25)
    x = center[0] + radius_x * r * np.cos(theta)
    y = center[1] + radius_y * r * np.sin(theta)
    return Polygon(np.column_stack([x, y]))


# -- points ------------------------------------------------------------------------------------
def sample_points(rng: np.random.Generator, polygon, n: int, density=None, *,
                  density_max: float | None = None, max_rounds: int = 200):
    """``n`` random points inside ``polygon`` (rejection sampling, vectorised).

    ``density(x, y)`` (optional, non-negative) makes points proportionally denser where it is
    high; ``density_max`` bounds it over the polygon (estimated on a grid when omitted).
    Returns (x, y) arrays.
    """
    if n <= 0:
        return np.empty(0), np.empty(0)
    shapely.prepare(polygon)
    minx, miny, maxx, maxy = polygon.bounds
    fill = max(polygon.area / max((maxx - minx) * (maxy - miny), 1e-12), 1e-3)
    if density is not None and density_max is None:
        gx, gy = np.meshgrid(np.linspace(minx, maxx, 60), np.linspace(miny, maxy, 60))
        density_max = 1.3 * float(np.max(density(gx.ravel(), gy.ravel()))) or 1.0
    xs, ys, have = [], [], 0
    for _ in range(max_rounds):
        m = int(min(max((n - have) / fill * 1.3 + 16, 64), 2_000_000))
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        keep = shapely.contains_xy(polygon, x, y)
        if density is not None:
            keep &= rng.uniform(0, density_max, m) < density(x, y)
        xs.append(x[keep])
        ys.append(y[keep])
        have += int(keep.sum())
        if have >= n:
            break
    x, y = np.concatenate(xs)[:n], np.concatenate(ys)[:n]
    if len(x) < n:  # pathological density: top up uniformly
        extra = sample_points(rng, polygon, n - len(x))
        x, y = np.concatenate([x, extra[0]]), np.concatenate([y, extra[1]])
    return x, y


def sample_points_in_polygons(rng: np.random.Generator, polygons, counts, *, max_rounds=60):
    """Uniform random points inside many polygons at once: ``counts[i]`` points in
    ``polygons[i]``. Returns (x, y, owner) with owner the polygon index, grouped by owner in
    ascending order. A polygon whose points cannot be found (degenerate) gets its
    representative point repeated."""
    polygons = np.asarray(polygons, dtype=object)
    counts = np.asarray(counts, dtype=np.int64)
    shapely.prepare(polygons)
    bounds = shapely.bounds(polygons)
    w = bounds[:, 2] - bounds[:, 0]
    h = bounds[:, 3] - bounds[:, 1]
    fill = np.clip(shapely.area(polygons) / np.maximum(w * h, 1e-18), 0.02, 1.0)
    need = counts.copy()
    xs, ys, owners = [], [], []
    for _ in range(max_rounds):
        active = np.flatnonzero(need > 0)
        if not len(active):
            break
        tries = np.ceil(need[active] / fill[active] * 1.25 + 4).astype(np.int64)
        owner = np.repeat(active, tries)
        x = bounds[owner, 0] + rng.random(len(owner)) * w[owner]
        y = bounds[owner, 1] + rng.random(len(owner)) * h[owner]
        ok = shapely.contains_xy(polygons[owner], x, y)
        owner, x, y = owner[ok], x[ok], y[ok]
        # Keep at most need[i] of the hits per polygon.
        order = np.argsort(owner, kind="stable")
        owner, x, y = owner[order], x[order], y[order]
        rank = np.arange(len(owner)) - np.searchsorted(owner, owner)
        keep = rank < need[owner]
        owner, x, y = owner[keep], x[keep], y[keep]
        np.subtract.at(need, owner, 1)
        xs.append(x)
        ys.append(y)
        owners.append(owner)
    if need.any():
        missing = np.flatnonzero(need > 0)
        label = shapely.point_on_surface(polygons[missing])
        owner = np.repeat(missing, need[missing])
        lx = np.repeat(shapely.get_x(label), need[missing])
        ly = np.repeat(shapely.get_y(label), need[missing])
        xs.append(lx)
        ys.append(ly)
        owners.append(owner)
    x, y, owner = np.concatenate(xs), np.concatenate(ys), np.concatenate(owners)
    order = np.argsort(owner, kind="stable")
    return x[order], y[order], owner[order]


# -- atoms -------------------------------------------------------------------------------------
@dataclass
class Atoms:
    """A fine tessellation of a region: seed points and their (clipped) Voronoi cells."""

    x: np.ndarray
    y: np.ndarray
    cells: np.ndarray  # shapely polygons, same order as x/y
    area: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


def tessellate(rng: np.random.Generator, outline, n: int, density=None) -> Atoms:
    """A Voronoi tessellation of ``n`` random points inside ``outline``, clipped to it."""
    x, y = sample_points(rng, outline, n, density)
    points = MultiPoint(np.column_stack([x, y]))
    envelope = outline.envelope.buffer(outline.length * 0.05)
    cells = np.asarray(shapely.get_parts(
        shapely.voronoi_polygons(points, extend_to=envelope, ordered=True)), dtype=object)
    cells = shapely.intersection(cells, outline)
    cells = shapely.make_valid(cells)
    area = shapely.area(cells)
    keep = area > 0
    return Atoms(x[keep], y[keep], cells[keep], area[keep])


def adjacency(cells) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of cells that touch (share an edge or a corner)."""
    tree = shapely.STRtree(cells)
    i, j = tree.query(cells, predicate="intersects")
    keep = i < j
    return i[keep], j[keep]


# -- partitioning ------------------------------------------------------------------------------
def choose_seeds(rng: np.random.Generator, x, y, weight, k: int, *, iterations: int = 5):
    """``k`` seed points spread over weighted points: k-means++ start plus Lloyd iterations,
    so every seed ends up with a similar share of the weight."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    w = np.asarray(weight, float) + 1e-12
    k = min(k, len(x))
    first = rng.choice(len(x), p=w / w.sum())
    sx, sy = [x[first]], [y[first]]
    d2 = (x - sx[0]) ** 2 + (y - sy[0]) ** 2
    for _ in range(1, k):
        p = w * d2
        nxt = rng.choice(len(x), p=p / p.sum())
        sx.append(x[nxt])
        sy.append(y[nxt])
        d2 = np.minimum(d2, (x - x[nxt]) ** 2 + (y - y[nxt]) ** 2)
    sx, sy = np.array(sx), np.array(sy)
    for _ in range(iterations):
        lab = np.argmin((x[:, None] - sx) ** 2 + (y[:, None] - sy) ** 2, axis=1)
        tot = np.bincount(lab, w, minlength=k)
        has = tot > 0
        sx[has] = (np.bincount(lab, w * x, minlength=k) / np.where(has, tot, 1))[has]
        sy[has] = (np.bincount(lab, w * y, minlength=k) / np.where(has, tot, 1))[has]
    return sx, sy


@dataclass(frozen=True)
class MultiscaleWarp:
    """A fractal displacement of the plane: octaves of smooth fields whose amplitude grows with
    their wavelength, each capped per point (``cap``) so that small regions in dense areas
    are bent as much, relative to their size, as large rural ones."""

    fields: tuple[tuple[SmoothField, SmoothField, float], ...]  # (dx, dy, wavelength)
    roughness: float

    def __call__(self, x, y, cap):
        x, y = np.asarray(x, float), np.asarray(y, float)
        cap = np.broadcast_to(np.asarray(cap, float), x.shape)
        dx, dy = np.zeros_like(x), np.zeros_like(y)
        for fx, fy, length in self.fields:
            amp = np.minimum(self.roughness * length, cap)
            dx += amp * fx(x, y)
            dy += amp * fy(x, y)
        return x + dx, y + dy


def multiscale_warp(rng: np.random.Generator, *, shortest: float, longest: float,
                    roughness: float = 0.12, waves: int = 5) -> MultiscaleWarp:
    fields = []
    length = shortest
    while length <= longest * 1.01:
        fields.append((smooth_field(rng, wavelength=(0.7 * length, 1.4 * length), amplitude=0.5,
                                    waves=waves),
                       smooth_field(rng, wavelength=(0.7 * length, 1.4 * length), amplitude=0.5,
                                    waves=waves), length))
        length *= 2
    return MultiscaleWarp(tuple(fields), roughness)


def seed_spacing(sx, sy, fallback: float) -> np.ndarray:
    """Distance from each seed to its nearest other seed."""
    if len(sx) < 2:
        return np.full(len(sx), fallback)
    d = np.hypot(sx[:, None] - sx[None, :], sy[:, None] - sy[None, :])
    np.fill_diagonal(d, np.inf)
    return d.min(axis=1)


def nearest(x, y, sx, sy) -> np.ndarray:
    """Index of the nearest seed (plain Euclidean distance)."""
    d2 = (np.asarray(x)[:, None] - sx[None, :]) ** 2 + (np.asarray(y)[:, None] - sy[None, :]) ** 2
    return np.argmin(d2, axis=1)


def partition(rng: np.random.Generator, x, y, weight, k: int, *, wobble: float = 0.3,
              size_jitter: float = 0.15, seeds=None, bias=None,
              shortest_wave: float = 300.0) -> tuple[np.ndarray, tuple]:
    """Split weighted points into ``k`` organic regions. Returns (labels 0..k-1, (sx, sy)).

    Points go to the nearest seed by a noisy distance: both are displaced by a multiscale warp
    whose amplitude is capped at ``wobble`` times the local seed spacing, and each seed gets a
    random additive weight (``size_jitter`` times its spacing, plus ``bias`` in metres) so
    that some regions are larger than others. Pass ``seeds`` (sx, sy) to fix the seed
    positions instead of spreading them over the weight.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if seeds is None:
        sx, sy = choose_seeds(rng, x, y, weight, k)
    else:
        sx, sy = (np.asarray(s, float).copy() for s in seeds)
    k = len(sx)
    extent = max(np.ptp(x), np.ptp(y), 1.0)
    spacing = seed_spacing(sx, sy, extent)
    warp = multiscale_warp(rng, shortest=shortest_wave, longest=max(extent, shortest_wave))
    wx, wy = warp(x, y, wobble * spacing[nearest(x, y, sx, sy)])
    wsx, wsy = warp(sx, sy, wobble * spacing)
    offset = rng.normal(0, size_jitter, k) * spacing
    if bias is not None:
        offset = offset + np.asarray(bias, float)
    d = np.hypot(wx[:, None] - wsx[None, :], wy[:, None] - wsy[None, :]) - offset[None, :]
    labels = np.argmin(d, axis=1)
    # Relabel to 0..m-1 in seed order, dropping seeds that won no point.
    used, labels = np.unique(labels, return_inverse=True)
    return labels, (sx[used], sy[used])


def components(labels, pairs, n: int) -> np.ndarray:
    """Connected-component id per atom, following only ``pairs`` whose atoms share a label."""
    i, j = pairs
    same = labels[i] == labels[j]
    i, j = i[same], j[same]
    comp = np.arange(n)
    while True:
        before = comp.copy()
        low = np.minimum(comp[i], comp[j])
        np.minimum.at(comp, i, low)
        np.minimum.at(comp, j, low)
        comp = comp[comp]  # pointer jumping
        if np.array_equal(comp, before):
            return comp


def make_contiguous(labels, pairs, *, group=None, weight=None, max_rounds: int = 50) -> np.ndarray:
    """Reassign atoms so that each label forms one connected piece.

    Pieces other than the largest (by ``weight``, default atom count) of a label move to the
    neighbouring label they share most contacts with, only within the same ``group``
    (the parent region) so that nesting is preserved.
    """
    labels = np.asarray(labels).copy()
    n = len(labels)
    group = np.zeros(n, dtype=np.int64) if group is None else np.asarray(group)
    weight = np.ones(n) if weight is None else np.asarray(weight, float)
    i, j = pairs
    for _ in range(max_rounds):
        comp = components(labels, pairs, n)
        size = np.bincount(comp, weight, minlength=n)
        # Largest component per label.
        order = np.lexsort((-size[comp], labels))
        first = np.ones(n, dtype=bool)
        first[1:] = labels[order][1:] != labels[order][:-1]
        main_comp = np.full(labels.max() + 1, -1)
        main_comp[labels[order][first]] = comp[order][first]
        stray = comp != main_comp[labels]
        if not stray.any():
            return labels
        # Candidate moves: stray atom -> label of a neighbour in the same group.
        a = np.concatenate([i, j])
        b = np.concatenate([j, i])
        ok = stray[a] & (labels[a] != labels[b]) & (group[a] == group[b]) & ~stray[b]
        a, b = a[ok], b[ok]
        if not len(a):
            ok = stray[np.concatenate([i, j])]
            a = np.concatenate([i, j])[ok]
            b = np.concatenate([j, i])[ok]
            ok = (labels[a] != labels[b]) & (group[a] == group[b])
            a, b = a[ok], b[ok]
            if not len(a):
                return labels
        # Most frequent neighbour label per stray atom.
        key = a.astype(np.int64) * (labels.max() + 1) + labels[b]
        uniq, cnt = np.unique(key, return_counts=True)
        atom, lab = uniq // (labels.max() + 1), uniq % (labels.max() + 1)
        best = np.lexsort((-cnt, atom))
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = atom[best][1:] != atom[best][:-1]
        labels[atom[best][keep]] = lab[best][keep]
    return labels


# -- polygons from atoms -----------------------------------------------------------------------
def union_groups(cells, labels, k: int | None = None) -> np.ndarray:
    """Union of the cells per label (0..k-1) as an array of polygons."""
    cells = np.asarray(cells, dtype=object)
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if k is None else k
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(k + 1))
    out = np.empty(k, dtype=object)
    for g in range(k):
        members = cells[order[bounds[g]:bounds[g + 1]]]
        out[g] = _clean(shapely.union_all(members)) if len(members) else Polygon()
    return out


def smooth_coverage(polygons, tolerance: float) -> np.ndarray:
    """Coverage-aware simplification (shared edges stay shared); input returned on failure."""
    polygons = np.asarray(polygons, dtype=object)
    try:
        simple = shapely.coverage_simplify(polygons, tolerance)
    except shapely.errors.GEOSException:
        return polygons
    simple = shapely.make_valid(simple)
    bad = shapely.is_empty(simple) | (shapely.area(simple) <= 0)
    simple[bad] = polygons[bad]
    return np.array([_clean(g) for g in simple], dtype=object)


def dissolve(polygons, labels, k: int | None = None) -> np.ndarray:
    """Union of coverage polygons per label (exact: shared edges vanish)."""
    polygons = np.asarray(polygons, dtype=object)
    labels = np.asarray(labels)
    k = int(labels.max()) + 1 if k is None else k
    out = np.empty(k, dtype=object)
    for g in range(k):
        members = polygons[labels == g]
        try:
            merged = shapely.coverage_union_all(members)
        except shapely.errors.GEOSException:
            merged = shapely.union_all(members)
        out[g] = _clean(merged)
    return out


def clipped_voronoi(x, y, region) -> np.ndarray:
    """Voronoi cells of the points, clipped to ``region``, in the order of the points."""
    if len(x) == 1:
        return np.array([region], dtype=object)
    points = MultiPoint(np.column_stack([x, y]))
    envelope = region.envelope.buffer(max(region.length * 0.05, 1.0))
    cells = np.asarray(shapely.get_parts(
        shapely.voronoi_polygons(points, extend_to=envelope, ordered=True)), dtype=object)
    cells = shapely.make_valid(shapely.intersection(cells, region))
    return np.array([_clean(c) for c in cells], dtype=object)


def _clean(geom):
    """Only the polygonal part of a geometry (a union can leave stray lines or points)."""
    if geom is None or geom.is_empty:
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    parts = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else Polygon()
