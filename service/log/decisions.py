"""The one definition of a logged decision: how serving builds it, how everyone reads it.

A decision document (collection ``decisions``, ``_id`` = event id) is written once, before
the client hears of it (service/log/durable.py), and read back by the learner, the
off-policy evaluation, the nightly report, the export and the Personalizer surface. Its
shape is fixed here, on both sides:

* every kind: ``_id``, ``kind`` (``slate`` | ``prompt``), ``t`` (event time, epoch ms),
  ``user`` (pseudonymous key), ``context`` (as validated), ``policy``, ``model_version``,
  ``exploration``, ``activated``/``activated_at``/``window_end`` (the reward window),
  ``learn_version``/``learned_at``/``reward`` (set once by the learner's claim),
  ``request_digest`` (replays of an ``event_id``), ``degraded: true`` when it was
  decided without the store, and ``experiments: {name: arm}`` (with ``experiment_arms``,
  the same pairs for queries) when user-level experiments enrolled the user;
* slates: ``candidates`` (each as the policy saw it: id, features, category, creator,
  kind, satiation, and ``item``, the hash of its body the store keeps it under),
  ``excluded``, ``caps`` (the cap state in force), ``slots`` (id, features and, for other
  API surfaces, per-slot ``excluded`` ids), ``chosen`` (one entry per served slot: the
  item, its category and creator, its conditional ``probability``, the ids it was
  ``allowed`` to be and the ``distribution`` over them), optional ``origin``;
* prompts: ``item_id``, ``derived`` (context elicit added from its own records),
  ``actions`` (names), ``chosen`` (index, action, format, visibility, probability),
  ``ask``, ``distribution``, ``response`` (set once by the user's answer);
  ``exploration.visibility`` when an experiment arm imposed the visibility.

The store keeps slate decisions compact (service/store/compact.py) and gives every reader
the full document back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bandit.slates import ITEM_TEXTS, Candidate
from policies.guards import CapState
from policies.slates import Eligibility, both, excluding
from service.store.compact import ITEM_FIELDS, item_hash
from service.store.experiments import ARMS_FIELD, arm_tag

KINDS = ("slate", "prompt")

# building -------------------------------------------------------------------------------------

#: Each item body's stored name (``item_hash``) by its text key, which fixes the body:
#: hashing canonical JSON per candidate per slate was ~1 ms of a 50-candidate decision.
_ITEM_DIGESTS: dict[str, str] = {}


def candidate_doc(candidate: Candidate) -> dict[str, Any]:
    """A candidate as logged: its body, the satiation it was decided with, the body's hash."""
    # The features map is shared, not copied (50 copies of ~20 keys a slate): nothing edits
    # a decision's features, and the store copies them for every reader (compact.py).
    doc = {
        "id": candidate.id, "features": candidate.features, "category": candidate.category,
        "creator": candidate.creator, "kind": candidate.kind, "satiation": dict(candidate.satiation),
    }
    digest = _ITEM_DIGESTS.get(candidate.item_key)
    if digest is None:
        if len(_ITEM_DIGESTS) >= ITEM_TEXTS.limit:
            _ITEM_DIGESTS.clear()
        digest = _ITEM_DIGESTS[candidate.item_key] = item_hash({key: doc[key] for key in ITEM_FIELDS})
    doc["item"] = digest
    return doc


def reward_window(now: int, activated: bool, window_ms: int) -> dict[str, Any]:
    """The activation fields: a deferred decision's window opens when it is activated."""
    return {"activated": activated, "activated_at": now if activated else None,
            "window_end": now + window_ms if activated else None}


def unlearned() -> dict[str, Any]:
    """The learner's fields before its claim (service/learn/learner.py)."""
    return {"learn_version": None, "learned_at": None, "reward": None}


def slate_decision(
    *, event_id: str, now: int, user: str, context: Mapping[str, Any], candidates: Sequence[Candidate],
    excluded: list[dict[str, Any]], caps: Mapping[str, Any], slots: list[dict[str, Any]], choices: Sequence[Any],
    model_version: str, exploration: Mapping[str, Any], activated: bool, window_ms: int, request_digest: str | None,
    origin: Mapping[str, Any] | None = None, degraded: bool = False, experiments: Mapping[str, str] | None = None,
    policy: str = "learned",
) -> dict[str, Any]:
    """A slate decision as logged. ``choices``: the policy's ``SlotChoice`` s, in slot order;
    ``slots``: each slot's id, features and (other API surfaces) ``excluded`` ids;
    ``policy``: ``learned``, or ``apprentice`` (the baseline served with probability 1)."""
    by_id = {c.id: c for c in candidates}
    return {
        "_id": event_id,
        "kind": "slate",
        "t": now,
        "user": user,
        "context": context,
        "candidates": [candidate_doc(c) for c in candidates],
        "excluded": excluded,
        "caps": caps,
        "slots": slots,
        "chosen": [
            {
                "slot": c.slot,
                "slot_id": c.slot_id,
                "item_id": c.item_id,
                # what the served item was, beside it: readers of recent history (the
                # prompt context) then need no candidate list (service/decide/prompt_state.py)
                "category": by_id[c.item_id].category,
                "creator": by_id[c.item_id].creator,
                "probability": c.probability,
                "allowed": list(c.allowed),
                "distribution": list(c.distribution),
            }
            for c in choices
        ],
        "policy": policy,
        "model_version": model_version,
        "exploration": dict(exploration),
        **reward_window(now, activated, window_ms),
        **unlearned(),
        "request_digest": request_digest,
        **({} if origin is None else {"origin": dict(origin)}),
        **tagged(experiments),
        # decided without the store: on an empty user state (and cached catalogue only)
        **({"degraded": True} if degraded else {}),
    }


def prompt_decision(
    *, event_id: str, now: int, user: str, item_id: str, context: Mapping[str, Any], derived: Mapping[str, Any],
    actions: Sequence[Any], index: int, distribution: Sequence[float], model_version: str,
    exploration: Mapping[str, Any], window_ms: int, request_digest: str | None, degraded: bool = False,
    experiments: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """A prompt decision as logged: ``actions[index]`` (a ``PromptAction``) was served with
    probability ``distribution[index]``."""
    action = actions[index]
    return {
        "_id": event_id,
        "kind": "prompt",
        "t": now,
        "user": user,
        "item_id": item_id,
        "context": context,
        "derived": derived,
        "actions": [a.name for a in actions],
        "chosen": {"index": index, "action": action.name, "format": action.format,
                   "visibility": action.visibility, "probability": float(distribution[index])},
        "ask": action.ask,
        "distribution": [float(p) for p in distribution],
        "policy": "learned",
        "model_version": model_version,
        "exploration": dict(exploration),
        **reward_window(now, True, window_ms),
        "response": None,
        **unlearned(),
        "request_digest": request_digest,
        **tagged(experiments),
        **({"degraded": True} if degraded else {}),
    }


def tagged(experiments: Mapping[str, str] | None) -> dict[str, Any]:
    """The experiments a decision was in: ``experiments: {name: arm}`` for readers, and the
    same pairs as ``experiment_arms`` for the store's indexed queries (service/store/experiments.py).

    >>> tagged({"vis": "public"}), tagged(None)
    ({'experiments': {'vis': 'public'}, 'experiment_arms': ['vis:public']}, {})
    """
    if not experiments:
        return {}
    return {"experiments": dict(experiments), ARMS_FIELD: [arm_tag(name, arm) for name, arm in sorted(experiments.items())]}


def forced_visibility(decision: Mapping[str, Any]) -> str | None:
    """The visibility an experiment arm imposed on a prompt decision (``exploration.visibility``):
    such a decision had no chance of the other visibility, so off-policy estimates of targets
    that want it must leave the decision out (no support), while the experiment counts it."""
    return (decision.get("exploration") or {}).get("visibility")


# reading --------------------------------------------------------------------------------------


def candidates_of(decision: Mapping[str, Any]) -> list[Candidate]:
    """The candidates a logged slate decision sampled from, with the satiation features it saw."""
    return [
        Candidate(
            c["id"], c.get("features") or {}, c.get("category"), c.get("creator"), c.get("kind") or "single",
            c.get("satiation") or {},
        )
        for c in decision["candidates"]
    ]


def eligibility_of(decision: Mapping[str, Any]) -> Eligibility:
    """The rule that decided which candidates each slot allowed: per-slot exclusions (if
    any) and the caps in force when it was served, as logged."""
    per_slot = excluding([slot.get("excluded") or () for slot in decision["slots"]])
    caps = CapState.from_dict(decision.get("caps"))
    return per_slot if caps is None else both(per_slot, caps.eligibility())


def slot_pairs(decision: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """Each slot's id and features, in order."""
    return [(slot["id"], slot.get("features") or {}) for slot in decision["slots"]]


def served_ids(decision: Mapping[str, Any]) -> list[str]:
    """The items a slate decision served, slot by slot."""
    return [choice["item_id"] for choice in decision["chosen"]]


def logged_probabilities(decision: Mapping[str, Any]) -> list[float]:
    """Slates log one conditional probability per slot, prompts one for the action.

    >>> logged_probabilities({"chosen": [{"probability": 0.5}, {"probability": 0.25}]})
    [0.5, 0.25]
    >>> logged_probabilities({"chosen": {"probability": 0.9}}), logged_probabilities({})
    ([0.9], [])
    """
    chosen: Sequence[Mapping[str, Any]] | Mapping[str, Any] = decision.get("chosen") or []
    if isinstance(chosen, Mapping):
        chosen = [chosen]
    return [float(choice["probability"]) for choice in chosen if choice.get("probability") is not None]


def evaluation_query(kind: str, since_ms: int, until_ms: int) -> dict[str, Any]:
    """Decisions that count: activated, joined with their outcomes, inside the window."""
    return {"kind": kind, "t": {"$gte": since_ms, "$lt": until_ms}, "activated": True, "learn_version": {"$ne": None}}


def evaluated(decision: Mapping[str, Any]) -> bool:
    """:func:`evaluation_query` (kind and window aside) as the server matches it, for passes
    that read every decision and keep the joined ones: ``activated: True`` also matches
    the 1 that nx-27017 returns for a boolean written by ``$set`` (a deferred decision
    activated later, docs/store.md), hence ``==`` and not ``is``.

    >>> evaluated({"activated": True, "learn_version": 2}), evaluated({"activated": 1, "learn_version": 0})
    (True, True)
    >>> evaluated({"activated": False, "learn_version": 2}), evaluated({"activated": True, "learn_version": None})
    (False, False)
    """
    return decision.get("activated") == True and decision.get("learn_version") is not None  # noqa: E712
