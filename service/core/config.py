"""Configuration: defaults, then a JSON file named by ``ELICIT_CONFIG``, then ``ELICIT_*``
environment variables, then the overrides a caller (a test) passes — later wins.

Every key is documented in the README's configuration table; the names here are the
names there without the ``ELICIT_`` prefix.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from policies.prompts import DEFAULT_PROMPT_ACTIONS
from policies.rewards import DEFAULT_PROMPT_REWARDS, DEFAULT_SLATE_REWARDS

#: The configuration default of SECRET; production mode refuses to run with it (or without a secret).
DEVELOPMENT_SECRET = "elicit-development-secret"
MIN_SECRET_LENGTH = 32

DEFAULTS: dict[str, Any] = {
    "MONGO_URI": None,  # unset: start the embedded nx-27017 server under DATA_DIR
    "DB": "elicit",
    "DATA_DIR": ".elicit",
    "SECRET": DEVELOPMENT_SECRET,  # keyed hash of user ids; production mode refuses this default
    "REWARD_WINDOW_S": 600.0,
    "EPSILON": 0.1,
    "SLATE_VW_ARGS": "--ccb_explore_adf -q UA -q UI -q SA -q SI --quiet",  # same as bandit.slates
    "SEED": None,  # None: fresh entropy; an int makes sampling reproducible
    "MAX_CANDIDATES": 500,
    "MAX_FEATURES": 200,
    "MAX_CONTENT_LENGTH": 1 << 20,
    "LEARN_INTERVAL_S": 5.0,  # wall seconds between background learner passes
    "LEARN_BATCH": 5000,
    "MODEL_REFRESH_S": 30.0,  # wall seconds between workers' checks for a newer model
    "BACKGROUND_JOBS": True,  # learner (and later scheduler) inside the service process
    "LEARNER": "in_process",  # or "external": only `elicit learner` learns, never the service's workers
    "LEARNER_LEASE_S": 30.0,  # a dead learner's lease blocks a standby at most this long
    "STORE_TIMEOUT_MS": 3000,
    "REPORT_ENABLED": True,  # the nightly off-policy report (runs only where BACKGROUND_JOBS is on)
    "REPORT_HOUR": 2,  # local hour of the nightly run, in REPORT_TIMEZONE
    "REPORT_TIMEZONE": "UTC",  # IANA name; nights and windows are local days there
    "REPORT_WINDOW_DAYS": 1,  # a night's report covers this many local days before it
    "REPORT_MAKEUP_DAYS": 7,  # missed nights made up at start, at most this far back
    "REPORT_LEASE_S": 3600.0,  # event-time seconds a worker holds the nightly lease
    "REPORT_MIN_DECISIONS": 100,  # below this many evaluated decisions a verdict is "not enough data"
    # The headline pools the nightly reports' evidence from REPORT_SINCE (unset: the first
    # night; epoch ms or an ISO date), or over the last REPORT_HISTORY_DAYS when set (> 0).
    "REPORT_SINCE": None,
    "REPORT_HISTORY_DAYS": 0,
    # "When will we know": the half-width (answer-rate points, reward or bits) worth knowing to.
    "REPORT_RESOLUTION": 0.03,
    # Model-backed slate targets (learned, cap_free_greedy) are replayed on a random sample of at
    # most this many of the window's decisions (0: all). Their VW replay costs ~3 ms a decision, so
    # 20,000 is ~1 min of a night's build — a tenth of the 10-minute budget at 1M decisions — while
    # the interval's half-width, 1.96·sd/√20000 ≈ 0.014 sd of a slate's value, still resolves
    # differences of a few percent of a reward; below it nothing is sampled.
    "REPORT_REPLAY_SAMPLE": 20_000,
    "SLATE_REWARDS": DEFAULT_SLATE_REWARDS,
    "PROMPT_REWARDS": DEFAULT_PROMPT_REWARDS,
    "PROMPT_ACTIONS": list(DEFAULT_PROMPT_ACTIONS),  # "none" or "format/visibility"
    # Share of every prompt decision spread uniformly over the asking actions, whatever the
    # model learned: each format and visibility keeps floor/4, so the visibility and format
    # effects never starve (docs/report.md, "The exploration floor", has the arithmetic).
    "PROMPT_FLOOR": 0.3,
    "PROMPT_VW_ARGS": "--cb_explore_adf -q UA -q DA --quiet",  # same as bandit.actions
    "PROMPT_WINDOW_S": 600.0,  # event-time seconds a prompt waits for its response; none → ignored
    "PROMPT_SESSION_GAP_S": 1800.0,  # without a client session_id: a prompt this recent is "this session"
    "PROMPT_HISTORY_S": 7 * 86400.0,  # "recent" for dismissals, likes and consumption features
    "PERSONALIZER_REWARD_AGGREGATION": "earliest",  # or "sum": several Rewards for one slot
    "LIFT_S": 14 * 86400.0,  # how long a double_up lifts the caps on its category and creator
    "SATIATION_HALF_LIFE_DAYS": 3.0,  # decay of exposure and consumption counts (event time)
    "EXCLUDE_CONSUMED": True,  # consumed items are not offered again unless their kind is repeatable
    "DURABLE_COOLDOWN_DAYS": 90.0,  # a durable purchase hides its category this long
    "EXHAUSTION_SHARE": 0.8,  # consumed share of a creator's catalogue that marks it exhausted
    "CAP_PER_CATEGORY": 2,  # items per category in one slate (lifted by a double_up)
    "CATALOGUE_CACHE_S": 30.0,
    # Wall seconds a worker serves experiment definitions from memory: a new or stopped
    # experiment reaches every worker within this (each decision logs the arm it got).
    "EXPERIMENTS_CACHE_S": 10.0,  # wall seconds a worker serves catalogue items from memory
    "CAP_PER_CREATOR": 1,  # items per creator in one slate (lifted by a double_up, not when exhausted)
    # production hardening: service/http/auth.py, service/log/spool.py, service/http/metrics.py
    "MODE": "development",  # "production": refuse to start without SECRET, or with AUTH off
    "AUTH": "on",  # "off": loopback clients need no key (development only)
    "AUTH_CACHE_S": 10.0,  # wall seconds a worker trusts a verified key (revocation delay)
    # Requests per second per key and worker; 0: unlimited, the default — one backend key
    # normally carries a product's whole traffic, and no limit must throttle it. Limit the keys
    # that need one: `elicit keys create --rate 50 --burst 100`.
    "RATE_LIMIT_PER_S": 0.0,
    "RATE_LIMIT_BURST": 200,  # bucket size per key and worker, where a rate applies
    "MAX_PATH_PARAM": 256,  # characters of an id in a URL path
    "WRITE_CONCERN": "majority",  # w of decision/outcome writes ("majority", or a number)
    "WRITE_JOURNAL": True,  # j: acknowledged only once in the journal
    "SPOOL_DIR": None,  # None: DATA_DIR/spool/DB; local append-only log while MongoDB is down
    "SPOOL_MAX_BYTES": 64 << 20,  # past this the spool refuses (503 spool_full)
    "SPOOL_RETRY_S": 0.5,  # wall seconds between the shipper's attempts while spooling
    # Group commit (service/log/group_commit.py): a batch of concurrent decisions (or outcomes)
    # waits at most this long for more, and holds at most this many; 0 ms: it is written as
    # soon as the previous batch is, gathering whatever arrived meanwhile (bench/bench_serving.py).
    "GROUP_COMMIT_LINGER_MS": 0.0,
    "GROUP_COMMIT_MAX_DOCS": 64,
    "STATE_WRITE_LINGER_S": 0.0,  # wall seconds a batch of satiation updates waits for more users
    "SHUTDOWN_FLUSH_S": 10.0,  # graceful shutdown ships the spool for at most this long
    "LOG_FORMAT": "json",  # "json" (one object per line) or "text"
    # retention (service/evaluate/retention.py): expired UTC days are archived, verified, then deleted
    "RETENTION_DAYS": 90,  # decisions and outcomes; 0: keep forever
    "FEEDBACK_RETENTION_DAYS": 0,  # explicit feedback; 0: keep forever (public feedback is served back)
    "ARCHIVE_DIR": None,  # None: DATA_DIR/archive/DB
    "DOCTOR_MIN_SPOOL_FREE_BYTES": 256 << 20,  # `elicit doctor`: less free space at SPOOL_DIR is a problem
    "REPORT_DASK_SCHEDULER": None,  # address of a dask.distributed scheduler for the report's partitions
    # offline evaluations and learning settings (issue 22): service/evaluate/progressive.py,
    # service/learn/retrain.py
    "LEARNING_MODE": "online",  # "apprentice": slates serve the baseline (probability 1) while the model learns
    "APPLY_RETRAIN_DAYS": 2.0,  # an applied setting's model learns this many event-time days back
    "EVALUATION_MIN_DECISIONS": 50_000,  # fewer joined decisions in the window → the evaluation is refused
    "AUTO_OPTIMIZE_DAYS": 0.0,  # > 0: evaluate and apply-if-better every this many days (0: off)
}

_NUMERIC = {key for key, value in DEFAULTS.items() if isinstance(value, (int, float)) and not isinstance(value, bool)}


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in DEFAULTS:
        raw = environ.get(f"ELICIT_{key}")
        if raw is None or raw == "":
            continue
        if key in _NUMERIC or key == "SEED":
            found[key] = float(raw) if "." in raw else int(raw)
        elif isinstance(DEFAULTS[key], bool):
            found[key] = raw.strip().lower() in {"1", "true", "yes", "on"}
        elif isinstance(DEFAULTS[key], dict):
            found[key] = {**DEFAULTS[key], **json.loads(raw)}
        elif isinstance(DEFAULTS[key], list):
            found[key] = json.loads(raw)
        else:
            found[key] = raw
    return found


def load_config(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Merge defaults → file → environment → overrides.

    >>> load_config({"DB": "x"}, environ={"ELICIT_REWARD_WINDOW_S": "60"})["REWARD_WINDOW_S"]
    60
    """
    environ = os.environ if environ is None else environ
    config = dict(DEFAULTS)
    path = environ.get("ELICIT_CONFIG")
    if path:
        config.update(json.loads(Path(path).read_text()))
    config.update(_from_env(environ))
    if overrides:
        config.update(overrides)
    unknown = set(config) - set(DEFAULTS) - {"CLOCK", "TESTING"}
    if unknown:
        raise ValueError(f"unknown configuration keys: {sorted(unknown)}")
    return config


def check_mode(config: Mapping[str, Any]) -> None:
    """Refuse to start in production mode without a real secret or with auth switched off.

    >>> check_mode({"MODE": "production", "SECRET": DEVELOPMENT_SECRET, "AUTH": "on"})
    Traceback (most recent call last):
    ...
    RuntimeError: production mode needs ELICIT_SECRET: a random string of at least 32 characters (not the development default)
    """
    mode = str(config.get("MODE") or "development").lower()
    if mode not in ("development", "production"):
        raise RuntimeError(f"MODE must be development or production, not {mode!r}")
    if mode != "production":
        return
    secret = str(config.get("SECRET") or "")
    if secret == DEVELOPMENT_SECRET or len(secret) < MIN_SECRET_LENGTH:
        raise RuntimeError(
            f"production mode needs ELICIT_SECRET: a random string of at least {MIN_SECRET_LENGTH} characters "
            "(not the development default)"
        )
    if str(config.get("AUTH", "on")).lower() != "on":
        raise RuntimeError("production mode needs AUTH=on: the loopback development mode is not for production")
