"""Per-user slate state: what the anti-berserk rules and satiation features read.

Kept under ``users.<key>.slate`` (the prompt state of service/decide/prompt_state.py lives beside it).
Decayed counts are stored as ``[value, event time]`` and decayed on read with the
configured half-life (docs/design.md, "Graded thumbs and not going berserk": exposures fade, appetite recovers with rest), so no job
has to sweep them. Writes are read-modify-write on one user's document: two concurrent
requests of the same user may lose one increment, which a decayed count shrugs off.
Explicit feedback the rules act on (thumbs down, double-up lifts) is kept here too, written
when it arrives (:meth:`SlateUserState.record_feedback`), so a slate reads one document; and
so is the summary of recent slates that prompt decisions read (service/decide/prompt_summary.py).
Exposures, consumption and the summary go through the write-behind (service/decide/state_writer.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from bandit.slates import Candidate
from policies.guards import SlateRules, UserView
from service.decide.prompt_summary import appended_amounts, appended_slots
from service.decide.state_writer import StateWriter
from service.store.privacy import TOMBSTONE
from service.store.state import CatalogueStore, UserStateStore, field_key, unfield_key

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
CONSUMING = ("consume", "purchase")


def decayed(entry: Sequence[float] | None, now_ms: int, half_life_ms: float) -> float:
    """``value × 2^(−age / half-life)``.

    >>> decayed([4.0, 0], 2 * DAY_MS, DAY_MS), decayed(None, 5, DAY_MS)
    (1.0, 0.0)
    """
    if not entry:
        return 0.0
    value, since = entry
    return float(value) * 2.0 ** (-max(0, now_ms - since) / half_life_ms)


class SlateUserState:
    """Reads a :class:`UserView` for a slate request and records what was served and consumed."""

    def __init__(
        self,
        users: UserStateStore,
        catalogue: CatalogueStore,
        rules: SlateRules,
        half_life_days: float,
        writer: StateWriter | None = None,
    ) -> None:
        self.users = users
        self.catalogue = catalogue
        self.rules = rules
        self.half_life_ms = half_life_days * DAY_MS
        # Exposure updates go through it, off the response path (service/decide/state_writer.py).
        self.writer = writer

    def state_of(self, user: str) -> dict[str, Any]:
        """The user's stored slate state, with this process's unwritten exposure updates."""
        state = self.users.get(user)
        return state if self.writer is None else self.writer.overlay(user, state)

    def with_pending(self, user: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """``state`` as read by someone else (a prompt decision reads the whole user document)
        with this process's unwritten updates on top."""
        return dict(state) if self.writer is None else self.writer.overlay(user, state)

    def record_summary(self, user: str, fields: Mapping[str, Any], now_ms: int) -> None:
        """A backfilled prompt summary (service/decide/prompt_summary.py), queued like the
        slate's own updates so that a later one of the same process lands after it."""
        self._write(user, fields, now_ms)

    def view(self, user: str, now_ms: int, candidates: Sequence[Candidate]) -> tuple[UserView, dict[str, Any]]:
        """The user's view for the rules, with satiation features per candidate, and the raw state."""
        state = self.state_of(user)
        thumbs_down = frozenset(unfield_key(k) for k in (state.get("thumbs_down") or {}))
        lift_since = now_ms - self.rules.lift_days * DAY_MS
        lifts = {unfield_key(k): entry for k, entry in (state.get("lifts") or {}).items() if entry[0] >= lift_since}
        # Category and creator as known when the double-up was given; else as known now.
        info = self._item_info([i for i, entry in lifts.items() if entry[1] is None and entry[2] is None], candidates)
        lifted_categories = frozenset(
            entry[1] or info.get(i, {}).get("category") for i, entry in lifts.items()
        ) - {None}
        lifted_creators = frozenset(entry[2] or info.get(i, {}).get("creator") for i, entry in lifts.items()) - {None}

        cooldown = self.rules.durable_cooldown_days * DAY_MS
        durable = frozenset(unfield_key(k) for k, t in (state.get("durable") or {}).items() if now_ms - t < cooldown)
        consumed = frozenset(unfield_key(k) for k in (state.get("consumed") or {}))
        exhausted = self._exhausted(state.get("by_creator") or {})
        # Satiation depends on the candidate only through its category and creator: computed
        # once per pair (a 50-item slate has a handful), the mapping shared by its candidates.
        by_pair: dict[tuple[str | None, str | None], dict[str, Any]] = {}
        satiation = {}
        for c in candidates:
            pair = (c.category, c.creator)
            features = by_pair.get(pair)
            if features is None:
                features = by_pair[pair] = self._satiation(state, c, now_ms, exhausted)
            satiation[c.id] = features
        view = UserView(consumed, durable, thumbs_down, lifted_categories, lifted_creators, exhausted, satiation)
        return view, state

    def record_feedback(self, user: str, item_id: str, value: str, t: int, facts: Mapping[str, Any]) -> None:
        """Explicit feedback the rules act on, kept in the user's state so that a slate reads
        one document: a thumbs down excludes the item; a double-up lifts its category's and
        creator's caps for ``lift_days`` (``facts``: the item's category and creator, if known)."""
        key = field_key(item_id)
        if value == "down":
            self.users.set_fields(user, {f"thumbs_down.{key}": t})
            return
        # Every like, for the over-reaction arm of an experiment (service/decide/experiments.py).
        fields = {f"liked.{key}": [t, facts.get("category"), facts.get("creator"), value]}
        if value == "double_up":
            fields[f"lifts.{key}"] = [t, facts.get("category"), facts.get("creator")]
        self.users.set_fields(user, fields)

    def liked(self, state: Mapping[str, Any], since_ms: int, values: Collection[str],
              candidates: Sequence[Candidate]) -> tuple[frozenset[str], frozenset[str]]:
        """Categories and creators of the items liked (with one of ``values``) since ``since_ms``."""
        likes = {unfield_key(k): entry for k, entry in (state.get("liked") or {}).items()
                 if entry[0] >= since_ms and entry[3] in values}
        info = self._item_info([i for i, entry in likes.items() if entry[1] is None and entry[2] is None], candidates)
        categories = frozenset(entry[1] or info.get(i, {}).get("category") for i, entry in likes.items()) - {None}
        creators = frozenset(entry[2] or info.get(i, {}).get("creator") for i, entry in likes.items()) - {None}
        return categories, creators

    def blank_view(self, candidates: Sequence[Candidate], now_ms: int) -> tuple[UserView, dict[str, Any]]:
        """The view of a user with no history: for decisions made while the store is down."""
        satiation = {c.id: self._satiation({}, c, now_ms, frozenset()) for c in candidates}
        return UserView(satiation=satiation), {}

    def _item_info(self, item_ids: Iterable[str], candidates: Sequence[Candidate]) -> dict[str, dict[str, Any]]:
        wanted = set(item_ids)
        info: dict[str, dict[str, Any]] = {
            c.id: {"category": c.category, "creator": c.creator} for c in candidates if c.id in wanted
        }
        missing = wanted - set(info)
        info.update(self.catalogue.get_many(missing) if missing else {})
        return info

    def _exhausted(self, by_creator: Mapping[str, Mapping[str, Any]]) -> frozenset[str]:
        creators = {unfield_key(key): len(items) for key, items in by_creator.items()}
        sizes = self.catalogue.creator_sizes(creators)
        return frozenset(
            creator for creator, consumed in creators.items()
            if sizes.get(creator, 0) > 0 and consumed / sizes[creator] >= self.rules.exhaustion_share
        )

    def _satiation(self, state: Mapping[str, Any], candidate: Candidate, now_ms: int, exhausted: frozenset[str]) -> dict[str, Any]:
        features: dict[str, Any] = {}
        for facet, name in (("cat", candidate.category), ("creator", candidate.creator)):
            if name is None:
                continue
            key = field_key(name)
            for prefix in ("exp", "cons"):
                entry = (state.get(f"{prefix}_{facet}") or {}).get(key)
                features[f"{prefix}_{facet}"] = round(decayed(entry, now_ms, self.half_life_ms), 4)
        if candidate.creator is not None:
            seen = (state.get("seen_creator") or {}).get(field_key(candidate.creator))
            features["creator_seen"] = seen is not None
            if seen is not None:
                features["since_creator_h"] = round(min((now_ms - seen) / HOUR_MS, 24 * 90), 2)
            features["exhausted"] = candidate.creator in exhausted
        return features

    def _bumped(self, state: Mapping[str, Any], field: str, names: Iterable[str], now_ms: int) -> dict[str, Any]:
        increments: dict[str, int] = defaultdict(int)
        for name in names:
            increments[field_key(name)] += 1
        current = state.get(field) or {}
        return {
            f"{field}.{key}": [decayed(current.get(key), now_ms, self.half_life_ms) + count, now_ms]
            for key, count in increments.items()
        }

    def record_served(self, user: str, now_ms: int, served: Sequence[Candidate], state: Mapping[str, Any]) -> None:
        if user == TOMBSTONE:  # a forgotten user's decision: nobody's state to keep
            return
        fields = {
            **self._bumped(state, "exp_cat", [c.category for c in served if c.category is not None], now_ms),
            **self._bumped(state, "exp_creator", [c.creator for c in served if c.creator is not None], now_ms),
            **{f"seen_creator.{field_key(c.creator)}": now_ms for c in served if c.creator is not None},
            # What prompt decisions read instead of the log (service/decide/prompt_summary.py).
            "recent_slots": appended_slots(state, now_ms, [c.category for c in served]),
            **({"summary": 1} if not state else {}),  # a first slate: no history to backfill
        }
        self._write(user, fields, now_ms)

    def _write(self, user: str, fields: Mapping[str, Any], now_ms: int) -> None:
        """Derived bookkeeping, off the response path when there is a writer (state_writer.py)."""
        if self.writer is None:
            self.users.set_fields(user, fields)
        else:
            self.writer.put(user, fields, at=now_ms)

    def record_outcomes(
        self, user: str, now_ms: int, decision: Mapping[str, Any], outcomes: Iterable[Mapping[str, Any]]
    ) -> None:
        """Consumption and durable purchases from a slate's outcomes."""
        if user == TOMBSTONE:
            return
        outcomes = list(outcomes)
        items = {c["id"]: c for c in decision["candidates"]}
        consumed = [items[o["item_id"]] for o in outcomes if o["type"] in CONSUMING and o["item_id"] in items]
        if not consumed:
            return
        state = self.state_of(user)
        fields: dict[str, Any] = {
            **self._bumped(state, "cons_cat", [c["category"] for c in consumed if c.get("category")], now_ms),
            **self._bumped(state, "cons_creator", [c["creator"] for c in consumed if c.get("creator")], now_ms),
        }
        for item in consumed:
            fields[f"consumed.{field_key(item['id'])}"] = now_ms
            if item.get("creator"):
                fields[f"by_creator.{field_key(item['creator'])}.{field_key(item['id'])}"] = now_ms
        amounts: dict[str, list[float]] = defaultdict(list)
        for outcome in outcomes:
            item = items.get(outcome["item_id"])
            if outcome["type"] == "purchase" and item and item.get("kind") == "durable" and item.get("category"):
                fields[f"durable.{field_key(item['category'])}"] = now_ms
            if outcome["type"] == "consume" and item:
                amounts[item["id"]].append(float(outcome.get("value", 1.0)))
        for item_id, values in amounts.items():  # prompt_summary.py: what prompt decisions read
            fields[f"consumed_amounts.{field_key(item_id)}"] = appended_amounts(state, item_id, int(decision["t"]), values)
        self._write(user, fields, now_ms)
