"""Write-behind for users' per-event prompt-state updates (a prompt counted as shown).

Counting a prompt as shown (service/decide/prompt_state.py, ``prompt_shown``) is derived from
the prompt decision, which is durable before it is queued here; so it does not hold up the
response. One thread per process applies every queued user's events in one bulk write
(``Store.apply_user_events``; no read: each request hands over the document it read), each
once per event id, exactly as the synchronous
``apply_user_event`` did — the same optimistic ``rev`` check, so two workers' counts of one
user are both kept.

Read-your-writes: a prompt decision reads the user's document through :meth:`overlay`, which
applies the events still queued or in flight and not yet in the document's ``events`` list,
so the next prompt of the user in this process counts the last one. Durability and
forgetting are those of the slate-state write-behind (service/decide/state_writer.py): a
graceful stop flushes; a kill -9 loses the last moments' counts (a prompt then counts as
not shown: one answer-rate feature is a little off for that user); a user forgotten while
their events were queued is erased again after the write.

    >>> applied = []
    >>> def shown(state): state["shown"] = state.get("shown", 0) + 1
    >>> writer = EventWriter(applying(lambda events, known: applied.append((events, known))))
    >>> writer.overlay("u", {"shown": 1, "events": ["e0"]})  # nothing queued
    {'shown': 1, 'events': ['e0']}
    >>> writer.put("u", Queued([("e1", shown)], known={"rev": 3}), at=5); writer.flush(5.0)
    True
    >>> [({user: [event for event, _ in events] for user, events in batch.items()}, known) for batch, known in applied]
    [({'u': ['e1']}, {'u': {'rev': 3}})]
    >>> writer.close(1.0)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from service.decide.prompt_state import Change
from service.decide.state_writer import WriteBehind
from service.store.user_events import applied

Events = list[tuple[str, Change]]
#: ``Store.apply_user_events``: each user's events, and the documents already read.
ApplyEvents = Callable[[Mapping[str, Events], Mapping[str, Mapping[str, Any]]], None]


@dataclass(frozen=True)
class Queued:
    """A user's events to apply, and their document as the request read it from the store
    (``{}``: none), so that the write need not read it again; None: not read."""

    events: Events
    known: Mapping[str, Any] | None = field(default=None, compare=False)


def _newer(a: Mapping[str, Any] | None, b: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """The later read of two of a user's document: the higher ``rev`` (every event write bumps it)."""
    if a is None or b is None:
        return b if a is None else a
    return b if int(b.get("rev") or 0) >= int(a.get("rev") or 0) else a


def applying(apply: ApplyEvents) -> Callable[[dict[str, Queued]], None]:
    """An :class:`EventWriter`'s write: ``apply`` each user's events with the documents read."""
    def write(batch: dict[str, Queued]) -> None:
        apply({user: queued.events for user, queued in batch.items()},
              {user: queued.known for user, queued in batch.items() if queued.known is not None})

    return write


class EventWriter(WriteBehind[Queued]):
    what = "prompt-state events"

    def _merge(self, queued: Queued | None, value: Queued) -> Queued:
        if queued is None:
            return value
        return Queued([*queued.events, *value.events], _newer(queued.known, value.known))

    def _apply(self, state: dict[str, Any], value: Queued) -> dict[str, Any]:
        # What the store's write will make of the document (the events it has not seen yet,
        # applied in order); the key only names a document that does not exist yet.
        merged = applied(str(state.get("_id", "")), state or None, value.events)
        return state if merged is None else merged
