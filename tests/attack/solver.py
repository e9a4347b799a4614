"""Which hidden cells do the collected figures pin?

Cells are leaf area x time atom x type class: a leaf is a (wijk, buurt, PC4) combination of
the gemeente (buurt x PC4 intersections, from the PC6 areas and every registration's own
combination), a time atom a piece of the window cut at every month and every period boundary
used (month x ISO-week pieces), a type class a catalogue type, woninginbraak 1.1.1 split into
completed and attempted. Every figure is one equation: value = sum of the cells it states.

Two spaces, exactly (no relaxation):

* the **month space** v[leaf, month, class] holds every figure whose span is whole months
  (all figures below the gemeente, the gemeente's month-aligned figures and its attempt split);
* the **atom space** g[atom, type] holds every gemeente figure (weeks included), 1.1.1 as one
  type (no gemeente figure splits a week by attempt).

The cells x[leaf, atom, class] exist for a (v, g) pair exactly when, per month and type, v's
leaf sums and g's atom sums have the same total (a table with given non-negative margins always
has a non-negative filling). That total is a published gemeente figure per month and type
(asserted), so the two spaces are independent and are solved apart. A week piece of a buurt
x[buurt, atom, type] then ranges over [max(0, r + c - T), min(r, c)] with r the buurt's month
(month space), c the gemeente's atom (atom space) and T the month's total; it is pinned exactly
when that interval is one point and r and c are both determined.

In each space: equations that are sums of other collected equations (a bundle = its types, a
quarter = its months, a wijk = its buurten, a week range = its weeks) are dropped first (each
dropped one is the sum of strictly smaller collected ones, so the solution set is unchanged);
cells of an equation with value 0 are zero; cells with the same set of equations are merged
into blocks (interchangeable: a block of several cells pins none of them unless it is zero);
equations with one unknown block determine it (peeling, repeated); in what remains, one LP per
connected component finds the blocks that are zero in every solution, and a block or a sum of
blocks is determined exactly when its vector is orthogonal to the null space of the component
(restricted to the blocks that can be positive). :func:`lp_range` is the plain LP min/max used
to validate that on a sample.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from data import disclosure

from .collect import Figure, Lattice

TOL = 1e-7


# -- the geography of the gemeente ---------------------------------------------------------------

@dataclass
class Geography:
    gemeente: str
    leaves: list  # (wk, bu, pc4)
    by_level: dict  # level -> code -> np.array of leaf indices
    buurten: list  # buurt codes
    wijken: list

    def leaves_of(self, level: str, code: str) -> np.ndarray | None:
        if level == "gemeente":
            return np.arange(len(self.leaves)) if code == self.gemeente else None
        return self.by_level.get(level, {}).get(code, np.array([], dtype=np.int64))


def geography(con, gemeente: str, extra_leaves=()) -> Geography:
    """Leaves of ``gemeente``: its PC6 areas' (wijk, buurt, PC4), every registration's own
    combination (all time), and ``extra_leaves``."""
    rows = set(con.execute("""
        SELECT b.wk_code, p.bu_code, p.parent_code FROM areas p
        JOIN areas b ON b.code = p.bu_code AND b.level = 'buurt'
        WHERE p.level = 'pc6' AND p.gm_code = ?""", [gemeente]).fetchall())
    rows |= set(con.execute("SELECT DISTINCT wk_code, bu_code, pc4 FROM incidents "
                            "WHERE gm_code = ?", [gemeente]).fetchall())
    rows |= set(extra_leaves)
    leaves = sorted(rows, key=lambda r: tuple(x or "" for x in r))
    by_level = {"wijk": defaultdict(list), "buurt": defaultdict(list), "pc4": defaultdict(list)}
    for i, (wk, bu, pc4) in enumerate(leaves):
        for level, code in (("wijk", wk), ("buurt", bu), ("pc4", pc4)):
            if code is not None:
                by_level[level][code].append(i)
    by_level = {lv: {c: np.array(v, dtype=np.int64) for c, v in d.items()}
                for lv, d in by_level.items()}
    buurten = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'buurt' AND gm_code = ? ORDER BY code",
        [gemeente]).fetchall()]
    wijken = [r[0] for r in con.execute(
        "SELECT code FROM areas WHERE level = 'wijk' AND gm_code = ? ORDER BY code",
        [gemeente]).fetchall()]
    return Geography(gemeente, leaves, by_level, buurten, wijken)


# -- a linear system over cells -------------------------------------------------------------------

@dataclass
class Row:
    cols: np.ndarray
    value: int
    figure: Figure


@dataclass
class Solved:
    """The result of :func:`solve` on one space."""
    ncols: int
    truth: np.ndarray
    zero: np.ndarray  # bool per col: zero in every solution
    block: np.ndarray  # block id per col (-1: zero or in no equation)
    size: np.ndarray  # cells per block
    known: np.ndarray  # bool per block: determined by peeling (or zero)
    value: np.ndarray  # value per known block
    because: dict  # block -> row that determined it
    component: np.ndarray  # component id per unknown block (-1 if none)
    nulls: dict  # component -> (block ids, orthonormal basis of its row space)
    rows: list
    stats: dict = field(default_factory=dict)

    def determined(self, cols) -> tuple[bool, int]:
        """(is the sum of these cells the same in every solution, its true value)."""
        cols = np.asarray(cols, dtype=np.int64)
        truth = int(self.truth[cols].sum())
        cols = cols[~self.zero[cols]]
        if len(cols) == 0:
            return True, truth
        blocks = self.block[cols]
        if (blocks < 0).any():  # a cell in no equation: free
            return False, truth
        ids, counts = np.unique(blocks, return_counts=True)
        partial = counts < self.size[ids]
        if (partial & ~(self.known[ids] & (self.value[ids] == 0))).any():
            return False, truth
        unknown = ids[~self.known[ids]]
        for comp in np.unique(self.component[unknown]):
            members, basis = self.nulls[comp]
            f = np.isin(members, unknown).astype(float)
            if f @ f - ((basis @ f) ** 2).sum() > TOL:  # not in the row space
                return False, truth
        return True, truth

    def evidence(self, cols, limit: int = 4) -> list[str]:
        """Figures that determine these cells: for peeled blocks the equation that did."""
        cols = np.asarray(cols, dtype=np.int64)
        cols = cols[~self.zero[cols]]
        out = []
        for b in np.unique(self.block[cols]):
            if b >= 0 and b in self.because:
                out.append(str(self.rows[self.because[b]].figure))
            elif b >= 0 and self.component[b] >= 0:
                out.append(f"a system of {self.stats['component_rows'][self.component[b]]} "
                           "figures")
        return out[:limit]


def solve(rows: list[Row], ncols: int, truth: np.ndarray, *, lp_limit: int = 40000) -> Solved:
    stats = {}
    nrows = len(rows)
    indptr = np.cumsum([0] + [len(r.cols) for r in rows])
    indices = np.concatenate([r.cols for r in rows]) if rows else np.array([], dtype=np.int64)
    A = sp.csr_matrix((np.ones(len(indices)), indices, indptr), shape=(nrows, ncols))
    b = np.array([r.value for r in rows], dtype=float)
    stats["rows"], stats["nnz"] = nrows, A.nnz

    # cells of an equation with value 0 are zero
    zero = np.zeros(ncols, dtype=bool)
    zero[A[b == 0].indices] = True
    A = (A @ sp.diags((~zero).astype(float))).tocsr()
    A.eliminate_zeros()
    stats["zero_cells"] = int(zero.sum())

    # blocks: cells with the same set of equations
    rng = np.random.default_rng(7)
    h = A.T @ rng.random((nrows, 2))
    nnz = np.diff(A.tocsc().indptr)
    active = np.flatnonzero((nnz > 0) & ~zero)
    block = np.full(ncols, -1, dtype=np.int64)
    keys = np.column_stack([np.round(h[active] * 1e9), nnz[active]])
    _, inverse = np.unique(keys, axis=0, return_inverse=True)
    block[active] = inverse.ravel()
    nblocks = int(inverse.max()) + 1 if len(active) else 0
    size = np.bincount(block[active], minlength=nblocks)
    reps = np.zeros(nblocks, dtype=np.int64)
    reps[block[active]] = active
    B = A[:, reps].tocsr()
    B.data[:] = 1.0
    btruth = np.bincount(block[active], weights=truth[active], minlength=nblocks)
    stats["blocks"] = nblocks

    # peeling: an equation with one unknown block determines it (a queue over the equations)
    known = np.zeros(nblocks, dtype=bool)
    value = np.zeros(nblocks)
    because = {}
    Br, Bc = B.tocsr(), B.tocsc()
    count = np.diff(Br.indptr).astype(np.int64)
    resid = b.copy()
    queue = list(np.flatnonzero(count == 1))
    while queue:
        r = queue.pop()
        if count[r] != 1:
            continue
        row = Br.indices[Br.indptr[r]:Br.indptr[r + 1]]
        j = int(row[~known[row]][0])
        known[j] = True
        value[j] = resid[r]
        because[j] = int(r)
        for r2 in Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]:
            resid[r2] -= value[j]
            count[r2] -= 1
            if count[r2] == 1:
                queue.append(r2)
    rowsleft = count > 0
    stats["peeled"] = int(known.sum())
    assert np.allclose(value[known], btruth[known]), "peeling contradicts the true values"

    # the rest: components, forced zeros by LP, null spaces
    unknown = np.flatnonzero(~known)
    component = np.full(nblocks, -1, dtype=np.int64)
    nulls = {}
    comp_rows = {}
    R = B[np.flatnonzero(rowsleft)][:, unknown].tocsr()
    resid = resid[np.flatnonzero(rowsleft)]
    if len(unknown) and R.shape[0]:
        n_r = R.shape[0]
        graph = sp.bmat([[None, R], [R.T, None]]).tocsr()
        ncomp, labels = connected_components(graph, directed=False)
        row_lab, col_lab = labels[:n_r], labels[n_r:]
        stats["components"] = 0
        stats["largest"] = 0
        for comp in np.unique(col_lab):
            cols_c = np.flatnonzero(col_lab == comp)
            rows_c = np.flatnonzero(row_lab == comp)
            if len(rows_c) == 0:  # blocks in no remaining equation: free
                component[unknown[cols_c]] = -1
                continue
            stats["components"] += 1
            stats["largest"] = max(stats["largest"], len(cols_c))
            M = R[rows_c][:, cols_c]
            rhs = resid[rows_c]
            positive = _can_be_positive(M, rhs, btruth[unknown[cols_c]], lp_limit)
            forced = unknown[cols_c[~positive]]
            known[forced] = True
            value[forced] = 0
            keep = cols_c[positive]
            if len(keep) == 0:
                continue
            basis = _row_space(M[:, np.flatnonzero(positive)].toarray())
            ids = unknown[keep]
            component[ids] = comp
            nulls[comp] = (ids, basis)
            comp_rows[comp] = len(rows_c)
            determined = 1.0 - (basis ** 2).sum(axis=0) < TOL
            for j in ids[determined]:
                known[j] = True
                value[j] = btruth[j]
                component[j] = -1
            stats["forced_zero_by_lp"] = stats.get("forced_zero_by_lp", 0) + int(len(forced))
    stats["component_rows"] = comp_rows
    # cells of blocks found zero are zero
    zero_blocks = known & (value == 0)
    zero = zero | np.isin(block, np.flatnonzero(zero_blocks)) & (block >= 0)
    return Solved(ncols, truth, zero, block, size, known, value, because, component, nulls, rows,
                  stats)


def _row_space(dense: np.ndarray) -> np.ndarray:
    """Orthonormal rows spanning the row space of ``dense`` (economic SVD): a sum of blocks is
    determined exactly when its vector lies in it (its part in the null space is zero)."""
    if dense.shape[0] == 0:
        return np.zeros((0, dense.shape[1]))
    _, s, vt = np.linalg.svd(dense, full_matrices=False)
    return vt[s > 1e-9 * max(1.0, s[0])]


def _can_be_positive(M, rhs, btruth, lp_limit) -> np.ndarray:
    """Per column of M: can it be positive in some y >= 0 with M y = rhs? Columns positive in
    the true solution can; for the others LPs maximising a capped sum decide (repeated until
    no new column turns positive: what is left is zero in every solution)."""
    n = M.shape[1]
    positive = btruth > 0
    candidates = np.flatnonzero(~positive)
    if len(candidates) == 0:
        return positive
    assert n <= lp_limit, f"component of {n} blocks: too large for the LP step"
    while len(candidates):
        k = len(candidates)
        # variables: y (n), t (k); maximise sum t, t_i <= y_c(i), t_i <= 1
        c = np.concatenate([np.zeros(n), -np.ones(k)])
        A_eq = sp.hstack([M, sp.csr_matrix((M.shape[0], k))]).tocsr()
        T = sp.csr_matrix((np.ones(k), (np.arange(k), candidates)), shape=(k, n))
        A_ub = sp.hstack([-T, sp.identity(k)]).tocsr()
        res = linprog(c, A_ub=A_ub, b_ub=np.zeros(k), A_eq=A_eq, b_eq=rhs,
                      bounds=[(0, None)] * n + [(0, 1)] * k, method="highs")
        assert res.status == 0, res.message
        found = res.x[n:] > 1e-7
        if not found.any():
            break
        positive[candidates[found]] = True
        candidates = candidates[~found]
    return positive


def lp_range(rows: list[Row], ncols: int, cols) -> tuple[float, float]:
    """Plain LP min and max of the sum of ``cols`` over {A x = b, x >= 0}, on the equations
    connected to those cells (the others cannot constrain them)."""
    cols = set(int(c) for c in cols)
    by_col = defaultdict(list)
    for i, r in enumerate(rows):
        for c in r.cols:
            by_col[int(c)].append(i)
    seen_rows, seen_cols, todo = set(), set(cols), list(cols)
    while todo:
        c = todo.pop()
        for i in by_col.get(c, ()):
            if i not in seen_rows:
                seen_rows.add(i)
                for c2 in rows[i].cols:
                    if int(c2) not in seen_cols:
                        seen_cols.add(int(c2))
                        todo.append(int(c2))
    index = {c: k for k, c in enumerate(sorted(seen_cols))}
    rr = sorted(seen_rows)
    data, ri, ci = [], [], []
    for k, i in enumerate(rr):
        for c in rows[i].cols:
            ri.append(k)
            ci.append(index[int(c)])
            data.append(1.0)
    A = sp.csr_matrix((data, (ri, ci)), shape=(len(rr), len(index)))
    b = np.array([rows[i].value for i in rr], dtype=float)
    f = np.zeros(len(index))
    for c in cols:
        f[index[c]] = 1
    out = []
    for sign in (1, -1):
        res = linprog(sign * f, A_eq=A if len(rr) else None, b_eq=b if len(rr) else None,
                      bounds=(0, None), method="highs")
        if res.status == 3:  # unbounded
            out.append(float("inf") * sign)
        else:
            assert res.status == 0, res.message
            out.append(sign * res.fun)
    return out[0], out[1]


# -- the attack ----------------------------------------------------------------------------------

@dataclass
class Finding:
    category: str
    what: str
    value: int
    evidence: list


@dataclass
class Verdict:
    pinned: list  # Finding with value > 0
    tested: dict  # category -> number of hidden functionals tested
    zero_pinned: int  # hidden functionals pinned at 0 (accepted)
    inconsistent: list  # figures whose value differs from the incidents
    stats: dict
    samples: list = field(default_factory=list)  # (space, cols, determined, value)
    rows: dict = field(default_factory=dict)  # space -> equations kept

    def by_category(self) -> dict:
        out = defaultdict(list)
        for f in self.pinned:
            out[f.category].append(f)
        return out


CATEGORIES = ("withheld type", "non-crime type", "attempt split", "running month", "week piece")


class Attack:
    def __init__(self, con, lattice: Lattice, geo: Geography, figures: list[Figure]):
        self.con, self.lattice, self.geo = con, lattice, geo
        self.types = [r[0] for r in con.execute(
            "SELECT code FROM crime_types WHERE kind <> 'totaal' ORDER BY sort_key").fetchall()]
        self.kind = dict(con.execute("SELECT code, kind FROM crime_types").fetchall())
        self.classes = []
        for t in self.types:
            self.classes += [(t, False), (t, True)] if t == "1.1.1" else [(t, None)]
        self.class_of = {c: i for i, c in enumerate(self.classes)}
        self.type_index = {t: i for i, t in enumerate(self.types)}
        self.months = lattice.month_list()
        self.month_index = {m: i for i, m in enumerate(self.months)}
        self.figures = figures
        self.stats = {"figures": len(figures)}

    # -- cells ---------------------------------------------------------------------------------
    def class_ids(self, types, attempt) -> np.ndarray:
        out = []
        for t in types:
            if t not in self.type_index:
                continue
            if t == "1.1.1":
                out += [self.class_of[(t, a)] for a in (False, True) if attempt in (None, a)]
            else:
                out.append(self.class_of[(t, None)])
        return np.array(sorted(out), dtype=np.int64)

    def run(self) -> Verdict:
        lat = self.lattice
        inside, outside = [], 0
        for f in self.figures:
            end = min(f.end, lat.end)
            if f.start < lat.start or f.start >= end:
                outside += 1
                continue
            inside.append((f, end))
        self.stats["outside_window"] = outside
        bounds = sorted({lat.start, lat.end, *self.months, *(f.start for f, _ in inside),
                         *(e for _, e in inside)})
        self.bounds = bounds
        self.atom_index = {d: i for i, d in enumerate(bounds)}
        self.atom_month = np.array([self.month_index[date(d.year, d.month, 1)]
                                    for d in bounds[:-1]])
        self.stats["atoms"] = len(bounds) - 1
        self.stats["leaves"] = len(self.geo.leaves)
        self._truth()
        inconsistent = self._check(inside)
        self._spaces(inside)
        verdict = self._hidden()
        verdict.inconsistent = inconsistent
        verdict.stats = self.stats
        verdict.rows = {"v": self.vrows, "g": self.grows}
        return verdict

    def _truth(self):
        lat, geo = self.lattice, self.geo
        leaf_index = {leaf: i for i, leaf in enumerate(geo.leaves)}
        rows = self.con.execute("""
            SELECT wk_code, bu_code, pc4, occurred_date, type_code, attempt, count(*)
            FROM incidents WHERE gm_code = ? AND occurred_date >= ? AND occurred_date < ?
            GROUP BY ALL""", [geo.gemeente, lat.start, lat.end]).fetchall()
        X = np.zeros((len(geo.leaves), len(self.bounds) - 1, len(self.classes)))
        bounds = np.array(self.bounds, dtype="datetime64[D]")
        for wk, bu, pc4, day, t, attempt, n in rows:
            a = int(np.searchsorted(bounds, np.datetime64(day, "D"), side="right")) - 1
            c = self.class_of[(t, bool(attempt))] if t == "1.1.1" else self.class_of[(t, None)]
            X[leaf_index[(wk, bu, pc4)], a, c] += n
        self.X = X
        self.P = np.concatenate([np.zeros((X.shape[0], 1, X.shape[2])), np.cumsum(X, axis=1)],
                                axis=1)

    def _check(self, inside) -> list:
        """Every figure against the incidents (the test's own SQL above)."""
        bad = []
        groups = defaultdict(list)
        for f, end in inside:
            groups[(f.start, end, f.types, f.attempt)].append(f)
        for (start, end, types, attempt), figs in groups.items():
            a0, a1 = self.atom_index[start], self.atom_index[end]
            cls = self.class_ids(types, attempt)
            per_leaf = (self.P[:, a1][:, cls] - self.P[:, a0][:, cls]).sum(axis=1)
            for f in figs:
                leaves = self.geo.leaves_of(f.level, f.area)
                if leaves is None:
                    continue  # another gemeente (an eenheid total): not of this window
                if int(round(per_leaf[leaves].sum())) != f.value:
                    bad.append(f"{f} but the incidents give {int(round(per_leaf[leaves].sum()))}")
        self.stats["checked"] = sum(len(v) for v in groups.values())
        return bad

    # -- the two spaces --------------------------------------------------------------------------
    def _spaces(self, inside):
        L, M, C = len(self.geo.leaves), len(self.months), len(self.classes)
        NA, NT = len(self.bounds) - 1, len(self.types)
        month_starts = set(self.months) | {self.lattice.end}
        vkeys, gkeys = {}, {}
        for f, end in inside:
            leaves = self.geo.leaves_of(f.level, f.area)
            if leaves is None:
                continue
            aligned = f.start in month_starts and end in month_starts
            if aligned:
                cls = self.class_ids(f.types, f.attempt)
                key = (tuple(leaves), self.month_index[f.start],
                       self.month_index.get(end, M), tuple(cls))
                vkeys.setdefault(key, f)
            elif f.level != "gemeente":
                raise AssertionError(f"a figure below the gemeente over part of a month: {f}")
            if f.level == "gemeente":
                if f.attempt is not None:
                    assert aligned, f
                    continue
                types = tuple(sorted(self.type_index[t] for t in f.types if t in self.type_index))
                gkeys.setdefault((self.atom_index[f.start], self.atom_index[end], types), f)
        # linking: every month and type has its gemeente figure in both spaces
        everything = tuple(range(L))
        for m in range(M):
            for t in self.types:
                cls = tuple(self.class_ids([t], None))
                assert (everything, m, m + 1, cls) in vkeys, ("no gemeente month figure", t, m)
        self.stats["equations_month_space"] = len(vkeys)
        self.stats["equations_atom_space"] = len(gkeys)
        vkeep = self._prune_v(vkeys)
        gkeep = self._prune_g(gkeys)
        self.stats["kept_month_space"] = len(vkeep)
        self.stats["kept_atom_space"] = len(gkeep)
        vrows = []
        for (leaves, m0, m1, cls), f in vkeep.items():
            leaves = np.array(leaves, dtype=np.int64)
            ms = np.arange(m0, m1)
            cols = ((leaves[:, None, None] * M + ms[None, :, None]) * C
                    + np.array(cls, dtype=np.int64)[None, None, :]).ravel()
            vrows.append(Row(cols, f.value, f))
        grows = []
        for (a0, a1, types), f in gkeep.items():
            atoms = np.arange(a0, a1)
            cols = (atoms[:, None] * NT + np.array(types, dtype=np.int64)[None, :]).ravel()
            grows.append(Row(cols, f.value, f))
        # true values per cell
        vt = np.zeros((L, M, C))
        for m in range(M):
            vt[:, m, :] = self.X[:, self.atom_month == m, :].sum(axis=1)
        gt = np.zeros((NA, NT))
        for c, (t, _) in enumerate(self.classes):
            gt[:, self.type_index[t]] += self.X[:, :, c].sum(axis=0)
        self.vrows, self.grows = vrows, grows
        self.v = solve(vrows, L * M * C, vt.ravel())
        self.g = solve(grows, NA * NT, gt.ravel())
        self.vt, self.gt = vt, gt
        self.stats["month_space"] = {k: v for k, v in self.v.stats.items()
                                     if k != "component_rows"}
        self.stats["atom_space"] = {k: v for k, v in self.g.stats.items()
                                    if k != "component_rows"}

    def _prune_v(self, keys: dict) -> dict:
        present = set(keys)
        spans = defaultdict(set)
        for leaves, m0, m1, cls in present:
            spans[(leaves, cls)].add((m0, m1))
        geo = self.geo
        buurt_of, wijk_of = {}, {}
        for level, target in (("buurt", buurt_of), ("wijk", wijk_of)):
            for code, idx in geo.by_level[level].items():
                for i in idx:
                    target[int(i)] = tuple(idx)
        type_of = [self.type_index[t] for t, _ in self.classes]
        keep = {}
        for key, f in keys.items():
            leaves, m0, m1, cls = key
            if self._split_types(cls, type_of, lambda part: (leaves, m0, m1, part) in present):
                continue
            if m1 - m0 > 1 and _chain(m0, m1, spans[(leaves, cls)]):
                continue
            if len(leaves) > 1 and any(
                    _partitioned(leaves, of, lambda part: (part, m0, m1, cls) in present)
                    for of in (buurt_of, wijk_of)):
                continue
            keep[key] = f
        return keep

    @staticmethod
    def _split_types(cls, type_of, has) -> bool:
        groups = defaultdict(list)
        for c in cls:
            groups[type_of[c]].append(c)
        if len(groups) > 1:
            return all(has(tuple(g)) for g in groups.values())
        if len(cls) > 1:  # 1.1.1: completed + attempted
            return all(has((c,)) for c in cls)
        return False

    def _prune_g(self, keys: dict) -> dict:
        present = set(keys)
        spans = defaultdict(set)
        for a0, a1, types in present:
            spans[types].add((a0, a1))
        keep = {}
        for key, f in keys.items():
            a0, a1, types = key
            if len(types) > 1 and all((a0, a1, (t,)) in present for t in types):
                continue
            if a1 - a0 > 1 and _chain(a0, a1, spans[types]):
                continue
            keep[key] = f
        return keep

    # -- hidden cells ----------------------------------------------------------------------------
    def vcols(self, leaves, months, classes) -> np.ndarray:
        M, C = len(self.months), len(self.classes)
        leaves = np.asarray(leaves, dtype=np.int64)
        months = np.asarray(months, dtype=np.int64)
        classes = np.asarray(classes, dtype=np.int64)
        return ((leaves[:, None, None] * M + months[None, :, None]) * C
                + classes[None, None, :]).ravel()

    def _hidden(self) -> Verdict:
        geo, lat = self.geo, self.lattice
        running = self.month_index[lat.running]
        ended = [i for i, m in enumerate(self.months) if m != lat.running]
        hidden_types = [t for t in self.types
                        if t in disclosure.WITHHELD_TYPES or self.kind[t] != "misdrijf"]
        bundles = {g: [t for t in members if t in self.type_index] for g, members in
                   _bundles(self.con).items()}
        pinned, tested, zeros = [], defaultdict(int), 0
        samples = []

        def test(category, what, cols, space="v"):
            nonlocal zeros
            solved = self.v if space == "v" else self.g
            ok, value = solved.determined(cols)
            tested[category] += 1
            if value > 0 and (ok and len(samples) < 60 or tested[category] % 97 == 0):
                samples.append((space, cols, ok, value))
            if ok and value > 0:
                pinned.append(Finding(category, what, value, solved.evidence(cols)))
            elif ok:
                zeros += 1

        areas = [("buurt", c) for c in geo.buurten] + [("wijk", c) for c in geo.wijken]
        for level, code in areas:
            leaves = geo.leaves_of(level, code)
            if len(leaves) == 0:
                continue
            for t in hidden_types:
                category = "withheld type" if t in disclosure.WITHHELD_TYPES else "non-crime type"
                cls = self.class_ids([t], None)
                for m in ended:
                    test(category, f"{level} {code} {self.months[m]:%Y-%m} type {t}",
                         self.vcols(leaves, [m], cls))
                test(category, f"{level} {code} all ended months of the window type {t}",
                     self.vcols(leaves, ended, cls))
            for m in ended:
                test("attempt split", f"{level} {code} {self.months[m]:%Y-%m} 1.1.1 poging",
                     self.vcols(leaves, [m], self.class_ids(["1.1.1"], True)))
            for t in self.types:
                test("running month", f"{level} {code} running month {lat.running:%Y-%m} type {t}",
                     self.vcols(leaves, [running], self.class_ids([t], None)))
            for name, members in bundles.items():
                test("running month", f"{level} {code} running month {lat.running:%Y-%m} "
                     f"bundle {name}", self.vcols(leaves, [running], self.class_ids(members, None)))
        pinned += self._week_pieces(ended, tested)
        return Verdict(pinned, dict(tested), zeros, [], {}, samples)

    def _week_pieces(self, ended, tested) -> list:
        """Month x ISO-week pieces of a buurt (see the module text)."""
        out = []
        NT = len(self.types)
        for m in ended:
            atoms = np.flatnonzero(self.atom_month == m)
            if len(atoms) < 2:
                continue
            for t in self.types:
                ti = self.type_index[t]
                cls = self.class_ids([t], None)
                total = self.gt[atoms, ti].sum()
                if total == 0:
                    continue
                c_ok = {a: self.g.determined([a * NT + ti])[0] for a in atoms}
                for code in self.geo.buurten:
                    leaves = self.geo.leaves_of("buurt", code)
                    if len(leaves) == 0:
                        continue
                    cols = self.vcols(leaves, [m], cls)
                    r = self.v.truth[cols].sum()
                    if r == 0:
                        continue
                    r_ok = None
                    for a in atoms:
                        tested["week piece"] += 1
                        c = self.gt[a, ti]
                        lo, hi = max(0.0, r + c - total), min(r, c)
                        if lo < hi or hi == 0:
                            continue
                        if r_ok is None:
                            r_ok = self.v.determined(cols)[0]
                        if r_ok and c_ok[a]:
                            out.append(Finding(
                                "week piece",
                                f"buurt {code} {self.bounds[a]}..{self.bounds[a + 1]} type {t}",
                                int(hi),
                                [f"buurt month {self.months[m]:%Y-%m} = {int(r)} (public)",
                                 f"gemeente {self.bounds[a]}..{self.bounds[a + 1]} = {int(c)}, "
                                 f"month total {int(total)}"]))
        return out


def _bundles(con) -> dict:
    out = defaultdict(list)
    for g, t in con.execute("SELECT group_code, type_code FROM type_groups").fetchall():
        out[g].append(t)
    return dict(out)


def _chain(a0: int, a1: int, spans) -> bool:
    """Can [a0, a1) be cut into two or more spans of ``spans``?"""
    reach = {a0}
    frontier = [a0]
    starts = defaultdict(list)
    for s, e in spans:
        if a0 <= s and e <= a1 and (s, e) != (a0, a1):
            starts[s].append(e)
    while frontier:
        s = frontier.pop()
        for e in starts.get(s, ()):
            if e == a1:
                return True
            if e not in reach:
                reach.add(e)
                frontier.append(e)
    return False


def _partitioned(leaves: tuple, part_of: dict, has) -> bool:
    """Are ``leaves`` the disjoint union of parts (buurten or wijken) that are present?"""
    parts = set()
    for leaf in leaves:
        part = part_of.get(leaf)
        if part is None:
            return False
        parts.add(part)
    if len(parts) < 2:
        return False
    if sum(len(p) for p in parts) != len(leaves) or not set().union(*parts) == set(leaves):
        return False
    return all(has(p) for p in parts)
