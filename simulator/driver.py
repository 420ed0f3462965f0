"""The real client: simulated people using elicit over HTTP, in event time.

The driver loads the catalogue with ``PUT /v1/items``, then replays simulated days hour by
hour. Every session is what an app would do: ``POST /v1/slates`` with candidates by id,
the user's reactions as ``POST .../outcomes``, and after each consumed item ``POST
/v1/prompts`` and, when a prompt is shown and answered, ``POST .../response``. Between
requests it moves the service's injected ``ManualClock``; at the end of every simulated
hour it runs the learner, and the nightly report whenever one falls due — all in event
time, so a week takes minutes and nothing sleeps.

An hour is played in *phases* so that many users can be in flight at once while the
clock stays one value per phase: phase 0 (the hour's first minute) serves every session's
slate and posts its outcomes; phase k (minute k) asks about each session's k-th consumed
item. A user's reactions come from the user's own seed stream (simulator/population.py),
so they do not depend on how users interleave; with ``threads=1`` the order of requests,
hence the service's sampling draws, is fixed too, and a seed replays exactly.

For every prompt decision the driver records the exact truth at that moment (before the
user's dice): each action's answer probability and expected reward (simulator/truth.py).
That is what the report's off-policy numbers estimate on the logged contexts.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol

from tqdm import tqdm

from bandit.actions import ActionModel
from simulator.params import DAY_MS, HOUR_MS, PROMPT_ACTIONS, START_MS
from simulator.population import Population
from simulator.truth import expected_reward

MINUTE_MS = 60_000
ASKING = tuple(a for a in PROMPT_ACTIONS if a != "none")
ITEMS_PER_PUT = 10_000  # the API's limit per call


class HttpClient:
    """One keep-alive connection (stdlib ``http.client``): JSON in, JSON out, status checked."""

    def __init__(self, host: str, port: int, api_key: str | None = None) -> None:
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.headers = {"Content-Type": "application/json"}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def call(self, method: str, path: str, body: Any, expect: tuple[int, ...]) -> dict[str, Any]:
        payload = json.dumps(body).encode()
        self.connection.request(method, path, payload, self.headers)
        response = self.connection.getresponse()
        data = json.loads(response.read() or b"{}")
        if response.status not in expect:
            raise RuntimeError(f"{method} {path} -> {response.status}: {data}")
        return data

    def close(self) -> None:
        self.connection.close()


@dataclass(frozen=True)
class PromptTruth:
    """One prompt decision as served, with the simulator's exact truth at that moment."""

    event_id: str
    user: int
    t: int
    action: str  # what elicit chose
    response: str | None  # what the user did (None: nothing sent — not asked, or ignored)
    answered: dict[str, float]  # exact P(answer) for each asking action, in this user's state then
    reward: dict[str, float]  # exact expected prompt reward of every action (none included)
    #: exact P(a like — up or double up) from what was served, in this user's state then (0: not asked)
    like: float = 0.0


@dataclass
class DriverResult:
    slates: int = 0
    prompts: int = 0
    responses: int = 0
    consumed: int = 0
    served: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)  # (event id, items in slot order)
    truths: list[PromptTruth] = field(default_factory=list)
    reports: list[str] = field(default_factory=list)  # nightly report ids stored, oldest first
    morning_models: list[ActionModel] = field(default_factory=list)  # the prompt model served as each day began
    consumed_per_slate_by_day: list[float] = field(default_factory=list)
    #: (user, event time) of every slate served, and each user's arms as the service reported them
    slate_times: list[tuple[int, int]] = field(default_factory=list)
    arms: dict[int, dict[str, str]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=lambda: {"http": 0.0, "learn": 0.0, "report": 0.0})


@dataclass
class _Session:
    user: int
    event_id: str
    items: list[str]  # consumed or purchased, in slot order: each gets a prompt decision
    served: list[str] = field(default_factory=list)  # the slate, in slot order
    done: bool = False


class ServiceControl(Protocol):
    """What a simulation needs of the service beyond its HTTP API: its event-time clock
    (simulated, so that a week runs in minutes) and the jobs a deployment runs in the
    background — learning and the nightly report — run when a simulated hour ends.
    The demo fills it in over the service's runtime (service/cli/demo.py)."""

    #: the local hour of the nightly report
    report_hour: int
    #: the prompt rewards the service learns from: the truth is computed with the same ones
    prompt_rewards: Mapping[str, float]

    def now_ms(self) -> int: ...

    def set_now(self, now_ms: int) -> None: ...

    def learn(self) -> None: ...

    def run_due_reports(self, now_ms: int) -> list[str]:
        """Build the nightly reports due at ``now_ms``; their ids."""
        ...

    def prompt_model(self) -> ActionModel:
        """The prompt model the service serves now."""
        ...


class Driver:
    """Plays a :class:`Population` against a running elicit service in event time.

    ``service`` moves the service's clock and runs its learner and nightly report, which a
    deployment runs as background jobs; everything else goes over HTTP.
    """

    def __init__(self, population: Population, service: ServiceControl, host: str, port: int,
                 sessions_per_day: float = 3.0, candidates: int = 30, slots: int = 5, threads: int = 1,
                 progress: bool = True, api_key: str | None = None) -> None:
        self.population = population
        self.api_key = api_key  # the driver is a client like any other: it needs a key
        self.service = service
        self.address = (host, port)
        self.sessions_per_day = sessions_per_day
        self.candidates = candidates
        self.slots = slots
        self.threads = max(1, threads)
        self.progress = progress
        self._local = threading.local()
        self._clients: list[HttpClient] = []
        self._clients_lock = threading.Lock()
        self.rewards = dict(service.prompt_rewards)  # the truth uses the service's own rewards
        self.result = DriverResult()

    # --- HTTP -----------------------------------------------------------------------------
    def _client(self) -> HttpClient:
        client = getattr(self._local, "client", None)
        if client is None:  # one connection per worker thread, kept alive for the whole run
            client = self._local.client = HttpClient(*self.address, self.api_key)
            with self._clients_lock:
                self._clients.append(client)
        return client

    def _each(self, work: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """``work`` over ``items``, on the worker threads; results in the items' order."""
        if self.threads == 1 or len(items) < 2:
            return [work(item) for item in items]
        return list(self._pool.map(work, items))

    # --- the run --------------------------------------------------------------------------
    def put_experiment(self, name: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """Define a user-level experiment (the driver's key is an admin key)."""
        return self._client().call("PUT", f"/v1/experiments/{name}", dict(body), (200,))

    def load_catalogue(self) -> None:
        items = self.population.catalogue
        for start in range(0, len(items), ITEMS_PER_PUT):
            self._client().call("PUT", "/v1/items", {"items": items[start:start + ITEMS_PER_PUT]}, (200,))

    def run(self, days: int) -> DriverResult:
        started = time.perf_counter()
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="sim-client")
        try:
            self.service.set_now(max(self.service.now_ms(), START_MS))
            self.service.run_due_reports(self.service.now_ms())  # records when the schedule started
            self.load_catalogue()
            for day in range(days):
                self._day(day, days)
            # Close the last reward windows and reach the night after the last day.
            self.service.set_now(START_MS + days * DAY_MS + int(self.service.report_hour) * HOUR_MS)
            self._end_of_hour()
        finally:
            self._pool.shutdown()
            for client in self._clients:
                client.close()
        self.result.seconds["total"] = time.perf_counter() - started
        return self.result

    def _schedule(self) -> dict[int, list[int]]:
        """Which users have a session in which hour today, from the driver's own stream.

        ``sessions_per_day`` may be fractional: a user has its whole part every day and one
        more with probability its fraction (0.4 → a session on 40 % of days).
        """
        by_hour: dict[int, list[int]] = {hour: [] for hour in range(24)}
        rng, whole = self.population.rng, int(self.sessions_per_day)
        extra = rng.random(len(self.population.users)) < self.sessions_per_day - whole
        for user in range(len(self.population.users)):
            count = min(24, whole + int(extra[user]))
            for hour in rng.choice(24, size=count, replace=False):
                by_hour[int(hour)].append(user)
        return by_hour

    def _day(self, day: int, days: int) -> None:
        schedule = self._schedule()
        # Served models are never trained in place (the learner publishes new ones), so this
        # is that day's out-of-sample learned policy for simulator/scorecard.py.
        self.result.morning_models.append(self.service.prompt_model())
        slates_before, consumed_before = self.result.slates, self.result.consumed
        hours: Iterable[int] = range(24)
        if self.progress:
            hours = tqdm(hours, desc=f"day {day + 1}/{days}", unit="h", leave=True, dynamic_ncols=True)
        for hour in hours:
            start = START_MS + day * DAY_MS + hour * HOUR_MS
            self.service.set_now(start)
            http_started = time.perf_counter()
            sessions = self._each(lambda user: self._slate(user, day, hour, start), schedule[hour])
            self.result.slates += len(sessions)
            self.result.consumed += sum(len(s.items) for s in sessions)
            for session in sessions:
                self.result.served.append((session.event_id, tuple(session.served)))
                self.result.slate_times.append((session.user, start))
            step = 0
            while live := [s for s in sessions if not s.done and step < len(s.items)]:
                self.service.set_now(start + (step + 1) * MINUTE_MS)  # a prompt comes a minute after the item
                for truth in self._each(lambda s: self._prompt(s, step), live):
                    self.result.truths.append(truth)
                    self.result.prompts += 1
                    self.result.responses += truth.response is not None
                step += 1
            self.result.seconds["http"] += time.perf_counter() - http_started
            self.service.set_now(start + HOUR_MS)
            self._end_of_hour()
        slates = self.result.slates - slates_before
        self.result.consumed_per_slate_by_day.append(round((self.result.consumed - consumed_before) / max(slates, 1), 4))

    def _end_of_hour(self) -> None:
        """What a deployment's background jobs do: learn closed windows, run due nights."""
        learn_started = time.perf_counter()
        self.service.learn()
        report_started = time.perf_counter()
        self.result.reports.extend(self.service.run_due_reports(self.service.now_ms()))
        self.result.seconds["learn"] += report_started - learn_started
        self.result.seconds["report"] += time.perf_counter() - report_started

    # --- one user's requests (run on a worker thread) --------------------------------------
    def _slate(self, user: int, day: int, hour: int, now: int) -> _Session:
        population = self.population
        event_id = f"s{population.params.seed}-d{day}-h{hour}-u{user}"
        candidates = population.candidates(user, self.candidates)
        body = {"user_id": population.user_id(user), "context": population.session_context(user, now),
                "candidates": [{"id": item["id"]} for item in candidates], "slots": self.slots, "event_id": event_id}
        answer = self._client().call("POST", "/v1/slates", body, (201,))
        slate = answer["slate"]
        if answer.get("experiments"):
            self.result.arms[user] = dict(answer["experiments"])
        outcomes = population.react_to_slate(user, slate, now) if slate else []
        if outcomes:
            self._client().call("POST", f"/v1/slates/{event_id}/outcomes", {"outcomes": outcomes}, (202,))
        consumed = [o["item_id"] for o in outcomes if o["type"] in ("consume", "purchase")]
        return _Session(user, event_id, consumed, [entry["item_id"] for entry in sorted(slate, key=lambda e: e["slot"])])

    def _prompt(self, session: _Session, step: int) -> PromptTruth:
        population, user, now = self.population, session.user, self.service.now_ms()
        item_id = session.items[step]
        event_id = f"{session.event_id}-p{step}"
        context = {**population.session_context(user, now), "session_id": session.event_id}
        decision = self._client().call("POST", "/v1/prompts", {"user_id": population.user_id(user), "item_id": item_id,
                                                               "context": context, "event_id": event_id}, (201,))
        action = f"{decision['format']}/{decision['visibility']}" if decision["ask"] else "none"
        # The truth in the user's state now, before the dice of this prompt are rolled.
        answered = {a: population.answer_probabilities(user, *a.split("/"), now)["answered"] for a in ASKING}
        reward = {a: expected_reward(population, user, a, now, self.rewards) for a in PROMPT_ACTIONS}
        like = population.like_probability(user, item_id, decision["format"], decision["visibility"], now) \
            if decision["ask"] else 0.0
        response = population.answer_prompt(user, item_id, decision["ask"], decision["format"],
                                             decision["visibility"], now)
        if response is not None:
            self._client().call("POST", f"/v1/prompts/{event_id}/response", {"response": response}, (202,))
        if response == "abandoned":
            session.done = True  # the user left: no more prompts in this session
        return PromptTruth(event_id, user, now, action, response, answered, reward, like)
