"""Exporting the decision log: JSONL (elicit's own, re-importable) and VW's DSJSON.

DSJSON is the format ``vw --dsjson`` and Azure Personalizer logs use: slates become CCB
events (``_multi`` actions, ``_slots``, per-slot ``_outcomes`` with ``_a``/``_p`` — chosen
action first — and cost = −reward; read them with ``--ccb_explore_adf --dsjson``), prompt
decisions become CB events (``_label_*``, ``a``/``p``; ``--cb_explore_adf --dsjson``). A
file may hold both kinds; split it by ``"_outcomes"`` before feeding VW. Features are written as VW JSON with the same tokens the text encoder
produces (``name=value`` with weight 1, numbers as ``name: value``), so a model trained
from the export sees what elicit's model saw.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Iterator, Mapping
from typing import IO, Any

from bandit.features import escape_token, nested_namespace


def _key(text: str) -> str:
    token = escape_token(text)
    return "%5F" + token[1:] if token.startswith("_") else token  # keys starting "_" are DSJSON keywords


def vw_json(features: Mapping[str, Any], namespace: str) -> dict[str, dict[str, float]]:
    """VW-JSON namespaces for a feature dict (the twin of :func:`bandit.features.encode`).

    >>> vw_json({"device": "tv", "hour": 13, "tags": ["a"], "geo": {"cc": "FR"}}, "U")
    {'U': {'device=tv': 1, 'hour': 13, 'tags=a': 1}, 'U_geo': {'cc=FR': 1}}
    """
    spaces: dict[str, dict[str, float]] = {}

    def put(space: str, name: str, value: Any) -> None:
        bucket = spaces.setdefault(space, {})
        if isinstance(value, bool):
            bucket[f"{_key(name)}={'true' if value else 'false'}"] = 1
        elif isinstance(value, (int, float)):
            bucket[_key(name)] = value
        elif isinstance(value, str):
            bucket[f"{_key(name)}={escape_token(value)}"] = 1
        else:
            for item in value:
                bucket[f"{_key(name)}={escape_token(item)}"] = 1

    for name, value in features.items():
        if isinstance(value, Mapping):
            for inner, inner_value in value.items():
                put(nested_namespace(namespace, name), inner, inner_value)
        else:
            put(namespace, name, value)
    return spaces


def _timestamp(ms: int) -> str:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _candidate_json(candidate: Mapping[str, Any]) -> dict[str, Any]:
    identity = {"id": candidate["id"], "kind": candidate.get("kind", "single")}
    for field in ("category", "creator"):
        if candidate.get(field) is not None:
            identity[field] = candidate[field]
    return {**vw_json(identity, "I"), **vw_json(candidate.get("features") or {}, "A")}


def slate_dsjson(decision: Mapping[str, Any]) -> dict[str, Any]:
    """One CCB DSJSON event for a slate decision."""
    index = {candidate["id"]: i for i, candidate in enumerate(decision["candidates"])}
    rewards = decision.get("reward") or [0.0] * len(decision["chosen"])
    slots = []
    outcomes = []
    for choice, reward in zip(decision["chosen"], rewards):
        slot = decision["slots"][choice["slot"]]
        slots.append({"_id": str(choice["slot_id"]), **vw_json({"position": str(choice["slot"])}, "S"),
                      **vw_json(slot.get("features") or {}, "Sf")})
        order = [choice["item_id"]] + [item for item in choice["allowed"] if item != choice["item_id"]]
        probability = dict(zip(choice["allowed"], choice["distribution"]))
        outcomes.append({
            "_id": str(choice["slot_id"]),
            "_label_cost": -float(reward),
            "_a": [index[item] for item in order],
            "_p": [probability[item] for item in order],
        })
    return {
        "Timestamp": _timestamp(decision["t"]),
        "Version": "1",
        "EventId": str(decision["_id"]),
        "c": {**vw_json(decision.get("context") or {}, "U"),
              "_multi": [_candidate_json(c) for c in decision["candidates"]], "_slots": slots},
        "_outcomes": outcomes,
        "VWState": {"m": decision.get("model_version", "")},
        **({} if decision.get("activated", True) else {"_deferred": True}),
        **_experiments(decision),
    }


def _prompt_action_json(name: str) -> dict[str, Any]:
    if name == "none":
        return vw_json({"action": name, "ask": False}, "A")
    fmt, _, visibility = name.partition("/")
    return vw_json({"action": name, "ask": True, "format": fmt, "visibility": visibility}, "A")


def prompt_dsjson(decision: Mapping[str, Any]) -> dict[str, Any]:
    """One CB DSJSON event for a prompt decision (1-based action ids, chosen first)."""
    chosen = decision["chosen"]
    index = int(chosen["index"])
    order = [index] + [k for k in range(len(decision["actions"])) if k != index]
    event: dict[str, Any] = {}
    if decision.get("learn_version") is not None:  # joined: the label is known
        event.update({
            "_label_cost": -float(decision.get("reward") or 0.0),
            "_label_probability": float(chosen["probability"]),
            "_label_Action": index + 1,
            "_labelIndex": index,
        })
    return {
        **event,
        "Timestamp": _timestamp(decision["t"]),
        "Version": "1",
        "EventId": str(decision["_id"]),
        "a": [k + 1 for k in order],
        "c": {**vw_json(decision.get("context") or {}, "U"), **vw_json(decision.get("derived") or {}, "D"),
              "_multi": [_prompt_action_json(name) for name in decision["actions"]]},
        "p": [float(decision["distribution"][k]) for k in order],
        "VWState": {"m": decision.get("model_version", "")},
        **_experiments(decision),
    }


def _experiments(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The user's experiment arms, as ``_experiments``: VW's DSJSON reader skips the key
    (no feature, no label), and analyses can split the events by arm."""
    return {"_experiments": dict(decision["experiments"])} if decision.get("experiments") else {}


def jsonl_record(decision: Mapping[str, Any]) -> dict[str, Any]:
    """The decision as stored, with ``event_id`` for ``_id`` — what ``--from-jsonl`` reads."""
    record = {key: value for key, value in decision.items() if key != "_id"}
    return {"event_id": str(decision["_id"]), **record}


DSJSON_WRITERS = {"slate": slate_dsjson, "prompt": prompt_dsjson}


def read_jsonl(handle: IO[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"line {number}: not JSON ({exc})") from exc
        record["_id"] = record.pop("event_id")
        yield record


def write(decisions: Iterable[Mapping[str, Any]], handle: IO[str], fmt: str) -> int:
    count = 0
    for decision in decisions:
        if fmt == "dsjson":
            writer = DSJSON_WRITERS.get(str(decision.get("kind")))
            if writer is None:
                continue
            record = writer(decision)
        else:
            record = jsonl_record(decision)
        handle.write(json.dumps(record, default=str) + "\n")
        count += 1
    return count
