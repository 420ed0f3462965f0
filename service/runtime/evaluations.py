"""Offline evaluations and their safe apply, wired from the parts that do the work.

An evaluation values, over a window of joined decisions of one kind: the logged policy,
uniform, the baseline (the first candidate for slates, never asking for prompts), the
live learning settings, each setting the user supplies and the optimizer's best
(service/evaluate/search.py) — every learning setting by progressive validation
(service/evaluate/progressive.py), so all are out of sample. Run at once by
``elicit evaluate`` or in a background thread by ``POST /v1/evaluations``; stored in
``evaluations`` either way.

Apply (``POST /v1/evaluations/<id>/apply``) switches the live settings to the chosen one
only if its value *and* its lower bound beat the live setting's — Personalizer's rule —
and then retrains on the recent window and publishes (service/learn/retrain.py);
otherwise :class:`ApplyRefused` (409) carries both bounds.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from bandit.errors import Conflict, InvalidInput, NotFound
from bandit.ope import IPS, CascadeIPS
from policies.first_candidate import FirstCandidateSlatePolicy
from policies.prompts import LearnedPromptPolicy, NeverAsk, UniformPrompt
from policies.slates import LearnedSlatePolicy, UniformSlatePolicy
from service.core.clock import Clock
from service.core.errors import ApplyRefused
from service.evaluate.features import feature_importance
from service.evaluate.policy_values import prompt_chunk, slate_chunk
from service.evaluate.progressive import Decisions, Learning, Scored, fixed_value, progressive_value
from service.evaluate.search import STAGES, Stage, staged_search
from service.learn.learner import KindLearner
from service.learn.publish import FACTORIES, checked_args
from service.learn.retrain import Retrainer
from service.log.decisions import evaluation_query
from service.store import Store
from service.store.settings import SettingsStore

log = logging.getLogger("elicit")
KINDS = ("slate", "prompt")


class Evaluations:
    def __init__(self, store: Store, settings: SettingsStore, learners: Mapping[str, KindLearner[Any]],
                 retrainer: Retrainer, config: Mapping[str, Any], clock: Clock) -> None:
        self.store, self.settings, self.learners = store, settings, learners
        self.retrainer, self.config, self.clock = retrainer, config, clock
        self.stages: Sequence[Stage] = STAGES  # tests search a smaller grid
        self.threads: dict[str, threading.Thread] = {}

    def learning(self, kind: str) -> Learning:
        epsilon, learner = float(self.config["EPSILON"]), self.learners[kind]

        def learn(model: Any, run: list[Mapping[str, Any]]) -> None:
            learner.learn_run(model, [(decision, decision.get("reward")) for decision in run])

        if kind == "slate":
            return Learning(lambda args: FACTORIES[kind](epsilon, args), learn, LearnedSlatePolicy,
                            lambda run, target: slate_chunk(run, target), CascadeIPS())
        floor = float(self.config["PROMPT_FLOOR"])
        return Learning(lambda args: FACTORIES[kind](epsilon, args), learn,
                        lambda model: LearnedPromptPolicy(model, floor),
                        lambda run, target: prompt_chunk(run, target), IPS())

    def check(self, kind: str, since_ms: int, until_ms: int, supplied: Mapping[str, str]) -> int:
        """The window's joined decisions, once the request is known to be valid."""
        if kind not in KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
        if until_ms <= since_ms:
            raise InvalidInput("until must be after since", field="until")
        reference = FACTORIES[kind](float(self.config["EPSILON"]), str(self.config[f"{kind.upper()}_VW_ARGS"]))
        for name, args in supplied.items():
            try:
                checked_args(kind, args, float(self.config["EPSILON"]), reference)
            except InvalidInput as exc:
                raise InvalidInput(exc.message, field=f"settings.{name}") from exc
        count = self.store.count_decisions(evaluation_query(kind, since_ms, until_ms))
        needed = int(self.config["EVALUATION_MIN_DECISIONS"])
        if count < needed:
            raise InvalidInput(f"{count} joined {kind} decisions in the window; an evaluation needs "
                               f"EVALUATION_MIN_DECISIONS = {needed}", field="since")
        return count

    def features(self, kind: str, since_ms: int, until_ms: int, names: Sequence[str] | None = None,
                 namespaces: bool = True) -> list[dict[str, Any]]:
        """Feature importance under the live settings (service/evaluate/features.py)."""
        self.check(kind, since_ms, until_ms, {})
        decisions: Decisions = lambda: self.store.iter_decisions(evaluation_query(kind, since_ms, until_ms))  # noqa: E731
        live_args = str(self.retrainer.live(kind)["vw_args"])
        return feature_importance(decisions, self.learning(kind), live_args, kind, names, namespaces)

    def run(self, kind: str, since_ms: int, until_ms: int, supplied: Mapping[str, str] | None = None,
            features: bool = False) -> dict[str, Any]:
        """The evaluation's result (synchronous); see the module doc. ``features``: with
        feature importance under the live settings."""
        supplied = dict(supplied or {})
        count = self.check(kind, since_ms, until_ms, supplied)
        decisions: Decisions = lambda: self.store.iter_decisions(evaluation_query(kind, since_ms, until_ms))  # noqa: E731
        learning = self.learning(kind)
        fixed = ({"logged": None, "uniform": UniformSlatePolicy(), "baseline": FirstCandidateSlatePolicy()}
                 if kind == "slate" else {"logged": None, "uniform": UniformPrompt(), "baseline": NeverAsk()})
        rows: list[Scored] = [fixed_value(decisions, learning.rows, learning.estimator, target, name)
                              for name, target in fixed.items()]
        live_args = str(self.retrainer.live(kind)["vw_args"])
        cache: dict[str, Scored] = {}

        def score(args: str) -> Scored:
            if args not in cache:
                cache[args] = progressive_value(decisions, learning, args)
            return cache[args]

        rows.append(_named(score(live_args), "live"))
        rows.extend(_named(score(args), f"user:{name}") for name, args in supplied.items())
        search = staged_search(kind, score, self.stages)
        rows.append(_named(search.best, "optimized"))
        return {"kind": kind, "since": since_ms, "until": until_ms, "decisions": count,
                "estimator": type(learning.estimator).__name__, "alpha": 0.05,
                "policies": [row.as_dict() for row in rows], "search": search.stages,
                "features": self.features(kind, since_ms, until_ms) if features else None}

    def start(self, kind: str, since_ms: int, until_ms: int, supplied: Mapping[str, str] | None = None,
              run: str = "manual", background: bool = True, features: bool = False,
              evaluation_id: str | None = None) -> dict[str, Any]:
        """Check the request now, store it as running and run it — in a background thread
        (the stored document is returned at once), or here (``background=False``: returned
        once done or failed)."""
        supplied = dict(supplied or {})
        self.check(kind, since_ms, until_ms, supplied)
        if evaluation_id is not None and self.settings.evaluation(evaluation_id) is not None:
            raise Conflict(f"evaluation {evaluation_id!r} exists already", field="evaluation_id")
        doc = {"_id": evaluation_id or f"ev-{uuid.uuid4().hex[:12]}", "run": run, "kind": kind, "since": since_ms, "until": until_ms,
               "settings": supplied, "features": features, "status": "running", "created_at": self.clock.now_ms(),
               "result": None}
        self.settings.insert_evaluation(doc)
        args = (doc["_id"], kind, since_ms, until_ms, supplied, features)
        if not background:
            self._background(*args)
            return self.get(doc["_id"])
        thread = threading.Thread(target=self._background, args=args,
                                  name=f"evaluation-{doc['_id']}", daemon=True)
        self.threads[doc["_id"]] = thread
        thread.start()
        return doc

    def _background(self, evaluation_id: str, kind: str, since_ms: int, until_ms: int, supplied: Mapping[str, str],
                    features: bool) -> None:
        try:
            result = self.run(kind, since_ms, until_ms, supplied, features)
        except Exception as exc:
            log.exception("evaluation %s failed", evaluation_id)
            self.settings.update_evaluation(evaluation_id, {"status": "failed", "error": str(exc)})
            return
        self.settings.update_evaluation(evaluation_id, {"status": "done", "result": result,
                                                        "finished_at": self.clock.now_ms()})

    def get(self, evaluation_id: str) -> dict[str, Any]:
        found = self.settings.evaluation(evaluation_id)
        if found is None:
            raise NotFound(f"no evaluation {evaluation_id!r}", field="evaluation_id")
        return found

    def apply(self, evaluation_id: str, policy: str = "optimized") -> dict[str, Any]:
        """Make ``policy``'s setting live if it beats the live one (module doc); what was published."""
        doc = self.get(evaluation_id)
        if doc["status"] != "done":
            raise InvalidInput(f"evaluation {evaluation_id} is {doc['status']}, not done", field="evaluation_id")
        by_name = {row["name"]: row for row in doc["result"]["policies"]}
        if policy not in by_name:
            raise InvalidInput(f"no policy {policy!r} in this evaluation; one of {', '.join(by_name)}", field="policy")
        chosen, live = by_name[policy], by_name["live"]
        if not chosen["vw_args"]:
            raise InvalidInput(f"{policy!r} is not a learning setting", field="policy")
        bounds = {"chosen": _bounds(chosen), "live": _bounds(live)}
        if not (chosen["low"] > live["low"] and chosen["value"] > live["value"]):
            raise ApplyRefused(f"{policy} ({chosen['low']:.4f} … {chosen['high']:.4f}) does not beat the live setting's "
                               f"lower bound {live['low']:.4f} and value {live['value']:.4f}", bounds)
        retrained = self.retrainer.apply(doc["kind"], str(chosen["vw_args"]), "evaluation",
                                         {"evaluation": evaluation_id, "policy": policy})
        applied = {**retrained.as_dict(), **bounds, "applied_at": self.clock.now_ms()}
        self.settings.update_evaluation(evaluation_id, {"applied": applied})
        return applied


def _named(scored: Scored, name: str) -> Scored:
    return Scored(name, scored.vw_args, scored.interval, scored.decisions, scored.diagnostics)


def _bounds(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": row["name"], "vw_args": row["vw_args"], "value": row["value"], "low": row["low"], "high": row["high"]}
