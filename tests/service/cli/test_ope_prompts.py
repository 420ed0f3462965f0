"""`elicit ope --kind prompt` and the CB DSJSON export of prompt decisions."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
import vowpalwabbit

from service.cli.main import main

N = 300


@pytest.fixture
def log(client: Any, runtime: Any, clock: Any) -> list[dict[str, Any]]:
    """Prompt decisions answered by synthetic users who answer private prompts only."""
    rng = np.random.default_rng(11)
    for i in range(N):
        body = client.post("/v1/prompts", json={"user_id": f"u{i}", "item_id": f"m{i % 7}", "context": {"device": "tv"}}).get_json()
        if body["ask"]:
            answer = "thumbs_up" if body["visibility"] == "private" and rng.random() < 0.8 else "dismissed"
            client.post(f"/v1/prompts/{body['event_id']}/response", json={"response": answer})
    clock.advance(3600)
    runtime.learner.run_once()
    return list(runtime.store.iter_decisions({"kind": "prompt"}))


def _ope(runner: Any, *args: str) -> dict[str, dict[str, Any]]:
    result = runner.invoke(main, ["ope", "--kind", "prompt", "--json", "--alpha", "0.001", *args])
    assert result.exit_code == 0, result.output
    return {row["policy"]: row for row in json.loads(result.output) if row["estimator"] == "IPS"}


def test_prompt_policies_are_valued_on_the_log(runner: Any, log: list[dict[str, Any]]) -> None:
    names = ["logged", "never", "always:single/private", "always:graded/public", "uniform"]
    rows = _ope(runner, *[arg for name in names for arg in ("--policy", name)], "--metric", "answered")
    on_policy = np.mean([d.get("response") is not None and d["response"]["type"] == "thumbs_up" for d in log])
    assert rows["logged"]["value"] == pytest.approx(on_policy, abs=1e-12) and rows["logged"]["decisions"] == N
    assert rows["never"]["value"] == 0.0  # never asking never gets an answer
    # Users answer 80% of private prompts and no public ones. 99.9% intervals (fixed seeds).
    assert rows["always:single/private"]["low"] <= 0.8 <= rows["always:single/private"]["high"]
    assert rows["always:graded/public"]["value"] == 0.0
    value = _ope(runner, "--policy", "always:graded/private", "--policy", "never")
    assert value["always:graded/private"]["low"] > value["never"]["high"]  # graded answers carry log2(3) bits
    unknown = runner.invoke(main, ["ope", "--kind", "prompt", "--policy", "always:loud/public"])
    assert unknown.exit_code != 0 and "always:loud/public" in unknown.output


def test_prompt_dsjson_is_read_by_vw_cb_parser_with_the_logged_labels(runner: Any, log: list[dict[str, Any]], tmp_path: Any) -> None:
    path = tmp_path / "prompts.dsjson"
    assert runner.invoke(main, ["export", "--format", "dsjson", "-o", str(path)]).exit_code == 0
    by_id = {d["_id"]: d for d in log}
    vw = vowpalwabbit.Workspace("--cb_explore_adf --dsjson --quiet")
    lines = [line for line in path.read_text().splitlines() if '"_outcomes"' not in line]
    assert len(lines) == N
    for line in lines:
        decision = by_id[json.loads(line)["EventId"]]
        examples = vw.parse(line)
        actions = examples[1:]  # the shared example comes first
        assert len(actions) == len(decision["actions"])
        labelled = [(k, ex.get_label().costs[0]) for k, ex in enumerate(actions) if ex.get_label().costs]
        assert len(labelled) == 1
        index, label = labelled[0]
        assert index == decision["chosen"]["index"]
        assert label.probability == pytest.approx(decision["chosen"]["probability"], rel=1e-6)  # float32 in VW
        assert label.cost == pytest.approx(-decision["reward"], rel=1e-6, abs=1e-7)
        vw.finish_example(examples)
