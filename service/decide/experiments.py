"""User-level experiments: definitions, overlap rules and deterministic assignment.

An experiment assigns *users*, not decisions, to arms — the unit at which the long-run
effects of docs/design.md act (a user flooded after a like stops liking; a user asked in
public answers less for weeks). Assignment is a keyed hash of (experiment, pseudonymous
user key): the same on every worker, after every restart, with no store write when a
request is served. A share ``enrolled`` of users takes part; the rest, and everyone outside
``[start, stop)`` (event time), get the default behaviour and no tag.

Two experiments that set the same thing (an arm setting of policies/arms.py) and run at
overlapping times are refused: every user is in every experiment's hash range, so their
arms would mix. A started experiment's arms and shares are fixed — changing them would
move users between arms mid-experiment; stop it and define a new one instead.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from bandit.errors import Conflict, InvalidInput, NotFound
from policies.arms import ArmSettings, SettingError
from service.core.clock import epoch_ms
from service.core.errors import StoreUnavailable
from service.decide.requests import ExperimentIn, parse_model

NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Arm:
    name: str
    share: float
    settings: ArmSettings


@dataclass(frozen=True)
class Experiment:
    """A stored experiment definition.

    >>> e = Experiment("e", (Arm("a", 0.5, ArmSettings()), Arm("b", 0.5, ArmSettings(prompt_visibility="public"))),
    ...                1.0, start_ms=10, stop_ms=20)
    >>> e.running(10), e.running(20), e.sets
    (True, False, frozenset({'prompt_visibility'}))
    """

    name: str
    arms: tuple[Arm, ...]
    enrolled: float
    start_ms: int
    stop_ms: int | None = None
    description: str = ""

    @property
    def sets(self) -> frozenset[str]:
        return frozenset().union(*(arm.settings.sets for arm in self.arms))

    def running(self, now_ms: int) -> bool:
        return self.start_ms <= now_ms and (self.stop_ms is None or now_ms < self.stop_ms)

    def overlaps(self, other: Experiment) -> bool:
        """Both set something in common during a common stretch of time."""
        never = float("inf")
        together = max(self.start_ms, other.start_ms) < min(self.stop_ms or never, other.stop_ms or never)
        return together and bool(self.sets & other.sets)

    def arm(self, name: str) -> Arm:
        return next(arm for arm in self.arms if arm.name == name)

    def status(self, now_ms: int) -> str:
        return "scheduled" if now_ms < self.start_ms else ("running" if self.running(now_ms) else "stopped")

    def as_json(self, now_ms: int) -> dict[str, Any]:
        """The API's view of the definition (``GET /v1/experiments/<name>`` adds live counts)."""
        doc = self.as_doc()
        return {"name": doc.pop("_id"), **doc, "sets": sorted(self.sets), "status": self.status(now_ms)}

    def as_doc(self) -> dict[str, Any]:
        return {"_id": self.name, "arms": [{"name": a.name, "share": a.share, "settings": a.settings.as_dict()}
                                           for a in self.arms],
                "enrolled": self.enrolled, "start": self.start_ms, "stop": self.stop_ms, "description": self.description}

    @classmethod
    def of(cls, doc: Mapping[str, Any]) -> Experiment:
        arms = tuple(Arm(a["name"], float(a["share"]), ArmSettings.parse(a.get("settings"))) for a in doc["arms"])
        stop = doc.get("stop")
        return cls(str(doc["_id"]), arms, float(doc["enrolled"]), int(doc["start"]), None if stop is None else int(stop),
                   str(doc.get("description") or ""))


def parse_experiment(name: str, payload: Any, now_ms: int) -> Experiment:
    """A definition from a request body (start defaults to now); every refusal names its field."""
    if not NAME.match(name):
        raise InvalidInput("experiment names are 1–64 letters, digits, '_' or '-'", field="name")
    request = parse_model(ExperimentIn, payload)
    arms = []
    for index, arm in enumerate(request.arms):
        field = f"arms[{index}]"
        if arm.name is None or not NAME.match(arm.name):
            raise InvalidInput("every arm needs a name of 1–64 letters, digits, '_' or '-'", field=f"{field}.name")
        if arm.name in {a.name for a in arms}:
            raise InvalidInput(f"arm name {arm.name!r} is used twice", field=f"{field}.name")
        if not 0 < float(arm.share) <= 1:
            raise InvalidInput("an arm's share must lie in (0, 1]", field=f"{field}.share")
        try:
            settings = ArmSettings.parse(arm.settings)
        except SettingError as exc:
            raise InvalidInput(str(exc), field=f"{field}.settings" + (f".{exc.field}" if exc.field else "")) from exc
        arms.append(Arm(arm.name, float(arm.share), settings))
    total = sum(arm.share for arm in arms)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise InvalidInput(f"the arms' shares must sum to 1, not {total:g}", field="arms")
    if not 0 < float(request.enrolled) <= 1:
        raise InvalidInput("enrolled must lie in (0, 1]", field="enrolled")
    start = now_ms if request.start is None else event_time(request.start, "start")
    stop = None if request.stop is None else event_time(request.stop, "stop")
    if stop is not None and stop <= start:
        raise InvalidInput("stop must be after start", field="stop")
    return Experiment(name, tuple(arms), float(request.enrolled), start, stop, request.description)


def event_time(value: Any, field: str) -> int:
    """Epoch milliseconds, or an ISO date/time (UTC unless it says), as event time; a string
    of digits is an ISO basic date (``"20260101"``), as it always was here.

    >>> event_time("2026-01-01", "start"), event_time(5, "start")
    (1767225600000, 5)
    """
    try:
        return epoch_ms(value, digits_as_ms=False)
    except ValueError as exc:
        raise InvalidInput("must be epoch milliseconds or an ISO date/time", field=field) from exc


def position(secret: str, experiment: str, user: str) -> float:
    """The user's point in [0, 1) for this experiment: a keyed hash, independent across experiments.

    >>> position("s", "e", "u") == position("s", "e", "u") != position("s", "f", "u")
    True
    """
    digest = hmac.new(secret.encode(), f"experiment\x00{experiment}\x00{user}".encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def assign(experiment: Experiment, point: float) -> str | None:
    """The arm at ``point`` (from :func:`position`), or None when the user is not enrolled.

    >>> e = Experiment("e", (Arm("a", 0.25, ArmSettings()), Arm("b", 0.75, ArmSettings())), 0.5, 0)
    >>> assign(e, 0.1), assign(e, 0.2), assign(e, 0.7)
    ('a', 'b', None)
    """
    if point >= experiment.enrolled:
        return None
    scaled, edge = point / experiment.enrolled, 0.0
    for arm in experiment.arms:
        edge += arm.share
        if scaled < edge:
            return arm.name
    return experiment.arms[-1].name  # rounding at the top edge


class ExperimentDocs(Protocol):
    """What the book needs of the store (service/store/experiments.py)."""

    def all(self) -> list[dict[str, Any]]: ...

    def get(self, name: str) -> dict[str, Any] | None: ...

    def put(self, doc: Mapping[str, Any]) -> None: ...

    def set_times(self, name: str, fields: Mapping[str, int | None]) -> bool: ...


class ExperimentBook:
    """The experiments a worker knows, cached for ``cache_s`` wall seconds: a request reads
    no store for its arms (another worker sees a new definition within ``cache_s``; the
    arm each decision got is logged with it, so nothing downstream depends on when).

    >>> class Docs:
    ...     docs = {}
    ...     def all(self): return list(self.docs.values())
    ...     def get(self, name): return self.docs.get(name)
    ...     def put(self, doc): self.docs[doc["_id"]] = dict(doc)
    ...     def set_times(self, name, fields): self.docs[name].update(fields); return True
    >>> book = ExperimentBook(Docs(), "secret", cache_s=0)
    >>> body = {"arms": [{"name": "a", "share": 0.5}, {"name": "b", "share": 0.5,
    ...         "settings": {"prompt_visibility": "public"}}], "start": 0}
    >>> _ = book.define("vis", body, now_ms=0)
    >>> sorted(book.arms_for("user-1", 5)) == ["vis"]
    True
    """

    def __init__(self, docs: ExperimentDocs, secret: str, cache_s: float = 10.0) -> None:
        self.docs = docs
        self.secret = secret
        self.cache_s = cache_s
        self._cached: tuple[float, tuple[Experiment, ...]] | None = None
        self._lock = threading.Lock()

    def experiments(self, fresh: bool = False) -> tuple[Experiment, ...]:
        """The definitions, from memory when read less than ``cache_s`` ago (unless ``fresh``)."""
        cached = self._cached
        if not fresh and cached is not None and time.monotonic() - cached[0] < self.cache_s:
            return cached[1]
        with self._lock:
            try:
                loaded = tuple(Experiment.of(doc) for doc in self.docs.all())
            except StoreUnavailable:
                # Serving goes on without the store (service/log/durable.py): with the arms
                # last known, or — never having read them — with none (the default behaviour).
                return cached[1] if cached is not None else ()
            self._cached = (time.monotonic(), loaded)
        return loaded

    def invalidate(self) -> None:
        self._cached = None

    def arms_for(self, user: str, now_ms: int) -> dict[str, Arm]:
        """The arm of each running experiment that enrols this user (by pseudonymous key)."""
        out = {}
        for experiment in self.experiments():
            if experiment.running(now_ms):
                name = assign(experiment, position(self.secret, experiment.name, user))
                if name is not None:
                    out[experiment.name] = experiment.arm(name)
        return out

    def get(self, name: str) -> Experiment:
        doc = self.docs.get(name)
        if doc is None:
            raise NotFound(f"no experiment named {name!r}", field="name")
        return Experiment.of(doc)

    def define(self, name: str, payload: Any, now_ms: int) -> Experiment:
        """Create, or change a definition that has not started (its stop time always)."""
        experiment = parse_experiment(name, payload, now_ms)
        existing = self.docs.get(name)
        if existing is not None:
            before = Experiment.of(existing)
            if before.start_ms <= now_ms and (before.arms, before.enrolled, before.start_ms) != (
                    experiment.arms, experiment.enrolled, experiment.start_ms):
                raise Conflict(f"experiment {name!r} has started: its arms, shares, enrolment and start are fixed "
                               "(stop it and define a new one)", field="arms")
        self._check_overlap(experiment)
        self.docs.put(experiment.as_doc())
        self.invalidate()
        return experiment

    def set_stop(self, name: str, now_ms: int) -> Experiment:
        """Stop now (or keep an earlier stop); nothing is deleted."""
        experiment = self.get(name)
        if experiment.stop_ms is None or experiment.stop_ms > now_ms:
            self.docs.set_times(name, {"stop": max(now_ms, experiment.start_ms + 1)})
        self.invalidate()
        return self.get(name)

    def set_start(self, name: str, now_ms: int) -> Experiment:
        """Start now an experiment defined to start later (a running one is left as it is)."""
        experiment = self.get(name)
        if experiment.start_ms > now_ms:
            moved = Experiment(experiment.name, experiment.arms, experiment.enrolled, now_ms, experiment.stop_ms,
                               experiment.description)
            self._check_overlap(moved)
            self.docs.set_times(name, {"start": now_ms})
        self.invalidate()
        return self.get(name)

    def _check_overlap(self, experiment: Experiment) -> None:
        for doc in self.docs.all():
            other = Experiment.of(doc)
            if other.name != experiment.name and experiment.overlaps(other):
                shared = ", ".join(sorted(experiment.sets & other.sets))
                raise Conflict(f"experiment {other.name!r} sets {shared} for the same users at overlapping times",
                               field="arms")


def arms_of(arms: Mapping[str, Arm]) -> dict[str, str]:
    """What a decision logs: ``{experiment: arm}``."""
    return {name: arm.name for name, arm in sorted(arms.items())}


def setting(arms: Mapping[str, Arm], name: str) -> Any:
    """The value of one arm setting among the user's arms (the overlap rule makes it unique)."""
    for arm in arms.values():
        value = getattr(arm.settings, name)
        if value is not None:
            return value
    return None
