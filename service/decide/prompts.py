"""Feedback prompts: whether and how to ask, the user's response, and explicit feedback.

A prompt decision is logged like a slate: validated, its context extended with what elicit
knows about the user (:func:`service.decide.prompt_state.derive_context`), decided by the learned
policy with the exact probability it was served with, and written to ``decisions`` before
the response exists. Everything a refused request could write is checked before the first
write; after it, every write is idempotent on an id derived from the event, so a retry
completes an interrupted request instead of counting it twice.

An answer is explicit feedback (collection ``feedback``, with the prompt's visibility).
It also becomes a slate outcome (``thumbs_down`` / ``thumbs_up`` / ``double_thumbs_up``) of
the user's newest slate decision that served the item, when that decision's reward window
is still open — so the slate learner's reward for that item carries the explicit value of
docs/design.md (down −1, up 0.5, double_up 1); later answers only update the user's state.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from bandit.actions import ActionModel
from bandit.errors import Conflict, InvalidInput, NotFound
from policies.arms import with_visibility
from policies.prompts import LearnedPromptPolicy, PromptContext, parse_actions
from policies.rewards import ANSWER_VALUES
from policies.sampling import MIN_SHARE, sample_index, seeded_rng
from service.core.clock import Clock
from service.core.errors import StoreUnavailable
from service.core.idempotency import replayed, request_digest
from service.core.pseudonyms import user_key
from service.decide.event_writer import EventWriter, Queued
from service.decide.experiments import ExperimentBook, arms_of, setting
from service.decide.prompt_state import (
    Change,
    both,
    derive_context,
    feedback_given,
    item_facts,
    prompt_answered,
    prompt_shown,
)
from service.decide.prompt_summary import RecentServing, SummaryState, backfill_fields, from_log, from_summary
from service.decide.requests import FeedbackIn, PromptRequest, PromptResponseIn, check_prompt, parse_model
from service.log.decisions import prompt_decision
from service.log.durable import DurableLog
from service.store import Store
from service.store.models import ModelRegistry

log = logging.getLogger("elicit")
#: Slate decisions of the user read per prompt decision (newest first, within PROMPT_HISTORY_S).
RECENT_SLATES = 100
#: Feedback value → the slate outcome type it becomes.
OUTCOME_OF = {value: answer for answer, value in ANSWER_VALUES.items()}


def prompt_response(decision: Mapping[str, Any]) -> dict[str, Any]:
    chosen = decision["chosen"]
    return {
        "event_id": decision["_id"],
        "ask": chosen["format"] is not None,
        "format": chosen["format"],
        "visibility": chosen["visibility"],
        "probability": chosen["probability"],
        "model_version": decision["model_version"],
        **({"experiments": decision["experiments"]} if decision.get("experiments") else {}),
    }


class PromptService:
    def __init__(
        self, store: Store, registry: ModelRegistry[ActionModel], config: Mapping[str, Any], clock: Clock,
        durable: DurableLog, experiments: ExperimentBook | None = None, summary: SummaryState | None = None,
        events: EventWriter | None = None,
    ) -> None:
        self.store = store
        # Prompts counted as shown, off the response path (service/decide/event_writer.py);
        # without, counted before the response.
        self.events = events
        # The users' running summaries of recent slates (service/decide/prompt_summary.py);
        # without, every prompt reads the user's recent slates and outcomes from the log.
        self.summary = summary
        self.experiments = experiments
        self.log = durable  # decisions: store, or the spool while it is down (service/log/durable.py)
        self.registry = registry
        self.config = config
        self.clock = clock
        self.actions = parse_actions(config["PROMPT_ACTIONS"])
        self.floor = float(config["PROMPT_FLOOR"])  # the asking actions' share, whatever the model learned
        self._rng = seeded_rng(config.get("SEED"), "prompts")
        self._rng_lock = threading.Lock()
        # Told of explicit feedback before it is stored: (user key, item id, value, t, item facts).
        self.feedback_hooks: list[Callable[[str, str, str, int, Mapping[str, Any]], None]] = []

    def _ms(self, key: str) -> int:
        return int(float(self.config[key]) * 1000)

    def _user(self, user_id: str) -> str:
        return user_key(str(self.config["SECRET"]), user_id)

    # decisions ------------------------------------------------------------------------------

    def decide(self, payload: Any) -> tuple[dict[str, Any], bool]:
        """Returns ``(response body, created)``; ``created`` is False for a replayed event id."""
        request = parse_model(PromptRequest, payload)
        check_prompt(request, max_features=int(self.config["MAX_FEATURES"]))
        request_hash = None
        if request.event_id is not None:
            request_hash = request_digest(str(self.config["SECRET"]), payload)
            existing = self.log.get_decision(request.event_id)
            if existing is not None:
                return self._replay(existing, request_hash), False

        now = self.clock.now_ms()
        key = self._user(request.user_id)

        def known() -> tuple[dict[str, Any] | None, dict[str, Any]]:
            stored = self.store.get_user(key) or {}
            # With this process's counts not yet written on top (read-your-writes per user).
            user = stored if self.events is None else self.events.overlay(key, stored)
            return stored, self._derive(user, key, request.item_id, request.context, now)

        def blank() -> tuple[dict[str, Any] | None, dict[str, Any]]:  # store down: what a new user would get
            return None, derive_context({}, RecentServing(), request.context, now, self.config)

        # ``stored``: the user's document as read, handed to the shown count's write (no second read).
        (stored, derived), degraded = self.log.read(known, blank)
        context = PromptContext(request.context, derived)
        model, version_id = self.registry.current()
        pmf = LearnedPromptPolicy(model, self.floor).distribution(context, self.actions)
        arms = self.experiments.arms_for(key, now) if self.experiments is not None else {}
        exploration = {"epsilon": float(self.config["EPSILON"]), "min_share": MIN_SHARE, "floor": self.floor}
        visibility = setting(arms, "prompt_visibility")
        if visibility is not None:  # the arm's distribution is what is sampled and logged
            pmf = with_visibility(pmf, self.actions, visibility)
            exploration["visibility"] = visibility
        with self._rng_lock:  # one generator for all threads; the lock keeps its stream well defined
            index = sample_index(pmf, self._rng)
        decision = prompt_decision(
            event_id=request.event_id or uuid.uuid4().hex, now=now, user=key, item_id=request.item_id,
            context=request.context, derived=derived, actions=self.actions, index=index, distribution=pmf,
            model_version=version_id, exploration=exploration,
            window_ms=self._ms("PROMPT_WINDOW_S"), request_digest=request_hash, degraded=degraded,
            experiments=arms_of(arms),
        )
        existing, spooled = self.log.insert_decision(decision)
        if existing is not None:  # a concurrent request with the same event id won the race
            return self._replay(existing, request_hash), False
        if not spooled:
            self._count_shown(decision, stored)
        return prompt_response(decision), True

    def after_spooled(self, decision: dict[str, Any]) -> None:
        """A spooled prompt decision reached the store: count the prompt as shown."""
        if decision["ask"]:
            self._shown(decision)

    def _replay(self, existing: Mapping[str, Any], request_hash: str | None) -> dict[str, Any]:
        replayed(existing, "prompt", request_hash)
        self._count_shown(existing)  # completes a request that failed after its decision was logged
        return prompt_response(existing)

    def _count_shown(self, decision: Mapping[str, Any], user: dict[str, Any] | None = None) -> None:
        """Idempotent per event; after the decision is durable, so a failure only logs (a
        spooled decision is counted when shipped: :meth:`after_spooled`)."""
        if not decision["ask"]:
            return
        try:
            self._shown(decision, user)
        except StoreUnavailable as exc:
            self.log.mark_down(exc)
            log.warning("prompt %s not yet counted as shown: store unreachable", decision["_id"])

    def _shown(self, decision: Mapping[str, Any], user: dict[str, Any] | None = None) -> None:
        event_id, change = f"shown:{decision['_id']}", prompt_shown(decision)
        if self.events is None:
            self.store.apply_user_event(decision["user"], event_id, change, known=user)
        else:
            self.events.put(decision["user"], Queued([(event_id, change)], known=user), at=int(decision["t"]))

    def _derive(
        self, user: Mapping[str, Any], key: str, item_id: str, client_context: Mapping[str, Any], now: int
    ) -> dict[str, Any]:
        since = now - self._ms("PROMPT_HISTORY_S")
        if self.summary is not None:
            state = self.summary.with_pending(key, user.get("slate") or {})
            if state.get("summary"):  # the running summary: no read of decisions or outcomes
                return derive_context(user, from_summary(state, item_id, since), client_context, now, self.config)
        # No summary yet (state from before it, or no writer of it): read the log, and backfill.
        slates = self.store.recent_slates(key, since, RECENT_SLATES, candidates=False)
        outcomes = self.store.outcomes_for([s["_id"] for s in slates]) if slates else {}
        if self.summary is not None:
            self.summary.record_summary(key, backfill_fields(slates, outcomes), now)
        return derive_context(user, from_log(slates, outcomes, item_id), client_context, now, self.config)

    # responses and feedback -------------------------------------------------------------------

    def respond(self, event_id: str, payload: Any) -> dict[str, Any]:
        request = parse_model(PromptResponseIn, payload)
        decision = self.store.get_decision(event_id)
        if decision is None or decision.get("kind") != "prompt":
            raise NotFound(f"no prompt decision with event id {event_id!r}", field="event_id")
        if not decision["ask"]:
            raise Conflict("no prompt was shown for this decision, so it cannot have a response", field="event_id")
        if decision["chosen"]["format"] == "single" and request.response == "double_thumbs_up":
            raise InvalidInput("a single-format prompt accepts thumbs_down or thumbs_up only", field="response")
        response = {"type": request.response, "t": self.clock.now_ms(), "applied_at": None}
        if not self.store.set_response(event_id, response):
            stored = (self.store.get_decision(event_id) or {}).get("response") or {}
            # The same response again before its side effects were all written: finish them.
            if stored.get("type") != request.response or stored.get("applied_at") is not None:
                raise Conflict("this prompt has a response already", field="response")
            response = stored
        self._apply_response(decision, response)
        return {"event_id": event_id, "accepted": True, "in_window": response["t"] <= decision["window_end"]}

    def _apply_response(self, decision: Mapping[str, Any], response: Mapping[str, Any]) -> None:
        kind, t = response["type"], int(response["t"])
        update = prompt_answered(decision, kind, t)
        if kind in ANSWER_VALUES:
            self._explicit(
                decision["user"], decision["item_id"], ANSWER_VALUES[kind], decision["chosen"]["visibility"], t,
                feedback_id=f"prompt:{decision['_id']}", source="prompt", event_id=decision["_id"], extra=update,
            )
        else:
            self.store.apply_user_event(decision["user"], f"response:{decision['_id']}", update)
        self.store.mark_response_applied(decision["_id"], self.clock.now_ms())

    def record_feedback(self, payload: Any) -> dict[str, Any]:
        """Feedback the user gave without a prompt."""
        request = parse_model(FeedbackIn, payload)
        feedback_id = uuid.uuid4().hex
        self._explicit(
            self._user(request.user_id), request.item_id, request.value, request.visibility, self.clock.now_ms(),
            feedback_id=feedback_id, source="unprompted",
        )
        return {"feedback_id": feedback_id, "recorded": True}

    def _explicit(
        self, key: str, item_id: str, value: str, visibility: str, t: int, *,
        feedback_id: str, source: str, event_id: str | None = None, extra: Change | None = None,
    ) -> None:
        """Store explicit feedback, update the user's state, and feed the slate learner."""
        slates = self.store.recent_slates(key, t - self._ms("PROMPT_HISTORY_S"), RECENT_SLATES)
        facts = item_facts(slates, item_id)
        doc = {"_id": feedback_id, "user": key, "item_id": item_id, "value": value, "visibility": visibility,
               "t": t, "source": source, "event_id": event_id,
               "category": facts.get("category"), "creator": facts.get("creator")}
        for hook in self.feedback_hooks:  # first: a failure here is a failed request, retried whole
            hook(key, item_id, value, t, facts)
        self.store.insert_feedback(doc)
        change = feedback_given(value, item_id, facts, t, self._ms("LIFT_S"))
        self.store.apply_user_event(key, f"feedback:{feedback_id}", change if extra is None else both(change, extra))
        served = facts.get("served_in")
        if served is not None and served.get("activated") and served.get("window_end") is not None and t <= served["window_end"]:
            self.store.insert_outcome({
                "_id": f"{served['_id']}/{feedback_id}", "event_id": served["_id"], "kind": "slate", "t": t,
                "outcomes": [{"item_id": item_id, "type": OUTCOME_OF[value], "value": 1.0}], "source": source,
            })

    def public_feedback(self, user_id: str, limit: int) -> dict[str, Any]:
        docs = self.store.public_feedback(self._user(user_id), limit)
        return {
            "user_id": user_id,
            "feedback": [
                {"item_id": d["item_id"], "value": d["value"], "t": d["t"], "source": d["source"]}
                for d in docs
                if d.get("visibility") == "public"  # the query says so already; this says it twice
            ],
        }
