"""Write-behind for users' per-event prompt-state updates (a prompt counted as shown).

Counting a prompt as shown (service/decide/prompt_state.py, ``prompt_shown``) is derived from
the prompt decision, which is durable before it is queued here; so it does not hold up the
response. One thread per process applies every queued user's events in one read and one
bulk write (``Store.apply_user_events``), each once per event id, exactly as the synchronous
``apply_user_event`` did — the same optimistic ``rev`` check, so two workers' counts of one
user are both kept.

Read-your-writes: a prompt decision reads the user's document through :meth:`overlay`, which
applies the events still queued or in flight and not yet in the document's ``events`` list,
so the next prompt of the user in this process counts the last one. Durability and
forgetting are those of the slate-state write-behind (service/decide/state_writer.py): a
graceful stop flushes; a kill -9 loses the last moments' counts (a prompt then counts as
not shown: one answer-rate feature is a little off for that user); a user forgotten while
their events were queued is erased again after the write.

    >>> batches = []
    >>> def shown(state): state["shown"] = state.get("shown", 0) + 1
    >>> writer = EventWriter(batches.append)
    >>> writer.overlay("u", {"shown": 1, "events": ["e0"]})  # nothing queued
    {'shown': 1, 'events': ['e0']}
    >>> writer.put("u", [("e1", shown)], at=5); writer.flush(5.0)
    True
    >>> [{user: [event for event, _ in events] for user, events in batch.items()} for batch in batches]
    [{'u': ['e1']}]
    >>> writer.close(1.0)
"""

from __future__ import annotations

import copy
from typing import Any

from service.decide.prompt_state import Change
from service.decide.state_writer import WriteBehind

Events = list[tuple[str, Change]]


class EventWriter(WriteBehind[Events]):
    what = "prompt-state events"

    def _merge(self, queued: Events | None, value: Events) -> Events:
        return [*(queued or []), *value]

    def _apply(self, state: dict[str, Any], value: Events) -> dict[str, Any]:
        seen = set(state.get("events") or [])
        fresh = [(event_id, change) for event_id, change in value if event_id not in seen]
        if not fresh:
            return state
        merged = copy.deepcopy(state)
        for event_id, change in fresh:
            change(merged)
            seen.add(event_id)
            merged["events"] = [*(merged.get("events") or []), event_id]
        return merged
