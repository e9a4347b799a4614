"""The data-delivery API (/api/v1/) against a real gunicorn server on the demo database: the
OpenAPI description and every response against it, tokens, scopes, detail levels, errors, the
protocol log, plain CSV with provenance headers and the rate limit. Expected numbers come from
DuckDB directly; dates come from the demo's own data window (it moves with today's date).
The property-based check of the whole description is tests/test_api_contract.py."""
from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
import urllib.parse
from data.segments import connect as connect_db
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import requests
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec

from dashboard.api import COUNT_FIELDS, PROVENANCE
from data.accounts import add_user, set_profile
from data.state import StateDB
from data.tokens import TokenError, create_token, digest, revoke_token

from .conftest import ROOT, LiveServer, http_login

OWN, OTHER = "GMD001", "GMD002"  # burgemeester's gemeente, burgemeester2's gemeente
LIMIT = 40  # requests per token per minute on this module's server


@pytest.fixture(scope="module")
def api(demo_db, tmp_path_factory):
    """A server of its own: its own state database (tokens, profiles, log) and a small rate
    limit. burgemeester2's gemeente gets detail level 2; burgemeester keeps the default 1."""
    path = tmp_path_factory.mktemp("api") / "appstate.sqlite"
    server = LiveServer(demo_db, env={"DASHBOARD_STATE_DB": str(path),
                                      "DASHBOARD_API_RATE_LIMIT": f"{LIMIT} per minute"})
    server.state = StateDB(path)
    server.state_path = path
    set_profile(server.state, OTHER, by="test", detail=2)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def spec(api):
    response = requests.get(api.url + "/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


@pytest.fixture(scope="module")
def duck(demo_db):
    con = connect_db(demo_db)
    yield con
    con.close()


@dataclass(frozen=True)
class Span:
    """The demo's days with incidents (five years up to yesterday, so they move with today)."""
    first: date
    last: date

    def at(self, fraction: float) -> date:
        """The day ``fraction`` of the way from the first to the last day."""
        return self.first + timedelta(days=round((self.last - self.first).days * fraction))

    def iso(self, fraction: float) -> str:
        return self.at(fraction).isoformat()

    def years(self) -> list[str]:
        """The complete calendar years, newest first (the API's ``period`` years)."""
        return [str(y) for y in range(self.last.year, self.first.year - 1, -1)
                if date(y, 1, 1) >= self.first and date(y, 12, 31) < self.last]


@pytest.fixture(scope="module")
def span(duck) -> Span:
    return Span(*duck.execute("SELECT min(occurred_date), max(occurred_date) FROM incidents")
                .fetchone())


def token(api, user: str) -> str:
    return create_token(api.state, user, label="test", by=user)[1]


def token_with_id(api, user: str) -> tuple[int, str]:
    record, text = create_token(api.state, user, label="test", by=user)
    return record.id, text


def call(api, path: str, tok: str | None = None, **params) -> requests.Response:
    headers = {"Authorization": f"Bearer {tok}"} if tok else {}
    return requests.get(f"{api.url}/api/v1/{path}", params=params, headers=headers, timeout=60)


def last_log_id(api) -> int:
    return api.state.query("SELECT coalesce(max(id), 0) FROM protocol_log")[0][0]


def log_since(api, ident: int) -> list[dict]:
    return [dict(r) for r in api.state.query("SELECT * FROM protocol_log WHERE id > ? ORDER BY id",
                                             (ident,))]


def response_schema(spec: dict, path: str, status: int) -> dict:
    response = spec["paths"][f"/api/v1/{path}"]["get"]["responses"][str(status)]
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]


def check(spec: dict, path: str, response: requests.Response) -> None:
    """The response validates against its schema in the description (JSON bodies)."""
    assert response.headers["Content-Type"].startswith("application/json"), response.text[:200]
    schema = {**response_schema(spec, path, response.status_code),
              "components": spec["components"]}
    OAS31Validator(schema).validate(response.json())


def csv_rows(text: str) -> list[list[str]]:
    """The rows of an API CSV, header first: plain CSV, no BOM, no provenance line."""
    assert not text.startswith(("\ufeff", "#", '"#')), text[:80]
    sep = ";" if text.splitlines()[0].count(";") else ","
    return list(csv.reader(io.StringIO(text), delimiter=sep))


# -- the description --------------------------------------------------------------------------

def test_openapi_is_public_and_valid(api, spec):
    from dashboard.api import OPENAPI

    validate_spec(spec)
    assert spec == json.loads(json.dumps(OPENAPI))
    assert set(spec["paths"]) == {"/api/v1/counts", "/api/v1/incidents", "/api/v1/sources",
                                  "/api/v1/openapi.json"}
    for path in ("counts", "incidents", "sources"):
        responses = spec["paths"][f"/api/v1/{path}"]["get"]["responses"]
        assert {"200", "400", "401", "403", "429"} <= set(responses)


def test_every_successful_response_validates(api, spec, span):
    analist, mayor, mayor2 = token(api, "analist"), token(api, "burgemeester"), \
        token(api, "burgemeester2")
    years = span.years()[:2]
    assert len(years) == 2
    small = 0
    for level in ("gemeente", "wijk", "buurt", "pc4", "pc6"):
        mayors = () if level == "pc6" else (  # PC6: detail level 3 only
            (mayor, {"measure": "per_1000"}), (mayor, {"measure": "change", "period": years[0]}),
            (mayor, {"type": "woninginbraak"}))
        for tok, params in ((analist, {}), *mayors):
            response = call(api, "counts", tok, level=level, **params)
            assert response.status_code == 200, response.text
            check(spec, "counts", response)
            rows = response.json()["rows"]
            assert rows
            small += sum(1 for row in rows if row["count"] is not None and 1 <= row["count"] <= 4)
            assert all(row["count"] is not None for row in rows)  # nothing hidden per cell
    assert small, "a detail-1 mayor gets small counts below the gemeente exactly (public)"
    for params in ({"area": OWN, "level": "buurt", "type": "woninginbraak"},
                   {"level": "gemeente", "period": years[1], "measure": "change"}):
        response = call(api, "counts", analist, **params)
        assert response.status_code == 200, response.text
        check(spec, "counts", response)
    for tok, params in ((analist, {}),
                        (analist, {"type": "woninginbraak", "from": span.iso(0.6),
                                   "to": span.iso(0.7), "sort": "pleegdatum", "limit": 7,
                                   "offset": 3}),
                        (analist, {"q": "deur", "area": "WKD00101", "high_impact": "ja"}),
                        (analist, {"columns": "id,pleegdatum,straat,samenvatting",
                                   "attempt": "nee"}),
                        (mayor2, {}),
                        (mayor2, {"columns": "id,soort,buurt", "sort": "-soort"})):
        response = call(api, "incidents", tok, **params)
        assert response.status_code == 200, response.text
        check(spec, "incidents", response)
        body = response.json()
        assert len(body["rows"]) == min(body["limit"], max(0, body["total"] - body["offset"]))
        assert all(set(row) == set(body["columns"]) for row in body["rows"])
    # CSV answers: plain text/csv, the header on row 1.
    for path, params in (("counts", {"level": "wijk", "format": "csv"}),
                         ("incidents", {"format": "csv", "area": "WKD00101", "sep": ","})):
        response = call(api, path, analist, **params)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8; header=present"
        assert len(csv_rows(response.content.decode("utf-8"))) > 1


def test_counts_below_the_gemeente_follow_the_disclosure_model(api, demo_db):
    """A detail-1 mayor: geweld per buurt counts every member but 1.4.1 (said in 'release'),
    exactly, small counts included; a bundle of non-crime types per buurt is refused (403,
    logged); the analist gets every member."""
    mayor, analist = token(api, "burgemeester"), token(api, "analist")
    data = call(api, "counts", mayor, level="buurt", type="geweld", area=OWN).json()
    assert data["release"]["left_out"] == ["1.4.1"] and "1.4.1" not in data["release"]["types"]
    assert "Zedenmisdrijf" in data["release"]["note"]
    con = connect_db(demo_db)
    try:
        start, end = data["period"]["start"], data["period"]["end"]
        truth = dict(con.execute(
            "SELECT bu_code, count(*) FROM incidents WHERE gm_code = ? AND occurred_date >= ?"
            " AND occurred_date < ? AND type_code IN (SELECT unnest(?::VARCHAR[])) GROUP BY 1",
            [OWN, start, end, data["release"]["types"]]).fetchall())
    finally:
        con.close()
    assert {r["code"]: r["count"] for r in data["rows"]} == {
        r["code"]: truth.get(r["code"], 0) for r in data["rows"]}
    full = call(api, "counts", analist, level="buurt", type="geweld", area=OWN).json()
    assert full["release"]["left_out"] == [] and "1.4.1" in full["release"]["types"]
    refused = call(api, "counts", mayor, level="buurt", type="overlast")
    assert refused.status_code == 403 and "niet" in refused.json()["error"]
    text = call(api, "counts", mayor, level="buurt", type="geweld", area=OWN,
                format="csv").content.decode("utf-8")
    assert "<" not in text and len(csv_rows(text)) == len(data["rows"]) + 1


def test_counts_as_geojson_are_the_json_rows_with_their_shapes(api, spec, duck):
    """format=geojson: the JSON answer's rows, field for field, as Feature properties, with the
    area's CBS shape (WGS84) as geometry; the same scope, detail level and disclosure as the
    JSON (another gemeente and PC6 for detail 1: 403, a non-published bundle per buurt: 403);
    one protocol row with the format."""
    from dashboard.api import counts_geojson

    mayor, analist = token(api, "burgemeester"), token(api, "analist")
    for tok, params in [(mayor, {"level": "wijk", "measure": "per_1000"}),
                        (mayor, {"level": "buurt", "type": "geweld", "area": OWN}),
                        (analist, {"level": "pc6", "area": OWN, "measure": "change"}),
                        (analist, {"level": "gemeente"})]:
        plain = call(api, "counts", tok, **params)
        before = last_log_id(api)
        geo = call(api, "counts", tok, **params, format="geojson")
        assert geo.status_code == 200 and plain.status_code == 200, params
        assert geo.headers["Content-Type"].startswith("application/geo+json")
        body, rows = geo.json(), plain.json()["rows"]
        schema = {**spec["paths"]["/api/v1/counts"]["get"]["responses"]["200"]["content"][
            "application/geo+json"]["schema"], "components": spec["components"]}
        OAS31Validator(schema).validate(body)
        assert body["type"] == "FeatureCollection"
        assert body["query"] == {k: v for k, v in plain.json().items() if k != "rows"}
        assert [f["properties"] for f in body["features"]] == rows
        assert [f["id"] for f in body["features"]] == [r["code"] for r in rows]
        assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon")
                   for f in body["features"])  # every demo area has a shape
        lon, lat = body["features"][0]["geometry"]["coordinates"][0][0][:2] \
            if body["features"][0]["geometry"]["type"] == "Polygon" \
            else body["features"][0]["geometry"]["coordinates"][0][0][0][:2]
        assert 3 < lon < 8 and 50 < lat < 54  # WGS84 degrees, not RD metres
        assert geo.headers["X-Veiligheidsbeeld-Rijen"] == str(len(rows))
        logged = log_since(api, before)
        assert len(logged) == 1 and logged[0]["view"] == "api/counts"
        assert json.loads(logged[0]["filters"])["format"] == "geojson"
    gemeenten = {f["id"] for f in call(api, "counts", mayor, level="gemeente",
                                       format="geojson").json()["features"]}
    assert gemeenten == {OWN}
    wijken = {f["properties"]["parent_code"] for f in call(
        api, "counts", mayor, level="wijk", format="geojson").json()["features"]}
    assert wijken == {OWN}
    for params in ({"level": "wijk", "area": OTHER}, {"level": "pc6"},
                   {"level": "buurt", "type": "overlast"}):
        refused = call(api, "counts", mayor, **params, format="geojson")
        assert refused.status_code == 403 and "features" not in refused.text, params
    # A row without a count keeps null and its reason; an area without a shape has no geometry.
    row = {"code": "WK1", "name": "Wijk", "count": None, "reason": "geen gegevens voor 2021"}
    feature = json.loads(counts_geojson({"level": "wijk"}, [row], {}))["features"][0]
    assert feature == {"type": "Feature", "id": "WK1", "properties": row, "geometry": None}


# -- plain CSV, provenance in the headers -----------------------------------------------------

def provenance(response: requests.Response) -> dict[str, str]:
    """The X-Veiligheidsbeeld-* headers, decoded: every one present, printable ASCII, with
    anything else percent-encoded as UTF-8."""
    out = {}
    for name in PROVENANCE:
        value = response.headers[name]
        assert value.isascii() and value.isprintable(), (name, value)
        out[name.removeprefix("X-Veiligheidsbeeld-")] = urllib.parse.unquote(value)
    return out


@pytest.mark.parametrize("sep", [";", ","])
def test_pandas_reads_the_api_csv_as_it_is(api, duck, span, sep):
    """A gemeente's importer: ``pandas.read_csv(url)`` gets the columns and every row; who,
    when, which data and which filters come in the response headers."""
    tok = token(api, "analist")
    auth = {"Authorization": f"Bearer {tok}"}
    meta = dict(duck.execute("SELECT key, value FROM meta").fetchall())

    def url(path, **params):
        return f"{api.url}/api/v1/{path}?" + urllib.parse.urlencode(
            {"format": "csv", "sep": sep, **params})

    counts = url("counts", level="wijk")
    frame = pd.read_csv(counts, sep=sep, storage_options=auth)
    assert list(frame.columns) == list(COUNT_FIELDS)
    wijken = [c for c, in duck.execute("SELECT code FROM areas WHERE level = 'wijk'").fetchall()]
    assert sorted(frame["code"]) == sorted(wijken)  # the analist's scope: the whole eenheid
    response = requests.get(counts, headers=auth, timeout=60)
    assert response.content.startswith(sep.join(COUNT_FIELDS).encode() + b"\r\n")
    head = provenance(response)
    assert head["Rijen"] == str(len(wijken)) and head["Gemaakt-Door"] == "analist"
    assert head["Detailniveau"] == "3" and head["Dataversie"] == meta["data_version"]
    assert head["Bron"] == meta["dataset_name"]
    assert json.loads(head["Filters"]) == {"level": "wijk", "period": "12m", "format": "csv",
                                           "type": "alle_misdrijven", "measure": "count"}
    assert datetime.fromisoformat(head["Gemaakt-Op"]).tzinfo is not None

    columns = ["id", "pleegdatum", "soort", "straat", "samenvatting"]
    params = {"area": "WKD00101", "type": "woninginbraak", "from": span.iso(0.5),
              "to": span.iso(0.9), "columns": ",".join(columns)}
    incidents = url("incidents", **params)
    frame = pd.read_csv(incidents, sep=sep, storage_options=auth, dtype=str,
                        keep_default_na=False)
    assert list(frame.columns) == columns
    every = [c for c, in duck.execute("SELECT code FROM areas WHERE level='gemeente'").fetchall()]
    expected = [i for i, in _direct(duck, gemeenten=every, types=_types(duck, "woninginbraak"),
                                    start=span.at(0.5), end=span.at(0.9), wijk="WKD00101",
                                    select="id", order="ORDER BY occurred_at DESC, id DESC")]
    assert len(expected) > 20 and list(frame["id"]) == expected
    assert frame["straat"].str.len().min() > 0  # the analist's address column is filled
    response = requests.get(incidents, headers=auth, timeout=60)
    assert response.content.startswith(sep.join(columns).encode() + b"\n")  # no BOM, no "#"
    head = provenance(response)
    assert head["Rijen"] == str(len(expected))
    assert json.loads(head["Filters"])["filter"] == {
        "areas": ["WKD00101"], "types": ["woninginbraak"], "start": span.iso(0.5),
        "end": span.iso(0.9)}


def test_provenance_headers_on_json_are_ascii_safe(api, spec):
    response = call(api, "incidents", token(api, "analist"), q="café", limit=2)
    assert response.status_code == 200
    check(spec, "incidents", response)
    assert "caf%C3%A9" in response.headers["X-Veiligheidsbeeld-Filters"]
    head = provenance(response)
    assert json.loads(head["Filters"])["filter"] == {"text": "café"}
    assert head["Rijen"] == str(len(response.json()["rows"]))


# -- scope ------------------------------------------------------------------------------------

def test_gemeente_token_is_refused_another_gemeentes_areas(api, spec, duck):
    mayor, mayor2 = token(api, "burgemeester"), token(api, "burgemeester2")
    other_wijk = duck.execute("SELECT min(code) FROM areas WHERE level='wijk' AND gm_code=?",
                              [OTHER]).fetchall()[0][0]
    own_wijk = duck.execute("SELECT min(code) FROM areas WHERE level='wijk' AND gm_code=?",
                            [OWN]).fetchall()[0][0]
    refused = [(mayor, "counts", {"area": OTHER}), (mayor, "counts", {"area": OTHER, "level": "buurt"}),
               (mayor, "incidents", {"area": OTHER}),
               (mayor2, "incidents", {"area": OWN}), (mayor2, "incidents", {"area": own_wijk}),
               (mayor2, "incidents", {"area": f"{OTHER},{OWN}", "format": "csv"}),
               (mayor2, "counts", {"area": OWN, "level": "pc6", "format": "csv"}),
               (mayor, "counts", {"area": OWN, "level": "pc6"})]  # own gemeente, detail 1
    for tok, path, params in refused:
        response = call(api, path, tok, **params)
        assert response.status_code == 403, (path, params, response.text)
        check(spec, path, response)
        assert response.json()["error"] == "U heeft geen toegang tot deze gegevens."
    # /counts looks inside a gemeente only: any other code is malformed (400), the same for an
    # own wijk and another gemeente's, so the answer tells nothing about the other gemeente.
    answers = [call(api, "counts", mayor, area=wijk, level="buurt") for wijk in (own_wijk,
                                                                                  other_wijk)]
    assert [r.status_code for r in answers] == [400, 400]
    assert answers[0].json()["error"].replace(own_wijk, other_wijk) == answers[1].json()["error"]


def test_unfiltered_results_hold_only_the_own_gemeente(api, duck):
    mayor, mayor2 = token(api, "burgemeester"), token(api, "burgemeester2")
    gemeente_of = dict(duck.execute("SELECT code, gm_code FROM areas").fetchall())
    for level in ("gemeente", "wijk", "buurt", "pc4"):  # (pc6: detail level 3 only)
        rows = call(api, "counts", mayor, level=level).json()["rows"]
        codes = {r["code"] for r in rows}
        expected = {c for c, in duck.execute(
            "SELECT code FROM areas WHERE level = ? AND gm_code = ?", [level, OWN]).fetchall()}
        assert codes == expected, level
        assert {gemeente_of[c] for c in codes} == {OWN}
    name = duck.execute("SELECT name FROM areas WHERE code = ?", [OTHER]).fetchall()[0][0]
    body = call(api, "incidents", mayor2, limit=1000).json()
    assert body["rows"] and {r["gemeente"] for r in body["rows"]} == {name}
    text = call(api, "incidents", mayor2, format="csv", columns="id,gemeente").content.decode()
    ids = {r[0] for r in csv_rows(text)[1:]}
    assert {r[1] for r in csv_rows(text)[1:]} == {name}
    own = {i for i, in duck.execute("SELECT id FROM incidents WHERE gm_code = ?", [OTHER]).fetchall()}
    assert ids == own


def test_detail_levels(api, spec):
    mayor, mayor2 = token(api, "burgemeester"), token(api, "burgemeester2")
    # The beheerder gets no token (no police data) ... and one from an older release, written
    # straight into the state database, still sees nothing.
    with pytest.raises(TokenError):
        create_token(api.state, "beheerder", by="beheerder")
    beheerder = "vb_" + "legacy-beheerder-token-" + "x" * 20
    with api.state.transaction() as con:
        con.execute("INSERT INTO api_tokens (user, label, token_hash, prefix, created_at)"
                    " VALUES ('beheerder', 'oud', ?, 'vb_legac', '2025-01-01')",
                    (digest(beheerder),))
    # Detail 1: counts yes, incident rows never (JSON or CSV).
    assert call(api, "counts", mayor).status_code == 200
    for params in ({}, {"format": "csv"}, {"columns": "id"}):
        assert call(api, "incidents", mayor, **params).status_code == 403
    # Detail 2: rows without address, names or free text — asked or probed.
    for params in ({"columns": "id,straat"}, {"columns": "samenvatting"}, {"q": "deur"},
                   {"sort": "straat"}, {"columns": "pc6", "format": "csv"}):
        response = call(api, "incidents", mayor2, **params)
        assert response.status_code == 403, params
        check(spec, "incidents", response)
    body = call(api, "incidents", mayor2, limit=1).json()
    assert "straat" not in body["columns"] and "samenvatting" not in body["columns"]
    # The beheerder sees no police data at all.
    assert call(api, "counts", beheerder).status_code == 403
    assert call(api, "incidents", beheerder).status_code == 403


# -- errors and authentication ----------------------------------------------------------------

@pytest.mark.parametrize("params, everything", [
    ({"to": "0001-01-02"}, False), ({"from": "9999-12-31"}, False),
    ({"from": "9999-12-30", "to": "9999-12-31"}, False),
    ({"from": "0001-01-01", "sort": "pleegdatum"}, True),
    ({"to": "9999-12-31", "sort": "-pleegdatum"}, True),
    ({"from": "0337-04-16", "to": "0357-12-23", "format": "csv"}, False),
])
def test_real_dates_at_the_ends_of_the_calendar_are_answered(api, spec, params, everything):
    """Found by schemathesis: date arithmetic on such bounds answered 500. They are real dates,
    so 200, selecting every incident or none."""
    response = call(api, "incidents", token(api, "analist"), **params)
    assert response.status_code == 200, response.text
    if params.get("format") == "csv":
        assert response.headers["X-Veiligheidsbeeld-Rijen"] == "0"
        assert response.text.count("\n") == 1  # the header only
        return
    check(spec, "incidents", response)
    total = call(api, "incidents", token(api, "analist"), limit=1).json()["total"]
    assert total > 0 and response.json()["total"] == (total if everything else 0)


@pytest.mark.parametrize("path,params", [
    ("counts", {"level": "land"}), ("counts", {"measure": "gemiddeld"}),
    ("counts", {"period": "vorig-jaar"}), ("counts", {"period": "2025 "}),
    ("counts", {"format": "xml"}), ("counts", {"type": "geen-bundel"}),
    ("counts", {"type": "1.1.1"}),  # a type, not a bundle
    ("counts", {"area": "WKD00101"}), ("counts", {"sep": "|", "format": "csv"}),
    # Present but empty, or given twice: refused, never read as "not given".
    ("counts", {"level": ""}), ("counts", {"area": ""}), ("counts", {"period": ""}),
    ("counts", {"level": ["wijk", "buurt"]}),
    ("counts", {"perod": "2025"}), ("counts", {"to": "2025-01-01"}),  # not a /counts parameter
    ("incidents", {"form": "2025-01-01"}),
    ("incidents", {"to": ""}), ("incidents", {"from": ""}), ("incidents", {"limit": ""}),
    ("incidents", {"q": ""}), ("incidents", {"columns": "id,,soort"}),
    ("incidents", {"sort": ["id", "soort"]}),
    # Exactly the described formats: no trailing text, signs, spaces or other spellings.
    ("incidents", {"from": "2025-01-01T00:00"}), ("incidents", {"to": "2025-1-01"}),
    ("incidents", {"limit": "+5"}), ("incidents", {"limit": " 5"}), ("incidents", {"limit": "5.0"}),
    ("incidents", {"attempt": "JA"}), ("incidents", {"high_impact": "yes"}),
    ("incidents", {"sort": "--pleegdatum"}), ("incidents", {"sort": "+id"}),
    ("incidents", {"columns": " id"}), ("incidents", {"area": "WKD 00101"}),
    ("incidents", {"from": "2025-02-30"}), ("incidents", {"from": "gisteren"}),
    ("incidents", {"from": "2025-06-01", "to": "2025-01-01"}), ("incidents", {"limit": "5000"}),
    ("incidents", {"limit": "0"}), ("incidents", {"offset": "-1"}), ("incidents", {"offset": "x"}),
    ("incidents", {"sort": "kleur"}), ("incidents", {"columns": "schoenmaat"}),
    ("incidents", {"attempt": "misschien"}), ("incidents", {"type": "geen-soort"}),
    ("incidents", {"area": "XX999"}), ("incidents", {"q": "x" * 201}),
])
def test_bad_parameters_get_400_with_a_json_error(api, spec, path, params):
    response = call(api, path, token(api, "analist"), **params)
    assert response.status_code == 400, response.text
    check(spec, path, response)
    body = response.json()
    assert body["status"] == 400 and len(body["error"]) > 10


def test_a_year_without_data_is_a_404(api, spec, span):
    analist = token(api, "analist")
    before = span.first.year - 1  # well-formed, but the data start later
    response = call(api, "counts", analist, period=str(before))
    assert response.status_code == 404, response.text
    check(spec, "counts", response)
    assert span.years()[0] in response.json()["error"]  # names the years there are
    assert call(api, "counts", analist, period=span.years()[-1]).status_code == 200


def test_counts_say_which_figures_are_provisional(api, spec, span, duck):
    """The last 12 months hold the newest registration months (late registrations can still
    follow): provisional, at gemeente and buurt level, in JSON and CSV; a complete older year
    is final."""
    from data.incidents import PROVISIONAL_MONTHS

    analist = token(api, "analist")
    newest = duck.execute("SELECT max(registered_at)::DATE FROM incidents").fetchall()[0][0]
    assert PROVISIONAL_MONTHS >= 1 and newest.year > span.first.year
    for params in ({"level": "gemeente"}, {"level": "buurt", "area": "GMD001"}):
        recent = call(api, "counts", analist, period="12m", **params)
        check(spec, "counts", recent)
        rows = recent.json()["rows"]
        assert rows and all(r["provisional"] for r in rows if r["count"] is not None), params
        old = call(api, "counts", analist, period=span.years()[-1], **params)
        check(spec, "counts", old)
        assert not any(r["provisional"] for r in old.json()["rows"]), params
    text = call(api, "counts", analist, period="12m", format="csv").content.decode("utf-8")
    table = csv_rows(text)
    column, count = table[0].index("provisional"), table[0].index("count")
    assert {row[column] for row in table[1:] if row[count]} == {"true"}


#: The row fields that are null when the data do not give them ("geen gegevens", never 0).
FIGURES = ("count", "previous", "change", "change_pct", "per_1000", "value")


def test_a_null_figure_always_has_its_reason(api, spec, span):
    """No data is never zero, nor silent: the oldest complete year's comparison year is
    covered only from the data's first month, so no wijk has a change — each says why in
    ``reason``; a PC4 area has no population, so no rate — each says why. In JSON, CSV and
    GeoJSON alike, and for every measure: a null figure always comes with its reason."""
    analist = token(api, "analist")
    year = span.years()[-1]
    before = str(int(year) - 1)
    assert span.first > date(int(year) - 1, 1, 1)  # the year before is not wholly covered
    response = call(api, "counts", analist, level="wijk", area=OWN, period=year,
                    measure="change")
    check(spec, "counts", response)
    rows = response.json()["rows"]
    assert rows and all(r["count"] is not None for r in rows)
    assert all(r["value"] is None and r["previous"] is None for r in rows)
    for r in rows:
        assert r["reason"].startswith(f"geen vergelijking: geen gegevens voor {before}"), r
        assert f"{span.first:%m-%Y}" in r["reason"], r  # where the data begin
    rates = call(api, "counts", analist, level="pc4", area=OWN, period=year,
                 measure="per_1000")
    check(spec, "counts", rates)
    rows = rates.json()["rows"]
    assert rows and all(r["count"] is not None and r["population"] is None for r in rows)
    for r in rows:
        assert r["value"] is None and r["per_1000"] is None
        assert r["reason"].startswith("geen cijfer per 1.000 inwoners: geen inwonertal"), r
    text = call(api, "counts", analist, level="pc4", area=OWN, period=year,
                measure="per_1000", format="csv").content.decode("utf-8")
    table = csv_rows(text)
    column = table[0].index("reason")
    assert len(table) == len(rows) + 1 and all("inwonertal" in row[column] for row in table[1:])
    shapes = call(api, "counts", analist, level="wijk", area=OWN, period=year,
                  measure="change", format="geojson").json()
    assert all(f["properties"]["reason"].startswith("geen vergelijking")
               for f in shapes["features"])
    for level, measure in (("wijk", "count"), ("wijk", "per_1000"), ("buurt", "change"),
                           ("gemeente", "change")):
        for period in (year, "12m"):
            rows = call(api, "counts", analist, level=level, area=OWN, period=period,
                        measure=measure).json()["rows"]
            assert rows
            for r in rows:
                if any(r[key] is None for key in FIGURES):
                    assert r["reason"], (level, measure, period, r)


def test_other_methods_get_405_with_allow(api):
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = requests.request(method, api.url + "/api/v1/counts", timeout=30)
        assert response.status_code == 405, method
        assert response.headers["Allow"] == "GET, HEAD, OPTIONS"
        assert response.json()["status"] == 405


def test_missing_revoked_or_cookie_authentication_gets_401(api, spec):
    record, tok = create_token(api.state, "analist", by="analist")
    assert call(api, "counts", tok).status_code == 200
    session = http_login(api, "analist")  # a valid session cookie ...
    assert session.get(api.url + "/_dash-layout").status_code == 200
    attempts = [
        requests.get(api.url + "/api/v1/counts"),
        session.get(api.url + "/api/v1/counts"),  # ... does not authenticate API calls
        session.get(api.url + "/api/v1/incidents", params={"format": "csv"}),
        requests.get(api.url + "/api/v1/counts", headers={"Authorization": "Bearer vb_nope"}),
        requests.get(api.url + "/api/v1/counts", headers={"Authorization": f"Basic {tok}"}),
        requests.get(api.url + "/api/v1/counts", headers={"Authorization": tok}),
    ]
    revoked = revoke_token(api.state, record.id, by="analist")  # the token that just worked
    assert not revoked.active
    attempts.append(call(api, "counts", tok))
    attempts.append(call(api, "incidents", tok))
    for response in attempts:
        assert response.status_code == 401, response.request.url
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        check(spec, response.request.path_url.split("?")[0].rsplit("/", 1)[1], response)


def test_removed_user_token_gets_401(api):
    from data.accounts import add_user, remove_user

    add_user(api.state, "tijdelijk", "analist", "een-lang-wachtwoord", eenheden=("REDL",))
    tok = token(api, "tijdelijk")
    assert call(api, "counts", tok).status_code == 200
    remove_user(api.state, "tijdelijk")
    assert call(api, "counts", tok).status_code == 401


def test_unknown_api_path_is_a_json_404(api):
    response = call(api, "nergens", token(api, "analist"))
    assert response.status_code == 404 and response.json()["status"] == 404


# -- the protocol log -------------------------------------------------------------------------

def test_every_call_writes_exactly_one_protocol_row_with_its_token(api):
    (analist_id, analist), (mayor_id, mayor) = (token_with_id(api, "analist"),
                                                token_with_id(api, "burgemeester"))
    revoked_id, revoked = token_with_id(api, "analist")
    revoke_token(api.state, revoked_id, by="analist")
    cases = [  # token, path, parameters, outcome, user, token id in the row
        (analist, "counts", {}, "ok", "analist", analist_id),
        (analist, "counts", {"format": "csv", "level": "buurt"}, "ok", "analist", analist_id),
        (analist, "incidents", {"limit": 5}, "ok", "analist", analist_id),
        (analist, "incidents", {"format": "csv", "area": "WKD00101"}, "ok", "analist",
         analist_id),
        (analist, "counts", {"level": "land"}, "refused", "analist", analist_id),  # 400
        (analist, "counts", {"period": "1900"}, "refused", "analist", analist_id),  # 404
        (mayor, "counts", {"area": OTHER}, "refused", "burgemeester", mayor_id),  # 403
        (mayor, "incidents", {}, "refused", "burgemeester", mayor_id),  # 403 (detail 1)
        (None, "counts", {}, "refused", None, None),
        ("vb_onbekend", "incidents", {}, "refused", None, None),
        (revoked, "counts", {}, "refused", None, None),  # identifies no one
    ]
    for tok, path, params, outcome, user, token_id in cases:
        before = last_log_id(api)
        response = call(api, path, tok, **params)
        response.content  # a streamed CSV is read to its end
        rows = log_since(api, before)
        assert len(rows) == 1, (path, params, rows)
        row = rows[0]
        assert (row["view"], row["outcome"], row["user"], row["token_id"]) == (
            f"api/{path}", outcome, user, token_id), (path, params)
        if outcome == "ok":
            assert row["rows"] >= 1
            assert row["client"] == "127.0.0.1"
    # The description carries no data and is not a data call.
    before = last_log_id(api)
    call(api, "openapi.json")
    assert log_since(api, before) == []


def test_ok_rows_count_and_filters_are_logged(api, duck):
    analist = token(api, "analist")
    before = last_log_id(api)
    body = call(api, "incidents", analist, type="woninginbraak", limit=3).json()
    row = log_since(api, before)[0]
    assert row["rows"] == len(body["rows"]) == 3
    filters = json.loads(row["filters"])
    assert filters["filter"] == {"types": ["woninginbraak"]} and filters["limit"] == 3
    assert json.loads(row["scope"]) == sorted(
        c for c, in duck.execute("SELECT code FROM areas WHERE level='gemeente'").fetchall())


# -- numbers against DuckDB -------------------------------------------------------------------

def _types(duck, code: str) -> list[str]:
    members = [t for t, in duck.execute(
        "SELECT type_code FROM type_groups WHERE group_code = ?", [code]).fetchall()]
    return members or [code]


def _direct(duck, *, gemeenten, types=None, start=None, end=None, attempt=None,
            high_impact=None, wijk=None, select="count(*)", order=""):
    where, params = ["gm_code IN (SELECT unnest(?::VARCHAR[]))"], [list(gemeenten)]
    for cond, value in (("type_code IN (SELECT unnest(?::VARCHAR[]))", types),
                        ("occurred_date >= ?", start), ("occurred_date <= ?", end),
                        ("attempt = ?", attempt), ("high_impact = ?", high_impact),
                        ("wk_code = ?", wijk)):
        if value is not None:
            where.append(cond)
            params.append(value)
    return duck.execute(f"SELECT {select} FROM incidents WHERE {' AND '.join(where)} {order}",
                        params).fetchall()


def test_json_totals_equal_a_direct_count(api, duck, span):
    analist, mayor2 = token(api, "analist"), token(api, "burgemeester2")
    every = [c for c, in duck.execute("SELECT code FROM areas WHERE level='gemeente'").fetchall()]
    cases = [
        (analist, every, {}, {}),
        (analist, every, {"type": "woninginbraak", "from": span.iso(0.45), "to": span.iso(0.75)},
         {"types": _types(duck, "woninginbraak"), "start": span.at(0.45),
          "end": span.at(0.75)}),
        (analist, every, {"type": "1.1.1", "attempt": "ja"},
         {"types": ["1.1.1"], "attempt": True}),
        (analist, every, {"high_impact": "nee", "from": span.iso(0.85)},
         {"high_impact": False, "start": span.at(0.85)}),
        (analist, every, {"area": "WKD00101", "to": span.iso(0.8)},
         {"wijk": "WKD00101", "end": span.at(0.8)}),
        (mayor2, [OTHER], {}, {}),
        (mayor2, [OTHER], {"type": "geweld", "from": span.iso(0.7), "to": span.iso(0.72)},
         {"types": _types(duck, "geweld"), "start": span.at(0.7), "end": span.at(0.72)}),
    ]
    for tok, gemeenten, params, direct in cases:
        body = call(api, "incidents", tok, limit=1, **params).json()
        expected = _direct(duck, gemeenten=gemeenten, **direct)[0][0]
        assert expected > 0, params
        assert body["total"] == expected, params


def test_csv_rows_equal_a_direct_query(api, duck, span):
    mayor2 = token(api, "burgemeester2")
    params = {"type": "woninginbraak", "from": span.iso(0.45), "to": span.iso(0.8)}
    text = call(api, "incidents", mayor2, format="csv", **params).content.decode("utf-8")
    rows = csv_rows(text)
    assert rows[0][0] == "id" and "straat" not in rows[0]  # detail 2: no address
    expected = [i for i, in _direct(duck, gemeenten=[OTHER], types=_types(duck, "woninginbraak"),
                                    start=span.at(0.45), end=span.at(0.8), select="id",
                                    order="ORDER BY occurred_at DESC, id DESC")]
    assert len(expected) > 20
    assert [r[0] for r in rows[1:]] == expected
    # The same set sorted the other way, comma-separated.
    text = call(api, "incidents", mayor2, format="csv", sep=",", sort="pleegdatum",
                columns="id", **params).content.decode("utf-8")
    assert [r[0] for r in csv_rows(text)[1:]] == expected[::-1]


# -- tokens on the command line and the rate limit --------------------------------------------

def test_tokens_on_the_command_line(api, demo_db):
    env = {**os.environ, "DASHBOARD_STATE_DB": str(api.state_path)}

    def cli(*args, check=True):
        return subprocess.run([sys.executable, "-m", "dashboard", "--db", str(demo_db),
                               "tokens", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=60, check=check)

    # Tokens on the command line are for service accounts (role dienst); never for a person.
    assert cli("create", "--user", "adviseur", check=False).returncode == 1
    add_user(api.state, "gis-adviseur", "dienst", "", gemeenten=["GMD001"])
    created = json.loads(cli("create", "--user", "gis-adviseur", "--label", "GIS",
                             "--json").stdout)
    assert created["token"].startswith("vb_") and created["user"] == "gis-adviseur"
    assert call(api, "counts", created["token"]).status_code == 200
    listing = cli("list").stdout
    line = next(l for l in listing.splitlines() if l.startswith(f"{created['id']}\t"))
    assert "gis-adviseur" in line and "GIS" in line and "active" in line
    assert created["token"] not in listing
    stored = api.state.query("SELECT token_hash FROM api_tokens WHERE id = ?", (created["id"],))
    assert created["token"] not in stored[0][0]
    assert "revoked" in cli("revoke", str(created["id"])).stdout
    assert call(api, "counts", created["token"]).status_code == 401
    assert "revoked" in next(l for l in cli("list").stdout.splitlines()
                             if l.startswith(f"{created['id']}\t"))
    assert cli("create", "--user", "niemand", check=False).returncode == 1
    assert cli("revoke", "999999", check=False).returncode == 1
    views = [r["view"] for r in log_since(api, 0) if r["view"] == "api-token"]
    assert len(views) >= 2


def test_rate_limit_gives_429_in_the_json_error_format(api, spec):
    mayor, other = token(api, "burgemeester"), token(api, "burgemeester")
    statuses = [call(api, "incidents", mayor).status_code for _ in range(LIMIT)]
    assert set(statuses) == {403}  # refused calls count too
    before = last_log_id(api)
    response = call(api, "counts", mayor)
    assert response.status_code == 200  # limits are per endpoint ...
    response = call(api, "incidents", mayor)
    assert response.status_code == 429
    check(spec, "incidents", response)
    assert response.json()["status"] == 429 and "Retry-After" in response.headers
    rows = log_since(api, before)
    assert [(r["view"], r["outcome"]) for r in rows] == [("api/counts", "ok"),
                                                         ("api/incidents", "refused")]
    assert rows[-1]["detail"].startswith("429")
    assert rows[-1]["token_id"] == rows[0]["token_id"] is not None  # the refused token, named
    assert call(api, "incidents", other).status_code == 403  # ... and per token
