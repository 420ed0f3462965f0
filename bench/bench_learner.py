"""Learner throughput beside raw VW on the same examples, in one run.

elicit: one learner pass over ``--decisions`` due slate decisions (50 candidates × 5 slots,
~20 features each; a third with a consume, as their templates), timed end to end — read
what is due, join outcomes, claim the batch, build the examples, train, publish the
snapshot. Raw VW: the very same CCB examples as text lines, built beforehand, fed to a
fresh workspace with the same arguments; the two models must be byte for byte the same.

    .venv/bin/python bench/bench_learner.py [--decisions 3000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from seed_log import bench_runtime, clone, clone_outcomes, insert_clones, real_decisions  # noqa: E402

from bandit.slates import SlateModel, slot_example  # noqa: E402
from policies.rewards import SlateReward  # noqa: E402
from service.learn.learner import slate_rewards  # noqa: E402
from service.learn.slate_examples import learn_slate_decision  # noqa: E402


class Recorder:
    """Stands in for a SlateModel: keeps the example lines the learner would train on."""

    def __init__(self) -> None:
        self.examples: list[list[str]] = []

    def learn_slot(self, context_text: str, action_texts: Any, slot_features_text: str, chosen: int, cost: float,
                   probability: float) -> None:
        self.examples.append(slot_example(context_text, action_texts, slot_features_text, f"{chosen}:{cost!r}:{probability!r}"))


PHASES = {"store": ("release_unpublished", "due_compact", "logged_item_bodies", "outcomes_for", "claim_batch",
                    "confirm_claims", "save_model", "latest_model_meta", "load_model"), "learner": ("learn_run",)}


def timed(target: Any, names: tuple[str, ...], spent: dict[str, float]) -> None:
    """Wrap ``target``'s methods ``names`` (on the instance) so their wall time adds up in
    ``spent``; for a generator method, the time spent getting each of its items."""
    for name in names:
        def wrapper(*args: Any, _inner: Callable[..., Any] = getattr(target, name), _name: str = name, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                result = _inner(*args, **kwargs)
            finally:
                spent[_name] += time.perf_counter() - started
            return _timed_items(result, _name, spent) if isinstance(result, Generator) else result
        setattr(target, name, wrapper)


def _timed_items(items: Generator[Any, None, None], name: str, spent: dict[str, float]) -> Iterator[Any]:
    while True:
        started = time.perf_counter()
        try:
            item = next(items)
        except StopIteration:
            return
        finally:
            spent[name] += time.perf_counter() - started
        yield item


def children_cpu_s() -> float:
    """CPU seconds used so far by this process's children (the embedded store), read from
    /proc; 0 where there is no /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[1]) == os.getpid():
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def run(decisions: int) -> dict[str, float]:
    with bench_runtime(LEARN_BATCH=decisions + 1000) as (runtime, clock):
        templates = real_decisions(runtime, clock, 150, candidates=50, slots=5)
        runtime.store.decisions.delete_many({})
        start_ms = clock.now_ms()
        insert_clones(runtime, clone(templates, decisions, start_ms, 60_000, learned=False))
        clone_outcomes(runtime, templates, decisions, start_ms, 60_000)
        clock.advance(3600)
        # The examples, exactly as the learner builds them, for the raw VW reference.
        recorder = Recorder()
        reward = SlateReward(dict(runtime.config["SLATE_REWARDS"]))
        due = runtime.store.due_decisions("slate", clock.now_ms(), decisions)
        outcomes = runtime.store.outcomes_for([d["_id"] for d in due])
        rewarded = 0
        for decision in due:
            rewards = slate_rewards(decision, outcomes[decision["_id"]], reward)
            rewarded += any(rewards)
            learn_slate_decision(recorder, decision, rewards)  # type: ignore[arg-type]

        spent: dict[str, float] = defaultdict(float)
        timed(runtime.store, PHASES["store"], spent)
        timed(runtime.learner.kinds["slate"], PHASES["learner"], spent)
        started, cpu, store_cpu = time.perf_counter(), time.process_time(), children_cpu_s()
        result = runtime.learner.run_once()
        elicit_s = time.perf_counter() - started
        elicit_cpu, store_cpu = time.process_time() - cpu, children_cpu_s() - store_cpu
        assert result.learned == decisions, result
        published = runtime.store.load_model(runtime.store.latest_model_meta("slate")["file_id"])

    model = SlateModel.new(epsilon=float(runtime.config["EPSILON"]), args=str(runtime.config["SLATE_VW_ARGS"]))
    started, cpu = time.perf_counter(), time.process_time()
    model.vw.learn_many(recorder.examples)
    raw_s, raw_cpu = time.perf_counter() - started, time.process_time() - cpu
    # Both learned the same examples in the same order, or the comparison means nothing.
    assert model.to_bytes() == published, "the learner published another model than raw VW learned"
    examples = len(recorder.examples)
    return {"decisions": decisions, "rewarded": rewarded, "examples": examples,
            "elicit_per_s": examples / elicit_s, "raw_per_s": examples / raw_s,
            "elicit_s": elicit_s, "raw_s": raw_s, "elicit_cpu_s": elicit_cpu, "store_cpu_s": store_cpu, "raw_cpu_s": raw_cpu,
            **{f"phase_{name}": seconds for name, seconds in spent.items()}}


def print_result(row: dict[str, float]) -> None:
    print(f"learner, {row['decisions']:.0f} slate decisions = {row['examples']:.0f} CCB examples (50 candidates), "
          f"{row['rewarded']:.0f} with a reward")
    print(f"  elicit learner pass   {row['elicit_per_s']:8.0f} examples/s  ({row['elicit_s']:.1f} s)")
    print(f"  raw VW learn          {row['raw_per_s']:8.0f} examples/s  ({row['raw_s']:.1f} s)")
    print(f"  ratio                 {row['elicit_per_s'] / row['raw_per_s']:8.2f}")
    if "elicit_cpu_s" in row:
        print(f"  CPU seconds           elicit {row['elicit_cpu_s']:.1f} + its store {row['store_cpu_s']:.1f}, "
              f"raw VW {row['raw_cpu_s']:.1f} (raw / elicit's own: {row['raw_cpu_s'] / row['elicit_cpu_s']:.2f})")
    phases = {name[len("phase_"):]: seconds for name, seconds in row.items() if name.startswith("phase_")}
    if phases:
        print("  pass wall time, overlapping: " + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in phases.items()))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--decisions", type=int, default=3000)
    print_result(run(parser.parse_args().decisions))


if __name__ == "__main__":
    main()
