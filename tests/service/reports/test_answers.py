"""The headline's verdicts on hand-made pooled figures: every kind of answer, the fold, the
false-discovery control, and "when will we know"."""

from __future__ import annotations

from typing import Any

import pytest

from bandit.ope.sequence import ConfidenceSequence
from service.reports.answers import headline
from service.reports.pooled import TIGHTEST_AT

CS = ConfidenceSequence(0.05, TIGHTEST_AT)


def figure(estimate: float, sd: float, n: int, rate: float = 500.0, concern: str | None = None) -> dict[str, Any]:
    interval = CS.interval(estimate, sd, n)
    return {"estimate": estimate, "low": interval.low, "high": interval.high, "sd": sd, "n": n,
            "p_value": CS.p_value(estimate, sd, n), "since": "2026-01-01T00:00:00Z", "nights": 7,
            "units_per_day": rate, "design_ess": None, "design_concern": concern}


def by_question(block: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {a["question"]: a for a in block["questions"]}


def test_each_kind_of_answer() -> None:
    block = headline({
        "visibility.answer_rate": figure(-0.15, 0.9, 4000),          # far from 0: a finding
        "format.answer_rate": figure(-0.03, 0.9, 4000),              # [-0.07, +0.01]: rules out a gain: bound
        "format.bits_per_prompt": figure(0.0, 0.2, 40000),           # within ±0.03 both ways: no effect
        "floor.cost": figure(0.01, 0.9, 300),                        # wide: not enough data, days to know
        "slate.uniform": figure(-0.3, 0.5, 3000, concern="heavy-tailed weights: the logged propensities promise "
                                "an effective sample size of only 3.0 of 3000"),
    }, resolution=0.03, alpha=0.05)
    found = by_question(block)
    assert found["visibility.answer_rate"]["verdict"] == "finding"
    assert found["format.answer_rate"]["verdict"] == "bound" and "no increase beyond" in found["format.answer_rate"]["text"]
    assert found["format.bits_per_prompt"]["verdict"] == "no_effect"
    cost = found["floor.cost"]
    assert cost["verdict"] == "not_enough_data" and cost["half_width"] == pytest.approx((cost["high"] - cost["low"]) / 2)
    needed = CS.units_for(0.9, 0.03)
    assert cost["days_to_answer"] == pytest.approx((needed - 300) / 500.0)
    assert f"in about {cost['days_to_answer']:.0f} more days at last week's traffic" in cost["text"]
    assert found["slate.uniform"]["verdict"] == "withheld" and "heavy-tailed" in found["slate.uniform"]["text"]
    assert [line["questions"][0] for line in block["lines"]][:3] == [
        "visibility.answer_rate", "format.answer_rate", "format.bits_per_prompt"]  # the product's questions first


def test_without_traffic_it_says_it_will_never_know_and_unanswered_questions_fold() -> None:
    block = headline({"prompt.never": figure(0.01, 0.9, 300, rate=0.0), "prompt.uniform": figure(0.02, 0.9, 300),
                      "prompt.once_per_session": figure(-0.01, 0.9, 200)}, resolution=0.03, alpha=0.05)
    found = by_question(block)
    assert found["prompt.never"]["days_to_answer"] is None and "will never be within" in found["prompt.never"]["text"]
    (line,) = block["lines"]  # three unanswered questions of one section: one line
    assert line["verdict"] == "not_enough_data" and len(line["questions"]) == 3 and "prompt_strategies" in line["text"]


def test_a_marginal_finding_among_many_questions_does_not_survive_the_false_discovery_control() -> None:
    # Just outside its own sequence (anytime p just below 0.05): alone, a finding. Asked beside
    # eleven questions with nothing to find, Benjamini–Hochberg needs p ≤ 0.05 / 12 of it.
    margin = CS.half_width(1.0, 3000) * 1.01
    alone = headline({"prompt.s0": figure(margin, 1.0, 3000)}, resolution=0.001, alpha=0.05)
    assert alone["questions"][0]["p_value"] < 0.05 and alone["questions"][0]["verdict"] == "finding"
    crowd = headline({"prompt.s0": figure(margin, 1.0, 3000),
                      **{f"prompt.n{i}": figure(0.0, 1.0, 3000) for i in range(11)}}, resolution=0.001, alpha=0.05)
    assert not any(a["verdict"] == "finding" for a in crowd["questions"])
