"""The reference the serving benchmark compares elicit against: a bare Flask app that parses
the same JSON and calls VW once — for a slate one CCB predict over all slots, for a prompt
one ``cb_explore_adf`` predict — and answers. No validation, no user state, no logging.

``POST /v1/slates-logged`` and ``/v1/prompts-logged`` (when ``BARE_LOG_URI`` names a store)
do the same and also insert one document the size of an elicit decision into that store,
with elicit's write concern, one write per request, before answering: *bare + write*, the
floor of any design that makes each decision durable before answering, which separates
what the durable write costs on this store from what elicit itself adds.

Item texts come from the same per-process cache elicit uses (bandit/slates.py), so the
reference pays for no encoding elicit does not pay for either.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

from flask import Flask, jsonify, request

from bandit.actions import ActionModel
from bandit.features import encode
from bandit.slates import Candidate, SlateModel, slot_text
from service.store import Store


def create_app() -> Flask:
    app = Flask("bare")
    slates = SlateModel.new(epsilon=0.1)
    prompts = ActionModel.new(epsilon=0.1)
    actions = ["|A format=none", "|A format=single visibility=private", "|A format=single visibility=public",
               "|A format=graded visibility=private", "|A format=graded visibility=public"]

    @app.get("/readyz")
    def ready() -> Any:
        return jsonify({"status": "ready"})

    log_uri = os.environ.get("BARE_LOG_URI")
    log = Store(log_uri, "bare").decisions if log_uri else None

    @app.post("/v1/slates-logged")
    def logged_slate() -> Any:
        answer, status = slate()
        body = request.get_json()
        assert log is not None, "BARE_LOG_URI is not set"
        log.insert_one({"_id": uuid.uuid4().hex, "kind": "slate", "user": body["user_id"], "context": body.get("context"),
                        "chosen": answer.get_json()["slate"], "packed": json.dumps({"candidates": body["candidates"]})})
        return answer, status

    @app.post("/v1/prompts-logged")
    def logged_prompt() -> Any:
        answer, status = prompt()
        body = request.get_json()
        assert log is not None, "BARE_LOG_URI is not set"
        log.insert_one({"_id": uuid.uuid4().hex, "kind": "prompt", "user": body["user_id"], "item_id": body["item_id"],
                        "context": body.get("context"), "chosen": answer.get_json(), "actions": actions})
        return answer, status

    @app.post("/v1/slates")
    def slate() -> Any:
        body = request.get_json()
        candidates = [
            Candidate(c["id"], c.get("features") or {}, c.get("category"), c.get("creator")) for c in body["candidates"]
        ]
        lines = [f"ccb shared {encode(body.get('context') or {}, 'U') or '|'}"]
        lines += [f"ccb action {c.vw_text}" for c in candidates]
        lines += [f"ccb slot {slot_text({}, k)}" for k in range(int(body["slots"]))]
        slots = slates.vw.predict_one(lines)
        chosen = [{"slot": k, "item_id": candidates[s[0][0]].id, "probability": s[0][1]} for k, s in enumerate(slots)]
        return jsonify({"slate": chosen}), 201

    @app.post("/v1/prompts")
    def prompt() -> Any:
        body = request.get_json()
        scores = prompts.vw.predict_one([f"shared {encode(body.get('context') or {}, 'U') or '|'}", *actions])
        best = max(scores, key=lambda pair: pair[1])
        return jsonify({"action": best[0], "probability": best[1]}), 201

    return app
