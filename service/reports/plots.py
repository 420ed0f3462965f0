"""The report's figures: matplotlib (Agg, no display) → PNG → base64 for an ``<img>``.

Every figure is always drawn: where its section has no data yet it is a placeholder
panel saying so (e.g. "no prompt data in this window"), so the page's layout is the same
every night and a missing figure is a bug, not a quiet night.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: no display, safe in worker threads
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

Report = Mapping[str, Any]


@dataclass(frozen=True)
class Plot:
    name: str
    title: str
    png_base64: str
    placeholder: bool


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _placeholder(text: str) -> Figure:
    fig, ax = plt.subplots(figsize=(8, 2.2))
    ax.text(0.5, 0.5, text, ha="center", va="center", fontsize=13, color="#555")
    ax.set_axis_off()
    return fig


def _section(report: Report, name: str) -> Mapping[str, Any]:
    return report.get("sections", {}).get(name) or {}


def slate_estimates(report: Report) -> Figure | None:
    rows = [r for r in _section(report, "slates").get("policies", []) if r.get("value") is not None]
    if not rows:
        return None
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.6 * len(rows) + 1.6), sharey=True)
    names = [r["policy"] for r in rows]
    y = list(range(len(rows)))
    for ax, key in ((left, None), (right, "vs_live")):
        points, lows, highs = [], [], []
        for r in rows:
            source = r if key is None else (r.get(key) or {})
            value = source.get("value" if key is None else "difference")
            points.append(float("nan") if value is None else value)
            lows.append(source.get("low"))
            highs.append(source.get("high"))
        err = [[p - lo if lo is not None else 0 for p, lo in zip(points, lows)],
               [hi - p if hi is not None else 0 for p, hi in zip(points, highs)]]
        ax.errorbar(points, y, xerr=err, fmt="o", capsize=4, color="#1f5fa8")
        ax.grid(axis="x", alpha=0.3)
    left.axvline(rows[0]["value"] if rows[0]["policy"] == "logged" else 0, ls="--", color="#999")
    right.axvline(0, ls="--", color="#999")
    left.set_yticks(y, names)
    left.invert_yaxis()
    level = int(round(100 * (1 - float(report.get("alpha", 0.05)))))
    left.set_xlabel(f"value per slate (cascade IPS, {level}% interval)")
    right.set_xlabel("difference from the live policy (paired)")
    return fig


def _over_days(rows: list[Mapping[str, Any]], series_of: Callable[[Mapping[str, Any]], str], key: str, ylabel: str) -> Figure:
    fig, ax = plt.subplots(figsize=(11, 3.2))
    for series in sorted({series_of(r) for r in rows}):
        points = sorted((r["day"], r[key], r.get("low"), r.get("high")) for r in rows if series_of(r) == series)
        days = [p[0] for p in points]
        ax.plot(days, [p[1] for p in points], marker="o", label=series)
        if all(p[2] is not None and p[3] is not None for p in points):
            ax.fill_between(days, [p[2] for p in points], [p[3] for p in points], alpha=0.15)
    ax.set_ylabel(ylabel)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    return fig


def answer_rates(report: Report) -> Figure | None:
    rows = _section(report, "visibility_effect").get("answer_rate_by_day", [])
    if not rows:
        return None
    return _over_days(rows, lambda r: f"{r['visibility']} / {r['format']}", "rate", "answer rate")


def berserk_index(report: Report) -> Figure | None:
    rows = _section(report, "over_reaction").get("berserk_index_by_day", [])
    if not rows:
        return None
    return _over_days(rows, lambda r: f"after {r['feedback']}", "index", "berserk index")


#: The questions drawn night by night (report["cumulative"], service/reports/pooled.py).
NIGHTS = (("visibility.answer_rate", "visibility: answer rate, public − private"),
          ("format.answer_rate", "format: answer rate, graded − single"),
          ("berserk.up", "berserk index after an up"))


def nights(report: Report) -> Figure | None:
    """Per question, nights in sequence: each night's own estimate with its fixed interval,
    and the estimate pooled since the start with its confidence sequence (the band)."""
    cumulative = report.get("cumulative") or {}
    drawn = [(key, title, cumulative[key]["series"]) for key, title in NIGHTS
             if key in cumulative and any(s.get("estimate") is not None for s in cumulative[key]["series"])]
    if not drawn:
        return None
    fig, axes = plt.subplots(len(drawn), 1, figsize=(11, 2.6 * len(drawn)), squeeze=False)
    for ax, (_, title, series) in zip(axes[:, 0], drawn):
        x = list(range(len(series)))
        labels = [str(s.get("until", ""))[:10] for s in series]
        own = [(i, s["estimate"], s.get("low"), s.get("high")) for i, s in zip(x, series) if s.get("estimate") is not None]
        ax.errorbar([o[0] for o in own], [o[1] for o in own], fmt="o", color="#888", capsize=3, label="night (fixed 95%)",
                    yerr=[[o[1] - o[2] if o[2] is not None else 0 for o in own],
                          [o[3] - o[1] if o[3] is not None else 0 for o in own]])
        pooled = [(i, s["cumulative"]) for i, s in zip(x, series) if s["cumulative"].get("estimate") is not None]
        ax.plot([i for i, _ in pooled], [c["estimate"] for _, c in pooled], color="#1f5fa8", marker=".",
                label="since the start")
        banded = [(i, c) for i, c in pooled if c.get("low") is not None and c.get("high") is not None]
        ax.fill_between([i for i, _ in banded], [c["low"] for _, c in banded], [c["high"] for _, c in banded],
                        color="#1f5fa8", alpha=0.15, label="confidence sequence")
        ax.axhline(0, ls="--", color="#999")
        ax.set_title(title, fontsize=10, loc="left")
        ax.set_xticks(x, labels, fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    return fig


#: (name, title, section it draws, draw, what its placeholder says unless the section has a note)
FIGURES: list[tuple[str, str, str, Callable[[Report], Figure | None], str]] = [
    ("nights", "The main questions night by night: each night, and everything since the start", "visibility_effect",
     nights, "no pooled evidence yet"),
    ("slate_estimates", "Slate policies: estimates with intervals", "slates", slate_estimates,
     "no joined slate decisions in this window"),
    ("answer_rates", "Answer rate by visibility and format, by day", "visibility_effect", answer_rates,
     "no prompt data in this window"),
    ("berserk_index", "Berserk index by day", "over_reaction", berserk_index, "no berserk index data in this window"),
]


def figures(report: Report) -> list[Plot]:
    plots = []
    for name, title, section, draw, empty in FIGURES:
        fig = draw(report)
        if fig is None:
            fig = _placeholder(_section(report, section).get("note") or empty)
            plots.append(Plot(name, title, _png(fig), True))
        else:
            plots.append(Plot(name, title, _png(fig), False))
    return plots
