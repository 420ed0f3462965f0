"""Prompt-side per-user state (collection ``users``) and the context elicit derives from it.

One document per user, ``_id`` = the pseudonymous user key; every update is a
:data:`Change` applied by :meth:`Store.apply_user_event`, once per event id, so a retried
request never counts twice. Lists are bounded; all times are epoch milliseconds. The
fields this module owns (other features keep theirs in the same document)::

    prompts     [{t, event_id, format, visibility, session}]   the last 100 prompts shown
    shown       {single, graded, private, public: n}            prompts shown, ever
    answered    {single, graded, private, public: n}            thumbs given to them
    dismissals  [t], abandons [t]                               the last 50 of each
    feedback_count  n                                           explicit feedback, prompted or not
    liked       [{item_id, category, creator, value, t}]        the last 100 up / double_up
    disliked    [{item_id, category, creator, t}]               the last 100 down
    lifts       [{on: category|creator, value, until}]          double_up lifts the caps until ``until``
    events      [event id]                                      idempotency (the last 500)

``liked``, ``disliked`` and ``lifts`` are what the slate filters of docs/design.md ("Graded
thumbs") read: ``up`` is remembered but lifts nothing; ``double_up`` lifts the caps on its
item's category and creator for ``LIFT_S``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from policies.prompts import SESSION_FLAG
from service.decide.prompt_summary import RecentServing

#: Edits a user document in place (see ``Store.apply_user_event``).
Change = Callable[[dict[str, Any]], None]
KEEP = 100
KEEP_SHORT = 50
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


def _append(state: dict[str, Any], key: str, values: list[Any], keep: int = KEEP) -> None:
    state[key] = (list(state.get(key) or []) + values)[-keep:]


def _count(state: dict[str, Any], key: str, *names: str) -> None:
    counts = dict(state.get(key) or {})
    for name in names:
        counts[name] = int(counts.get(name, 0)) + 1
    state[key] = counts


def session_of(context: Mapping[str, Any]) -> str | None:
    """The client's ``session_id`` context feature, when it sends one as a string."""
    value = context.get("session_id")
    return value if isinstance(value, str) else None


def prompt_shown(decision: Mapping[str, Any]) -> Change:
    chosen = decision["chosen"]
    entry = {"t": decision["t"], "event_id": decision["_id"], "format": chosen["format"],
             "visibility": chosen["visibility"], "session": session_of(decision["context"])}

    def change(state: dict[str, Any]) -> None:
        _append(state, "prompts", [entry])
        _count(state, "shown", chosen["format"], chosen["visibility"])

    return change


def feedback_given(value: str, item_id: str, facts: Mapping[str, Any], t: int, lift_ms: int) -> Change:
    """Explicit feedback on an item (``facts``: its category and creator, when known)."""
    category, creator = facts.get("category"), facts.get("creator")

    def change(state: dict[str, Any]) -> None:
        state["feedback_count"] = int(state.get("feedback_count", 0)) + 1
        if value == "down":
            _append(state, "disliked", [{"item_id": item_id, "category": category, "creator": creator, "t": t}])
            return
        _append(state, "liked", [{"item_id": item_id, "category": category, "creator": creator, "value": value, "t": t}])
        if value == "double_up":
            lifts = [{"on": on, "value": name, "until": t + lift_ms} for on, name in (("category", category), ("creator", creator)) if name]
            _append(state, "lifts", lifts)

    return change


def prompt_answered(decision: Mapping[str, Any], response: str, t: int) -> Change:
    """What a prompt's response does to the user's prompt history (feedback is added apart)."""
    chosen = decision["chosen"]

    def change(state: dict[str, Any]) -> None:
        if response == "dismissed":
            _append(state, "dismissals", [t], KEEP_SHORT)
        elif response == "abandoned":
            _append(state, "abandons", [t], KEEP_SHORT)
        else:
            _count(state, "answered", chosen["format"], chosen["visibility"])

    return change


def both(*changes: Change) -> Change:
    def change(state: dict[str, Any]) -> None:
        for each in changes:
            each(state)

    return change


def item_facts(slates: Iterable[Mapping[str, Any]], item_id: str) -> dict[str, Any]:
    """Category and creator of an item, from the newest slate that offered it; and the
    newest slate that *served* it (``served_in``), if any."""
    facts: dict[str, Any] = {}
    for slate in slates:  # newest first
        if "category" not in facts:
            for candidate in slate.get("candidates") or []:
                if candidate.get("id") == item_id:
                    facts.update(category=candidate.get("category"), creator=candidate.get("creator"))
                    break
        if "served_in" not in facts and any(choice["item_id"] == item_id for choice in slate.get("chosen") or []):
            facts["served_in"] = slate
        if "category" in facts and "served_in" in facts:
            break
    return facts


def _since_bucket(ms: int | None) -> str:
    if ms is None:
        return "never"
    for limit, name in ((5 * 60_000, "lt5m"), (HOUR_MS, "lt1h"), (DAY_MS, "lt1d")):
        if ms < limit:
            return name
    return "ge1d"


def _rate(user: Mapping[str, Any], key: str) -> float:
    """Laplace-smoothed answer rate: (answers + 1) / (shown + 2), 0.5 with no history."""
    shown = int((user.get("shown") or {}).get(key, 0))
    answered = int((user.get("answered") or {}).get(key, 0))
    return round((answered + 1) / (shown + 2), 4)


def derive_context(
    user: Mapping[str, Any],
    recent: RecentServing,
    client_context: Mapping[str, Any],
    now: int,
    config: Mapping[str, Any],
) -> dict[str, Any]:
    """The context elicit adds to a prompt decision (VW namespace ``D``).

    ``recent``: the user's slates of the last ``PROMPT_HISTORY_S`` and the prompted item's
    consumption from them (service/decide/prompt_summary.py). "Day" and "hour" are the last
    24 h and 60 min of event time.
    """
    history_ms = int(float(config["PROMPT_HISTORY_S"]) * 1000)
    prompts = list(user.get("prompts") or [])
    times = [int(p["t"]) for p in prompts]
    last = prompts[-1] if prompts else None
    since = now - int(last["t"]) if last else None
    session = session_of(client_context)
    if last is None:
        in_session = False
    elif session is not None:
        in_session = last.get("session") == session
    else:
        in_session = since is not None and since < float(config["PROMPT_SESSION_GAP_S"]) * 1000
    day = sum(t > now - DAY_MS for t in times)

    consumed = recent.consumed
    liked_categories = {
        like["category"] for like in user.get("liked") or [] if like.get("category") and like["t"] > now - history_ms
    }
    slots = hits = 0
    for t, categories in recent.slates:
        if t <= now - DAY_MS:
            continue
        slots += len(categories)
        hits += sum(category in liked_categories for category in categories)
    return {
        "prompts_1h": sum(t > now - HOUR_MS for t in times),
        "prompts_24h": day,
        "prompts_today": str(day) if day < 3 else "3+",
        "since_last_prompt": _since_bucket(since),
        "hours_since_last_prompt": round(min(since if since is not None else 7 * DAY_MS, 7 * DAY_MS) / HOUR_MS, 3),
        SESSION_FLAG: in_session,
        **{f"answer_rate_{key}": _rate(user, key) for key in ("single", "graded", "private", "public")},
        "dismissals_recent": sum(t > now - history_ms for t in user.get("dismissals") or []),
        "abandons_recent": sum(t > now - history_ms for t in user.get("abandons") or []),
        "feedback_count": int(user.get("feedback_count", 0)),
        "consumed": consumed > 0,
        "consumed_amount": round(consumed, 4),
        "berserk_share": round(hits / slots, 4) if slots else 0.0,
    }
