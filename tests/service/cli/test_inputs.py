"""The command line's inputs: every number is bounded and finite before anything uses it,
and an error elicit raises on purpose ends the command with its message, not a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli.main import main


@pytest.mark.parametrize("args, option", [
    (["keys", "create", "--scope", "decide", "--rate", "nan"], "--rate"),
    (["keys", "create", "--scope", "decide", "--rate", "inf"], "--rate"),
    (["keys", "create", "--scope", "decide", "--rate", "-1"], "--rate"),
    (["keys", "create", "--scope", "decide", "--burst", "0"], "--burst"),
    (["keys", "create", "--scope", "decide", "--burst", str(2**63)], "--burst"),
    (["ope", "--alpha", "1"], "--alpha"),
    (["ope", "--alpha", "nan"], "--alpha"),
    (["demo", "--users", "1000000000"], "--users"),
    (["demo", "--days", "0"], "--days"),
    (["demo", "--candidates", "100000"], "--candidates"),
    (["demo", "--threads", "10000"], "--threads"),
    (["demo", "--sessions-per-day", "0"], "--sessions-per-day"),
    (["serve", "--port", "70000"], "--port"),
    (["store", "--port", "-1"], "--port"),
])
def test_numbers_out_of_bounds_are_refused_before_anything_runs(args: list[str], option: str) -> None:
    # No store is configured or reachable: a refusal that got past the option would fail
    # differently (or, for the demo, start a simulation).
    result = CliRunner().invoke(main, args, env={"ELICIT_MONGO_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"})
    assert result.exit_code == 2, result.output
    assert f"Invalid value for '{option}'" in result.output


@pytest.mark.parametrize("since", ["²³", "99999999999999999999999", "yesterday"])
def test_times_that_are_not_times_are_refused(since: str) -> None:
    result = CliRunner().invoke(main, ["ope", "--since", since])
    assert result.exit_code == 2 and "Invalid value" in result.output, result.output


def test_an_unreachable_store_ends_the_command_with_a_message() -> None:
    result = CliRunner().invoke(main, ["keys", "list"],
                                env={"ELICIT_MONGO_URI": "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200"})
    assert result.exit_code == 1
    assert "StoreUnavailable: the store (MongoDB) cannot be reached" in result.output
    assert "Traceback" not in result.output
