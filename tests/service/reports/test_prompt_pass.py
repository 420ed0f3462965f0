"""The prompt sections read the window's prompt decisions once, and their numbers are those
of a separate read of the joined decisions per section (the old path), chunk for chunk —
including a deferred decision activated later (nx-27017 returns its ``activated`` as 1)."""

from __future__ import annotations

from itertools import islice
from typing import Any

import pytest

from service.reports import build_report
from service.reports import prompt_pass as pass_module
from service.reports.context import ReportContext
from service.reports.effects import FORMAT_METRICS, FactorPass, segment_of
from service.reports.over_reaction import ExposureTally
from service.reports.prompts import StrategyTally, prompt_query
from service.reports.window_pass import KindTally

RESPONSES = ["thumbs_up", None, "dismissed", "thumbs_down", "double_thumbs_up", None, "abandoned"]


def prompt(i: int, t: int) -> dict[str, Any]:
    fmt, vis = ("graded" if i % 2 else "single"), ("public" if i % 3 else "private")
    response = RESPONSES[i % len(RESPONSES)]
    if fmt == "single" and response == "double_thumbs_up":
        response = "thumbs_up"
    return {
        "_id": f"p{i:03d}", "kind": "prompt", "t": t, "user": f"u{i % 4}", "item_id": "m",
        "context": {"segment": "ab"[i % 2]}, "derived": {"berserk_share": (i % 5) / 5},
        "actions": ["none", "single/private", "single/public", "graded/private", "graded/public"],
        "distribution": [0.2, 0.1, 0.3, 0.25, 0.15], "ask": i % 6 != 0,
        "chosen": {"index": 1, "action": f"{fmt}/{vis}", "format": fmt, "visibility": vis, "probability": 0.25},
        "activated": True, "window_end": t + 600_000, "learn_version": 1, "reward": float(i % 3 == 1),
        "response": None if response is None else {"type": response, "t": t + 1},
    }


def write(runtime: Any) -> None:
    for i in range(40):
        doc = prompt(i, 1000 + 10 * (i // 3))  # three decisions per event time
        if i == 7:
            doc.update(activated=False, window_end=None)  # deferred: activated below
        if i == 11:
            doc["learn_version"] = None  # not joined yet
        if i == 13:
            doc["activated"] = False  # never activated
        runtime.store.insert_decision(doc)
    assert runtime.store.activate("p007", 1100, 1100 + 600_000)


def reference(runtime: Any, ctx: ReportContext, chunk: int) -> dict[str, Any]:
    """Each section's consumer fed by its own read of the joined decisions (the old path)."""
    made = {"prompt_strategies": StrategyTally(ctx), "over_reaction": ExposureTally(ctx),
            "visibility_effect": FactorPass(ctx, "visibility", ("answered",), by=segment_of),
            "format_effect": FactorPass(ctx, "format", tuple(FORMAT_METRICS.values()))}
    for consumer in made.values():
        iterator = runtime.store.iter_decisions(prompt_query(ctx))
        while part := list(islice(iterator, chunk)):
            consumer.add(part)
    return made


def test_one_read_for_every_prompt_section_with_the_numbers_of_separate_reads(
        runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    write(runtime)
    monkeypatch.setattr(pass_module, "CHUNK", 4)  # chunk boundaries inside groups of equal time
    reads: list[dict[str, Any]] = []
    store = runtime.store
    original = store.iter_decisions
    monkeypatch.setattr(store, "iter_decisions", lambda query, *a, **k: reads.append(query) or original(query, *a, **k))
    report = build_report(runtime.report_sources, 0, 10_000)
    assert [q.get("kind") for q in reads].count("prompt") == 1

    ctx = ReportContext(runtime.report_sources, 0, 10_000)
    joined = list(original(prompt_query(ctx)))
    assert len(joined) == 38 and "p007" in {d["_id"] for d in joined}  # the deferred one counts, as the query says
    ref = reference(runtime, ctx, 4)
    sections = report["sections"]
    assert sections["prompt_strategies"]["policies"] == ref["prompt_strategies"].rows(ctx.alpha)
    assert sections["prompt_strategies"]["decisions"] == 38
    total, groups, shown, answered = ref["visibility_effect"].result()
    assert sections["visibility_effect"]["decisions"] == total.n > 0
    assert sections["visibility_effect"]["difference"] == total.paired["answered"].result(ctx.alpha)["difference"]
    assert {row["segment"]: row["decisions"] for row in sections["visibility_effect"]["by_segment"]} == {
        name: part.n for name, part in groups.items()}
    assert sum(row["prompts"] for row in sections["visibility_effect"]["answer_rate_by_day"]) == sum(shown.values())
    fmt_total = ref["format_effect"].result()[0]
    assert sections["format_effect"]["difference"]["bits_per_prompt"] == fmt_total.paired["bits"].result(ctx.alpha)
    exposure = ref["over_reaction"]
    assert [row["prompts"] for row in sections["over_reaction"]["answer_rate_by_exposure"]] == exposure.prompts
    assert [row["answered"] for row in sections["over_reaction"]["answer_rate_by_exposure"]] == exposure.answers
    # Data health counts every prompt decision of the window from the same read.
    everyone = KindTally("prompt")
    everyone.add(ctx, list(original(ctx.window_query(kind="prompt"))))
    assert sections["data_health"]["kinds"]["prompt"] == everyone.result()
    assert everyone.result()["decisions"] == 40


def test_a_deferred_slate_activated_later_is_evaluated_as_the_query_counts_it(client: Any, runtime: Any, clock: Any) -> None:
    from service.log.decisions import evaluation_query
    from tests.service.reports.test_fast import make_log

    start = clock.now_ms()
    make_log(client, runtime, clock, 30, seed=3)
    until = clock.now_ms()
    stored = runtime.store.decisions.find_one({"kind": "slate"})
    deferred = {**stored, "_id": "deferred", "t": until - 1, "activated": False}
    runtime.store.decisions.insert_one(deferred)
    assert runtime.store.activate("deferred", until, until + 600_000)  # nx-27017 stores the $set True as 1
    joined = runtime.store.count_decisions(evaluation_query("slate", start, until))
    assert joined == 31
    section = build_report(runtime.report_sources, start, until)["sections"]["slates"]
    assert section["replay_sample"]["population"] == joined
    assert {row["decisions"] for row in section["policies"]} == {joined}


def test_a_failing_consumer_fails_its_section_only(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    write(runtime)

    class Broken:
        def __init__(self, ctx: ReportContext) -> None:
            pass

        def add(self, chunk: Any) -> None:
            raise ValueError("broken consumer")

    monkeypatch.setitem(pass_module.CONSUMERS, "over_reaction", Broken)
    sections = build_report(runtime.report_sources, 0, 10_000)["sections"]
    assert sections["over_reaction"]["status"] == "error" and "broken consumer" in sections["over_reaction"]["note"]
    assert all(sections[name]["status"] == "ok" for name in ("data_health", "prompt_strategies", "visibility_effect",
                                                             "format_effect"))
