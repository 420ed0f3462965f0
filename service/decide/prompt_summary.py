"""The running summary of a user's recent slates that prompt decisions read.

A prompt's derived context needs two things of the user's recent slates: the categories of
the slots served in the last 24 h (``berserk_share``) and how much of the prompted item the
user consumed from slates of the last ``PROMPT_HISTORY_S`` (``consumed``,
``consumed_amount``). Reading them from the decisions and outcomes collections cost two
store queries per prompt. Instead the writes that already follow every slate and outcome
keep them in the user's slate state (service/decide/slate_state.py), so a prompt reads only
the user's document:

    recent_slots        [[t, [category of each served slot]], ...]   the newest 100 slates
    consumed_amounts    {item: [[decision t, amount], ...]}           the newest 20 per item
    summary             1 once the two are complete for this user

A user whose state predates the summary (no ``summary`` mark) is backfilled from the log by
their next prompt: that prompt reads the log as before, derives the same context from it,
and writes the summary it read (:func:`backfill_fields`). A user whose slate state is empty
when their first slate is recorded has no history to backfill and is marked complete then.

What differs from the log read, on purpose: consumption counts on every slate of the
window, not only on the newest 100; and, as with the satiation counts (read-modify-write,
service/decide/slate_state.py), two slates of one user recorded at the same instant by two
workers may keep only one entry. Both only nudge two features; the log stays the truth.

    >>> state = {"recent_slots": [[5, ["doc"]]]}
    >>> state["recent_slots"] = appended_slots(state, 9, ["film", None])
    >>> state["consumed_amounts"] = {"m1": appended_amounts(state, "m1", 9, [0.5])}
    >>> from_summary(state, "m1", since_ms=0)
    RecentServing(slates=((9, ('film', None)), (5, ('doc',))), consumed=0.5)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from service.store.state import field_key

#: Slates kept (as the log read read the newest 100 of the window).
KEEP_SLATES = 100
#: Consumption entries kept per item.
KEEP_AMOUNTS = 20


class SummaryState(Protocol):
    """Where the summary lives: the user's slate state, with this process's unwritten updates."""

    def with_pending(self, user: str, state: Mapping[str, Any]) -> dict[str, Any]:
        """The user's stored slate ``state`` with this process's queued writes on top."""
        ...

    def record_summary(self, user: str, fields: Mapping[str, Any], now_ms: int) -> None:
        """Write slate-state ``fields`` (a backfilled summary) as the slate's own updates are written."""
        ...


@dataclass(frozen=True)
class RecentServing:
    """What a prompt's derived context needs of the user's recent slates: each slate's event
    time and the categories of its served slots (newest first), and the prompted item's
    consumed amount on slates of the history window."""

    slates: tuple[tuple[int, tuple[str | None, ...]], ...] = ()
    consumed: float = 0.0


def appended_slots(state: Mapping[str, Any], t: int, categories: Sequence[str | None]) -> list[Any]:
    """``recent_slots`` with one more slate, in event-time order, the newest ``KEEP_SLATES``."""
    entries = [*(state.get("recent_slots") or []), [int(t), list(categories)]]
    entries.sort(key=lambda entry: entry[0])  # a spooled slate may be recorded after newer ones
    return entries[-KEEP_SLATES:]


def appended_amounts(state: Mapping[str, Any], item_id: str, decision_t: int, amounts: Sequence[float]) -> list[Any]:
    """``consumed_amounts.<item>`` with more consumption of it from a slate made at ``decision_t``."""
    entries = [*((state.get("consumed_amounts") or {}).get(field_key(item_id)) or []),
               *([int(decision_t), float(amount)] for amount in amounts)]
    return entries[-KEEP_AMOUNTS:]


def from_summary(state: Mapping[str, Any], item_id: str, since_ms: int) -> RecentServing:
    """:class:`RecentServing` from the summary in the user's slate state."""
    slates = tuple(
        (int(t), tuple(categories)) for t, categories in reversed(state.get("recent_slots") or []) if t >= since_ms
    )
    amounts = (state.get("consumed_amounts") or {}).get(field_key(item_id)) or []
    return RecentServing(slates, sum(float(amount) for t, amount in amounts if t >= since_ms))


def _categories(slate: Mapping[str, Any]) -> tuple[str | None, ...]:
    # Decisions logged before ``chosen`` named the category carry it in their candidates.
    offered = {c.get("id"): c.get("category") for c in slate.get("candidates") or []}
    return tuple(choice.get("category", offered.get(choice["item_id"])) for choice in slate.get("chosen") or [])


def _consumed(docs: Iterable[Mapping[str, Any]], item_id: str) -> list[float]:
    return [float(o.get("value", 1.0)) for doc in docs for o in doc["outcomes"]
            if o["item_id"] == item_id and o["type"] == "consume"]


def from_log(slates: Sequence[Mapping[str, Any]], outcomes: Mapping[str, list[Mapping[str, Any]]], item_id: str) -> RecentServing:
    """:class:`RecentServing` from the user's slate decisions of the window (newest first, as
    ``Store.recent_slates`` reads them) and the outcome documents of those decisions."""
    consumed = sum(sum(_consumed(outcomes.get(slate["_id"]) or [], item_id)) for slate in slates
                   if any(choice["item_id"] == item_id for choice in slate.get("chosen") or []))
    return RecentServing(tuple((int(slate["t"]), _categories(slate)) for slate in slates), consumed)


def backfill_fields(slates: Sequence[Mapping[str, Any]], outcomes: Mapping[str, list[Mapping[str, Any]]]) -> dict[str, Any]:
    """The slate-state fields of a complete summary, from the same log read as :func:`from_log`."""
    fields: dict[str, Any] = {"recent_slots": [[int(slate["t"]), list(_categories(slate))] for slate in reversed(slates)],
                              "summary": 1}
    amounts: dict[str, list[list[Any]]] = {}
    for slate in reversed(slates):  # oldest first, as appended
        served = {choice["item_id"] for choice in slate.get("chosen") or []}
        for item_id in sorted(served):
            for amount in _consumed(outcomes.get(slate["_id"]) or [], item_id):
                amounts.setdefault(field_key(item_id), []).append([int(slate["t"]), amount])
    fields.update({f"consumed_amounts.{key}": entries[-KEEP_AMOUNTS:] for key, entries in amounts.items()})
    return fields
