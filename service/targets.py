"""Policies by name, as off-policy targets: what ``elicit ope --policy NAME`` means.

``logged`` is the policy that served each decision (target probability = logged
probability: its estimate is the on-policy average, a consistency check); ``learned`` is
the newest published model; ``uniform`` picks uniformly among allowed candidates.
"""

from __future__ import annotations

from collections.abc import Iterable

from bandit.errors import InvalidInput
from policies.slates import LearnedSlatePolicy, SlatePolicy, UniformSlatePolicy
from service.runtime import Runtime

SLATE_POLICIES = ("logged", "learned", "uniform")


def slate_targets(runtime: Runtime, names: Iterable[str]) -> dict[str, SlatePolicy | None]:
    targets: dict[str, SlatePolicy | None] = {}
    for name in names:
        if name == "logged":
            targets[name] = None
        elif name == "learned":
            runtime.slate_models.refresh()
            targets[name] = LearnedSlatePolicy(runtime.slate_models.current()[0])
        elif name == "uniform":
            targets[name] = UniformSlatePolicy()
        else:
            raise InvalidInput(f"unknown slate policy {name!r}; known: {', '.join(SLATE_POLICIES)}", field="policy")
    return targets
