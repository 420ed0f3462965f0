"""A seeded population of simulated users and its catalogue: the behaviour API a driver calls.

Randomness is split with ``numpy.random.SeedSequence.spawn`` into independent streams —
catalogue, user traits, user behaviour, driver — and the trait and behaviour streams are
split again per user. So adding users changes neither the catalogue nor any existing user,
and a user's reactions depend only on what happened to that user, not on the order in which
a driver interleaves users. Every time is event time in epoch ms (docs/design.md, "Time").

The probabilities themselves live in behaviour.py; this module rolls the dice and updates
each :class:`~simulator.user.User`'s state.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from simulator.behaviour import consume_probability, liking, prompt_probabilities, thumb_probabilities
from simulator.catalogue import make_catalogue
from simulator.params import DAY_MS, FORMATS, HOUR_MS, START_MS, VISIBILITIES, SimulationParams
from simulator.user import User, UserTraits

__all__ = ["Population", "SimulationParams", "User"]

_CATALOGUE, _TRAITS, _BEHAVIOUR, _DRIVER = range(4)  # order of the root's spawned streams


class Clock(Protocol):
    def now_ms(self) -> int: ...


def _child(parent: np.random.SeedSequence, i: int) -> np.random.SeedSequence:
    """``parent.spawn(n)[i]`` for any n > i, without spawning (and so without depending on) n."""
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, i))


def _draw_beta(rng: np.random.Generator, a: float, b: float) -> float:
    if a <= 0 or b <= 0:  # mean 0 or 1: everyone alike
        return 1.0 if b <= 0 else 0.0
    return float(rng.beta(a, b))


class Population:
    """Users and items drawn from :class:`SimulationParams`; rolls every die of their behaviour.

    >>> a, b = Population(SimulationParams(users=5)), Population(SimulationParams(users=5))
    >>> a.catalogue == b.catalogue, a.users[3].traits.sensitivity == b.users[3].traits.sensitivity
    (True, True)
    >>> user = a.users[0]
    >>> sorted(a.session_context(user, START_MS))
    ['device', 'hour', 'segment', 'social', 'weekday']
    >>> a.answer_prompt(user, "item1", True, "single", "private", START_MS) in (
    ...     "thumbs_down", "thumbs_up", "dismissed", "abandoned", None)
    True
    """

    def __init__(self, params: SimulationParams, clock: Clock | None = None) -> None:
        self.params = params
        self.clock = clock  # only for the legacy demo calls, which pass no time
        catalogue_seq, traits_seq, behaviour_seq, driver_seq = np.random.SeedSequence(params.seed).spawn(4)
        self.catalogue: list[dict[str, Any]] = make_catalogue(params, np.random.default_rng(catalogue_seq))
        self.by_id: dict[str, dict[str, Any]] = {item["id"]: item for item in self.catalogue}
        self.users: list[User] = [
            User(self._traits(i, np.random.default_rng(_child(traits_seq, i))),
                 np.random.default_rng(_child(behaviour_seq, i)), params.satiation_half_life_days)
            for i in range(params.users)
        ]
        self.rng = np.random.default_rng(driver_seq)  # the driver's own stream (who is active, when)

    def _traits(self, i: int, rng: np.random.Generator) -> UserTraits:
        p = self.params
        taste = rng.dirichlet(np.full(p.categories, p.taste_concentration))
        sd = p.creator_affinity_sd
        affinity = np.exp(rng.normal(-sd * sd / 2, sd, size=p.creators))  # log-normal, mean 1
        sensitivity = _draw_beta(rng, *p.sensitivity_beta())
        return UserTraits(
            index=i,
            user_id=f"user{i}",
            taste=taste / taste.max(),
            creator_affinity=affinity,
            answer_propensity=_draw_beta(rng, *p.answer_beta()),
            sensitivity=sensitivity,
            device=str(rng.choice(p.devices, p=np.asarray(p.device_weights) / sum(p.device_weights))),
            social="high" if rng.random() < sensitivity else "low",
        )

    # --- what the client sends -----------------------------------------------------------
    def user_id(self, user: User | int) -> str:
        return self._user(user).traits.user_id

    def session_context(self, user: User | int, now_ms: int) -> dict[str, Any]:
        """Features a client app would send with a request: nothing the app could not know."""
        traits = self._user(user).traits
        return {
            "device": traits.device,
            "hour": int(now_ms % DAY_MS // HOUR_MS),
            "weekday": int((now_ms // DAY_MS + 3) % 7),  # 0 = Monday (1970-01-01 was a Thursday)
            "segment": f"fan_of_cat{traits.favourite_category}",
            "social": traits.social,
        }

    def prompt_context(self, user: User | int, item_id: str, now_ms: int) -> dict[str, Any]:
        """The session context plus what elicit would derive from its own records (service/decide/prompt_state.py)."""
        u = self._user(user)
        return {**self.session_context(u, now_ms), "prompts_today": u.prompts_today(now_ms),
                "consumed": u.consumed.get(item_id, 0)}

    def candidates(self, user: User | int, n: int | None = None, rng: np.random.Generator | None = None) -> list[dict[str, Any]]:
        """``n`` distinct catalogue items, drawn uniformly from ``rng`` (default: the user's stream).

        Legacy form ``candidates(n)`` (service/cli/demo.py) draws from the driver stream ``self.rng``.
        """
        if n is None:  # legacy call: the only argument is the count
            n, rng = int(user), rng or self.rng
        elif rng is None:
            rng = self._user(user).rng
        picks = rng.choice(len(self.catalogue), size=min(n, len(self.catalogue)), replace=False)
        return [self.catalogue[int(i)] for i in picks]

    # --- behaviour -----------------------------------------------------------------------
    def react_to_slate(self, user: User | int, slate: list[dict[str, Any]], now_ms: int) -> list[dict[str, Any]]:
        """One outcome per slot, in slot order: ``consume`` / ``purchase`` (durables) / ``click`` / ``skip``.

        Each slot is judged with the state left by the slots above it, so consuming one comedy
        makes the next comedy in the same slate a little less appealing.
        """
        u = self._user(user)
        u.settle(now_ms, self.params.burnt_threshold)
        outcomes = []
        for entry in sorted(slate, key=lambda e: e["slot"]):
            item = self.by_id[entry["item_id"]]
            p = consume_probability(self.params, u, item, int(entry["slot"]), now_ms)
            draw = u.rng.random()
            if draw < p:
                kind = "purchase" if item["kind"] == "durable" else "consume"
                u.consumed[item["id"]] = u.consumed.get(item["id"], 0) + 1
                if kind == "purchase":
                    u.purchases[item["category"]] = now_ms
                exposure = 1.0
            else:
                # Reuse the draw (uniform on [p, 1) here) so a click costs no extra random number.
                kind = "click" if (draw - p) < (1 - p) * self.params.click_share * p else "skip"
                exposure = self.params.view_exposure
            u.add_exposure(item["category"], exposure, now_ms)
            u.add_exposure(item["creator"], exposure, now_ms)
            u.observe_slot(item, now_ms)
            outcomes.append({"item_id": item["id"], "type": kind})
        return outcomes

    def answer_probabilities(self, user: User | int, fmt: str, visibility: str, now_ms: int) -> dict[str, float]:
        """Exact P(answered / dismissed / abandoned / ignored) of a prompt shown now (no dice)."""
        u = self._user(user)
        u.settle(now_ms, self.params.burnt_threshold)
        traits = u.traits
        return prompt_probabilities(self.params, traits.answer_propensity, traits.sensitivity, fmt, visibility,
                                    u.prompts_today(now_ms), u.burnt)

    def like_probability(self, user: User | int, item_id: str, fmt: str, visibility: str, now_ms: int) -> float:
        """Exact P(the prompt ends in a like — up or double up) in the user's state now (no dice)."""
        u = self._user(user)
        answered = self.answer_probabilities(u, fmt, visibility, now_ms)["answered"]
        thumbs = thumb_probabilities(self.params, liking(u, self.by_id[item_id]), fmt)
        return answered * (1.0 - thumbs["thumbs_down"])

    def answer_prompt(self, user: User | int, item_id: str, ask: bool, format: str | None,  # noqa: A002 (the API's name)
                      visibility: str | None, now_ms: int) -> str | None:
        """What the user does with a prompt decision: a thumb, ``dismissed``, ``abandoned`` or None.

        None means nothing to send: no prompt was shown (``ask`` false), or it was ignored. A
        single-format prompt only gets down/up. A like (up or double up) is recorded, so the
        slates of the following day decide whether it burns the user.
        """
        if not ask:
            return None
        if format not in FORMATS or visibility not in VISIBILITIES:
            raise ValueError(f"a shown prompt needs format in {FORMATS} and visibility in {VISIBILITIES}")
        u = self._user(user)
        probs = self.answer_probabilities(u, format, visibility, now_ms)
        u.note_prompt(now_ms)
        draw = u.rng.random()
        if draw < probs["abandoned"]:
            return "abandoned"
        draw -= probs["abandoned"]
        if draw >= probs["answered"]:
            return "dismissed" if draw - probs["answered"] < probs["dismissed"] else None
        item = self.by_id[item_id]
        thumbs = thumb_probabilities(self.params, liking(u, item), format)
        value = str(u.rng.choice(list(thumbs), p=np.asarray(list(thumbs.values())) / sum(thumbs.values())))
        if value != "thumbs_down":
            u.record_like(item, now_ms)
        return value

    def record_like(self, user: User | int, item_id: str, now_ms: int) -> None:
        """A like given outside a prompt (``POST /v1/feedback``): watch the next day's slates too."""
        self._user(user).record_like(self.by_id[item_id], now_ms)

    # --- helpers and the legacy calls of service/cli/demo.py ---------------------------------
    def _user(self, user: User | int) -> User:
        return user if isinstance(user, User) else self.users[int(user)]

    def _legacy_now(self) -> int:
        return self.clock.now_ms() if self.clock is not None else START_MS

    def context(self, user: int) -> dict[str, Any]:
        """Legacy: :meth:`session_context` at the clock's time (``START_MS`` without a clock)."""
        return self.session_context(user, self._legacy_now())

    def react(self, user: int, slate: list[dict[str, Any]], by_id: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        """Legacy: :meth:`react_to_slate` at the clock's time; ``by_id`` is ignored (the catalogue is ours)."""
        return self.react_to_slate(user, slate, self._legacy_now())
