"""Feedback-prompt policies: the learned one and the baselines, behind one protocol.

A prompt policy answers one question: given the context of a decision (what the client
sent plus what elicit derived from its records) and the list of actions, what is the
distribution over those actions? Serving samples from it; off-policy evaluation asks it
of a *logged* decision (:func:`replay_prompt`) to get the target's probability of what
was logged. Baselines: :class:`NeverAsk`, :class:`AlwaysAsk` (one fixed format and
visibility), :class:`OncePerSession` and :class:`UniformPrompt`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from bandit.actions import ActionModel
from bandit.features import encode
from policies.sampling import clean_pmf

FORMATS = ("single", "graded")
VISIBILITIES = ("private", "public")
NO_PROMPT = "none"
DEFAULT_PROMPT_ACTIONS: tuple[str, ...] = (NO_PROMPT, "single/private", "single/public", "graded/private", "graded/public")
#: Derived-context flag: has this user been prompted in the current session?
SESSION_FLAG = "prompted_this_session"


@dataclass(frozen=True)
class PromptAction:
    """``none``, or a format and a visibility written ``format/visibility``.

    >>> PromptAction.parse("graded/public"), PromptAction.parse("none").ask
    (PromptAction(format='graded', visibility='public'), False)
    >>> PromptAction.parse("graded/public").vw_text
    '|A action=graded/public ask=true format=graded visibility=public'
    """

    format: str | None = None
    visibility: str | None = None

    @classmethod
    def parse(cls, name: str) -> PromptAction:
        if name == NO_PROMPT:
            return cls()
        fmt, _, visibility = name.partition("/")
        if fmt not in FORMATS or visibility not in VISIBILITIES:
            raise ValueError(f"prompt action must be {NO_PROMPT!r} or format/visibility with format in {FORMATS} "
                             f"and visibility in {VISIBILITIES}, not {name!r}")
        return cls(fmt, visibility)

    @property
    def ask(self) -> bool:
        return self.format is not None

    @property
    def name(self) -> str:
        return f"{self.format}/{self.visibility}" if self.ask else NO_PROMPT

    @cached_property  # asked for every action of every prompt decision; the action never changes
    def vw_text(self) -> str:
        features: dict[str, Any] = {"action": self.name, "ask": self.ask}
        if self.ask:
            features.update(format=self.format, visibility=self.visibility)
        return encode(features, "A")


def parse_actions(names: Sequence[str]) -> list[PromptAction]:
    """The configured action set (``PROMPT_ACTIONS``): at least two, no repeats.

    >>> [a.name for a in parse_actions(["none", "single/private"])]
    ['none', 'single/private']
    """
    actions = [PromptAction.parse(name) for name in names]
    if len(actions) < 2 or len({a.name for a in actions}) != len(actions):
        raise ValueError(f"prompt actions need at least two distinct entries, got {list(names)!r}")
    return actions


@dataclass(frozen=True)
class PromptContext:
    """What a prompt policy sees: the client's context and the one elicit derived."""

    client: Mapping[str, Any] = field(default_factory=dict)
    derived: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, decision: Mapping[str, Any]) -> PromptContext:
        """The context of a logged prompt decision."""
        return cls(decision.get("context") or {}, decision.get("derived") or {})

    @property
    def vw_text(self) -> str:
        return f"{encode(self.client, 'U')} {encode(self.derived, 'D')}".strip()


class PromptPolicy(Protocol):
    name: str

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray: ...


def with_floor(pmf: np.ndarray, actions: Sequence[PromptAction], floor: float) -> np.ndarray:
    """``pmf`` mixed with the uniform distribution over the *asking* actions, weight ``floor``:
    every format and visibility keeps at least ``floor / K_ask`` whatever the model learned,
    so the log never runs out of evidence on either factor (docs/report.md, "The
    exploration floor"). The mixture is what is sampled and logged.

    >>> actions = parse_actions(DEFAULT_PROMPT_ACTIONS)
    >>> with_floor(np.array([0.0, 0.0, 0.0, 1.0, 0.0]), actions, 0.2).round(3).tolist()
    [0.0, 0.05, 0.05, 0.85, 0.05]
    """
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"the prompt floor must lie in [0, 1), got {floor}")
    if floor == 0.0:
        return pmf
    asking = np.array([1.0 if action.ask else 0.0 for action in actions])
    return (1.0 - floor) * pmf + floor * asking / asking.sum()


def without_floor(decision: Mapping[str, Any]) -> np.ndarray:
    """The distribution a logged prompt decision had *before* its floor was mixed in, exactly
    (the floor is logged as ``exploration.floor``): what the same model, same context, would
    have served without the floor. The report values the floor's cost with it.

    >>> logged = {"actions": list(DEFAULT_PROMPT_ACTIONS), "distribution": [0.0, 0.05, 0.05, 0.85, 0.05],
    ...           "exploration": {"floor": 0.2}}
    >>> without_floor(logged).round(6).tolist()
    [0.0, 0.0, 0.0, 1.0, 0.0]
    """
    served = np.asarray(decision["distribution"], dtype=np.float64)
    floor = float((decision.get("exploration") or {}).get("floor") or 0.0)
    if floor == 0.0:
        return served
    asking = np.array([0.0 if name == NO_PROMPT else 1.0 for name in decision["actions"]])
    raw = (served - floor * asking / asking.sum()) / (1.0 - floor)
    raw = np.clip(raw, 0.0, None)  # rounding only: the served mixture held floor / K_ask at least
    return raw / raw.sum()


class LearnedPromptPolicy:
    """The live policy: VW's exploration distribution, cleaned to the floor that serving uses
    and mixed with the asking actions' floor (:func:`with_floor`), so its distribution for a
    logged context is exactly what was served with that model."""

    name = "learned"

    def __init__(self, model: ActionModel, floor: float = 0.0) -> None:
        self.model = model
        self.floor = floor

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray:
        pmf = clean_pmf(self.model.pmf(context.vw_text, [action.vw_text for action in actions]))
        return with_floor(pmf, actions, self.floor)


def _one_hot(actions: Sequence[PromptAction], name: str) -> np.ndarray:
    names = [action.name for action in actions]
    if name not in names:
        raise ValueError(f"action {name!r} is not in the action set {names}")
    pmf = np.zeros(len(actions))
    pmf[names.index(name)] = 1.0
    return pmf


class NeverAsk:
    """Never show a prompt.

    >>> NeverAsk().distribution(PromptContext(), parse_actions(DEFAULT_PROMPT_ACTIONS)).tolist()
    [1.0, 0.0, 0.0, 0.0, 0.0]
    """

    name = "never"

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray:
        return _one_hot(actions, NO_PROMPT)


class AlwaysAsk:
    """Always one fixed format and visibility.

    >>> AlwaysAsk("graded/private").distribution(PromptContext(), parse_actions(DEFAULT_PROMPT_ACTIONS)).tolist()
    [0.0, 0.0, 0.0, 1.0, 0.0]
    """

    def __init__(self, action: str = "single/private") -> None:
        self.action = PromptAction.parse(action)
        if not self.action.ask:
            raise ValueError("AlwaysAsk needs a format/visibility; use NeverAsk for 'none'")
        self.name = f"always:{self.action.name}"

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray:
        return _one_hot(actions, self.action.name)


class OncePerSession:
    """A fixed format and visibility, but at most once per session.

    The session is the decider's: the derived flag ``prompted_this_session`` is true when
    the user's last prompt carried the same client ``session_id`` or, without one, came
    less than ``PROMPT_SESSION_GAP_S`` ago.

    >>> policy, actions = OncePerSession("single/public"), parse_actions(DEFAULT_PROMPT_ACTIONS)
    >>> policy.distribution(PromptContext(derived={SESSION_FLAG: True}), actions).tolist()
    [1.0, 0.0, 0.0, 0.0, 0.0]
    >>> policy.distribution(PromptContext(derived={SESSION_FLAG: False}), actions).tolist()
    [0.0, 0.0, 1.0, 0.0, 0.0]
    """

    def __init__(self, action: str = "single/private") -> None:
        self.always = AlwaysAsk(action)
        self.name = f"once-per-session:{self.always.action.name}"

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray:
        if context.derived.get(SESSION_FLAG):
            return _one_hot(actions, NO_PROMPT)
        return self.always.distribution(context, actions)


class UniformPrompt:
    """Every action equally likely.

    >>> UniformPrompt().distribution(PromptContext(), parse_actions(DEFAULT_PROMPT_ACTIONS)).tolist()
    [0.2, 0.2, 0.2, 0.2, 0.2]
    """

    name = "uniform"

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray:
        return np.full(len(actions), 1.0 / len(actions))


class WithoutFloor:
    """The live policy as it would have served without its exploration floor: each logged
    decision's own distribution with the floor taken out (:func:`without_floor`), so the
    same model and context, exactly. A target for the floor's cost; it needs the logged
    decision, so it can only be replayed, not served."""

    name = "without_floor"

    def distribution(self, context: PromptContext, actions: Sequence[PromptAction]) -> np.ndarray:
        raise TypeError("the policy without the floor is defined on logged decisions only (replay_distribution)")

    def replay(self, decision: Mapping[str, Any]) -> np.ndarray:
        return without_floor(decision)


def replay_distribution(policy: PromptPolicy, decision: Mapping[str, Any]) -> np.ndarray:
    """The policy's distribution over a logged prompt decision's actions, on its context."""
    replay = getattr(policy, "replay", None)
    if replay is not None:
        return np.asarray(replay(decision), dtype=np.float64)
    actions = [PromptAction.parse(name) for name in decision["actions"]]
    return policy.distribution(PromptContext.of(decision), actions)


def replay_prompt(policy: PromptPolicy, decision: Mapping[str, Any]) -> float:
    """The policy's probability of the action a logged prompt decision served.

    >>> logged = {"context": {}, "derived": {}, "actions": list(DEFAULT_PROMPT_ACTIONS), "chosen": {"action": "none"}}
    >>> replay_prompt(NeverAsk(), logged), replay_prompt(UniformPrompt(), logged)
    (1.0, 0.2)
    """
    pmf = replay_distribution(policy, decision)
    return float(pmf[list(decision["actions"]).index(decision["chosen"]["action"])])
