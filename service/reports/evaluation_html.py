"""An offline evaluation as one self-contained HTML page, styled like the nightly report's.

Jinja2 with autoescaping (a user-supplied setting's name or VW arguments cannot inject
markup); no script, no external resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import Environment

from service.reports.context import iso
from service.reports.html import number

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>elicit evaluation {{ e._id }}</title>
<style>
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 1150px; color: #222; padding: 0 1rem; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2rem; border-bottom: 1px solid #ddd; } .meta { color: #666; }
table { border-collapse: collapse; margin: .6rem 0 1rem; font-size: .9rem; } th, td { border: 1px solid #ddd;
padding: .25rem .5rem; text-align: left; } th { background: #f6f6f6; } code { font-size: .85rem; }
tr.best td { background: #d8f0dc; }
</style></head><body>
<h1>elicit — offline evaluation of {{ e.kind }} learning settings</h1>
<p class="meta">{{ e._id }} · decisions from {{ iso(e.since) }} to {{ iso(e.until) }} · status {{ e.status }}
· <a href="/v1/evaluations/{{ e._id | urlencode }}">JSON</a></p>
{% if e.error %}<p>Failed: {{ e.error }}</p>{% endif %}
{% if r %}
<h2>Policies</h2>
<p class="meta">{{ r.decisions }} joined decisions; {{ r.estimator }} with 95 % intervals. Learning settings are valued
by progressive validation: each decision scored by a model trained only on the decisions before it.</p>
<table><tr><th>policy</th><th>value</th><th>95 % interval</th><th>effective sample size</th><th>VW arguments</th></tr>
{% for p in r.policies %}<tr{% if p.name == "optimized" %} class="best"{% endif %}><td>{{ p.name }}</td>
<td>{{ number(p.value) }}</td><td>[{{ number(p.low) }}, {{ number(p.high) }}]</td>
<td>{{ number(p.effective_sample_size) }}</td><td><code>{{ p.vw_args or "—" }}</code></td></tr>{% endfor %}</table>
<h2>Optimizer stages</h2>
{% for s in r.search %}<h3>{{ loop.index }}. {{ s.stage }} — chose {{ s.chose }}</h3>
<table><tr><th>value tried</th><th>value</th><th>95 % interval</th></tr>
{% for t in s.tried %}<tr><td>{{ t.setting }}</td><td>{{ number(t["value"]) }}</td>
<td>[{{ number(t.low) }}, {{ number(t.high) }}]</td></tr>{% endfor %}</table>{% endfor %}
{% if r.features %}<h2>Feature importance</h2>
<table><tr><th>left out</th><th>importance (0–100)</th><th>drop in value</th><th>95 % interval of the drop</th></tr>
{% for f in r.features %}<tr><td>{{ f.feature }}</td><td>{{ number(f.importance) }}</td><td>{{ number(f.drop) }}</td>
<td>[{{ number(f.low) }}, {{ number(f.high) }}]</td></tr>{% endfor %}</table>{% endif %}
{% endif %}
{% if e.applied %}<h2>Applied</h2><p>{{ e.applied.policy or "" }} → model {{ e.applied.model_version }}
(<code>{{ e.applied.vw_args }}</code>), retrained on {{ e.applied.decisions }} decisions.</p>{% endif %}
</body></html>"""

_TEMPLATE = Environment(autoescape=True).from_string(TEMPLATE)


def render_evaluation(evaluation: Mapping[str, Any]) -> str:
    return _TEMPLATE.render(e=evaluation, r=evaluation.get("result"), number=number, iso=iso)
