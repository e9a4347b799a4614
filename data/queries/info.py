"""What is loaded: the summary behind ``python -m dashboard db info [--json]``.

These functions describe the database itself for the operator on the command line, not police
data for a user, so they take no scope (tests/test_conventions.py lists them as unscoped).
"""
from __future__ import annotations

from pathlib import Path

from data import segments
from data.incidents import APPENDED_KEY, MERGE_APPENDED_SHARE, appended_share
from data.schema import LEVELS


def database_info(store) -> dict:
    """Counts per table and level, periods covered, metadata and the import log."""
    info: dict = {"database": str(store.path), "exists": store.exists()}
    if not info["exists"]:
        return info
    con = store.read()
    info["file"] = str(store.current_file())
    info["size_bytes"] = store.current_file().stat().st_size
    meta = dict(con.execute("SELECT key, value FROM meta ORDER BY key").fetchall())
    info["dataset"] = {
        "name": meta.get("dataset_name"),
        "source": meta.get("dataset_source"),
        "demo": meta.get("demo") == "true",
        "data_version": meta.get("data_version"),
        "updated_at": meta.get("updated_at"),
        "schema_version": meta.get("schema_version"),
    }
    info["meta"] = meta
    info["areas"] = _areas_per_level(con)
    info["boundaries"] = _boundaries(con)
    info["gemeenten"] = [
        {"code": code, "name": name, "re_code": re_code}
        for code, name, re_code in con.execute(
            "SELECT code, name, re_code FROM areas WHERE level = 'gemeente' ORDER BY code"
        ).fetchall()]
    info["eenheden"] = [
        {"code": code, "name": name}
        for code, name in con.execute(
            "SELECT code, name FROM areas WHERE level = 'eenheid' ORDER BY code").fetchall()]
    count, first, last = con.execute(
        "SELECT count(*), min(occurred_date), max(occurred_date) FROM incidents").fetchall()[0]
    info["incidents"] = {"count": count, "first": _iso(first), "last": _iso(last),
                         "segments": [{"file": path, "rows": rows, "size_bytes": _size(path)}
                                      for _, path, rows in segments.listed(con)]}
    info["counts"] = _counts(con)
    groups, areas = con.execute("SELECT (SELECT count(*) FROM group_counts),"
                                " (SELECT count(*) FROM area_group_counts)").fetchall()[0]
    appended = int(meta.get(APPENDED_KEY) or 0)
    info["derived"] = {"group_counts": groups, "area_group_counts": areas,
                       "appended_rows": appended,
                       "appended_share": round(appended_share(con, appended, groups + areas), 4),
                       "merge_share": MERGE_APPENDED_SHARE}
    kinds = dict(con.execute("SELECT kind, count(*) FROM crime_types GROUP BY kind").fetchall())
    info["crime_types"] = {"count": sum(kinds.values()), **kinds}
    info["population"] = {
        "years": [y for (y,) in con.execute(
            "SELECT DISTINCT year FROM population ORDER BY year").fetchall()],
        "rows": con.execute("SELECT count(*) FROM population").fetchall()[0][0],
    }
    org = dict(con.execute("SELECT kind, count(*) FROM org_units GROUP BY kind").fetchall())
    info["org_units"] = org
    info["imports"] = [
        {"imported_at": _iso(at), "kind": kind, "file": file, "rows": rows,
         "rejected": rejected, "total": total}
        for at, kind, file, rows, rejected, total in con.execute(
            "SELECT imported_at, kind, file, rows, rejected, total FROM imports"
            " ORDER BY imported_at").fetchall()]
    return info


def _size(path: str) -> int | None:
    try:
        return Path(path).stat().st_size
    except OSError:
        return None


def _areas_per_level(con) -> dict[str, int]:
    found = dict(con.execute("SELECT level, count(*) FROM areas GROUP BY level").fetchall())
    ordered = {level: found.pop(level) for level in LEVELS if level in found}
    return {**ordered, **found}


def _boundaries(con) -> dict[str, dict[int, int]]:
    out: dict[str, dict[int, int]] = {}
    rows = con.execute("SELECT level, vintage, count(*) FROM boundaries GROUP BY level, vintage"
                       " ORDER BY level, vintage").fetchall()
    for level, vintage, n in sorted(rows, key=lambda r: (_level_order(r[0]), r[1])):
        out.setdefault(level, {})[vintage] = n
    return out


def _counts(con) -> dict:
    rows, total, first, last = con.execute(
        "SELECT count(*), coalesce(sum(count), 0), min(period_start), max(period_start)"
        " FROM counts").fetchall()[0]
    sources = [
        {"source": source, "level": level, "period_type": period_type, "rows": n,
         "total": int(t), "first": _iso(f), "last": _iso(l)}
        for source, level, period_type, n, t, f, l in con.execute(
            "SELECT source, level, period_type, count(*), sum(count), min(period_start),"
            " max(period_start) FROM counts GROUP BY ALL ORDER BY source, level, period_type"
        ).fetchall()]
    return {"rows": rows, "total": int(total), "first_period": _iso(first),
            "last_period": _iso(last), "sources": sources}


def _level_order(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else len(LEVELS)


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


def format_info(info: dict) -> str:
    """The summary as readable text."""
    if not info.get("exists"):
        return f"Database {info['database']}: does not exist (run `python -m dashboard demo` " \
               "or an import first)."
    d = info["dataset"]
    lines = [
        f"Database   {info['database']} ({info['size_bytes'] / 1e6:,.1f} MB)",
        f"Dataset    {d['name'] or '(unnamed)'}{' [DEMO]' if d['demo'] else ''}"
        + (f" — {d['source']}" if d["source"] else ""),
        f"Version    {d['data_version'] or '-'}, updated {d['updated_at'] or '-'}",
        "",
        "Areas      " + (", ".join(f"{level} {n:,}" for level, n in info["areas"].items())
                         or "none"),
    ]
    if info["boundaries"]:
        lines.append("Boundaries " + "; ".join(
            f"{level} " + ", ".join(f"{v}: {n:,}" for v, n in vintages.items())
            for level, vintages in info["boundaries"].items()))
    else:
        lines.append("Boundaries none")
    gemeenten = info["gemeenten"]
    if gemeenten:
        shown = ", ".join(f"{g['code']} {g['name'] or ''}".strip() for g in gemeenten[:8])
        more = f" (+{len(gemeenten) - 8} more)" if len(gemeenten) > 8 else ""
        lines.append(f"Gemeenten  {len(gemeenten)}: {shown}{more}")
    inc = info["incidents"]
    lines.append(f"Incidents  {inc['count']:,}"
                 + (f" ({inc['first']} .. {inc['last']})" if inc["count"] else ""))
    parts = inc.get("segments") or []
    if parts:
        lines.append(f"           in {len(parts)} segment(s): " + ", ".join(
            f"{p['rows']:,} rows ({(p['size_bytes'] or 0) / 1e6:,.1f} MB)" for p in parts))
    c = info["counts"]
    lines.append(f"Counts     {c['rows']:,} rows, total {c['total']:,}"
                 + (f" ({c['first_period']} .. {c['last_period']})" if c["rows"] else ""))
    for s in c["sources"]:
        lines.append(f"           {s['source']}: {s['level']} {s['period_type']},"
                     f" {s['rows']:,} rows, total {s['total']:,} ({s['first']} .. {s['last']})")
    d = info["derived"]
    lines.append(f"Derived    bundle counts {d['group_counts']:,} rows per gemeente,"
                 f" {d['area_group_counts']:,} per wijk, buurt and PC4")
    if d["appended_rows"]:
        lines.append(f"           {d['appended_rows']:,} of them appended by imports since the last"
                     f" full build ({d['appended_share']:.0%} of the rows built; readers sum them;"
                     f" an import merges them at {d['merge_share']:.0%}, `db derive` now)")
    t = info["crime_types"]
    lines.append(f"Types      {t['count']} (" + ", ".join(
        f"{k} {v}" for k, v in t.items() if k != "count") + ")")
    p = info["population"]
    lines.append("Population " + (", ".join(map(str, p["years"])) or "none")
                 + (f" ({p['rows']:,} rows)" if p["rows"] else ""))
    if info["org_units"]:
        lines.append("Police org " + ", ".join(f"{k} {v}" for k, v in info["org_units"].items()))
    lines.append(f"Imports    {len(info['imports'])}")
    for imp in info["imports"][-10:]:
        total = f", total {imp['total']:,}" if imp["total"] is not None else ""
        lines.append(f"           {imp['imported_at']} {imp['kind']} {imp['file']}: "
                     f"{imp['rows']:,} rows, {imp['rejected']:,} rejected{total}")
    return "\n".join(lines)
