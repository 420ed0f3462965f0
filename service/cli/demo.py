"""The main job (``make demo`` → ``elicit demo``): elicit as a newcomer first sees it.

Starts the embedded store and the real service — in this process, on a free loopback port,
with an injected ``ManualClock`` — then lets a simulated population use it over HTTP for
``days`` simulated days (simulator/driver.py): slates, outcomes, feedback prompts and
answers, the learner every simulated hour and the nightly report every simulated night.
At the end it prints the latest report's verdicts, the truth-vs-report table
(simulator/scorecard.py, simulator/truth.py), where the HTML report is, and the wall time
and peak memory of the run.

Each run starts from an empty log: the demo's database file is removed before the store
starts (dropping it afterwards would leave the service serving the previous run's model).
"""

from __future__ import annotations

import logging
import os
import resource
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import make_server

from bandit.actions import ActionModel
from service.core.clock import ManualClock
from service.core.config import load_config
from service.http.app import create_app
from service.log.decisions import evaluation_query
from service.reports.html import render_html
from service.runtime.process import Runtime
from service.store import Store
from simulator.driver import Driver, DriverResult
from simulator.experiments import CANDIDATES as EXPERIMENT_CANDIDATES
from simulator.experiments import EXPERIMENTS, ArmTruth, arm_truths, relative
from simulator.experiments import SESSIONS_PER_DAY as EXPERIMENT_SESSIONS
from simulator.experiments import USERS as EXPERIMENT_USERS
from simulator.params import DAY_MS, START_MS, overridden
from simulator.population import Population, SimulationParams
from simulator.scorecard import Row, Scorecard, pooled_rows, report_rows
from simulator.truth import format_effect, truth_table, visibility_effect

#: Sized so that 1,000 users × 7 days run in under 5 minutes on 2 cores (README, "The demo").
USERS = 1000
SESSIONS_PER_DAY = 1.0
CANDIDATES = 12
SLOTS = 5
THREADS = 4


@dataclass
class DemoResult:
    users: int
    days: int
    seed: int
    port: int
    database: str
    store_dir: Path  # the embedded store's ELICIT_DATA_DIR
    driver: DriverResult
    rows: list[Row]
    report_rows: list[Row]
    fresh_truth: dict[str, float]
    latest_report: dict[str, Any] | None
    html_path: Path | None
    wall_seconds: float = 0.0
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    #: the latest report's block for ``--experiment`` (None without one)
    experiment: dict[str, Any] | None = None


class DemoControl:
    """The simulator's :class:`~simulator.driver.ServiceControl` over this process's runtime:
    the demo's service runs no background jobs, the driver runs them at each simulated hour."""

    def __init__(self, runtime: Runtime, clock: ManualClock) -> None:
        self.runtime = runtime
        self.clock = clock
        self.report_hour = int(runtime.config["REPORT_HOUR"])
        self.prompt_rewards = dict(runtime.config["PROMPT_REWARDS"])

    def now_ms(self) -> int:
        return self.clock.now_ms()

    def set_now(self, now_ms: int) -> None:
        self.clock.set(now_ms)

    def learn(self) -> None:
        self.runtime.learner.run_once()

    def run_due_reports(self, now_ms: int) -> list[str]:
        return self.runtime.report_scheduler.run_due(now_ms)

    def prompt_model(self) -> ActionModel:
        return self.runtime.prompt_models.current()[0]


def _reset_database(settings: Mapping[str, Any], store_dir: Path, database: str) -> None:
    """Empty the demo's database before the service reads it (its models, its reports)."""
    if settings.get("MONGO_URI"):
        store = Store(str(settings["MONGO_URI"]), database, timeout_ms=int(settings["STORE_TIMEOUT_MS"]))
        try:
            store.drop_database()
        finally:
            store.close()
        return
    for suffix in ("", "-wal", "-shm", "-journal"):  # nx-27017 keeps one SQLite file per database
        (store_dir / "store" / f"{database}.db{suffix}").unlink(missing_ok=True)


def default_store_dir(data_dir: Path) -> Path:
    """Where the demo's throwaway store lives: memory-backed /dev/shm when the machine has it.

    The embedded store syncs every write to disk; on a disk-backed directory the demo spends
    about half its wall time waiting for those syncs (measured: 364 s instead of ~200 s at the
    default size), and the demo's log is discarded by the next run anyway.
    """
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return shm / f"elicit-demo-{os.getuid()}"
    return data_dir


def _peak_rss_mb() -> dict[str, float]:
    # ru_maxrss is in KiB on Linux; children = the embedded store, once it has exited.
    return {"demo process": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "embedded store": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def run_demo(users: int | None = None, days: int = 7, seed: int = 7, data_dir: Path = Path(".elicit/demo"),
             sessions_per_day: float = SESSIONS_PER_DAY, candidates: int = CANDIDATES, threads: int = THREADS,
             progress: bool = True, echo: Any = print, config: dict[str, Any] | None = None,
             store_dir: Path | None = None, assignments: Sequence[str] = (), experiment: str | None = None) -> DemoResult:
    """Run the demo; ``config`` overrides the service's (tests point it at their store).
    ``assignments`` set simulation parameters (``burnt_multiplier=0.5``: simulator/params.py);
    ``experiment`` names one of simulator/experiments.py's, defined before the first day.

    The report page is written under ``data_dir``; the embedded store keeps its files under
    ``store_dir`` (default: :func:`default_store_dir`).
    """
    # A line per request or per learner pass drowns the progress bars; matplotlib speaks of
    # its category units at INFO while the report draws.
    quiet = ("werkzeug", "elicit", "matplotlib")
    levels = {name: logging.getLogger(name).level for name in quiet}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    try:
        users = users if users is not None else (EXPERIMENT_USERS if experiment is not None else USERS)
        params = overridden(SimulationParams(users=users, seed=seed), assignments)
        if experiment is not None and experiment not in EXPERIMENTS:
            raise ValueError(f"unknown experiment {experiment!r}; known: {', '.join(EXPERIMENTS)}")
        if experiment is not None:  # the experiment's own defaults where the caller kept the demo's
            candidates = EXPERIMENT_CANDIDATES if candidates == CANDIDATES else candidates
            sessions_per_day = EXPERIMENT_SESSIONS if sessions_per_day == SESSIONS_PER_DAY else sessions_per_day
        return _run_demo(params, days, data_dir, sessions_per_day, candidates, threads, progress, echo, config,
                         store_dir, experiment)
    finally:  # the caller's logging is the caller's: put it back as it was
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _run_demo(params: SimulationParams, days: int, data_dir: Path, sessions_per_day: float, candidates: int,
              threads: int, progress: bool, echo: Any, config: dict[str, Any] | None,
              store_dir: Path | None, experiment: str | None) -> DemoResult:
    started = time.perf_counter()
    users, seed = params.users, params.seed
    data_dir = Path(data_dir)
    store_dir = Path(store_dir) if store_dir is not None else default_store_dir(data_dir)
    settings = load_config({"DATA_DIR": str(store_dir), "DB": f"demo_{seed}", "BACKGROUND_JOBS": False, "SEED": seed,
                            "REPORT_ENABLED": True, **(config or {})})
    database = str(settings["DB"])
    _reset_database(settings, store_dir, database)
    clock = ManualClock(START_MS)
    app = create_app({**settings, "CLOCK": clock})
    runtime: Runtime = app.extensions["elicit"]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True, name="elicit-http")
    thread.start()
    port = server.server_port
    echo(f"elicit is serving on http://127.0.0.1:{port} (embedded store, simulated clock); "
         f"while it runs, the latest report is at http://127.0.0.1:{port}/reports/latest")
    try:
        population = Population(params)
        # The driver is a client like any other: it needs a key (admin: it also loads the catalogue).
        api_key, _ = runtime.keys.create("admin", "demo", rate_per_s=0)
        driver = Driver(population, DemoControl(runtime, clock), "127.0.0.1", port, sessions_per_day=sessions_per_day,
                        api_key=api_key,
                        candidates=candidates, slots=SLOTS, threads=threads, progress=progress)
        if experiment is not None:
            driver.put_experiment(experiment, EXPERIMENTS[experiment])
        result = driver.run(days)
        end = START_MS + days * DAY_MS
        card = Scorecard(runtime.store.iter_decisions(evaluation_query("prompt", START_MS, end)), result.truths)
        rows = card.rows(result.morning_models) if len(card) > 1 else []
        latest = runtime.store.get_report(result.reports[-1]) if result.reports else None
        extra: list[Row] = []
        html_path = None
        if latest is not None:
            # The headline: the evidence the nightly reports pooled since the first night, judged
            # against the exact truth over every decision they covered (all of them).
            extra = pooled_rows(latest, card) if len(card) > 1 else []
            window = latest["window"]
            night = Scorecard(runtime.store.iter_decisions(evaluation_query("prompt", window["since"], window["until"])),
                              result.truths)
            extra += report_rows(latest, night) if len(night) > 1 else []  # the last night alone
            if experiment is not None:
                block = experiment_block(latest, experiment)
                extra += experiment_rows(block, arm_truths(result, experiment, int(latest["window"]["until"])))
            html_path = (data_dir / "report-latest.html").resolve()
            html_path.parent.mkdir(parents=True, exist_ok=True)
            html_path.write_text(render_html(latest), encoding="utf-8")
    finally:
        server.shutdown()
        runtime.close()
    fresh = {"visibility effect (fresh prompt, mix of formats)": visibility_effect(population)["mix"],
             "format effect, answer rate (fresh prompt, mix)": format_effect(population)["answer_rate_effect"]}
    peak = _peak_rss_mb()
    store_file = store_dir / "store" / f"{database}.db"
    if not settings.get("MONGO_URI") and store_file.exists() and str(store_dir).startswith("/dev/shm"):
        peak["store file in /dev/shm (RAM)"] = store_file.stat().st_size / 2**20
    return DemoResult(users, days, seed, port, database, store_dir.resolve(), result, rows, extra, fresh, latest,
                      html_path, time.perf_counter() - started, peak,
                      experiment_block(latest, experiment) if latest is not None and experiment else None)


def experiment_block(report: Mapping[str, Any], name: str) -> dict[str, Any] | None:
    """The report's figures for experiment ``name``: its summary, ``arms`` and ``contrasts``."""
    section = (report.get("sections") or {}).get("experiments") or {}
    summary = next((e for e in section.get("experiments") or [] if e["name"] == name), None)
    if summary is None:
        return None
    return {**summary, "arms": [row for row in section.get("arms") or [] if row["experiment"] == name],
            "contrasts": [row for row in section.get("contrasts") or [] if row["experiment"] == name]}


def experiment_rows(block: Mapping[str, Any] | None, truths: Mapping[str, ArmTruth]) -> list[Row]:
    """Truth vs estimate of each contrast the simulator knows the truth of (relative differences)."""
    rows = []
    for contrast in (block or {}).get("contrasts") or []:
        metric, arm, control = contrast["metric"], contrast["arm"], contrast["control"]
        if metric not in ("answer_rate", "likes_per_slate") or contrast["relative_low"] is None:
            continue
        if arm not in truths or control not in truths:
            continue
        rows.append(Row(f"experiment {block['name']}: {metric}, {arm} vs {control} (relative)",
                        relative(truths, arm, control, metric), contrast["relative"], contrast["relative_low"],
                        contrast["relative_high"], verdict=contrast["verdict"]))
    return rows


def summary(demo: DemoResult) -> str:
    """What the demo prints at the end: findings, truth vs report, where to look, cost."""
    r = demo.driver
    lines = [f"\nsimulated {demo.users} users for {demo.days} days (seed {demo.seed}): {r.slates} slates, "
             f"{r.consumed} items consumed, {r.prompts} prompt decisions, {r.responses} responses; "
             f"consumed per slate by day {r.consumed_per_slate_by_day}"]
    if demo.latest_report is not None:
        report = demo.latest_report
        lines.append(f"\nAnswers (report {report['_id']}: {report['answers']['method']}):")
        lines += [f"  [{line['verdict']}] {line['text']}" for line in report["answers"]["lines"]]
        findings = [v for v in report["verdicts"] if v["level"] == "finding"]
        lines.append(f"\nThe last night alone (fixed intervals): {len(findings)} findings of {len(report['verdicts'])} "
                     "verdicts" + (":" if findings else "."))
        lines += [f"  [{v['level']}] {v['section']}: {v['text']}" for v in findings]
    if demo.experiment is not None:
        lines.append(f"\nExperiment {demo.experiment['name']} ({demo.experiment['days']:.0f} days, "
                     f"{demo.experiment['decisions']:,} decisions):")
        for row in demo.experiment["arms"]:
            index = "—" if row["berserk_index"] is None else f"{row['berserk_index']:+.3f} ({row['likes_counted']} likes)"
            lines.append(f"  arm {row['arm']}: {row['users']} users, likes per slate {_num(row['likes_per_slate'])}, answer "
                         f"rate {_num(row['answer_rate'])}, consumed per slate {_num(row['consumption_per_slate'])}, "
                         f"active days {_num(row['active_days'])}, berserk index {index}")
    rows = demo.rows + demo.report_rows
    if rows:
        lines.append("\nTruth vs estimate (estimates from the logged prompt decisions, IPS, 95 % intervals; "
                     "truth = the simulator's exact expectation on the same logged contexts; ESS = effective "
                     "sample size of the weights: below 30 an interval is not to be trusted, and the report "
                     "claims nothing from it):")
        lines.append(truth_table({row.name: row.truth for row in rows},
                                 {row.name: (row.estimate, row.low, row.high) for row in rows},
                                 {row.name: row.ess for row in rows if row.ess is not None}))
    lines += [f"  truth, {name}: {value:+.4f}" for name, value in demo.fresh_truth.items()]
    if demo.html_path is not None:
        lines.append(f"\nHTML report: {demo.html_path}")
    lines.append(f"rebuild it: ELICIT_DATA_DIR={demo.store_dir} ELICIT_DB={demo.database} .venv/bin/elicit report "
                 f"--since {_iso(START_MS)} --until {_iso(START_MS + demo.days * DAY_MS)} --html report.html")
    seconds = r.seconds
    lines.append(f"\nwall time {demo.wall_seconds:.1f} s (HTTP {seconds['http']:.1f} s, learner {seconds['learn']:.1f} s, "
                 f"nightly reports {seconds['report']:.1f} s); peak memory "
                 + ", ".join(f"{name} {mb:.0f} MB" for name, mb in demo.peak_rss_mb.items()))
    return "\n".join(lines)


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def as_json(demo: DemoResult) -> dict[str, Any]:
    """``elicit demo --json PATH``: every truth-vs-estimate row, and the headline answers."""
    report = demo.latest_report or {}
    return {"users": demo.users, "days": demo.days, "seed": demo.seed,
            "rows": [row.as_dict() for row in demo.rows + demo.report_rows],
            "answers": report.get("answers"), "report": report.get("_id"), "wall_seconds": demo.wall_seconds,
            "experiment": demo.experiment}


def _iso(ms: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ms / 1000))
