"""Reading the nightly off-policy reports: JSON under ``/v1/reports``, HTML under ``/reports``."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from bandit.errors import InvalidInput, NotFound
from service.routes import runtime

bp = Blueprint("reports", __name__)

MAX_LIST = 100


def _kind() -> str | None:
    kind = request.args.get("kind")
    if kind not in (None, "nightly", "on_demand"):
        raise InvalidInput("kind must be nightly or on_demand", field="kind")
    return kind


def _latest() -> dict[str, Any]:
    found = runtime().store.list_reports(1, kind=_kind(), full=True)
    if not found:
        raise NotFound("no report has been built yet", field="report_id")
    return found[0]


def _get(report_id: str) -> dict[str, Any]:
    report = runtime().store.get_report(report_id)
    if report is None:
        raise NotFound(f"no report with id {report_id!r}", field="report_id")
    return report


@bp.get("/v1/reports")
def list_reports() -> ResponseReturnValue:
    raw = request.args.get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIST:
        raise InvalidInput(f"limit must be an integer from 1 to {MAX_LIST}", field="limit")
    return jsonify({"reports": runtime().store.list_reports(int(raw), kind=_kind())})


@bp.get("/v1/reports/latest")
def latest_json() -> ResponseReturnValue:
    return jsonify(_latest())


@bp.get("/v1/reports/<report_id>")
def report_json(report_id: str) -> ResponseReturnValue:
    return jsonify(_get(report_id))


def _page(report: dict[str, Any]) -> Response:
    from service.reports.html import render_html  # matplotlib loads on first page only

    return Response(render_html(report), mimetype="text/html")


@bp.get("/reports/latest")
def latest_html() -> ResponseReturnValue:
    return _page(_latest())


@bp.get("/reports/<report_id>")
def report_html(report_id: str) -> ResponseReturnValue:
    return _page(_get(report_id))
