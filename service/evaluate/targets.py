"""Policies by name, as off-policy targets: what ``elicit ope --policy NAME`` means.

``logged`` is the policy that served each decision (target probability = logged
probability: its estimate is the on-policy average, a consistency check); ``learned`` is
the model that was live when the evaluated window began (the newest published before it:
never one trained on the window's own decisions); ``uniform`` picks uniformly among what was allowed. Slates
add the nightly report's baselines (policies/slate_baselines.py), built the same way the
report builds them: ``most_popular`` (the consumptions of the 7 days before ``since_ms``:
the report passes its window's start; without one, the 7 days before now — which overlap
a recent evaluated window, so the value is then optimistic) and ``cap_free_greedy`` (the
newest model, greedy, replayed without the logged caps: service/evaluate/policy_values.py). Prompts
add the baselines of policies/prompts.py: ``never``, ``once_per_session`` (asking
single/private) and ``always:<format>/<visibility>``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from bandit.actions import ActionModel
from bandit.errors import InvalidInput
from bandit.slates import SlateModel
from policies.prompts import (
    DEFAULT_PROMPT_ACTIONS,
    NO_PROMPT,
    AlwaysAsk,
    LearnedPromptPolicy,
    NeverAsk,
    OncePerSession,
    PromptPolicy,
    UniformPrompt,
    WithoutFloor,
)
from policies.slate_baselines import CapFreeGreedySlatePolicy, MostPopularSlatePolicy
from policies.slates import LearnedSlatePolicy, SlatePolicy, UniformSlatePolicy
from service.store import Store
from service.store.models import ModelRegistry

SLATE_POLICIES = ("logged", "learned", "uniform", "most_popular", "cap_free_greedy")
#: Consumptions this long before the window make the most-popular baseline's table.
POPULARITY_LOOKBACK_DAYS = 7
POPULAR_TYPES = ("consume", "purchase")


def popularity_table(store: Store, since_ms: int) -> tuple[dict[str, int], dict[str, Any]]:
    """Consume and purchase events per item in the days before ``since_ms``, and where
    the table came from (the report shows it)."""
    since = since_ms - POPULARITY_LOOKBACK_DAYS * 86_400_000
    counts: Counter[str] = Counter()
    for doc in store.outcomes_between(since, since_ms):
        for outcome in doc.get("outcomes", []):
            if outcome.get("type") in POPULAR_TYPES:
                counts[str(outcome["item_id"])] += 1
    source = {"since": since, "until": since_ms, "types": list(POPULAR_TYPES), "events": sum(counts.values()),
              "items": len(counts), "top": [{"item_id": item, "count": n} for item, n in counts.most_common(10)]}
    return dict(counts), source


def slate_targets(
    names: Iterable[str], models: ModelRegistry[SlateModel], store: Store, since_ms: int
) -> dict[str, SlatePolicy | None]:
    """Targets by name; ``since_ms``: start of the evaluated window (``most_popular``
    counts the days before it; ``learned`` and ``cap_free_greedy`` are the model live then,
    trained only on decisions before the window: :meth:`ModelRegistry.as_of`)."""
    targets: dict[str, SlatePolicy | None] = {}
    for name in names:
        if name == "logged":
            targets[name] = None
        elif name == "learned":
            targets[name] = LearnedSlatePolicy(models.as_of(since_ms)[0])
        elif name == "uniform":
            targets[name] = UniformSlatePolicy()
        elif name == "most_popular":
            targets[name] = MostPopularSlatePolicy(popularity_table(store, since_ms)[0])
        elif name == "cap_free_greedy":
            targets[name] = CapFreeGreedySlatePolicy(models.as_of(since_ms)[0])
        else:
            raise InvalidInput(f"unknown slate policy {name!r}; known: {', '.join(SLATE_POLICIES)}", field="policy")
    return targets


PROMPT_POLICIES = ("logged", "learned", "without_floor", "never", "uniform", "once_per_session") + tuple(
    f"always:{action}" for action in DEFAULT_PROMPT_ACTIONS if action != NO_PROMPT
)


def prompt_targets(
    names: Iterable[str], models: ModelRegistry[ActionModel], since_ms: int, floor: float
) -> dict[str, PromptPolicy | None]:
    """Targets by name; ``learned`` is the model live at ``since_ms`` with the serving
    ``floor`` (out of sample on a window starting there); ``without_floor`` each logged
    decision's own policy without its floor (what the floor costs)."""
    targets: dict[str, PromptPolicy | None] = {}
    for name in names:
        if name == "logged":
            targets[name] = None
        elif name == "learned":
            targets[name] = LearnedPromptPolicy(models.as_of(since_ms)[0], floor)
        elif name == "without_floor":
            targets[name] = WithoutFloor()
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
