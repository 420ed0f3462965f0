"""Assignment to arms: the configured shares, and the same arm for a user in any process."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import numpy as np

from policies.arms import ArmSettings
from service.core.pseudonyms import user_key
from service.decide.experiments import Arm, Experiment, assign, position
from tests.helpers import ROOT

SECRET = "a-test-secret-of-some-length-0123456789"
EXPERIMENT = Experiment("shares", (Arm("a", 0.2, ArmSettings()), Arm("b", 0.3, ArmSettings()), Arm("c", 0.5, ArmSettings())),
                        enrolled=0.8, start_ms=0)
USERS = [user_key(SECRET, f"user-{i}") for i in range(10_000)]


def test_ten_thousand_users_fall_into_the_configured_shares() -> None:
    arms = Counter(assign(EXPERIMENT, position(SECRET, "shares", user)) for user in USERS)
    n = len(USERS)
    expected = {None: 0.2, "a": 0.8 * 0.2, "b": 0.8 * 0.3, "c": 0.8 * 0.5}
    for arm, share in expected.items():
        se = np.sqrt(share * (1 - share) / n)
        print(f"arm {arm}: {arms[arm] / n:.4f} (configured {share:.2f}, 3 SE = {3 * se:.4f})")
        assert abs(arms[arm] / n - share) < 3 * se  # multinomial counts: 3 standard errors
    # A second experiment's hash is independent of the first's: its arms split each of them evenly.
    other = Experiment("other", (Arm("x", 0.5, ArmSettings()), Arm("y", 0.5, ArmSettings())), 1.0, 0)
    in_a = [u for u in USERS if assign(EXPERIMENT, position(SECRET, "shares", u)) == "a"]
    share_x = sum(assign(other, position(SECRET, "other", u)) == "x" for u in in_a) / len(in_a)
    assert abs(share_x - 0.5) < 3 * np.sqrt(0.25 / len(in_a))


def test_another_process_assigns_every_user_alike() -> None:
    code = ("import json, sys\n"
            "from service.decide.experiments import position\n"
            "users = json.load(sys.stdin)\n"
            f"print(json.dumps([position({SECRET!r}, 'shares', u) for u in users]))\n")
    out = subprocess.run([sys.executable, "-c", code], input=json.dumps(USERS), capture_output=True, text=True,
                         cwd=ROOT, check=True, env={"PYTHONHASHSEED": "random", "PATH": ""})
    assert json.loads(out.stdout) == [position(SECRET, "shares", u) for u in USERS]
