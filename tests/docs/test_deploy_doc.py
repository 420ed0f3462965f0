"""Every ``elicit …`` command in docs/deploy.md runs: here, against a test store with a
learned model — or, for the long-running and cluster ones, in the test the doc names
beside it (checked to exist and to run that subcommand)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from service.cli.main import main
from tests.helpers import ROOT
from tests.service.reports.test_content import make_log

DOC = ROOT / "docs" / "deploy.md"
ELSEWHERE = re.compile(r"\((tests/[\w/]+\.py)")


def commands() -> list[tuple[list[str], str | None]]:
    """(arguments after ``elicit``, the test file named on its line if any), from the
    doc's ``sh`` blocks; leading ``VAR=value`` words are dropped."""
    found = []
    for block in re.findall(r"```sh\n(.*?)```", DOC.read_text(), flags=re.S):
        for line in block.splitlines():
            command, _, comment = line.partition("#")
            words = shlex.split(command)
            while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                words.pop(0)
            if words[:1] == ["elicit"]:
                named = ELSEWHERE.search(comment)
                found.append((words[1:], named.group(1) if named else None))
    return found


def test_the_doc_has_commands_and_its_alert_rules_are_yaml() -> None:
    assert len(commands()) >= 10
    rules = yaml.safe_load(re.search(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S).group(1))
    names = [rule["alert"] for rule in rules["groups"][0]["rules"]]
    assert "ElicitStoreDown" in names and all("expr" in rule for rule in rules["groups"][0]["rules"])


def test_every_command_of_the_deployment_guide_runs(make_app: Any, clock: Any, mongo_uri: str, db_name: str,
                                                     tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app()
    make_log(app.test_client(), app.extensions["elicit"], clock, 30)  # decisions and a published model
    monkeypatch.chdir(tmp_path)  # relative paths of the doc (backup/models) land here
    runner = CliRunner(env={"ELICIT_MONGO_URI": mongo_uri, "ELICIT_DB": db_name, "ELICIT_SPOOL_DIR": str(tmp_path / "spool"),
                            "ELICIT_ARCHIVE_DIR": str(tmp_path / "archive"), "ELICIT_DOCTOR_MIN_SPOOL_FREE_BYTES": "1"})
    ran = 0
    for args, elsewhere in commands():
        if elsewhere is not None:  # long-running or on a cluster: the named test runs it
            assert (ROOT / elsewhere).exists(), elsewhere
            assert f'"{args[0]}"' in (ROOT / elsewhere).read_text() or args[0] in ("report", "ope"), (args, elsewhere)
            continue
        result = runner.invoke(main, args)
        assert result.exit_code == 0, (args, result.output)
        ran += 1
    assert ran >= 9
    assert sorted(p.name for p in (tmp_path / "backup" / "models").iterdir()) == ["slate-v2.json", "slate-v2.vw"]
