"""The report's apprentice section: match rate with the baseline per 1,000 decisions, and
the reward of both (service/evaluate/apprentice.py says what each number means)."""

from __future__ import annotations

from typing import Any

from service.evaluate.apprentice import ModelsByVersion, apprentice_progress
from service.log.decisions import evaluation_query
from service.reports.context import ReportContext

PER = 1000


def apprentice_section(ctx: ReportContext) -> dict[str, Any]:
    query = {**evaluation_query("slate", ctx.since_ms, ctx.until_ms), "policy": "apprentice"}
    if not ctx.store.count_decisions(query):
        return {"status": "no_data", "note": "no slate was served in apprentice mode in this window",
                "verdicts": [], "batches": []}
    registry = ctx.sources.slate_models
    models = ModelsByVersion(ctx.store.model_meta, ctx.store.load_model, registry.load, registry.fresh)
    batches = apprentice_progress(ctx.store.iter_decisions(query), models, PER)
    last = batches[-1]
    verdict = (f"the learned policy would have served the baseline on {last['match_rate']:.0%} of the last "
               f"{last['decisions']} apprentice decisions (baseline reward {last['baseline_reward']:.3f}); "
               "apprentice data values no other policy off-policy: it has no overlap")
    return {"status": "ok", "note": None, "verdicts": [verdict], "per": PER, "batches": batches}
