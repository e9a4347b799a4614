"""Small-count suppression: what a user without detail level 3 may see below gemeente level.

Police counts for an area below gemeente level (wijk, buurt, PC4, PC6) reach a user with detail
level 1 or 2 only in a form from which no count of 1 .. threshold-1 can be read or recomputed.
This module does that once, on the DataFrames the query functions return, before anything is
drawn, formatted or exported:

* **Primary suppression.** A count ``1 <= n <= threshold - 1`` is hidden. Zero stays zero.
* **Secondary suppression.** Inside every *sibling set* whose total the user can see (the buurten
  of a wijk, the wijken of a gemeente, ...) more cells are hidden until at least two are hidden
  and the hidden cells hold at least ``threshold`` registrations together, so that the total minus
  the visible siblings reveals neither one cell nor a small sum. The smallest non-zero sibling is
  taken first (ties broken by area code, so the same data always gives the same pattern); a zero
  only when no non-zero sibling is left.
* **Hierarchy.** A user who sees both the wijk and the buurt layer (or PC4 and PC6) gets one
  consistent pattern from :func:`suppress_hierarchy`: a hidden wijk keeps a hidden buurt, and
  the buurten of all hidden wijken of a gemeente again hide at least ``threshold`` together.

The result keeps every row. ``value`` becomes a nullable ``Int64`` column with ``<NA>`` in
hidden cells, and two boolean columns are added:

``suppressed``
    this cell is hidden; show :func:`mark` instead of a number.
``total_hidden``
    the exact total of this row's sibling set (its parent area's count for the same period and
    type) must not be shown to this user either. :func:`hidden_totals` lists those sets. For a
    gemeente parent it only happens when the gemeente total itself is below the threshold; the
    gemeente figure may still be shown (it is not below gemeente level) and every area below it
    is then hidden.

Rules for callers (the module cannot check these):

* Pass **every** area of each sibling set, zeros included (left-join the area list): a missing
  row cannot be hidden, and shown as zero it gives the hidden cells away.
* ``groups`` must name the columns that define a set whose total the user sees: the parent
  area code, plus period and type columns when one frame holds several periods or types.
* Show every hidden cell **the same way**. Never reveal which cells were hidden because they
  were small and which only to protect them: that would give the attacker bounds on each.
* Derive rates, shares, changes and sums *from the suppressed frame* so that ``<NA>``
  propagates; never from raw counts next to it.
* Not covered here: differences between overlapping or arbitrary periods (offer fixed periods),
  a total over periods shown next to its per-period counts, bundles that add up to another
  bundle, and near-coinciding areas of non-nested layers (a buurt against a PC4 area).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from data.scope import Scope

#: Area levels whose small counts are suppressed for users without detail level 3.
BELOW_GEMEENTE = ("wijk", "buurt", "pc4", "pc6")

#: Level -> the level of the area it lies in.
PARENT_LEVEL = {"buurt": "wijk", "wijk": "gemeente", "pc6": "pc4", "pc4": "gemeente"}


def applies(scope: Scope, level: str) -> bool:
    """True when counts at ``level`` must be suppressed for ``scope``."""
    return scope.detail < 3 and level in BELOW_GEMEENTE


def mark(scope: Scope) -> str:
    """The text shown instead of a hidden count, e.g. ``"<5"``."""
    return f"<{scope.threshold}"


def suppress(frame: pd.DataFrame, *, scope: Scope, level: str, value: str = "count",
             groups: Sequence[str] = ("parent_code",), code: str = "code") -> pd.DataFrame:
    """A copy of ``frame`` (one row per area of ``level``) with small counts hidden.

    ``groups`` are the columns whose values together identify a sibling set whose total the
    user can see; ``()`` makes the whole frame one set. ``code`` is the area code, used to break
    ties. When :func:`applies` is False only ``suppressed`` and ``total_hidden`` (all False) are
    added and ``value`` is left as it is.
    """
    out = frame.copy()
    if not applies(scope, level):
        return _finish(out, value, None, np.zeros(len(out), bool), np.zeros(len(out), bool))
    values, codes = _counts(out, value), _codes(out, code)
    hidden = _primary(values, scope.threshold)
    exhausted = np.zeros(len(out), bool)
    for rows in _sets(out, groups):
        if hidden[rows].any() and not _complete(rows, values, codes, hidden,
                                                min_cells=2, min_total=scope.threshold):
            exhausted[rows] = True
    return _finish(out, value, values, hidden, exhausted)


def hidden_totals(frame: pd.DataFrame, groups: Sequence[str] = ("parent_code",)) -> pd.DataFrame:
    """The sibling sets (distinct ``groups`` values) of a suppressed frame whose exact total
    must not be shown: one row per set, in the order they first occur."""
    return (frame.loc[frame["total_hidden"].to_numpy(bool), list(groups)]
            .drop_duplicates().reset_index(drop=True))


def suppress_hierarchy(children: pd.DataFrame, parents: pd.DataFrame, *, scope: Scope,
                       child_level: str, value: str = "count", groups: Sequence[str] = (),
                       code: str = "code", parent: str = "parent_code",
                       ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suppress two nested layers below gemeente level consistently: buurten in wijken
    (``child_level="buurt"``) or PC6 in PC4 (``"pc6"``). Returns ``(children, parents)``.

    ``children[parent]`` is the code of the row's parent area, ``parents[parent]`` the gemeente
    code; ``groups`` are the further columns (period, type) both frames share, each combination
    being a separate table. Every child must have its parent row (same code and ``groups``).
    The gemeente totals are taken to be shown exactly.

    The parent layer is suppressed as by :func:`suppress` within each gemeente. Then, for the
    children: under a shown parent the usual sibling rule; under a hidden parent at least one
    hidden child (else the parent is the sum of its shown children); and across all hidden
    parents of a gemeente the hidden children again hold at least two cells and ``threshold``
    registrations (else gemeente total minus shown wijken minus shown buurten reveals a small
    sum). A sibling set that cannot be protected under a shown parent hides that parent and the
    whole pass is repeated. Children's ``total_hidden`` equals their parent's ``suppressed``.
    """
    parent_level = PARENT_LEVEL[child_level]
    if parent_level not in BELOW_GEMEENTE:
        raise ValueError(f"{child_level}: its parent level {parent_level} is not below gemeente; "
                         "use suppress() with the gemeente code as group")
    if not applies(scope, child_level):
        return (suppress(children, scope=scope, level=child_level, value=value, code=code),
                suppress(parents, scope=scope, level=parent_level, value=value, code=code))
    threshold, keys = scope.threshold, list(groups)
    parent_values, child_values = _counts(parents, value), _counts(children, value)
    parent_codes, child_codes = _codes(parents, code), _codes(children, code)
    parent_row = _parent_rows(children, parents, parent, code, keys)
    parent_sets = _sets(parents, [parent, *keys])
    child_sets = _sets(children, [parent, *keys])
    grand_sets = _sets(children.assign(__grand=parents[parent].to_numpy()[parent_row]),
                       ["__grand", *keys])

    forced = np.zeros(len(parents), bool)
    while True:
        parent_hidden = _primary(parent_values, threshold) | forced
        parent_exhausted = np.zeros(len(parents), bool)
        for rows in parent_sets:
            if parent_hidden[rows].any() and not _complete(
                    rows, parent_values, parent_codes, parent_hidden,
                    min_cells=2, min_total=threshold):
                parent_exhausted[rows] = True

        hidden = _primary(child_values, threshold)
        under_hidden = parent_hidden[parent_row]
        newly_forced = False
        for rows in child_sets:
            if under_hidden[rows[0]]:  # the parent's count is hidden: keep one child hidden
                _complete(rows, child_values, child_codes, hidden, min_cells=1, min_total=0)
            elif hidden[rows].any() and not _complete(rows, child_values, child_codes, hidden,
                                                      min_cells=2, min_total=threshold):
                forced[parent_row[rows[0]]] = newly_forced = True
        if newly_forced:
            continue
        for rows in grand_sets:
            rows = rows[under_hidden[rows]]  # children of the hidden parents of one gemeente
            if len(rows) and hidden[rows].any():
                _complete(rows, child_values, child_codes, hidden,
                          min_cells=2, min_total=threshold)
        return (_finish(children.copy(), value, child_values, hidden, under_hidden),
                _finish(parents.copy(), value, parent_values, parent_hidden, parent_exhausted))


# -- helpers -----------------------------------------------------------------------------------


def _primary(values: np.ndarray, threshold: int) -> np.ndarray:
    """Cells below the threshold that are not zero."""
    return (values >= 1) & (values <= threshold - 1)


def _complete(rows: np.ndarray, values: np.ndarray, codes: np.ndarray, hidden: np.ndarray, *,
              min_cells: int, min_total: int) -> bool:
    """Hide further cells among ``rows`` (updating ``hidden`` in place) until at least
    ``min_cells`` are hidden holding at least ``min_total`` together. Candidates are taken
    smallest non-zero first, then zeros, ties by code. False when ``rows`` ran out first."""
    cells = int(hidden[rows].sum())
    total = int(values[rows][hidden[rows]].sum())
    for row in sorted(rows[~hidden[rows]], key=lambda r: (values[r] == 0, values[r], codes[r])):
        if cells >= min_cells and total >= min_total:
            break
        hidden[row] = True
        cells, total = cells + 1, total + int(values[row])
    return cells >= min_cells and total >= min_total


def _sets(frame: pd.DataFrame, columns: Iterable[str]) -> list[np.ndarray]:
    """Row positions of each combination of ``columns`` (all rows when there are none)."""
    columns = list(columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"sibling-set columns missing from the frame: {missing}")
    if not columns:
        return [np.arange(len(frame))] if len(frame) else []
    # The sets are disjoint, so the order they are processed in does not change the result.
    return [np.asarray(rows) for rows in
            frame.groupby(columns, sort=False, dropna=False).indices.values()]


def _parent_rows(children: pd.DataFrame, parents: pd.DataFrame, parent: str, code: str,
                 keys: list[str]) -> np.ndarray:
    """For each child row the position of its parent row (same code and ``keys`` values)."""
    index = pd.MultiIndex.from_arrays([parents[c].to_numpy() for c in (code, *keys)])
    if not index.is_unique:
        raise ValueError("parents: more than one row for the same area and groups")
    target = pd.MultiIndex.from_arrays([children[c].to_numpy() for c in (parent, *keys)])
    rows = index.get_indexer(target)
    if (rows < 0).any():
        orphans = sorted(set(children[parent].to_numpy()[rows < 0].astype(str)))[:5]
        raise ValueError(f"children without a parent row: {orphans}")
    return rows


def _counts(frame: pd.DataFrame, value: str) -> np.ndarray:
    """``frame[value]`` as non-negative whole numbers; anything else cannot be suppressed."""
    column = frame[value]
    if column.isna().any():
        raise ValueError(f"{value}: missing counts cannot be suppressed")
    values = column.to_numpy(dtype="float64")
    if (values < 0).any() or (values != np.round(values)).any():
        raise ValueError(f"{value}: suppression needs counts (whole numbers >= 0)")
    return values.astype("int64")


def _codes(frame: pd.DataFrame, code: str) -> np.ndarray:
    return frame[code].astype(str).to_numpy()


def _finish(out: pd.DataFrame, value: str, values: np.ndarray | None, hidden: np.ndarray,
            total_hidden: np.ndarray) -> pd.DataFrame:
    """Write the hidden counts as ``<NA>`` (when ``values`` is given) and add the flags."""
    if values is not None:
        column = pd.array(values, dtype="Int64")
        column[hidden] = pd.NA
        out[value] = column
    out["suppressed"] = hidden.copy()
    out["total_hidden"] = total_hidden.copy()
    return out
