"""The report as one self-contained HTML page: answers, verdicts, figures, then every section.

Jinja2 (which Flask brings) with autoescaping on, so nothing in a report — a policy
name, a segment, an error note — can inject markup. Figures are embedded PNGs; there is
no JavaScript and no external resource, so the page reads the same saved to a file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

from service.reports.context import iso
from service.reports.plots import figures
from service.reports.sections import titles


def number(value: Any) -> str:
    """Readable numbers for the tables.

    >>> number(0.123456), number(1234567.0), number(None), number(3), number(True), number("x")
    ('0.1235', '1.235e+06', '—', '3', 'yes', 'x')
    """
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "—" if not math.isfinite(value) else f"{value:.4g}"
    return str(value)


def is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (str, int, float, bool))


def is_table(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(row, Mapping) for row in value)


def columns(rows: list[Mapping[str, Any]]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(row))
    return list(seen)


def cell(value: Any) -> str:
    """A nested value inside a table cell: intervals read as ``v [low, high]``.

    >>> cell({"value": 0.5, "low": 0.25, "high": 0.75}), cell({"a": 1}), cell([1, 2])
    ('0.5 [0.25, 0.75]', 'a: 1', '1, 2')
    """
    if isinstance(value, Mapping):
        if {"value", "low", "high"} <= set(value) or {"difference", "low", "high"} <= set(value):
            point = value.get("value", value.get("difference"))
            text = f"{number(point)} [{number(value['low'])}, {number(value['high'])}]"
            return text + (f" p={number(value['p_value'])}" if value.get("p_value") is not None else "")
        return "; ".join(f"{key}: {cell(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(cell(item) for item in value)
    return number(value)


TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>elicit report {{ report._id }}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1150px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin-bottom: .2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
.meta { color: #666; } .status { font-size: .8rem; padding: .1rem .45rem; border-radius: .6rem; background: #eee; }
.status-ok { background: #d8f0dc; } .status-no_data, .status-pending { background: #f3ecd2; } .status-error { background: #f6d5d5; }
ul.verdicts li { margin: .3rem 0; } .level { font-weight: 600; text-transform: uppercase; font-size: .75rem; }
.level-not_enough_data { color: #9a6a00; } .level-warning { color: #b0412e; } .level-finding { color: #1d6b35; } .level-info { color: #555; }
.level-bound, .level-no_effect { color: #1f5fa8; } .level-withheld { color: #b0412e; } ul.answers li { margin: .45rem 0; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; } th, td { border: 1px solid #ddd; padding: .25rem .5rem; text-align: left; }
th { background: #f6f6f6; } dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; } dt { color: #555; }
figure { margin: 1.2rem 0; } figure img { max-width: 100%; border: 1px solid #eee; } figcaption { color: #555; font-size: .9rem; }
</style></head><body>
<h1>elicit — {{ "nightly" if report.kind == "nightly" else "on-demand" }} off-policy report</h1>
<p class="meta">{{ report._id }} · decisions from {{ report.window.since_iso }} to {{ report.window.until_iso }}
({{ report.window.timezone }} days) · built {{ created }} · <a href="/v1/reports/{{ report._id | urlencode }}">JSON</a></p>

{% if report.answers %}<h2 id="answers">Answers</h2>
<p class="meta">{{ report.answers.method }}; resolution ±{{ report.answers.resolution }}.</p>
<ul class="answers">{% for line in report.answers.lines %}
<li class="answer"><span class="level level-{{ line.verdict }}">{{ line.verdict | replace("_", " ") }}</span> · {{ line.text }}</li>
{% endfor %}</ul>{% endif %}

<h2 id="verdicts">Verdicts of this window</h2>
<p class="meta">Fixed-sample intervals, read once: this window only. Findings are controlled for the false-discovery
rate across the {{ report.comparisons_tested or 0 }} comparisons of this report (Benjamini–Hochberg).</p>
{% if report.verdicts %}<ul class="verdicts">{% for v in report.verdicts %}
<li><span class="level level-{{ v.level }}">{{ v.level | replace("_", " ") }}</span> · {{ v.section | replace("_", " ") }}: {{ v.text }}</li>
{% endfor %}</ul>{% else %}<p>No verdicts.</p>{% endif %}

<h2 id="figures">Figures</h2>
{% for plot in plots %}<figure id="figure-{{ plot.name }}">
<img class="report-figure" alt="{{ plot.title }}{{ ' (no data yet)' if plot.placeholder else '' }}" src="data:image/png;base64,{{ plot.png_base64 }}">
<figcaption>{{ plot.title }}{{ " — no data yet" if plot.placeholder else "" }}</figcaption></figure>
{% endfor %}

{% macro render(value) -%}
{%- if is_table(value) -%}
<table><tr>{% for c in columns(value) %}<th>{{ c }}</th>{% endfor %}</tr>
{% for row in value %}<tr>{% for c in columns(value) %}<td>{{ cell(row.get(c)) }}</td>{% endfor %}</tr>{% endfor %}</table>
{%- elif value is mapping -%}
<dl>{% for key, item in value.items() %}<dt>{{ key }}</dt><dd>{{ render(item) }}</dd>{% endfor %}</dl>
{%- else -%}{{ cell(value) }}{%- endif -%}
{%- endmacro %}

{% for name, section in report.sections.items() %}
<h2 id="section-{{ name }}">{{ titles.get(name, name) }} <span class="status status-{{ section.status }}">{{ section.status }}</span></h2>
{% if section.note %}<p><em>{{ section.note }}</em></p>{% endif %}
<dl>{% for key, value in section.items() if key not in ("status", "note", "verdicts") and is_scalar(value) %}
<dt>{{ key | replace("_", " ") }}</dt><dd>{{ cell(value) }}</dd>{% endfor %}</dl>
{% for key, value in section.items() if key not in ("status", "note", "verdicts") and not is_scalar(value) %}
<h3>{{ key | replace("_", " ") }}</h3>{{ render(value) if value else "none" }}
{% endfor %}
{% endfor %}
</body></html>
"""

_env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_env.globals.update(is_scalar=is_scalar, is_table=is_table, columns=columns, cell=cell)
_template = _env.from_string(TEMPLATE)


def render_html(report: Mapping[str, Any]) -> str:
    """The page for one stored report (as returned by ``Store.get_report``)."""
    plain = json.loads(json.dumps(report, default=str))  # ObjectIds or dates from the store → strings
    return _template.render(report=plain, plots=figures(plain), titles=titles(), created=iso(int(plain["created_at"])))
