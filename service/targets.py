"""Policies by name, as off-policy targets: what ``elicit ope --policy NAME`` means.

``logged`` is the policy that served each decision (target probability = logged
probability: its estimate is the on-policy average, a consistency check); ``learned`` is
the newest published model; ``uniform`` picks uniformly among what was allowed. Prompts
add the baselines of policies/prompts.py: ``never``, ``once_per_session`` (asking
single/private) and ``always:<format>/<visibility>``.
"""

from __future__ import annotations

from collections.abc import Iterable

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
