"""The report's experiment section on a log made through the HTTP API, with outcomes chosen by
hand per arm, so every per-arm figure is known before the report computes it."""

from __future__ import annotations

from typing import Any

from service.reports import build_report
from tests.helpers import candidates
from tests.service.http.test_experiments import FLOOD, users_in

DAY_MS = 86_400_000
POOL = candidates(12)


def session(client: Any, uid: str, consume: int, answer: bool) -> None:
    """One slate of 3; the first ``consume`` slots consumed; a prompt on the first slot,
    answered with a thumbs up when ``answer`` and asked (else dismissed)."""
    slate = client.post("/v1/slates", json={"user_id": uid, "candidates": POOL, "slots": 3}).get_json()
    outcomes = [{"item_id": s["item_id"], "type": "consume" if k < consume else "skip"}
                for k, s in enumerate(slate["slate"])]
    client.post(f"/v1/slates/{slate['event_id']}/outcomes", json={"outcomes": outcomes})
    prompt = client.post("/v1/prompts", json={"user_id": uid, "item_id": slate["slate"][0]["item_id"]}).get_json()
    if prompt["ask"]:
        client.post(f"/v1/prompts/{prompt['event_id']}/response",
                    json={"response": "thumbs_up" if answer else "dismissed"})


def test_per_arm_figures_contrasts_and_the_headline(client: Any, runtime: Any, clock: Any) -> None:
    start = clock.now_ms()
    assert client.put("/v1/experiments/flood", json={**FLOOD, "start": start}).status_code == 200
    flood, capped = users_in(runtime, "flood", "flood", 30), users_in(runtime, "flood", "capped", 30)
    for day in range(2):
        for uid in flood:
            session(client, uid, consume=1, answer=False)  # the flooded never answer
        for uid in capped:
            session(client, uid, consume=2, answer=True)  # the capped always do
        clock.advance(DAY_MS // 1000)
    prompts = list(runtime.store.iter_decisions({"kind": "prompt"}))
    shown = {arm: sum(1 for d in prompts if d["ask"] and d["experiments"]["flood"] == arm) for arm in ("flood", "capped")}
    report = build_report(runtime.report_sources, start, clock.now_ms())
    section = report["sections"]["experiments"]
    arms = {row["arm"]: row for row in section["arms"]}
    assert arms["flood"]["users"] == arms["capped"]["users"] == 30
    assert arms["flood"]["consumption_per_slate"] == 1.0 and arms["capped"]["consumption_per_slate"] == 2.0
    assert arms["flood"]["answer_rate"] == 0.0 and arms["capped"]["answer_rate"] == 1.0
    assert arms["capped"]["likes_per_slate"] == shown["capped"] / 60 and arms["flood"]["likes_per_slate"] == 0.0
    assert arms["flood"]["active_days"] == arms["capped"]["active_days"] == 2.0
    rows = {row["metric"]: row for row in section["contrasts"]}
    assert rows["consumption_per_slate"]["relative"] == -0.5  # 1 / 2 − 1
    assert rows["answer_rate"]["relative"] == -1.0
    # Every flooded user consumed exactly 1 of 3 and every capped one 2: no spread within an
    # arm, so the interval is the point; 30 users a side is enough for a finding.
    assert rows["consumption_per_slate"]["verdict"] == "finding"
    assert "consumed 50% less per slate" in rows["consumption_per_slate"]["text"]
    assert rows["active_days"]["verdict"] == "no_effect"
    lines = [line for line in report["answers"]["lines"] if line["section"] == "experiments"]
    assert len(lines) == 4 and any("over-reacted" in line["text"] for line in lines)


def test_a_stopped_experiment_is_reported_up_to_its_stop(client: Any, runtime: Any, clock: Any) -> None:
    start = clock.now_ms()
    client.put("/v1/experiments/flood", json={**FLOOD, "start": start})
    for uid in users_in(runtime, "flood", "flood", 3) + users_in(runtime, "flood", "capped", 3):
        session(client, uid, consume=1, answer=True)
    clock.advance(60)
    client.post("/v1/experiments/flood/stop")
    clock.advance(60)
    for uid in users_in(runtime, "flood", "flood", 3):
        session(client, uid, consume=1, answer=True)  # after the stop: not the experiment's
    block = build_report(runtime.report_sources, start, clock.now_ms())["sections"]["experiments"]["experiments"][0]
    assert block["decisions"] == sum(1 for d in runtime.store.iter_decisions({}) if d.get("experiments"))
    assert block["decisions"] < len(list(runtime.store.iter_decisions({})))


def test_decisions_whose_visibility_an_arm_imposed_stay_out_of_prompt_estimates(client: Any, runtime: Any,
                                                                                 clock: Any) -> None:
    from policies.prompts import UniformPrompt
    from service.evaluate.policy_values import evaluate_prompts
    from service.log.decisions import evaluation_query
    from tests.service.http.test_experiments import VISIBILITY

    start = clock.now_ms()
    client.put("/v1/experiments/vis", json={**VISIBILITY, "start": start})
    for uid in users_in(runtime, "vis", "public", 20) + users_in(runtime, "vis", "control", 20):
        client.post("/v1/prompts", json={"user_id": uid, "item_id": "m"})
    clock.advance(601)
    runtime.learner.run_once()
    joined = list(runtime.store.iter_decisions(evaluation_query("prompt", start, clock.now_ms())))
    forced = [d for d in joined if d["exploration"].get("visibility")]
    assert len(joined) == 40 and len(forced) == 20
    rows = evaluate_prompts(lambda: joined, {"uniform": UniformPrompt()})
    assert {row.decisions for row in rows} == {20}  # the control arm's only
    report = build_report(runtime.report_sources, start, clock.now_ms())
    arms = {row["arm"]: row for row in report["sections"]["experiments"]["arms"]}
    assert arms["public"]["users"] == arms["control"]["users"] == 20
