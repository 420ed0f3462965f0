"""Everything one service process holds: store, clock, models, deciders, background jobs.

The process's wiring, in one place: each part gets what it needs (a store, a registry, a
callable), never the runtime itself. Built once by :func:`service.http.app.create_app`
(kept in ``app.extensions["elicit"]``) or by a command of ``elicit`` that needs no HTTP.
"""

from __future__ import annotations

import atexit
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bandit.actions import ActionModel
from bandit.slates import SlateModel
from policies.guards import SlateRules
from service.core.clock import Clock, SystemClock
from service.core.errors import StoreUnavailable
from service.decide.catalogue import Catalogue
from service.decide.event_writer import EventWriter, applying
from service.decide.experiments import ExperimentBook
from service.decide.prompts import PromptService
from service.decide.slate_state import SlateUserState
from service.decide.slates import SlateDecider
from service.decide.state_writer import StateWriter
from service.evaluate.retention import Retention, RetentionPolicy
from service.learn.learner import Learner, SlateLearner
from service.learn.lease import LearnerLease, LeasedLearner
from service.learn.prompt_learner import PromptLearner
from service.learn.retrain import Retrainer
from service.log.durable import DurableLog
from service.log.spool import Spool
from service.reports.build import build_report
from service.reports.context import ReportSources
from service.reports.scheduler import ReportScheduler
from service.runtime.auto_optimize import AutoOptimizer
from service.runtime.evaluations import Evaluations
from service.store import EmbeddedMongo, Store
from service.store.experiments import ExperimentStore
from service.store.keys import KeyDocuments, KeyStore
from service.store.models import ModelRegistry
from service.store.privacy import PrivacyStore
from service.store.retention import RetentionStore
from service.store.settings import SettingsStore
from service.store.state import CatalogueStore, SlateHistoryStore, UserStateStore

log = logging.getLogger("elicit")


def slate_rules(config: Mapping[str, Any]) -> SlateRules:
    return SlateRules(
        exclude_consumed=bool(config["EXCLUDE_CONSUMED"]),
        durable_cooldown_days=float(config["DURABLE_COOLDOWN_DAYS"]),
        exhaustion_share=float(config["EXHAUSTION_SHARE"]),
        cap_per_category=int(config["CAP_PER_CATEGORY"]),
        cap_per_creator=int(config["CAP_PER_CREATOR"]),
        lift_days=float(config["LIFT_S"]) / 86400.0,
    )


class Runtime:
    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        if config["LEARNER"] not in ("in_process", "external"):
            raise ValueError(f"LEARNER must be in_process or external, got {config['LEARNER']!r}")
        if config["LEARNING_MODE"] not in ("online", "apprentice"):
            raise ValueError(f"LEARNING_MODE must be online or apprentice, got {config['LEARNING_MODE']!r}")
        self.clock: Clock = config.get("CLOCK") or SystemClock()
        self.embedded: EmbeddedMongo | None = None
        self.closed = False  # set by close()
        uri = config.get("MONGO_URI")
        if not uri:
            self.embedded = EmbeddedMongo(Path(str(config["DATA_DIR"]))).start()
            atexit.register(self.embedded.stop)
            uri = self.embedded.uri
            log.info("started embedded store at %s", uri)
        self.store = Store(str(uri), str(config["DB"]), timeout_ms=int(config["STORE_TIMEOUT_MS"]),
                           write_concern=config["WRITE_CONCERN"], journal=bool(config["WRITE_JOURNAL"]))
        # Decisions and outcomes go through the durable log: store, or the spool while it is down.
        spool_dir = config.get("SPOOL_DIR") or Path(str(config["DATA_DIR"])) / "spool" / str(config["DB"])
        self.spool = Spool(Path(spool_dir), int(config["SPOOL_MAX_BYTES"]))
        self.privacy = PrivacyStore(self.store.db)
        self.log = DurableLog(self.store, self.spool, float(config["SPOOL_RETRY_S"]), forgotten=self.privacy.forgotten_at,
                              linger_s=float(config["GROUP_COMMIT_LINGER_MS"]) / 1000.0,
                              batch_max=int(config["GROUP_COMMIT_MAX_DOCS"]))
        self.keys = KeyStore(KeyDocuments(self.store.db), float(config["AUTH_CACHE_S"]))
        self.keys.store_down = lambda: self.log.down
        epsilon = float(config["EPSILON"])
        slate_args = str(config["SLATE_VW_ARGS"])
        self.slate_models: ModelRegistry[SlateModel] = ModelRegistry(
            self.store, "slate", lambda: SlateModel.new(epsilon=epsilon, args=slate_args), SlateModel.from_bytes
        )
        self.catalogue = CatalogueStore(self.store.db)
        self.items = Catalogue(self.catalogue, config, self.clock)
        self.history = SlateHistoryStore(self.store.db)
        user_store = UserStateStore(self.store.db)
        self.state_writer = StateWriter(user_store.set_fields_many, on_error=self._state_write_failed,
                                        linger_s=float(config["STATE_WRITE_LINGER_S"]),
                                        forgotten=self.privacy.forgotten_at, erase=self.privacy.erase_state)
        # Prompts counted as shown: the same write-behind, over the prompt state's per-event updates.
        self.event_writer = EventWriter(applying(self.store.apply_user_events), on_error=self._state_write_failed,
                                        linger_s=float(config["STATE_WRITE_LINGER_S"]),
                                        forgotten=self.privacy.forgotten_at, erase=self.privacy.erase_state)
        self.user_state = SlateUserState(
            user_store, self.catalogue, slate_rules(config), float(config["SATIATION_HALF_LIFE_DAYS"]), self.state_writer
        )
        # User-level experiments: definitions cached per worker, arms by keyed hash (no write per request).
        self.experiment_log = ExperimentStore(self.store.db)
        self.experiments = ExperimentBook(self.experiment_log, str(config["SECRET"]), float(config["EXPERIMENTS_CACHE_S"]))
        self.slates = SlateDecider(self.store, self.slate_models, config, self.clock, self.items, self.user_state, self.log,
                                   self.experiments)
        prompt_args = str(config["PROMPT_VW_ARGS"])
        self.prompt_models: ModelRegistry[ActionModel] = ModelRegistry(
            self.store, "prompt", lambda: ActionModel.new(epsilon=epsilon, args=prompt_args), ActionModel.from_bytes
        )
        self.prompts = PromptService(self.store, self.prompt_models, config, self.clock, self.log, self.experiments,
                                     summary=self.user_state, events=self.event_writer)
        self.prompts.feedback_hooks.append(self.user_state.record_feedback)
        self.log.hooks.update(slate=self.slates.after_spooled, outcome=self.slates.after_spooled_outcome,
                              prompt=self.prompts.after_spooled)
        self.log.start()
        self.learner = Learner(
            SlateLearner(self.store, self.slate_models, config, self.clock),
            PromptLearner(self.store, self.prompt_models, config, self.clock),
        )
        self.settings = SettingsStore(self.store.db)
        self.retrainer = Retrainer(self.store, self.settings, self.learner.kinds, config, self.clock,
                                   lambda kind: (self.slate_models if kind == "slate" else self.prompt_models).refresh())
        self.evaluations = Evaluations(self.store, self.settings, self.learner.kinds, self.retrainer, config, self.clock)
        self.auto_optimizer = AutoOptimizer(self.store, self.settings, self.evaluations, config, self.clock)
        self.leased_learner = LeasedLearner(
            self.learner, LearnerLease(self.store, self.clock, float(config["LEARNER_LEASE_S"])), int(config["LEARN_BATCH"])
        )
        self.report_sources = ReportSources(
            self.store, config, self.clock, self.slate_models, self.prompt_models, tuple(self.prompts.actions),
            self.history, self.catalogue, self.experiment_log,
        )
        self.scheduler: BackgroundScheduler | None = None
        self.retention = Retention(RetentionStore(self.store), RetentionPolicy.of(config), self.clock)
        self.report_scheduler = ReportScheduler(self.store, config, self.clock, self._nightly_report,
                                                after=self.retention.run)
        self.ready_error: str | None = None
        try:
            self.store.ensure_indexes()
            self.catalogue.ensure_indexes()
            self.experiment_log.ensure_indexes()
            self.user_state.users.ensure_indexes()
            self.keys.docs.ensure_indexes()
            self.slate_models.refresh()
            self.prompt_models.refresh()
        except Exception as exc:  # the store may come up later; /readyz says so meanwhile
            self.ready_error = str(exc)
            log.warning("store not ready at start-up: %s", exc)

    def start_background(self) -> None:
        """Model refresh, nightly report and (unless ``LEARNER`` is ``external``) learner
        passes as APScheduler jobs. The learner job only learns while this process holds
        the learner lease, so any number of processes may run it (service/learn/lease.py)."""
        if self.scheduler is not None:
            return
        logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per job run
        scheduler = BackgroundScheduler(timezone="UTC")
        if self.config["LEARNER"] != "external":
            scheduler.add_job(self._learn, "interval", seconds=float(self.config["LEARN_INTERVAL_S"]), max_instances=1, coalesce=True)
        scheduler.add_job(self._refresh, "interval", seconds=float(self.config["MODEL_REFRESH_S"]), max_instances=1, coalesce=True)
        self.report_scheduler.attach(scheduler)
        if self.auto_optimizer.enabled:  # hourly look: due once AUTO_OPTIMIZE_DAYS have passed (event time)
            scheduler.add_job(self.auto_optimizer.wake, "interval", hours=1, max_instances=1, coalesce=True)
        scheduler.start()
        self.scheduler = scheduler

    def _nightly_report(self, since_ms: int, until_ms: int, report_id: str) -> dict[str, Any]:
        address = self.config.get("REPORT_DASK_SCHEDULER")
        if not address:
            return build_report(self.report_sources, since_ms, until_ms, kind="nightly", report_id=report_id)
        from dataclasses import replace

        from service.reports.partitions import dask_partitions

        with dask_partitions(address=str(address)) as partitions:  # the slate pass on that cluster
            sources = replace(self.report_sources, partitions=partitions)
            return build_report(sources, since_ms, until_ms, kind="nightly", report_id=report_id)

    def _learn(self) -> None:
        try:
            self.leased_learner.pass_if_leader()
        except Exception:
            log.exception("learner pass failed; it will be retried")

    def _refresh(self) -> None:
        try:
            self.slate_models.refresh()
            self.prompt_models.refresh()
        except Exception:
            log.exception("model refresh failed; serving the current version")

    def _state_write_failed(self, exc: Exception) -> None:
        if isinstance(exc, StoreUnavailable):
            self.log.mark_down(exc)

    def close(self) -> None:
        """Graceful shutdown: flush what is queued, ship the spool, let go of the store. Idempotent."""
        if self.closed:
            return
        self.closed = True
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
        if self.leased_learner.leading:
            self.leased_learner.release_quietly()
        self.state_writer.close(float(self.config["SHUTDOWN_FLUSH_S"]))
        self.event_writer.close(float(self.config["SHUTDOWN_FLUSH_S"]))
        self.log.close(float(self.config["SHUTDOWN_FLUSH_S"]))  # graceful shutdown ships the spool
        self.store.close()
        if self.embedded is not None:
            self.embedded.stop()
