"""The report's content on logs made through the HTTP API, and the endpoints that read it."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from bandit.ope.design import Design, design_concern
from bandit.ope.diagnostics import MIN_EFFECTIVE_SAMPLE
from service.cli.main import main
from service.evaluate.policy_values import evaluate_slates
from service.evaluate.targets import slate_targets
from service.log.decisions import candidates_of, eligibility_of, evaluation_query
from service.reports import build_report
from tests.helpers import candidates

GOOD = candidates(4, family="good")
BAD = candidates(8, family="bad")
SLOTS = 2


def make_log(client: Any, runtime: Any, clock: Any, n: int, seed: int = 3) -> list[dict[str, Any]]:
    """``n`` learned slate decisions: 'good' items are always consumed, the others skipped."""
    rng = np.random.default_rng(seed)
    for i in range(n):
        pool = [(GOOD + BAD)[j] for j in rng.permutation(12)]
        body = client.post("/v1/slates", json={"user_id": f"u{i}", "candidates": pool, "slots": SLOTS}).get_json()
        outcomes = [{"item_id": s["item_id"], "type": "consume" if s["item_id"].startswith("good") else "skip"}
                    for s in body["slate"]]
        client.post(f"/v1/slates/{body['event_id']}/outcomes", json={"outcomes": outcomes})
        clock.advance(1)
        if i == n // 2:  # a mid-log model version, so 'logged' and 'learned' differ
            clock.advance(601)
            runtime.learner.run_once()
    clock.advance(601)
    runtime.learner.run_once()
    return list(runtime.store.iter_decisions({"kind": "slate"}))


def by_policy(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {row["policy"]: row for row in report["sections"]["slates"]["policies"]}


def uniform_value(decisions: list[dict[str, Any]]) -> float:
    """Good items per slate the uniform policy would serve on these decisions, exactly: for
    each, every first item it could pick (1/n each), then every second item allowed after it
    under the decision's logged rule (no repeats, creator and category caps)."""
    values = []
    for decision in decisions:
        candidates, rule = candidates_of(decision), eligibility_of(decision)
        first = [c for c in candidates if rule(c, [])]
        value = 0.0
        for top in first:
            second = [c for c in candidates if rule(c, [top])]
            later = sum(c.id.startswith("good") for c in second) / len(second) if second else 0.0
            value += (top.id.startswith("good") + later) / len(first)
        values.append(value)
    return float(np.mean(values))


def test_tiny_log_report_says_not_enough_data_and_logged_is_the_on_policy_mean(client: Any, runtime: Any, clock: Any) -> None:
    start = clock.now_ms()
    log = make_log(client, runtime, clock, 12)
    report = build_report(runtime.report_sources, start, clock.now_ms())
    rows = by_policy(report)
    assert list(rows) == ["logged", "learned", "uniform", "most_popular", "cap_free_greedy"]
    on_policy = np.mean([sum(d["reward"]) for d in log])
    assert rows["logged"]["value"] == pytest.approx(on_policy, abs=1e-12) and rows["logged"]["decisions"] == 12
    assert rows["logged"]["vs_live"] is None and rows["uniform"]["vs_live"]["decisions"] == 12
    slate_verdicts = report["sections"]["slates"]["verdicts"]
    assert slate_verdicts[0]["level"] == "not_enough_data" and "only 12 slate decisions" in slate_verdicts[0]["text"]
    for row in list(rows.values())[1:]:  # every comparison: not enough data, however the interval falls
        said = [v for v in slate_verdicts if v.get("policy") == row["policy"] and v["level"] != "warning"]
        assert [v["level"] for v in said] == ["not_enough_data"], said
    health = report["sections"]["data_health"]
    slate = health["kinds"]["slate"]
    assert health["decisions"] == {"total": 12, "by_kind": {"slate": 12, "prompt": 0}}
    assert slate["joined"] == 12 and slate["share_joined"] == 1.0 and slate["share_ignored"] == 0.0
    assert slate["smallest_probability"] == min(c["probability"] for d in log for c in d["chosen"])
    assert health["effective_sample_size"]["slate"]["logged"] == pytest.approx(12 * SLOTS)
    assert any(v["level"] == "not_enough_data" and v["kind"] == "slate" for v in health["verdicts"])
    for name in ("prompt_strategies", "visibility_effect", "format_effect"):
        section = report["sections"][name]
        assert section["status"] == "no_data" and section["note"] == "no prompt decisions in the window"
    assert report["sections"]["visibility_effect"]["difference"] is None  # never a made-up number
    assert report["sections"]["over_reaction"]["status"] == "no_data"
    assert report["verdicts"][0]["section"] == "slates"
    json.dumps(report, allow_nan=False)  # strict JSON: no NaN or infinities anywhere


def test_report_values_equal_elicit_ope_and_unsupportable_differences_are_withheld(client: Any, runtime: Any,
                                                                                   clock: Any) -> None:
    """At the shipped defaults (ε = 0.1): the uniform target's weight on a slot is (1/K) /
    p_log, 10 where the live policy explored and 100 on a prefix it explored twice (~0.3 % of
    its decisions). 200 decisions mostly miss those, and a sample's interval cannot count
    weights it never drew: over 12 slate streams its 95 % interval once missed the truth in 4,
    by up to 18 standard errors, at an effective sample size (~40) that looked fine. The
    propensities say what the sample cannot, and the report withholds the verdict."""
    make_log(client, runtime, clock, 150, seed=5)  # before the window: the model learns, good items are consumed
    start = clock.now_ms()
    make_log(client, runtime, clock, 200, seed=6)
    report = build_report(runtime.report_sources, start, clock.now_ms())
    rows = by_policy(report)
    query = evaluation_query("slate", start, clock.now_ms())
    targets = slate_targets(("logged", "learned", "uniform"), runtime.slate_models, runtime.store, start)
    expected = {(v.policy, v.estimator): v for v in evaluate_slates(lambda: runtime.store.iter_decisions(query), targets)}
    for name in targets:  # the same numbers as `elicit ope` on the same window
        assert rows[name]["value"] == pytest.approx(expected[(name, "CascadeIPS")].interval.estimate, rel=1e-9)
        assert rows[name]["low"] == pytest.approx(expected[(name, "CascadeIPS")].interval.low, rel=1e-9)
        assert rows[name]["self_normalised"]["value"] == pytest.approx(expected[(name, "SNCascadeIPS")].interval.estimate, rel=1e-9)
        assert rows[name]["decisions"] == 200
    # Uniform's true value on this window, enumerated from its own candidate sets (returning
    # users no longer see what they consumed; creator caps bind): the report either covers it
    # or withholds — here it withholds, because E_log[w²] over two slots promises an effective
    # sample of a handful of slates whatever this sample drew (bandit/ope/design.py).
    truth = uniform_value(list(runtime.store.iter_decisions(query)))
    uniform = rows["uniform"]
    said = {v["policy"]: v for v in report["sections"]["slates"]["verdicts"] if v.get("policy") and v["level"] != "warning"}
    assert uniform["diagnostics"]["design_effective_sample_size"] < MIN_EFFECTIVE_SAMPLE < uniform["decisions"]
    assert said["uniform"]["level"] == "not_enough_data" and "heavy-tailed weights" in said["uniform"]["text"]
    assert uniform["low"] <= truth <= uniform["high"] or said["uniform"]["level"] != "finding"
    # The same for most popular (near-deterministic: 0.99 / (0.1/12) ≈ 120 per explored slot).
    assert said["most_popular"]["level"] == "not_enough_data" and "weights" in said["most_popular"]["text"]
    # Most popular's table comes from the consumptions before the window (only good items are
    # ever consumed): the table itself is right, whatever its value's interval can carry.
    source = report["sections"]["slates"]["popularity"]
    assert source["until"] == start and source["events"] > 0
    assert all(row["item_id"].startswith("good") for row in source["top"])
    assert not any(v["level"] == "not_enough_data" and v.get("kind") == "slate"
                   for v in report["sections"]["data_health"]["verdicts"])


def test_cli_report_stores_and_writes_json_and_html(runner: Any, client: Any, runtime: Any, clock: Any, tmp_path: Any) -> None:
    make_log(client, runtime, clock, 12)
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    result = runner.invoke(main, ["report", "--since", "2026-01-01", "--until", "2026-01-02", "--json", str(out_json), "--html", str(out_html)])
    assert result.exit_code == 0, result.output
    written = json.loads(out_json.read_text())
    assert written["kind"] == "on_demand" and written["window"]["since"] == 1_767_225_600_000
    assert by_policy(written)["logged"]["decisions"] == 12
    assert runtime.store.get_report(written["_id"])["sections"]["slates"]["status"] == "ok"
    page = out_html.read_text()
    assert page.count('class="report-figure"') == 4 and "Not enough data to tell" in page
    bad = runner.invoke(main, ["report", "--since", "2026-01-02", "--until", "2026-01-01"])
    assert bad.exit_code != 0 and "until" in bad.output


def test_report_endpoints_json_and_html(client: Any, runtime: Any, clock: Any) -> None:
    assert client.get("/v1/reports/latest").status_code == 404
    start = clock.now_ms()
    make_log(client, runtime, clock, 12)
    first = build_report(runtime.report_sources, start, clock.now_ms())
    clock.advance(60)
    second = build_report(runtime.report_sources, start, clock.now_ms(), kind="nightly", report_id="nightly-2026-01-02")
    assert runtime.store.insert_report(first) and runtime.store.insert_report(second)
    assert client.get("/v1/reports/latest").get_json()["_id"] == "nightly-2026-01-02"
    assert client.get("/v1/reports/latest?kind=on_demand").get_json()["_id"] == first["_id"]
    listed = client.get("/v1/reports?limit=5").get_json()["reports"]
    assert [r["_id"] for r in listed] == ["nightly-2026-01-02", first["_id"]] and "sections" not in listed[0]
    assert client.get("/v1/reports?limit=1").get_json()["reports"][0]["_id"] == "nightly-2026-01-02"
    assert client.get(f"/v1/reports/{first['_id']}").get_json()["sections"]["slates"]["status"] == "ok"
    missing = client.get("/v1/reports/nightly-1999-01-01")
    assert missing.status_code == 404 and missing.get_json()["field"] == "report_id"
    assert client.get("/v1/reports?limit=0").status_code == 422
    page = client.get("/reports/latest")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "nightly-2026-01-02" in html and html.count("data:image/png;base64,") == 4 and "<script" not in html
    assert client.get("/reports/nightly-1999-01-01").status_code == 404


def test_over_reaction_carries_the_berserk_index_of_each_day(runner: Any, runtime: Any) -> None:
    from tests.service.decide.test_anti_berserk import test_berserk_index_on_a_hand_made_log as hand_made_log

    hand_made_log(runner, runtime)  # the hand-computed log of tests/service/decide/test_anti_berserk.py: up +0.5 and double_up +0.5 on 2026-01-03
    day = 1_767_398_400_000
    report = build_report(runtime.report_sources, day, day + 86_400_000)
    section = report["sections"]["over_reaction"]
    assert section["status"] == "ok"
    from service.reports.plots import figures

    assert [plot.placeholder for plot in figures(report)] == [False, True, True, False]  # nights and berserk drawn
    assert section["berserk_index_by_day"] == [
        {"day": "2026-01-03", "feedback": "up", "index": 0.5, "low": None, "high": None},
        {"day": "2026-01-03", "feedback": "double_up", "index": 0.5, "low": None, "high": None},
    ]
    assert section["berserk_days"] == [{"day": "2026-01-03", "likes": 2, "skipped": 1, "overall": 0.5}]
    earlier = build_report(runtime.report_sources, day - 86_400_000, day)["sections"]["over_reaction"]  # no likes on 01-01
    assert earlier["status"] == "no_data" and earlier["berserk_index_by_day"] == []


def test_a_slate_comparison_on_a_thin_effective_sample_is_not_a_finding(runtime: Any) -> None:
    """The same interval, clear of zero, is a finding at ESS 200 and withheld at ESS 5."""
    from service.reports.context import ReportContext
    from service.reports.slates import slate_verdicts

    def row(policy: str, ess: float, design: Design | None = None) -> dict[str, Any]:
        concern = None if design is None else design_concern([design], 500)
        return {"policy": policy, "decisions": 500, "vs_live": {"difference": -0.3, "low": -0.4, "high": -0.2, "p_value": 1e-6},
                "diagnostics": {"rows": 2500, "effective_sample_size": ess, "design_concern": concern}}

    rows = [row("live", 2500.0), row("wide", 200.0, Design(550.0, 650.0)), row("thin", 5.0),
            row("heavy", 200.0, Design(500 * 500 / 12.0, 500 * 2000.0)), row("skewed", 200.0, Design(1000.0, 6000.0))]
    said = slate_verdicts(ReportContext(runtime.report_sources, 0, 1), rows)
    levels = {(v["policy"], v["level"]) for v in said}
    assert ("wide", "finding") in levels and not levels & {("thin", "finding"), ("heavy", "finding"), ("skewed", "finding")}
    (thin,) = [v for v in said if v["policy"] == "thin" and v["level"] == "not_enough_data"]
    assert "effective sample size of 5.0" in thin["text"] and thin["p_value"] is None
    # The sample drew 200 effective decisions, but the propensities promise 12: the tail is unmet.
    (heavy,) = [v for v in said if v["policy"] == "heavy" and v["level"] == "not_enough_data"]
    assert "heavy-tailed weights" in heavy["text"] and "effective sample size of only 12.0 of 500" in heavy["text"]
    # The skewed row's propensities promise an effective sample of 250 slates, but E[w²] = 2 and
    # E[w³] = 12 per slate: skewness 8, and Cochran's rule wants 25 · 8² = 1,600 slates, not 500.
    (skewed,) = [v for v in said if v["policy"] == "skewed" and v["level"] != "warning"]
    assert skewed["level"] == "not_enough_data" and "skewed weights" in skewed["text"], skewed
