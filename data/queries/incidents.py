"""Incident lists: the filtered, sorted, paged incident table and its streamed exports.

One filter (:class:`IncidentFilter`) serves the Incidenten page, the CSV/XLSX export, the API
and the ``export`` command. :func:`parse_filter` turns request parameters into a filter and
rejects anything malformed with a Dutch :class:`FilterError` (a 400 in the API).

Rules of access, enforced here before any SQL runs:

* detail level 1 sees no incident rows at all (:func:`ensure_detail` with level 2);
* detail level 2 sees no address, names or free text: columns and text search of level 3 are
  refused, also as sort key or as filter, so a hidden column cannot be probed. An area filter
  counts as its level's column (every row of a PC6 filter carries that PC6), so a PC6 code in
  ``area`` needs detail level 3 like the PC6 column (:func:`_ensure_area_levels`);
* every query carries the scope's gemeente condition; an area filter only narrows it, and an
  area outside the scope is refused with :class:`OutOfScope` (a 403 in the API).

Incident rows are not suppressed: who may see rows sees every row of the scope. Counts derived
from rows for people without row access go through ``data.queries.areas`` instead.
"""
from __future__ import annotations

import re

from dataclasses import asdict, dataclass, field
from datetime import date, timedelta

from data import segments
from data.catalog import indicator_types
from data.periods import add_months
from data.scope import OutOfScope, Scope, area_filter, ensure_detail
from data.sql import literal

#: Rows per page the table and the API serve at most.
MAX_PAGE = 1000


class FilterError(ValueError):
    """A malformed filter parameter. The message is Dutch and safe to show."""


@dataclass(frozen=True)
class Column:
    key: str
    title: str  # Dutch column header
    sql: str  # expression over incidents i, crime_types t and areas g/w/b
    detail: int  # the lowest detail level that may see it
    sort: str | None = None  # sort expression over incidents i (None: not sortable)
    kind: str = "text"  # text | date | datetime | bool
    #: False when ``sql`` is never NULL: it reads only NOT NULL columns of incidents (checked
    #: against the schema in tests/test_incident_queries.py). The CSV line query relies on it.
    nullable: bool = True


#: Every column an incident list can show, in display order.
COLUMNS: tuple[Column, ...] = (
    Column("id", "Registratienummer", "i.id", 2, "i.id", nullable=False),
    Column("pleegdatum", "Pleegdatum", "strftime(i.occurred_at, '%Y-%m-%d %H:%M')", 2,
           "i.occurred_at", "datetime", nullable=False),
    Column("registratiedatum", "Registratiedatum", "strftime(i.registered_at, '%Y-%m-%d %H:%M')",
           2, "i.registered_at", "datetime", nullable=False),
    Column("soort_code", "Code", "i.type_code", 2, "i.type_code", nullable=False),
    Column("soort", "Soort", "coalesce(t.title, i.type_code)", 2, "i.type_code", nullable=False),
    Column("poging", "Poging", "CASE WHEN i.attempt THEN 'ja' ELSE 'nee' END", 2, "i.attempt",
           "bool", nullable=False),
    Column("high_impact", "High impact", "CASE WHEN i.high_impact THEN 'ja' ELSE 'nee' END", 2,
           "i.high_impact", "bool", nullable=False),
    Column("gemeente", "Gemeente", "coalesce(g.name, i.gm_code)", 2, "i.gm_code", nullable=False),
    Column("wijk", "Wijk", "coalesce(w.name, i.wk_code)", 2, "i.wk_code"),
    Column("buurt", "Buurt", "coalesce(b.name, i.bu_code)", 2, "i.bu_code"),
    Column("buurtcode", "Buurtcode", "i.bu_code", 2, "i.bu_code"),
    Column("pc4", "PC4", "i.pc4", 2, "i.pc4"),
    Column("pc6", "PC6", "i.pc6", 3, "i.pc6"),
    Column("straat", "Straat", "i.street", 3, "i.street"),
    Column("huisnummer", "Huisnummer", "i.house_number", 3, None),
    Column("mo", "Modus operandi", "i.mo", 3, None),
    Column("samenvatting", "Samenvatting", "i.summary", 3, None),
)
COLUMN_BY_KEY = {c.key: c for c in COLUMNS}

#: Area prefixes -> incidents column. Codes are unique across levels (see data.schema).
_AREA_LEVEL_COLUMNS = {"eenheid": "re_code", "gemeente": "gm_code", "wijk": "wk_code",
                       "buurt": "bu_code", "pc4": "pc4", "pc6": "pc6"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: A postcode as people write it: "0401CC", "0401cc", "0401 CC" (stored as "0401CC").
_POSTCODE = re.compile(r"^(\d{4})\s*([A-Za-z]{2})$")
_TRUE = {"1", "true", "ja", "yes"}
_FALSE = {"0", "false", "nee", "no"}


@dataclass(frozen=True)
class IncidentFilter:
    """Which incidents: all fields optional; an empty filter means everything in scope.

    ``start``/``end`` are inclusive dates of occurrence; ``types`` bundle or type codes;
    ``areas`` codes at any level (eenheid, gemeente, wijk, buurt, PC4, PC6, district or
    basisteam); ``text`` searches summary and modus operandi (detail level 3)."""
    start: date | None = None
    end: date | None = None
    types: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    attempt: bool | None = None
    high_impact: bool | None = None
    text: str | None = None

    def describe(self) -> dict:
        """A JSON-ready description for the protocol log and file headers."""
        out = {k: v for k, v in asdict(self).items() if v not in (None, ())}
        for key in ("start", "end"):
            if key in out:
                out[key] = out[key].isoformat()
        for key in ("types", "areas"):
            if key in out:
                out[key] = list(out[key])
        return out


@dataclass(frozen=True)
class Sort:
    column: str = "pleegdatum"
    descending: bool = True


def _codes(value) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else [value]
    out = []
    for item in items:
        out.extend(part.strip() for part in str(item).split(",") if part.strip())
    return tuple(dict.fromkeys(out))


def _area_code(code: str) -> str:
    """An area code as stored: a PC6 written in lower case or with a space becomes the PC6
    itself (so it is recognised, and refused below detail level 3, rather than unknown)."""
    postcode = _POSTCODE.match(code)
    return f"{postcode[1]}{postcode[2].upper()}" if postcode else code


def _flag(value, name: str) -> bool | None:
    if value in (None, "", "alle"):
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FilterError(f"{name}: gebruik 'ja' of 'nee' (kreeg {str(value)[:40]!r}).")


#: Registrations fall inside these dates. A filter date outside them is taken as the nearest
#: one (the same rows), so date arithmetic on the bounds (a day after, a window before) cannot
#: overflow at the ends of the calendar.
EARLIEST, LATEST = date(1900, 1, 1), date(2199, 12, 31)


def parse_day(value, name: str) -> date | None:
    """A filter date from ``JJJJ-MM-DD`` text (or a date); FilterError when malformed or not a
    real date."""
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    text = str(value).strip()[:10]
    if not _DATE.match(text):
        raise FilterError(f"{name}: gebruik een datum als JJJJ-MM-DD (kreeg {str(value)[:40]!r}).")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise FilterError(f"{name}: {text} is geen bestaande datum.") from None


def _within_calendar(day: date | None) -> date | None:
    return None if day is None else min(max(day, EARLIEST), LATEST)


def parse_filter(params: dict) -> IncidentFilter:
    """A filter from request parameters with the keys ``from``, ``to``, ``type``, ``area``,
    ``attempt``, ``high_impact`` and ``q`` (lists or comma-separated strings for type/area).
    Raises FilterError for malformed values; scope checks happen when the filter is used."""
    start, end = parse_day(params.get("from"), "from"), parse_day(params.get("to"), "to")
    if start and end and end < start:
        raise FilterError("to: de einddatum ligt voor de begindatum.")
    start, end = _within_calendar(start), _within_calendar(end)
    text = params.get("q")
    text = str(text).strip() if text not in (None, "") else None
    if text is not None and len(text) > 200:
        raise FilterError("q: zoektekst is langer dan 200 tekens.")
    types = _codes(params.get("type"))
    areas = tuple(dict.fromkeys(_area_code(code) for code in _codes(params.get("area"))))
    if len(types) > 100 or len(areas) > 500:
        raise FilterError("Te veel soorten of gebieden in één filter.")
    return IncidentFilter(start=start, end=end, types=types, areas=areas,
                          attempt=_flag(params.get("attempt"), "attempt"),
                          high_impact=_flag(params.get("high_impact"), "high_impact"),
                          text=text or None)


def parse_sort(value: str | None) -> Sort:
    """``pleegdatum`` (ascending) or ``-pleegdatum`` (descending); default newest first."""
    if not value:
        return Sort()
    descending = value.startswith("-")
    key = value.lstrip("-+")
    if key not in COLUMN_BY_KEY or COLUMN_BY_KEY[key].sort is None:
        raise FilterError(f"sort: onbekende of niet-sorteerbare kolom {key[:40]!r}.")
    return Sort(key, descending)


def columns_for(*, scope: Scope) -> list[Column]:
    """The columns the scope may see (none below detail level 2)."""
    if scope.empty or scope.detail < 2:
        return []
    return [c for c in COLUMNS if c.detail <= scope.detail]


def resolve_columns(*, scope: Scope, keys=None) -> list[Column]:
    """The requested columns (all visible ones when ``keys`` is empty), in display order.
    Refuses columns above the scope's detail level."""
    ensure_detail(scope, 2)
    visible = columns_for(scope=scope)
    if not keys:
        return visible
    wanted = set(_codes(keys))
    unknown = wanted - set(COLUMN_BY_KEY)
    if unknown:
        raise FilterError(f"columns: onbekende kolom {sorted(unknown)[0][:40]!r}.")
    hidden = {k for k in wanted if COLUMN_BY_KEY[k].detail > scope.detail}
    if hidden:
        raise OutOfScope(f"columns {sorted(hidden)} above detail {scope.detail}")
    return [c for c in visible if c.key in wanted]


def _area_condition(con, scope: Scope, codes: tuple[str, ...]):
    """The gemeenten in scope that the given areas touch, those they cover whole, and the SQL
    alternatives (with parameters) for the areas below gemeente level. Unknown codes are a FilterError; an area without any gemeente in the
    scope is OutOfScope."""
    rows = con.execute(
        "SELECT code, level, gm_code FROM areas WHERE code IN (SELECT unnest(?::VARCHAR[]))",
        [list(codes)]).fetchall()
    known = {code: (level, gm) for code, level, gm in rows}
    _ensure_area_levels(scope, {code: level for code, (level, _gm) in known.items()})
    orgs = dict(con.execute(
        "SELECT org_code, list(gm_code) FROM org_gemeenten"
        " WHERE org_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY org_code",
        [list(codes)]).fetchall())
    gemeenten: set[str] = set()
    whole_gemeenten: set[str] = set()
    narrower, params = [], []  # (column = code) alternatives below gemeente level
    for code in codes:
        if code in orgs:
            inside = set(orgs[code]) & scope.gemeenten
            whole = True
        elif code in known and known[code][0] == "eenheid":
            inside = {g for g, in con.execute(
                "SELECT code FROM areas WHERE level = 'gemeente' AND re_code = ?",
                [code]).fetchall()} & scope.gemeenten
            whole = True
        elif code in known and known[code][0] in _AREA_LEVEL_COLUMNS:
            level, gm = known[code]
            whole = level == "gemeente"
            if level in ("pc4", "pc6"):  # a postcode can cross a gemeente border
                inside = {g for g, in con.execute(
                    "SELECT gm_code FROM areas WHERE code = ? UNION SELECT gm_code FROM areas"
                    " WHERE level = 'pc6' AND pc4 = ?", [code, code]).fetchall()} & scope.gemeenten
            else:
                inside = {gm} & scope.gemeenten
            if not inside and not whole and gm not in _current_gemeenten(con):
                # A wijk or buurt of an older indeling whose gemeente has merged since: its
                # incidents carry the current gemeente, so ask them (scope-restricted).
                column = _AREA_LEVEL_COLUMNS[level]
                inside = {g for g, in con.execute(
                    f"SELECT DISTINCT gm_code FROM incidents WHERE {column} = ?"
                    " AND gm_code IN (SELECT unnest(?::VARCHAR[]))",
                    [code, sorted(scope.gemeenten)]).fetchall()}
            if not whole:
                narrower.append(f"i.{_AREA_LEVEL_COLUMNS[level]} = ?")
                params.append(code)
        else:
            raise FilterError(f"area: onbekend gebied {code[:40]!r}.")
        if not inside:
            raise OutOfScope(f"area {code} outside scope")
        gemeenten |= inside
        if whole:
            whole_gemeenten |= inside
    return gemeenten, whole_gemeenten, narrower, params


def _ensure_area_levels(scope: Scope, levels: dict[str, str]) -> None:
    """Refuse (OutOfScope) a filter on an area whose level is a column above the scope's
    detail level: the rows of a PC6 filter all carry that PC6, so filtering on PC6 codes would
    reveal the PC6 column (detail level 3) to detail level 2. Checked for every code before
    anything else, in or out of the scope alike."""
    for code, level in levels.items():
        column = COLUMN_BY_KEY.get(level)
        if column is not None and column.detail > scope.detail:
            raise OutOfScope(f"area {code}: a {level} filter needs detail {column.detail},"
                             f" scope allows {scope.detail}")


def _current_gemeenten(con) -> set[str]:
    return {g for g, in con.execute("SELECT code FROM areas WHERE level = 'gemeente'").fetchall()}


@dataclass
class _Plan:
    """A filter checked against a scope: the gemeenten and types it covers and the row
    predicates for everything else."""
    gemeenten: list[str]
    types: list[str] | None
    predicates: list[str] = field(default_factory=list)
    params: list = field(default_factory=list)
    whole_gemeenten: bool = True  # no narrowing below gemeente level, no text, no flags
    attempt: bool | None = None

    def where(self) -> tuple[str, list]:
        """The full condition over ``incidents i`` (scope first, always)."""
        scope_sql = ("i.gm_code BETWEEN ? AND ? AND i.gm_code IN (SELECT unnest(?::VARCHAR[]))"
                     if self.gemeenten else "FALSE")
        params = [self.gemeenten[0], self.gemeenten[-1], self.gemeenten] if self.gemeenten else []
        parts = [scope_sql]
        if self.types is not None:
            parts.append("i.type_code IN (SELECT unnest(?::VARCHAR[]))")
            params.append(self.types)
        return " AND ".join(parts + self.predicates), params + self.params


def _plan(con, scope: Scope, flt: IncidentFilter) -> _Plan:
    ensure_detail(scope, 2)
    if flt.text is not None:
        ensure_detail(scope, 3)
    gemeenten = set(scope.gemeenten)
    plan = _Plan(gemeenten=[], types=None)
    if flt.areas:
        touched, whole_set, narrower, params = _area_condition(con, scope, flt.areas)
        gemeenten &= touched
        if narrower:
            # An area list may mix whole gemeenten and smaller areas: a row matches either.
            whole = sorted(whole_set)
            alternatives = narrower + (["i.gm_code IN (SELECT unnest(?::VARCHAR[]))"]
                                       if whole else [])
            plan.predicates.append("(" + " OR ".join(alternatives) + ")")
            plan.params += params + ([whole] if whole else [])
            plan.whole_gemeenten = False
    plan.gemeenten = sorted(gemeenten)
    if flt.types:
        members: set[str] = set()
        for code in flt.types:
            found = indicator_types(con, code)
            if not found:
                raise FilterError(f"type: onbekende soort of bundel {code[:40]!r}.")
            members.update(found)
        plan.types = sorted(members)
    if flt.start:
        plan.predicates.append("i.occurred_date >= ?")
        plan.params.append(flt.start)
    if flt.end:
        plan.predicates.append("i.occurred_date <= ?")
        plan.params.append(flt.end)
    if flt.attempt is not None:
        plan.predicates.append("i.attempt = ?")
        plan.params.append(flt.attempt)
        plan.attempt = flt.attempt
    if flt.high_impact is not None:
        plan.predicates.append("i.high_impact = ?")
        plan.params.append(flt.high_impact)
        plan.whole_gemeenten = False
    if flt.text:
        # contains() on lower-cased text: no pattern characters to escape, and DuckDB runs it
        # far faster than ILIKE with an ESCAPE clause.
        plan.predicates.append("(contains(lower(i.summary), ?) OR contains(lower(i.mo), ?))")
        plan.params += [flt.text.lower(), flt.text.lower()]
        plan.whole_gemeenten = False
    return plan


def where_clause(con, *, scope: Scope, flt: IncidentFilter) -> tuple[str, list]:
    """The WHERE condition (over ``incidents i``) and parameters of a filter within a scope.
    Checks detail level and areas first; raises OutOfScope or FilterError."""
    return _plan(con, scope, flt).where()


def count_incidents(con, *, scope: Scope, flt: IncidentFilter) -> int:
    """How many incidents match (the number the page shows at all times).

    Filters on gemeenten, types, attempt and dates are answered from the monthly gemeente
    counts (derived from the same incidents) plus the partial months at the edges; anything
    else counts rows, grouped by gemeente first so the scope test runs per gemeente."""
    plan = _plan(con, scope, flt)
    if not plan.gemeenten:
        return 0
    if plan.whole_gemeenten:
        return _count_from_months(con, plan, flt)
    where, params = plan.where()
    return con.execute(f"SELECT count(*) FROM incidents i WHERE {where}",
                       params).fetchall()[0][0]


def _count_from_months(con, plan: _Plan, flt: IncidentFilter) -> int:
    first_full = flt.start if flt.start is None or flt.start.day == 1 else add_months(flt.start, 1)
    after = None if flt.end is None else flt.end + timedelta(days=1)
    end_full = None if after is None else after.replace(day=1)
    months = ["area_code IN (SELECT unnest(?::VARCHAR[]))"]
    params: list = [plan.gemeenten]
    if plan.types is not None:
        months.append("type_code IN (SELECT unnest(?::VARCHAR[]))")
        params.append(plan.types)
    if plan.attempt is not None:
        months.append("attempt = ?")
        params.append(plan.attempt)
    if first_full:
        months.append("period_start >= ?")
        params.append(first_full)
    if end_full:
        months.append("period_start < ?")
        params.append(end_full)
    if first_full and end_full and end_full <= first_full:  # within one month: rows only
        where, row_params = plan.where()
        return con.execute(f"SELECT count(*) FROM incidents i WHERE {where}",
                           row_params).fetchall()[0][0]
    total = con.execute(
        "SELECT coalesce(sum(count), 0) FROM counts WHERE source = 'incidents'"
        " AND level = 'gemeente' AND period_type = 'M' AND " + " AND ".join(months),
        params).fetchall()[0][0]
    where, row_params = plan.where()
    for low, high in ((flt.start, first_full), (end_full, after)):
        if low and high and low < high:
            total += con.execute(
                f"SELECT count(*) FROM incidents i WHERE {where}"
                " AND i.occurred_date >= ? AND i.occurred_date < ?",
                [*row_params, low, high]).fetchall()[0][0]
    return int(total)


_JOINS = ("LEFT JOIN crime_types t ON t.code = i.type_code"
          " LEFT JOIN areas g ON g.code = i.gm_code"
          " LEFT JOIN areas w ON w.code = i.wk_code"
          " LEFT JOIN areas b ON b.code = i.bu_code")


def _order(scope: Scope, sort: Sort) -> str:
    column = COLUMN_BY_KEY.get(sort.column)
    if column is None or column.sort is None:
        raise FilterError(f"sort: onbekende of niet-sorteerbare kolom {sort.column[:40]!r}.")
    if column.detail > scope.detail:
        raise OutOfScope(f"sort on {column.key} above detail {scope.detail}")
    direction = "DESC NULLS LAST" if sort.descending else "ASC NULLS LAST"
    return f"{column.sort} {direction}, i.id {'DESC' if sort.descending else 'ASC'}"


#: Date windows (days from the newest or oldest incident) tried in turn for a page sorted by
#: date: the newest rows usually lie in the last days, and a narrow date condition lets
#: DuckDB skip most row groups of a 40 M-row table. (Estimating the window from the monthly
#: counts first cost more than the occasional second try.)
_WINDOWS = (2, 16, 128, 1024)


def incident_page(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(),
                  offset: int = 0, limit: int = 100, columns=None) -> list[dict]:
    """One page of matching incidents as dicts keyed by column key (no count: see
    :func:`count_incidents`). ``limit`` is capped at MAX_PAGE; ``columns`` as in
    :func:`resolve_columns`."""
    chosen = resolve_columns(scope=scope, keys=columns)
    plan = _plan(con, scope, flt)
    order = _order(scope, sort)
    offset, limit = max(0, int(offset)), max(0, min(int(limit), MAX_PAGE))
    if limit == 0 or not plan.gemeenten:
        return []
    where, params = plan.where()
    select = ", ".join(f"{c.sql} AS {c.key}" for c in chosen)
    keys = [c.key for c in chosen]

    def fetch(extra: str, extra_params: list) -> list[dict]:
        cursor = con.execute(f"""
            WITH page AS (
                SELECT i.* FROM incidents i WHERE {where}{extra}
                ORDER BY {order} LIMIT ? OFFSET ?)
            SELECT {select} FROM page i {_JOINS}
            ORDER BY {order}""", [*params, *extra_params, limit, offset])
        return [dict(zip(keys, row)) for row in cursor.fetchall()]

    if sort.column == "pleegdatum":
        low, high = segments.column_range(con, "occurred_date")
        if low is not None:
            low, high = max(low, flt.start or low), min(high, flt.end or high)
        for days in _WINDOWS:
            if low is None:
                break
            if sort.descending:
                bound = high - timedelta(days=days)
                if bound <= low:
                    break
                rows = fetch(" AND i.occurred_date > ?", [bound])
            else:
                bound = low + timedelta(days=days)
                if bound >= high:
                    break
                rows = fetch(" AND i.occurred_date < ?", [bound])
            if len(rows) == limit:  # the window held the whole page
                return rows
    return fetch("", [])


#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _sql_char(ch: str) -> str:
    return f"'{ch}'" if ch.isprintable() and ch != "'" else f"chr({ord(ch)})"


def _neutralise_sql(expr: str) -> str:
    """``expr`` with a ' before a leading :data:`FORMULA_START` character (NULL stays NULL).

    Written for speed, as it runs on every text cell of an export (14 per row): every formula
    character sorts before 'A', so ``expr < 'A'`` passes over most cells cheaply, and the
    characters are tested in lists of three, because DuckDB runs an IN list of five or more
    constants as a join against the list, for every row (that made the neutralising about a
    fifth of the CPU time of a national CSV export, bench/export.py)."""
    assert all(ch < "A" for ch in FORMULA_START)
    first = f"left({expr}, 1)"
    tests = " OR ".join(
        f"{first} IN ({', '.join(_sql_char(ch) for ch in FORMULA_START[i:i + 3])})"
        for i in range(0, len(FORMULA_START), 3))
    return f"CASE WHEN {expr} < 'A' AND ({tests}) THEN '''' || {expr} ELSE {expr} END"


#: Separators a CSV line query may use (they are written into the SQL).
CSV_SEPARATORS = (";", ",")


def _csv_line_sql(cells: list[tuple[str, Column]], sep: str) -> str:
    """Each row as one CSV line, as pyarrow's writer wrote the columns before (quoting_style
    "needed", which quotes every text value): a cell in double quotes with a quote inside
    doubled, NULL an empty unquoted cell, a newline at the end.

    One ``concat`` of constants and cell texts, with no string per cell in between (quoting
    each cell with ``'"' || x || '"'`` made a national export a fifth slower, bench/export.py):
    a column that is never NULL (``Column.nullable``) sits between quote constants; a nullable
    one is quoted inside a CASE that keeps NULL, which ``concat`` writes as nothing."""
    parts, text = [], ""  # text: constant text not yet written
    for n, (expr, column) in enumerate(cells):
        text += sep if n else ""
        value = expr if column.kind in ("date", "datetime", "bool") else (  # never a quote
            f"""CASE WHEN contains({expr}, '"') THEN replace({expr}, '"', '""') ELSE {expr} END""")
        if column.nullable:
            parts += [literal(text),
                      f"""CASE WHEN {expr} IS NULL THEN NULL ELSE concat('"', {value}, '"') END"""]
            text = ""
        else:
            parts += [literal(text + '"'), value]
            text = '"'
    parts += [literal(text), "chr(10)"]
    return "concat(" + ", ".join(p for p in parts if p != "''") + ")"


def export_query(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(),
                 columns=None, window: tuple[date, date] | None = None,
                 csv_sep: str | None = None) -> tuple[str, list, list[Column]]:
    """SQL and parameters that yield exactly the filtered rows and chosen columns, every text
    cell neutralised against formula injection (a leading ' before = + - @ tab CR).
    ``window`` = [start, end) narrows to occurrence dates (see :func:`export_windows`).

    With ``csv_sep`` the query yields one column, ``line``: each row as a CSV line ending in a
    newline, so a CSV export only joins the lines DuckDB wrote (faster than formatting the
    columns in Python or with pyarrow, bench/export.py)."""
    chosen = resolve_columns(scope=scope, keys=columns)
    where, params = where_clause(con, scope=scope, flt=flt)
    if window is not None:
        where += " AND i.occurred_date >= ? AND i.occurred_date < ?"
        params = [*params, *window]
    cells = [(_neutralise_sql(c.sql) if c.kind == "text" else c.sql, c) for c in chosen]
    if csv_sep is None:
        select = ", ".join(f'{expr} AS "{c.title}"' for expr, c in cells)
    elif csv_sep in CSV_SEPARATORS:
        select = f"{_csv_line_sql(cells, csv_sep)} AS line"
    else:
        raise ValueError(f"csv_sep must be one of {CSV_SEPARATORS}")
    sql = f"SELECT {select} FROM incidents i {_JOINS} WHERE {where} ORDER BY {_order(scope, sort)}"
    return sql, params, chosen


def export_windows(con, *, scope: Scope, flt: IncidentFilter, sort: Sort = Sort(),
                   rows_per_window: int = 400_000) -> list[tuple[date, date] | None]:
    """Date windows [start, end) in the order of a date sort, each holding about
    ``rows_per_window`` rows of the scope (from the monthly counts), so an export sorts one
    window at a time and its memory stays flat. ``[None]`` (one query) for other sorts."""
    plan = _plan(con, scope, flt)
    if sort.column != "pleegdatum" or not plan.gemeenten:
        return [None]
    months = con.execute(
        "SELECT period_start, sum(count) FROM counts WHERE source = 'incidents'"
        " AND level = 'gemeente' AND period_type = 'M'"
        " AND area_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1 ORDER BY 1",
        [plan.gemeenten]).fetchall()
    if not months:
        return [None]
    windows, start, rows = [], months[0][0], 0
    for month, n in months:
        if rows and rows + n > rows_per_window:
            windows.append((start, month))
            start, rows = month, 0
        rows += n
    windows.append((start, add_months(months[-1][0], 1)))
    # The first and last window are open-ended, so no row falls between the windows.
    windows[0] = (date(1, 1, 1), windows[0][1])
    windows[-1] = (windows[-1][0], date(9999, 12, 31))
    return windows[::-1] if sort.descending else windows


def area_options(con, *, scope: Scope, extra=()) -> list[tuple[str, str]]:
    """(code, label) of the areas the incident filter offers: the gemeenten and wijken in
    scope, plus the ``extra`` codes (e.g. a buurt from a map click) when they lie in scope.
    Empty below detail level 2."""
    if scope.empty or scope.detail < 2:
        return []
    where, params = area_filter(scope, "a.gm_code")
    rows = con.execute(f"""
        SELECT a.code, CASE a.level WHEN 'gemeente' THEN coalesce(a.name, a.code)
               ELSE CASE a.level WHEN 'wijk' THEN 'Wijk ' WHEN 'buurt' THEN 'Buurt '
                    ELSE upper(a.level) || ' ' END || coalesce(a.name, a.code) || ' (' ||
                    coalesce(g.name, a.gm_code) || ')' END,
               a.level = 'gemeente' AS top, coalesce(g.name, a.gm_code) AS gemeente
        FROM areas a LEFT JOIN areas g ON g.code = a.gm_code
        WHERE {where} AND (a.level IN ('gemeente', 'wijk')
              OR a.code IN (SELECT unnest(?::VARCHAR[])))
          AND a.level IN ('gemeente', 'wijk', 'buurt', 'pc4', 'pc6')
        ORDER BY gemeente, NOT top, 2""", [*params, list(_codes(list(extra)))]).fetchall()
    return [(code, label) for code, label, _top, _gm in rows]
