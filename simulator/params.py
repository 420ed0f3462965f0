"""The one parameter set that defines a simulated world .

Every number the simulator uses lives here, with the reason for its default, so that a run
is fully described by ``(SimulationParams, seed)`` and a test can move one effect at a time.
Times are event times in integer epoch milliseconds (docs/design.md, "Time"); durations are in
days or hours of event time, never wall-clock.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

HOUR_MS = 3_600_000
DAY_MS = 86_400_000
#: 2026-01-01T00:00Z, the default start of service.core.clock.ManualClock (not imported: the
#: simulator stays free of the service package).
START_MS = 1_767_225_600_000
#: elicit's default prompt actions: no prompt, or format/visibility.
PROMPT_ACTIONS: tuple[str, ...] = ("none", "single/private", "single/public", "graded/private", "graded/public")
FORMATS = ("single", "graded")
VISIBILITIES = ("private", "public")
KINDS = ("single", "repeatable", "durable")


@dataclass(frozen=True)
class SimulationParams:
    """Everything that defines a population and how it behaves.

    >>> p = SimulationParams(users=10)
    >>> p.categories, p.mean_sensitivity, p.sensitivity_beta()
    (8, 0.4, (1.6, 2.4))
    """

    # --- size and seed -------------------------------------------------------------------
    seed: int = 7  # root of every random stream (numpy SeedSequence)
    users: int = 200  # people in the population
    categories: int = 8  # item categories ("film", "momos", "ovens", ...)
    creators: int = 40  # authors / brands / chefs; each works mostly in one home category
    items: int = 400  # catalogue size
    kinds: tuple[float, float, float] = field(default=(0.7, 0.2, 0.1))  # P(single, repeatable, durable)
    creator_focus: float = 0.8  # share of a creator's items in its home category (the rest: anywhere)

    # --- tastes and consumption ----------------------------------------------------------
    taste_concentration: float = 0.3  # Dirichlet over categories: small → few strong favourites
    creator_affinity_sd: float = 0.5  # log-normal spread of a user's affinity to each creator (mean 1)
    base_consume: float = 0.6  # P(consume) of a fresh favourite-category item of a mean creator in slot 0
    position_decay: float = 0.8  # P(consume) × position_decay**slot: lower slots are looked at less
    max_consume: float = 0.95  # nobody consumes anything for sure
    click_share: float = 0.3  # an item not consumed is clicked with P = click_share × its consume P

    # --- satiation ----------------------------------------------------------------------
    satiation_half_life_days: float = 3.0  # decayed exposure halves in this much event time (rest heals)
    view_exposure: float = 0.1  # exposure added by seeing an item; consuming it adds 1.0
    category_satiation: float = 0.15  # appeal × exp(−category_satiation × exposure to the category)
    creator_satiation: float = 0.4  # appeal × exp(−creator_satiation × exposure to the creator)
    durable_need_days: float = 120.0  # after a durable purchase, no durable of that category is wanted

    # --- sessions (what the client sends as context) -------------------------------------
    devices: tuple[str, ...] = ("phone", "tv", "web")  # a user's device is fixed at birth
    device_weights: tuple[float, ...] = (0.6, 0.25, 0.15)
    sessions_per_day: int = 3  # used by the ground-truth rollouts (truth.py)
    candidates: int = 30  # candidates per session in the rollouts
    slots: int = 5  # slate length in the rollouts

    # --- answering prompts ---------------------------------------------------------------
    answer_rate: float = 0.5  # population mean P(answer) of a fresh single/private prompt (before abandonment)
    answer_concentration: float = 6.0  # Beta concentration of the per-user answer propensity
    mean_sensitivity: float = 0.4  # mean privacy sensitivity s: P(answer | public) = P(answer | private) × (1 − s)
    sensitivity_concentration: float = 4.0  # Beta concentration of s (small → a few very private people)
    graded_effort: float = 0.15  # graded prompts are answered (1 − graded_effort) times as often as single
    fatigue: float = 0.7  # P(answer) × fatigue**k, k = prompts already shown to the user that event-day
    abandon_base: float = 0.01  # P(session abandoned right after the day's first prompt)
    abandon_per_prompt: float = 0.08  # ... plus this much per prompt already shown that day
    abandon_max: float = 0.5  # abandonment never exceeds this
    dismiss_share: float = 0.4  # of prompts neither answered nor abandoned, share explicitly dismissed (rest: ignored)
    thumb_noise: float = 0.15  # sd of the noise on liking behind a thumb (liking is in [0, 1])
    down_below: float = 0.3  # noisy liking below this → thumbs_down
    double_above: float = 0.7  # noisy liking above this → double_thumbs_up (graded prompts only)

    # --- burnt users (over-reaction to a like) -------------------------------------------
    burnt_threshold: float = 0.5  # share of slots from the liked category/creator in the day after a like
    burnt_multiplier: float = 0.5  # a burnt user's P(answer) × this, from then on

    def sensitivity_beta(self) -> tuple[float, float]:
        """Beta(a, b) of privacy sensitivity, with mean ``mean_sensitivity``."""
        return _beta(self.mean_sensitivity, self.sensitivity_concentration)

    def answer_beta(self) -> tuple[float, float]:
        """Beta(a, b) of the per-user answer propensity, with mean ``answer_rate``."""
        return _beta(self.answer_rate, self.answer_concentration)


def _beta(mean: float, concentration: float) -> tuple[float, float]:
    # A degenerate mean (0 or 1) is allowed: everyone then has exactly that value.
    return (round(mean * concentration, 12), round((1.0 - mean) * concentration, 12))


def overridden(params: SimulationParams, assignments: Sequence[str]) -> SimulationParams:
    """``params`` with ``name=value`` assignments applied (``elicit demo --set``), each value
    read as its field's type; an unknown name or an unreadable value is refused by name.

    >>> overridden(SimulationParams(), ["burnt_multiplier=1", "users=50"]).burnt_multiplier
    1.0
    >>> overridden(SimulationParams(), ["colour=red"])
    Traceback (most recent call last):
    ...
    ValueError: colour: not a simulation parameter (see simulator/params.py)
    """
    known = {f.name: f for f in fields(SimulationParams)}
    changes: dict[str, Any] = {}
    for assignment in assignments:
        name, sep, text = assignment.partition("=")
        name = name.strip()
        if not sep or name not in known:
            raise ValueError(f"{name or assignment}: not a simulation parameter (see simulator/params.py)")
        current = getattr(params, name)
        try:
            if isinstance(current, tuple):
                value: Any = tuple(type(current[0])(part) for part in text.split(","))
            elif isinstance(current, bool):
                value = text.strip().lower() in ("1", "true", "yes")
            else:
                value = type(current)(text)
        except ValueError as exc:
            raise ValueError(f"{name}: {text!r} is not a {type(current).__name__}") from exc
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{name}: must be finite")
        changes[name] = value
    return replace(params, **changes)
