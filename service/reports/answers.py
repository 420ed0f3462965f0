"""The report's headline: one sentence per question, from the evidence pooled since the start.

The product exists to answer two questions — does public visibility suppress answers,
does over-reacting to a like cost likes — and the report's other comparisons follow. Each
answer reads the pooled figure (service/reports/pooled.py): its estimate, its confidence
sequence, since when and on how much. Verdicts:

* ``finding`` — the sequence excludes 0, and the finding survives the false-discovery
  control across the night's questions (Benjamini–Hochberg on the anytime p-values);
* ``no_effect`` — the sequence lies within ±``REPORT_RESOLUTION``: no difference worth having;
* ``bound`` — it includes 0 but rules out one side beyond the resolution ("no gain
  larger than …"), which is an answer to "does it pay off?";
* ``withheld`` — the log's propensities cannot support the estimate yet (design effective
  sample size below the floor: heavy-tailed weights the sample has not met);
* ``not_enough_data`` — otherwise, with the days until the sequence is expected to be
  narrower than the resolution at last week's traffic, or that it never will be.

Questions without an answer fold into one line per section.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bandit.ope.multiple import benjamini_hochberg
from bandit.ope.sequence import ConfidenceSequence
from service.reports.pooled import TIGHTEST_AT

#: Beyond this many days the answer is "not at the current traffic".
HORIZON_DAYS = 3650


@dataclass(frozen=True)
class Question:
    key: str
    section: str
    #: what is compared, for the folded and the bounded sentences
    label: str
    #: ``{amount}`` and ``{direction}`` ("more" / "less") complete the finding
    finding: str
    scale: float = 1.0
    unit: str = ""
    units: str = "decisions"


FIXED = [
    Question("visibility.answer_rate", "visibility_effect", "answer rate, public − private",
             "Public prompts are answered {amount} {direction} often than private ones (format as logged)",
             100.0, " pp", "prompts asked"),
    Question("format.answer_rate", "format_effect", "answer rate, graded − single",
             "Graded prompts are answered {amount} {direction} often than single ones (visibility as logged)",
             100.0, " pp", "prompts asked"),
    Question("format.bits_per_prompt", "format_effect", "bits per prompt, graded − single",
             "Graded thumbs elicit {amount} {direction} per prompt than single ones", 1.0, " bits", "prompts asked"),
    Question("berserk.up", "over_reaction", "berserk index after an up",
             "The day after an up, the liked category or creator fills {amount} {direction} of the user's slots than before",
             100.0, " pp", "likes"),
    Question("berserk.double_up", "over_reaction", "berserk index after a double-up",
             "The day after a double-up, the liked category or creator fills {amount} {direction} of the user's slots "
             "than before", 100.0, " pp", "likes"),
    Question("berserk.caps", "over_reaction", "next-day share of the liked category or creator, cap-free − elicit",
             "Without the caps, the liked category or creator would fill {amount} {direction} of the next day's slots "
             "than elicit served", 100.0, " pp", "likes"),
    Question("floor.cost", "prompt_strategies", "value of the prompt policy without its floor − with it",
             "Without the exploration floor the prompt policy would earn {amount} {direction} reward per decision",
             1.0, "", "prompt decisions"),
]


def question(key: str) -> Question:
    for known in FIXED:
        if known.key == key:
            return known
    family, _, name = key.partition(".")
    if family == "slate":
        return Question(key, "slates", f"{name} − live, reward per slate",
                        f"{name} would earn {{amount}} {{direction}} reward per slate than the live policy", 1.0, "",
                        "slates")
    return Question(key, "prompt_strategies", f"{name} − live, reward per prompt decision",
                    f"{name} would earn {{amount}} {{direction}} reward per prompt decision than the live policy", 1.0, "",
                    "prompt decisions")


def _amount(q: Question, value: float) -> str:
    return f"{abs(value) * q.scale:.1f}{q.unit}" if q.scale != 1.0 else f"{abs(value):.3f}{q.unit}"


def _signed(q: Question, value: float) -> str:
    return f"{value * q.scale:+.1f}{q.unit}" if q.scale != 1.0 else f"{value:+.3f}{q.unit}"


def _when(q: Question, figure: Mapping[str, Any], resolution: float, alpha: float) -> tuple[float | None, str]:
    """Days until the sequence is expected to be within ±resolution, and the clause saying so."""
    sd, n, rate = figure.get("sd"), int(figure.get("n") or 0), float(figure.get("units_per_day") or 0.0)
    within = f"within ±{_amount(q, resolution)}"
    if sd is None:
        return None, "too little data to say when it will be known"
    needed = ConfidenceSequence(alpha, TIGHTEST_AT).units_for(sd, resolution)
    if needed <= n:
        return 0.0, f"it is {within} already"
    if rate <= 0:
        return None, f"with no traffic in the last week it will never be {within}"
    days = (needed - n) / rate
    if days > HORIZON_DAYS:
        return None, f"at the current traffic and exploration floor it will not be {within} within ten years"
    return days, f"it will be {within} in about {days:.0f} more days at last week's traffic"


def answer(q: Question, figure: Mapping[str, Any], found: bool, resolution: float, alpha: float) -> dict[str, Any]:
    estimate, low, high = figure.get("estimate"), figure.get("low"), figure.get("high")
    level = int(round(100 * (1 - alpha)))
    basis = (f"since {str(figure.get('since'))[:10]}, {figure.get('nights')} night(s), {int(figure.get('n') or 0):,} "
             f"{q.units}")
    days, when = _when(q, figure, resolution, alpha)
    design = figure.get("design_ess")
    out = {"question": q.key, "section": q.section, "label": q.label, "estimate": estimate, "low": low, "high": high,
           "p_value": figure.get("p_value"), "since": figure.get("since"), "nights": figure.get("nights"),
           "n": figure.get("n"), "days_to_answer": days, "design_ess": design}
    if estimate is None or low is None or high is None or int(figure.get("n") or 0) < 2:
        return {**out, "verdict": "not_enough_data", "text": f"{q.label}: not enough data yet ({basis})."}
    span = f"{level} % confidence sequence [{_signed(q, low)}, {_signed(q, high)}]"
    concern = figure.get("design_concern")
    if concern is not None:
        return {**out, "verdict": "withheld",
                "text": f"{q.label}: withheld — {concern} {q.units} ({_signed(q, estimate)}, {span}; {basis})."}
    if found:
        text = q.finding.format(amount=_amount(q, estimate), direction="more" if estimate > 0 else "less")
        return {**out, "verdict": "finding", "text": f"{text} ({span}; {basis})."}
    if -resolution < low and high < resolution:
        return {**out, "verdict": "no_effect",
                "text": f"{q.label}: no difference larger than {_amount(q, resolution)} either way ({span}; {basis})."}
    if high < resolution:
        return {**out, "verdict": "bound", "text": f"{q.label}: no increase beyond {_signed(q, high)}; it may be as low "
                f"as {_signed(q, low)} ({span}; {basis})."}
    if low > -resolution:
        return {**out, "verdict": "bound", "text": f"{q.label}: no decrease beyond {_signed(q, low)}; it may be as high "
                f"as {_signed(q, high)} ({span}; {basis})."}
    half = (high - low) / 2
    return {**out, "verdict": "not_enough_data", "half_width": half,
            "text": f"{q.label}: not enough data yet — {_signed(q, estimate)} ± {_amount(q, half)}, {span}; "
                    f"{when} ({basis})."}


def headline(figures: Mapping[str, Mapping[str, Any]], resolution: float, alpha: float) -> dict[str, Any]:
    """``{"lines": [...], "questions": [...]}``: the fixed questions first, then the
    baselines; the unanswered ones of a section folded into one line."""
    keys = [q.key for q in FIXED if q.key in figures] + sorted(k for k in figures if k not in {q.key for q in FIXED})
    found = dict(zip(keys, benjamini_hochberg([figures[k].get("p_value") for k in keys], q=alpha)))
    answers = [answer(question(k), figures[k], found[k], resolution, alpha) for k in keys]
    lines: list[dict[str, Any]] = []
    folded: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in answers:
        if a["verdict"] in ("not_enough_data", "withheld") and not a["question"].startswith(("visibility.", "format.")):
            folded.setdefault((a["verdict"], a["section"]), []).append(a)
        else:
            lines.append({"section": a["section"], "verdict": a["verdict"], "text": a["text"], "questions": [a["question"]]})
    for (verdict, section), group in folded.items():
        names = ", ".join(a["label"] for a in group)
        if verdict == "withheld":
            text = (f"Withheld for {len(group)} question(s) of {section}: {names} — the logged propensities cannot "
                    "support a normal interval yet (heavy or skewed weights; each question's reason is in the JSON).")
        else:
            days = sorted(a["days_to_answer"] for a in group if a["days_to_answer"] is not None)
            span = f"{days[0]:.0f}" if days and round(days[0]) == round(days[-1]) else (
                f"{days[0]:.0f}–{days[-1]:.0f}" if days else "")
            when = f"about {span} more days at last week's traffic" if days else "not at the current traffic"
            text = f"Not enough data yet for {len(group)} question(s) of {section}: {names} — {when}."
        lines.append({"section": section, "verdict": verdict, "questions": [a["question"] for a in group], "text": text})
    return {"method": f"{int(round(100 * (1 - alpha)))} % confidence sequences over the evidence pooled since the start "
                      "(valid however many nights are read); findings controlled for the false-discovery rate across "
                      "the questions (Benjamini–Hochberg)", "resolution": resolution, "lines": lines, "questions": answers}
