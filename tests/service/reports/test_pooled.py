"""Evidence pooled across nights: a nightly report carries, beside its night, everything since
the start — merged from the nights' stored statistics, not from old decisions — and its
headline answers with confidence sequences, in either direction, or not at all."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from bandit.ope.sequence import ConfidenceSequence
from service.reports import build_report
from service.reports.pooled import TIGHTEST_AT
from tests.service.reports.prompt_logs import DAY_MS, START_MS, effect_truth, prompt_log


def shy(fmt: str, visibility: str) -> float:
    return 0.25 if visibility == "public" else 0.45


def nightly(runtime: Any, day: int) -> dict[str, Any]:
    """The night after ``day`` (0-based), built and stored as the scheduler would."""
    since = START_MS + day * DAY_MS
    report = build_report(runtime.report_sources, since, since + DAY_MS, kind="nightly", report_id=f"night-{day}")
    assert runtime.store.insert_report(report)
    return report


def answer(report: dict[str, Any], question: str) -> dict[str, Any]:
    (found,) = [a for a in report["answers"]["questions"] if a["question"] == question]
    return found


def test_a_night_pools_the_stored_nights_and_never_reads_their_decisions_again(runtime: Any) -> None:
    rng = np.random.default_rng(1)
    first = prompt_log(runtime.store, START_MS, 400, rng, shy, prefix="a")
    second = prompt_log(runtime.store, START_MS + DAY_MS, 400, rng, shy, prefix="b")
    both = build_report(runtime.report_sources, START_MS, START_MS + 2 * DAY_MS)["cumulative"]["visibility.answer_rate"]
    night_one = nightly(runtime, 0)
    # The first night's decisions are gone (a retention job, say): the second night still pools them.
    runtime.store.decisions.delete_many({"_id": {"$in": [d["_id"] for d in first]}})
    night_two = nightly(runtime, 1)
    pooled = night_two["cumulative"]["visibility.answer_rate"]
    asked = sum(d["ask"] for d in first + second)
    assert pooled["n"] == asked == both["n"] and pooled["nights"] == 2 and pooled["since"].startswith("2026-01-01")
    assert pooled["estimate"] == pytest.approx(both["estimate"], abs=1e-12)
    assert [s["night"] for s in pooled["series"]] == ["night-0", "night-1"]
    assert pooled["series"][0]["n"] == night_one["cumulative"]["visibility.answer_rate"]["n"] == sum(d["ask"] for d in first)
    # Its interval is the confidence sequence over the pooled figure, and it covers the truth here.
    cs = ConfidenceSequence(0.05, TIGHTEST_AT).interval(pooled["estimate"], pooled["sd"], pooled["n"])
    assert (pooled["low"], pooled["high"]) == pytest.approx((cs.low, cs.high))
    assert pooled["low"] <= effect_truth(first + second, shy) <= pooled["high"]


def test_pooling_starts_at_report_since_or_the_last_history_days(make_app: Any) -> None:
    for overrides, nights in (({"REPORT_SINCE": "2026-01-02"}, 2), ({"REPORT_HISTORY_DAYS": 2}, 2), ({}, 3)):
        runtime = make_app(**overrides).extensions["elicit"]
        runtime.store.drop_database()
        rng = np.random.default_rng(2)
        for day in range(3):
            prompt_log(runtime.store, START_MS + day * DAY_MS, 120, rng, shy, prefix=f"d{day}-")
            report = nightly(runtime, day)
        pooled = report["cumulative"]["visibility.answer_rate"]
        assert pooled["nights"] == nights, overrides
        assert pooled["since"][:10] == ("2026-01-01" if nights == 3 else "2026-01-02")


@pytest.mark.parametrize(("rates", "verdict", "direction"), [
    ((0.25, 0.45), "finding", "less"),   # public suppresses answers
    ((0.55, 0.35), "finding", "more"),   # public invites them
])
def test_the_headline_answers_in_either_direction(runtime: Any, rates: tuple[float, float], verdict: str,
                                                   direction: str) -> None:
    def rate(fmt: str, visibility: str) -> float:
        return rates[0] if visibility == "public" else rates[1]

    rng = np.random.default_rng(3)
    for day in range(4):
        prompt_log(runtime.store, START_MS + day * DAY_MS, 700, rng, rate, prefix=f"n{day}-")
        report = nightly(runtime, day)
    found = answer(report, "visibility.answer_rate")
    assert found["verdict"] == verdict and f"answered {abs(found['estimate']) * 100:.1f} pp {direction} often" in found["text"]
    assert report["answers"]["lines"][0]["text"] == found["text"]  # the first line of the page and the JSON
    assert found["low"] <= rates[0] - rates[1] <= found["high"]  # the same effect for every format: the truth


def test_a_large_log_without_an_effect_claims_none_and_says_how_sure_it_is(runtime: Any) -> None:
    def even(fmt: str, visibility: str) -> float:
        return 0.4

    rng = np.random.default_rng(4)
    for day in range(6):
        prompt_log(runtime.store, START_MS + day * DAY_MS, 1500, rng, even, prefix=f"z{day}-")
        report = nightly(runtime, day)
    found = answer(report, "visibility.answer_rate")
    assert found["verdict"] != "finding" and found["low"] <= 0 <= found["high"]
    assert found["verdict"] in ("no_effect", "bound", "not_enough_data")
    if found["verdict"] == "not_enough_data":  # then it says when it will know
        assert found["days_to_answer"] is not None and "more days at last week's traffic" in found["text"]
