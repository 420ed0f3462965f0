"""User-level experiments in the demo, and their truth.

:data:`EXPERIMENTS` are the definitions ``elicit demo --experiment NAME`` puts to the
service before the first day. :func:`arm_truths` is what the report's experiment section
is checked against: per arm, the ratio of sums it estimates with every observed outcome
replaced by its exact expectation at the moment it was drawn — Σ P(answer) over prompts
shown, Σ P(like) over slates — from the probabilities the driver recorded before each
user's dice (simulator/driver.py ``PromptTruth``).

What that truth is, precisely: each prompt's answer is a Bernoulli draw given the user's
state then (burnt or not, fatigue), and the expectations summed are its compensator, so
observed − truth is a martingale: the estimate is unbiased for it on these users and these
paths. It is the effect the arm had on *these* users as their days went, which is what a
product owner asks of an experiment; a fresh population would draw other paths (who
liked what, when), so the truth of the infinite population differs from it by that
path noise, which the report's user-level interval also carries (it is wider than this
truth needs, hence conservative here).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from simulator.driver import DriverResult
from simulator.params import START_MS

#: Candidates per slate in an experiment's demo: a flood needs material. With the demo's usual 12
#: of 400 items in 8 categories, a slate holds ~1.5 of the liked category, so no flood can fill
#: the 3 of 5 slots that burn a user (burnt_threshold 0.5); with 40 it holds ~5, as a naive
#: recommender's retrieval would also bring more of what was liked.
CANDIDATES = 40
#: Sessions per user per day: a user is burnt by the slates of the 24 h after a like, and at one
#: session a day only about half of the likes are followed by a slate inside them (measured at
#: 1/day, 30 candidates, share 0.8: a berserk index of +0.23 against +0.05 capped, but a true
#: answer-rate effect of only −6 %, too small for 1,000 users in a week). Two a day, for fewer
#: users, keeps the demo's size.
SESSIONS_PER_DAY = 2.0
USERS = 600
#: ``elicit demo --experiment NAME``: the arms the demo puts to the service (the first is the control).
EXPERIMENTS: dict[str, dict[str, Any]] = {
    "over-reaction": {
        "arms": [{"name": "capped", "share": 0.5},
                 {"name": "flood", "share": 0.5, "settings": {"over_reaction": {"on": "up", "days": 7, "share": 0.95}}}],
        "start": START_MS,
        "description": "Does over-reacting to a like make people stop giving likes? Caps lifted and the liked "
                       "category and creator given 95 % of every slot for 7 days after an up, against elicit's caps.",
    },
    "visibility": {
        "arms": [{"name": "private", "share": 0.5, "settings": {"prompt_visibility": "private"}},
                 {"name": "public", "share": 0.5, "settings": {"prompt_visibility": "public"}}],
        "start": START_MS,
        "description": "How much does asking in public cost, over weeks? Every prompt private, or every one public.",
    },
}


@dataclass(frozen=True)
class ArmTruth:
    """One arm's truth: the ratios with outcomes replaced by their exact expectations."""

    users: int
    slates: int
    shown: int
    expected_answers: float
    expected_likes: float

    @property
    def answer_rate(self) -> float:
        return self.expected_answers / self.shown if self.shown else float("nan")

    @property
    def likes_per_slate(self) -> float:
        return self.expected_likes / self.slates if self.slates else float("nan")


def arm_truths(result: DriverResult, experiment: str, until_ms: int) -> dict[str, ArmTruth]:
    """Per arm of ``experiment``, over what happened before ``until_ms`` (the report's end)."""
    arm_of = {user: arms[experiment] for user, arms in result.arms.items() if experiment in arms}
    tallies: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    users: dict[str, set[int]] = defaultdict(set)
    for user, t in result.slate_times:
        if user in arm_of and t < until_ms:
            tallies[arm_of[user]]["slates"] += 1
            users[arm_of[user]].add(user)
    for truth in result.truths:
        arm = arm_of.get(truth.user)
        if arm is None or truth.t >= until_ms or truth.action == "none":
            continue
        tally = tallies[arm]
        tally["shown"] += 1
        tally["answers"] += truth.answered[truth.action]
        tally["likes"] += truth.like
    return {arm: ArmTruth(len(users[arm]), int(t["slates"]), int(t["shown"]), t["answers"], t["likes"])
            for arm, t in tallies.items()}


def relative(truths: Mapping[str, ArmTruth], treatment: str, control: str, metric: str) -> float:
    """The relative difference treatment / control − 1 of ``metric`` (``answer_rate``, ``likes_per_slate``)."""
    return getattr(truths[treatment], metric) / getattr(truths[control], metric) - 1.0
