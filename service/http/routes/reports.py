"""Reading the nightly off-policy reports: JSON under ``/v1/reports``, HTML under ``/reports``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify
from flask.typing import ResponseReturnValue

from bandit.errors import NotFound
from service.http.contract import endpoint
from service.http.responses import Report, ReportKindQuery, ReportList, ReportListQuery
from service.http.routes import query, runtime

bp = Blueprint("reports", __name__)


def _latest() -> dict[str, Any]:
    found = runtime().store.list_reports(1, kind=query(ReportKindQuery).kind, full=True)
    if not found:
        raise NotFound("no report has been built yet", field="report_id")
    return found[0]


def _get(report_id: str) -> dict[str, Any]:
    report = runtime().store.get_report(report_id)
    if report is None:
        raise NotFound(f"no report with id {report_id!r}", field="report_id")
    return report


_READ = {"scope": "read", "tags": ("reports",)}


@bp.get("/v1/reports")
@endpoint(summary="Stored reports, newest first, without sections", query=ReportListQuery,
          responses={200: ReportList}, errors=(422,), **_READ)
def list_reports() -> ResponseReturnValue:
    args = query(ReportListQuery)
    return jsonify({"reports": runtime().store.list_reports(args.limit, kind=args.kind)})


@bp.get("/v1/reports/latest")
@endpoint(summary="The newest report", query=ReportKindQuery, responses={200: Report}, errors=(404, 422), **_READ)
def latest_json() -> ResponseReturnValue:
    return jsonify(_latest())


@bp.get("/v1/reports/<report_id>")
@endpoint(summary="One report", responses={200: Report}, errors=(404, 422), **_READ)
def report_json(report_id: str) -> ResponseReturnValue:
    return jsonify(_get(report_id))


def _page(report: dict[str, Any]) -> Response:
    from service.reports.html import render_html  # matplotlib loads on first page only

    return Response(render_html(report), mimetype="text/html")


@bp.get("/reports/latest")
@endpoint(summary="The newest report as an HTML page", query=ReportKindQuery, responses={200: "text/html"},
          errors=(404, 422), **_READ)
def latest_html() -> ResponseReturnValue:
    return _page(_latest())


@bp.get("/reports/<report_id>")
@endpoint(summary="One report as an HTML page", responses={200: "text/html"}, errors=(404, 422), **_READ)
def report_html(report_id: str) -> ResponseReturnValue:
    return _page(_get(report_id))
