"""Policies by name, as off-policy targets: what ``elicit ope --policy NAME`` means.

``logged`` is the policy that served each decision (target probability = logged
probability: its estimate is the on-policy average, a consistency check); ``learned`` is
the newest published model; ``uniform`` picks uniformly among what was allowed. Slates
add the nightly report's baselines (policies/slate_baselines.py), built the same way the
report builds them: ``most_popular`` (the consumptions of the 7 days before ``since_ms``:
the report passes its window's start; without one, the 7 days before now — which overlap
a recent evaluated window, so the value is then optimistic) and ``cap_free_greedy`` (the
newest model, greedy, replayed without the logged caps: service/evaluation.py). Prompts
add the baselines of policies/prompts.py: ``never``, ``once_per_session`` (asking
single/private) and ``always:<format>/<visibility>``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bandit.errors import InvalidInput
from policies.prompts import (
    DEFAULT_PROMPT_ACTIONS,
    NO_PROMPT,
    AlwaysAsk,
    LearnedPromptPolicy,
    NeverAsk,
    OncePerSession,
    PromptPolicy,
    UniformPrompt,
)
from policies.slate_baselines import CapFreeGreedySlatePolicy, MostPopularSlatePolicy
from policies.slates import LearnedSlatePolicy, SlatePolicy, UniformSlatePolicy
from service.runtime import Runtime

SLATE_POLICIES = ("logged", "learned", "uniform", "most_popular", "cap_free_greedy")


def popularity(runtime: Runtime, since_ms: int | None = None) -> tuple[dict[str, int], dict[str, Any]]:
    """The most-popular table and where it came from, exactly as the report computes it."""
    # Imported here: the report's slate section imports this module.
    from service.reports.context import ReportContext
    from service.reports.slates import popularity_table

    since = runtime.clock.now_ms() if since_ms is None else int(since_ms)
    return popularity_table(ReportContext(runtime, since, since + 1))


def slate_targets(runtime: Runtime, names: Iterable[str], since_ms: int | None = None) -> dict[str, SlatePolicy | None]:
    """Targets by name; ``since_ms``: start of the evaluated window (for ``most_popular``)."""
    targets: dict[str, SlatePolicy | None] = {}
    for name in names:
        if name == "logged":
            targets[name] = None
        elif name == "learned":
            runtime.slate_models.refresh()
            targets[name] = LearnedSlatePolicy(runtime.slate_models.current()[0])
        elif name == "uniform":
            targets[name] = UniformSlatePolicy()
        elif name == "most_popular":
            targets[name] = MostPopularSlatePolicy(popularity(runtime, since_ms)[0])
        elif name == "cap_free_greedy":
            runtime.slate_models.refresh()
            targets[name] = CapFreeGreedySlatePolicy(runtime.slate_models.current()[0])
        else:
            raise InvalidInput(f"unknown slate policy {name!r}; known: {', '.join(SLATE_POLICIES)}", field="policy")
    return targets


PROMPT_POLICIES = ("logged", "learned", "never", "uniform", "once_per_session") + tuple(
    f"always:{action}" for action in DEFAULT_PROMPT_ACTIONS if action != NO_PROMPT
)


def prompt_targets(runtime: Runtime, names: Iterable[str]) -> dict[str, PromptPolicy | None]:
    targets: dict[str, PromptPolicy | None] = {}
    for name in names:
        if name == "logged":
            targets[name] = None
        elif name == "learned":
            runtime.prompt_models.refresh()
            targets[name] = LearnedPromptPolicy(runtime.prompt_models.current()[0])
        elif name == "never":
            targets[name] = NeverAsk()
        elif name == "uniform":
            targets[name] = UniformPrompt()
        elif name == "once_per_session":
            targets[name] = OncePerSession()
        elif name.startswith("always:") and name.removeprefix("always:") in DEFAULT_PROMPT_ACTIONS:
            targets[name] = AlwaysAsk(name.removeprefix("always:"))
        else:
            raise InvalidInput(f"unknown prompt policy {name!r}; known: {', '.join(PROMPT_POLICIES)}", field="policy")
    return targets
