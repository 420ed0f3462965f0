"""`elicit evaluate` on a small log made through the HTTP API: every policy valued, stored."""

from __future__ import annotations

import json
from typing import Any

from service.cli.main import main
from tests.service.cli.test_ope import make_log


def test_evaluate_values_every_policy_and_stores_the_evaluation(client: Any, runtime: Any, clock: Any, runner: Any,
                                                                tmp_path: Any) -> None:
    make_log(client, runtime, clock, 150, mid=75)
    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"mine": "--ccb_explore_adf -q UA --quiet"}))
    env = {"ELICIT_EVALUATION_MIN_DECISIONS": "100"}
    result = runner.invoke(main, ["evaluate", "--since", "0", "--settings", str(settings), "--json"], env=env)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    names = [row["name"] for row in doc["result"]["policies"]]
    assert names == ["logged", "uniform", "baseline", "live", "user:mine", "optimized"]
    assert [stage["stage"] for stage in doc["result"]["search"]] == ["interactions", "cb_type", "learning rate", "L1"]
    assert doc["result"]["decisions"] == 150 and runtime.settings.evaluation(doc["_id"])["status"] == "done"

    too_few = runner.invoke(main, ["evaluate", "--since", "0"], env={"ELICIT_EVALUATION_MIN_DECISIONS": "151"})
    assert too_few.exit_code == 1 and "EVALUATION_MIN_DECISIONS = 151" in too_few.output


def test_features_prints_one_row_per_feature(client: Any, runtime: Any, clock: Any, runner: Any) -> None:
    make_log(client, runtime, clock, 120, mid=60)
    env = {"ELICIT_EVALUATION_MIN_DECISIONS": "100"}
    result = runner.invoke(main, ["features", "--since", "0", "--feature", "item.x0", "--no-namespaces", "--json"], env=env)
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["feature"] == "item.x0" and row["low"] <= row["drop"] <= row["high"]
