"""Retrain a kind's model under other learning settings and make them live.

Applying an evaluation's setting, importing settings or restoring the previous ones all
end here: a fresh model under the new VW arguments learns the joined decisions of the
last ``APPLY_RETRAIN_DAYS`` in time order (their stored rewards, the learner's own
examples), is published as the next version with the arguments it was built with
(:func:`service.learn.publish.publish_outside_learner`), and the settings document says
so. The learner continues from that version: its arguments travel in the model's bytes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from itertools import islice
from typing import Any

from bandit.errors import NotFound
from service.core.clock import Clock
from service.learn.learner import LEARN_RUN, KindLearner
from service.learn.publish import FACTORIES, publish_outside_learner
from service.log.decisions import evaluation_query
from service.store import Store
from service.store.settings import SettingsStore

DAY_MS = 86_400_000


@dataclass(frozen=True)
class Retrained:
    """What an apply published: the version, its arguments and what it learned."""

    kind: str
    model_version: str
    vw_args: str
    decisions: int
    since: int
    until: int

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "model_version": self.model_version, "vw_args": self.vw_args,
                "decisions": self.decisions, "since": self.since, "until": self.until}


class Retrainer:
    """Retrain-and-publish for each kind; ``refresh(kind)`` makes this process serve it at once."""

    def __init__(self, store: Store, settings: SettingsStore, learners: Mapping[str, KindLearner[Any]],
                 config: Mapping[str, Any], clock: Clock, refresh: Callable[[str], object]) -> None:
        self.store, self.settings, self.learners = store, settings, learners
        self.config, self.clock, self.refresh = config, clock, refresh

    def live(self, kind: str) -> dict[str, Any]:
        """The live settings of ``kind``: stored ones, or the configuration's."""
        found = self.settings.learning(kind)
        if found is not None:
            return {k: v for k, v in found.items() if k not in ("_id", "previous")} | {"previous": len(found["previous"])}
        return self._configured(kind) | {"previous": 0}

    def _configured(self, kind: str) -> dict[str, Any]:
        return {"kind": kind, "vw_args": str(self.config[f"{kind.upper()}_VW_ARGS"]),
                "epsilon": float(self.config["EPSILON"]), "source": "configuration", "model_version": None,
                "updated_at": None}

    def apply(self, kind: str, vw_args: str, source: str, extra: Mapping[str, Any] | None = None) -> Retrained:
        now = self.clock.now_ms()
        since = now - int(float(self.config["APPLY_RETRAIN_DAYS"]) * DAY_MS)
        epsilon = float(self.config["EPSILON"])
        model = FACTORIES[kind](epsilon, vw_args)
        learner = self.learners[kind]
        decisions = self.store.iter_decisions(evaluation_query(kind, since, now))
        learned = examples = 0
        for run in _runs(decisions):
            examples += learner.learn_run(model, [(decision, decision.get("reward")) for decision in run])
            learned += len(run)
        meta = {"vw_args": vw_args, "epsilon": epsilon, "source": source, "examples_seen": examples,
                "retrained_on": {"since": since, "until": now, "decisions": learned}}
        published = publish_outside_learner(self.store, kind, model.to_bytes(), meta, now)
        self.settings.set_learning(kind, {"vw_args": vw_args, "epsilon": epsilon, "source": source,
                                          "model_version": published["_id"], "updated_at": now, **(extra or {})},
                                  self._configured(kind))
        self.refresh(kind)
        return Retrained(kind, published["_id"], vw_args, learned, since, now)

    def restore(self, kind: str) -> Retrained:
        """Retrain under the settings live before the current ones."""
        found = self.settings.learning(kind)
        if not found or not found.get("previous"):
            raise NotFound(f"no earlier {kind} learning settings to restore", field="kind")
        return self.apply(kind, str(found["previous"][0]["vw_args"]), "restore")


def _runs(decisions: Iterable[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    iterator = iter(decisions)
    while run := list(islice(iterator, LEARN_RUN)):
        yield run
