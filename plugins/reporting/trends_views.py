"""The trends page, its CSV and GET /api/v1/trends (plugins/reporting/trends.py counts and hides).

/reporting/trends/           charts and tables, filtered by ?from=YYYY-MM&to=YYYY-MM&region=code
/reporting/trends/trends.csv the same numbers as a CSV file
/api/v1/trends               the same numbers as JSON

Who may see them is a setting (trends_audience): staff with reporting.trends (moderators and
admins) always; anyone signed in, or everyone, when an admin opens it. So the views are declared
PUBLIC and check that setting themselves (tests/test_route_permissions.py lists them in OWN_CHECKS).

Every view by a signed-in person is audited with what was asked (period and region, never a
count), so a run of narrow filters, the way someone would try to single out an incident, is on
record. A visitor who is not signed in is not: when an admin makes the trends public, they are.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from core.audit import record
from core.permissions import PUBLIC, requires
from plugins.reporting import charts, options, trends

bp = Blueprint("reporting_trends", __name__, url_prefix="/reporting/trends")
api_bp = Blueprint("reporting_trends_api", __name__, url_prefix="/api/v1")


def _let_in(api: bool = False):
    """None when the visitor may see the trends; otherwise what to answer."""
    if trends.may_see(current_user):
        return None
    if current_user.is_authenticated:
        abort(403)
    if api:
        abort(401)
    return redirect(url_for("auth.login", next=request.full_path))


def _audit(action: str, filters: trends.Filters) -> None:
    if current_user.is_authenticated:
        region = f" region={filters.region}" if filters.region else ""
        record(action, target=f"trends:{filters.months[0]}..{filters.months[-1]}{region}"[:128])


def _values(filters: trends.Filters | None) -> dict:
    if filters is None:
        return {key: request.args.get(key, "") for key in ("from", "to", "region")}
    return {"from": filters.months[0], "to": filters.months[-1], "region": filters.region or ""}


@bp.route("/")
@requires(PUBLIC)
def page():
    refused = _let_in()
    if refused is not None:
        return refused
    regions = options.configured("regions")
    try:
        filters = trends.parse_filters(request.args)
    except trends.TrendsError as exc:
        return render_template("reporting/trends/page.html", error=str(exc), result=None, values=_values(None),
                               regions=regions), 422
    result = trends.build(filters)
    _audit("trends.viewed", filters)
    drawn = {table.key: (charts.bars(table.rows[0], result.months) if table.kind == "bars"
                         else charts.heat(table, result.months)) for table in result.tables}
    return render_template("reporting/trends/page.html", error=None, result=result, drawn=drawn,
                           values=_values(filters), regions=regions)


@bp.route("/trends.csv")
@requires(PUBLIC)
def download():
    refused = _let_in()
    if refused is not None:
        return refused
    try:
        filters = trends.parse_filters(request.args)
    except trends.TrendsError as exc:
        abort(422, str(exc))
    result = trends.build(filters)
    _audit("trends.downloaded", filters)
    name = f"trends-{result.months[0]}-{result.months[-1]}{'-' + filters.region if filters.region else ''}.csv"
    return Response(trends.as_csv(result), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@api_bp.route("/trends")
@requires(PUBLIC)
def api():
    _let_in(api=True)
    try:
        filters = trends.parse_filters(request.args)
    except trends.TrendsError as exc:
        return jsonify({"error": {"status": 422, "message": str(exc)}}), 422
    result = trends.build(filters)
    _audit("trends.viewed", filters)
    return jsonify(trends.as_json(result))


def describe(spec) -> None:
    """GET /api/v1/trends in the OpenAPI document."""
    from core.api import error_responses

    cell = {"type": "object", "properties": {
        "month": {"type": "string", "example": "2025-03"},
        "count": {"type": "integer", "nullable": True, "description": "null when hidden."},
        "suppressed": {"type": "string", "nullable": True, "enum": ["<5", "*", None],
                       "description": "'<5': from 1 to 4; '*': not shown, so that a number under 5 cannot "
                                      "be worked out from a total (5 or more, unless a whole table is "
                                      "hidden); null: shown (0 is shown)."}}}
    row = {"type": "object", "properties": {
        "code": {"type": "string"}, "label": {"type": "string", "description": "Translated (Accept-Language)."},
        "total": {"type": "boolean", "description": "The table's total line."},
        "counts": {"type": "array", "items": cell}}}
    table = {"type": "object", "properties": {
        "key": {"type": "string", "description": "reports, regions (without a region filter), types, police, "
                                                 "support, asked, then other plugins' series (alerts_published, "
                                                 "checks)."},
        "title": {"type": "string"}, "rows": {"type": "array", "items": row}}}
    month = {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"}
    spec.path(path="/trends", operations={"get": {
        "tags": ["reporting"],
        "summary": "Monthly counts of reports, incident types, regions, police reports, support, alerts and checks.",
        "description": "The same numbers as the trends page, with every count under 5 hidden and enough others "
                       "hidden that no total gives one away. Who may call it is the trends_audience setting "
                       "(staff by default: a bearer token of a moderator or admin). Nothing is added up across "
                       "months.",
        "parameters": [
            {"in": "query", "name": "from", "schema": month, "description": "First month (default: 11 months "
                                                                            "before `to`)."},
            {"in": "query", "name": "to", "schema": month, "description": "Last month (default: this month)."},
            {"in": "query", "name": "region", "schema": {"type": "string"},
             "description": "A code from GET /regions (default: all)."},
        ],
        "responses": {"200": {"description": "The tables.", "content": {"application/json": {"schema": {
            "type": "object", "properties": {
                "from": month, "to": month, "region": {"type": "string", "nullable": True},
                "months": {"type": "array", "items": month}, "threshold": {"type": "integer"},
                "tables": {"type": "array", "items": table}}}}}},
            **error_responses(401, 403, 422)},
    }})
