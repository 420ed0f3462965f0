"""``elicit experiments``: the same definitions and refusals as the API, from the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from service.cli.main import main
from tests.service.http.test_experiments import VISIBILITY


def test_start_list_show_and_stop(runner: Any, tmp_path: Path) -> None:
    body = tmp_path / "vis.json"
    body.write_text(json.dumps(VISIBILITY))
    started = runner.invoke(main, ["experiments", "start", "vis", "--file", str(body)])
    assert started.exit_code == 0, started.output
    shown = json.loads(started.output)
    assert shown["status"] == "running" and [a["name"] for a in shown["arms"]] == ["control", "public"]
    assert shown["counts"] == {"control": {"users": 0, "decisions": 0}, "public": {"users": 0, "decisions": 0}}
    listed = runner.invoke(main, ["experiments", "list"])
    assert [json.loads(line)["name"] for line in listed.output.splitlines()] == ["vis"]
    stopped = runner.invoke(main, ["experiments", "stop", "vis"])
    assert stopped.exit_code == 0 and json.loads(stopped.output)["status"] == "stopped"
    assert json.loads(runner.invoke(main, ["experiments", "show", "vis"]).output)["status"] == "stopped"


def test_refusals_name_the_field_and_store_nothing(runner: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"arms": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.25}]}))
    result = runner.invoke(main, ["experiments", "start", "bad", "--file", str(bad)])
    assert result.exit_code == 1 and "Error:" in result.output and "arms" in result.output and "sum to 1" in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{arms:")
    result = runner.invoke(main, ["experiments", "start", "bad", "--file", str(broken)])
    assert result.exit_code == 2 and "--file" in result.output
    unknown = runner.invoke(main, ["experiments", "show", "bad"])
    assert unknown.exit_code == 1 and "no experiment named 'bad'" in unknown.output
    assert runner.invoke(main, ["experiments", "list"]).output == ""
