"""The nightly off-policy report: sections (JSON), the HTML page and its figures.

``build_report(runtime, since_ms, until_ms)`` → one document for the ``reports``
collection (docs/report.md); :func:`service.reports.html.render_html` turns it into a page.
"""

from service.reports.build import build_report, on_demand_id

__all__ = ["build_report", "on_demand_id"]
