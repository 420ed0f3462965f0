"""Realistic decision logs, fast: a few hundred real decisions made by elicit's own decider
(in-process, manual clock), then cloned with fresh event ids, users and times and
bulk-inserted as stored (compact) documents, so the clones are exactly what the service
writes. Shared by the learner and report benchmarks."""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_slates import request_body  # noqa: E402

from service.core.clock import ManualClock  # noqa: E402
from service.http.app import create_app  # noqa: E402
from service.store import EmbeddedMongo  # noqa: E402


@contextmanager
def bench_runtime(**overrides: Any) -> Iterator[tuple[Any, ManualClock]]:
    """An in-process runtime on a fresh embedded store, with a manual clock."""
    clock = ManualClock()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedMongo(tmp) as server:
        app = create_app({"MONGO_URI": server.uri, "DB": "bench", "CLOCK": clock, "BACKGROUND_JOBS": False,
                          "SEED": 7, **overrides})
        runtime = app.extensions["elicit"]
        try:
            yield runtime, clock
        finally:
            runtime.close()


def real_decisions(runtime: Any, clock: ManualClock, count: int, candidates: int, slots: int, seed: int = 0) -> list[dict]:
    """``count`` decisions through the real decider, a third with a consume on slot 0;
    returns them as stored (compact)."""
    rng = np.random.default_rng(seed)
    ids = []
    for i in range(count):
        doc, _ = runtime.slates.decide_document(request_body(rng, n=candidates, slots=slots))
        ids.append(doc["_id"])
        if i % 3 == 0:
            runtime.slates.record_outcomes(doc["_id"], {"outcomes": [{"item_id": doc["chosen"][0]["item_id"], "type": "consume"}]})
        clock.advance(1)
    return list(runtime.store.decisions.find({"_id": {"$in": ids}}))


def placed(i: int, total: int, start_ms: int, span_ms: int) -> tuple[str, int]:
    """Clone ``i``'s event id and time: ``total`` clones spread evenly over ``[start_ms, start_ms + span_ms)``."""
    return f"c{i:08d}", start_ms + int(i * span_ms / total)


def clone(templates: list[dict], total: int, start_ms: int, span_ms: int, learned: bool) -> Iterator[list[dict]]:
    """``total`` clones in chunks of 5,000 (:func:`placed`); ``learned``: as the learner
    leaves them (a reward per slot, a model version)."""
    rng = np.random.default_rng(1)
    chunk: list[dict] = []
    for i in range(total):
        doc = dict(templates[i % len(templates)])
        event_id, t = placed(i, total, start_ms, span_ms)
        doc.update(_id=event_id, t=t, user=f"u{i % 5000:05d}", activated_at=t, window_end=t + 600_000)
        if learned:
            doc.update(learn_version=1, learned_at=t + 600_000, claim="bench",
                       reward=[float(rng.random() < 0.2) for _ in doc["chosen"]])
        chunk.append(doc)
        if len(chunk) == 5000:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def clone_outcomes(runtime: Any, templates: list[dict], total: int, start_ms: int, span_ms: int) -> int:
    """Each clone of :func:`clone` (same arguments) gets the outcomes its template got, at the
    same delay (a third of :func:`real_decisions` have a consume), so that what the learner
    joins and learns is what real decisions would give; returns how many were inserted."""
    by_template: dict[str, list[dict]] = {}
    for doc in runtime.store.outcomes.find({"event_id": {"$in": [template["_id"] for template in templates]}}):
        by_template.setdefault(doc["event_id"], []).append(doc)
    docs = []
    for i in range(total):
        template = templates[i % len(templates)]
        event_id, t = placed(i, total, start_ms, span_ms)
        docs.extend({**outcome, "_id": f"{event_id}/{outcome['_id']}", "event_id": event_id, "t": t + outcome["t"] - template["t"]}
                    for outcome in by_template.get(template["_id"], ()))
    if docs:
        runtime.store.outcomes.insert_many(docs, ordered=False)
    return len(docs)


def insert_clones(runtime: Any, chunks: Iterator[list[dict]]) -> float:
    """Bulk-insert; returns the seconds it took."""
    started = time.perf_counter()
    for chunk in chunks:
        runtime.store.decisions.insert_many(chunk, ordered=False)
    return time.perf_counter() - started
