"""The architecture holds: imports only go downward, and nothing is part of a cycle.

The contracts are import-linter's, in pyproject.toml ([tool.importlinter]): the packages
in layers (service → simulator → policies → bandit), service/ in layers of its own with
decide, learn and evaluate independent, the simulator a client that only the demo drives,
Vowpal Wabbit imported by bandit/vw.py alone and pymongo by service/store/ alone, and no
cycle between the modules of any package. The second test shows the check is not
vacuous: on a copy of the tree with one upward import and one cycle, it fails, naming both.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bandit", "policies", "service", "simulator")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """import-linter on the tree under ``root`` (its packages first on the path), no cache."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command as c; "
               "sys.exit(c(['--no-cache', '--no-logo']))"]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_tree_keeps_every_import_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_an_upward_import_and_a_cycle_break_the_contracts(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / "service" / "core" / "clock.py", "a") as module:
        module.write("\nfrom service.http import app  # upward: core may not know HTTP\n")
    with open(tmp_path / "service" / "reports" / "context.py", "a") as module:
        module.write("\nfrom service.reports import sections  # sections imports context: a cycle\n")

    result = lint_imports(tmp_path)

    assert result.returncode == 1, result.stdout + result.stderr
    assert "service.core is not allowed to import service.http" in result.stdout
    assert "No cycles are allowed in service.reports" in result.stdout
    assert ".context -> .sections" in result.stdout
