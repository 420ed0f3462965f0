"""CPU of one decision inside elicit's process beside raw VW's predict of the same decision.

A :class:`~service.runtime.process.Runtime` on the given store (its own database) decides
``requests`` slates (50 × 5 from the serving benchmark's catalogue) and prompts one at a
time, after as many of warm-up, by calling the decider on the request dict — no HTTP, no
JSON parse — and counts the store commands they send. Per decision it records the calling thread's CPU (the response path: deciding,
logging, waiting for the write's acknowledgement costs no CPU) and the whole process's
(with the state write-behind and pymongo's threads; the store is another process and is
not counted). The reference is VW's own predict of the same example — one CCB predict over
the slate's candidates and slots, one ``cb_explore_adf`` predict of the prompt's context
(client and derived features, as elicit's model sees it) and actions — timed the same way.

    .venv/bin/python bench/inprocess_cpu.py [--requests 400]   # starts its own store
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pymongo import monitoring

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_slates import request_body  # noqa: E402

from bandit.actions import ActionModel, action_example  # noqa: E402
from bandit.features import encode  # noqa: E402
from bandit.slates import Candidate, SlateModel, slot_text  # noqa: E402
from policies.prompts import PromptContext  # noqa: E402
from service.core.config import load_config  # noqa: E402
from service.runtime.process import Runtime  # noqa: E402
from service.store import EmbeddedMongo  # noqa: E402


def prompt_body(rng: np.random.Generator) -> dict[str, Any]:
    return {"user_id": f"user{int(rng.integers(1000))}", "item_id": f"item{int(rng.integers(2000))}",
            "context": {"device": "tv", "hour": int(rng.integers(24)), "session_id": f"s{int(rng.integers(10_000))}"}}


class StoreCommands(monitoring.CommandListener):
    """Every command pymongo sends, by (command, collection): counted around the measured
    decisions (write-behind threads included), they say how many round trips — and how
    much of the store's CPU — one decision costs."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self.counts[f"{event.command_name} {target if isinstance(target, str) else ''}".strip()] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


COMMANDS = StoreCommands()
monitoring.register(COMMANDS)  # before any client exists: listeners bind at client creation


def measured(runtime: Runtime, step: Callable[[Any], Any], inputs: list[Any]) -> tuple[np.ndarray, float, dict[str, float]]:
    """:func:`cpu_ms` of ``step`` over ``inputs``, and the store commands per input (the
    write-behinds flushed before and after, so theirs count too)."""
    runtime.state_writer.flush(30.0)
    runtime.event_writer.flush(30.0)
    COMMANDS.counts.clear()
    thread, process = cpu_ms(step, inputs)
    runtime.state_writer.flush(30.0)
    runtime.event_writer.flush(30.0)
    return thread, process, {name: count / len(inputs) for name, count in COMMANDS.counts.most_common()}


def cpu_ms(step: Callable[[Any], Any], inputs: list[Any]) -> tuple[np.ndarray, float]:
    """Per call, the calling thread's CPU in ms; and the process's CPU per call (all threads)."""
    times = []
    process_start = time.process_time()
    for item in inputs:
        start = time.thread_time()
        step(item)
        times.append((time.thread_time() - start) * 1000)
    return np.array(times), (time.process_time() - process_start) * 1000 / len(inputs)


def slate_lines(body: dict[str, Any]) -> list[str]:
    candidates = [Candidate(c["id"], c["features"], c["category"], c["creator"]) for c in body["candidates"]]
    lines = [f"ccb shared {encode(body['context'], 'U')}"]
    lines += [f"ccb action {c.vw_text}" for c in candidates]
    lines += [f"ccb slot {slot_text({}, k)}" for k in range(body["slots"])]
    return lines


def run(uri: str, requests: int = 400) -> dict[str, dict[str, Any]]:
    """``{"slate": {...}, "prompt": {...}}``: elicit's thread CPU (array), process CPU per
    decision, and raw VW's CPU (array), per decision in ms."""
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        config = load_config({"MONGO_URI": uri, "DB": "bench_cpu", "BACKGROUND_JOBS": False, "SEED": 1,
                              "SPOOL_DIR": str(Path(tmp) / "spool"), "REPORT_ENABLED": False})
        runtime = Runtime(config)
        try:
            slates = [request_body(rng) for _ in range(2 * requests)]
            # Prompts of the users the slates were for, as in serving: a user's first prompt
            # without any slate history would backfill their summary once (prompt_summary.py).
            prompts = [{**prompt_body(rng), "user_id": body["user_id"]} for body in slates]
            for body in slates[:requests]:
                runtime.slates.decide(body)
            slate_cpu, slate_process, slate_commands = measured(runtime, runtime.slates.decide, slates[requests:])
            for body in prompts[:requests]:
                runtime.prompts.decide(body)
            answers: list[str] = []
            prompt_cpu, prompt_process, prompt_commands = measured(
                runtime, lambda body: answers.append(runtime.prompts.decide(body)[0]["event_id"]), prompts[requests:])
            derived = [runtime.store.get_decision(event_id)["derived"] for event_id in answers]
            actions = [action.vw_text for action in runtime.prompts.actions]
            runtime.store.drop_database()
        finally:
            runtime.close()
    slate_model = SlateModel.new(epsilon=0.1)
    slate_raw, _ = cpu_ms(slate_model.vw.predict_one, [slate_lines(body) for body in slates[requests:]])
    prompt_model = ActionModel.new(epsilon=0.1)
    examples = [action_example(PromptContext(body["context"], facts).vw_text, actions)
                for body, facts in zip(prompts[requests:], derived)]
    prompt_raw, _ = cpu_ms(prompt_model.vw.predict_one, examples)
    return {"slate": {"elicit": slate_cpu, "process": slate_process, "raw": slate_raw, "commands": slate_commands},
            "prompt": {"elicit": prompt_cpu, "process": prompt_process, "raw": prompt_raw, "commands": prompt_commands}}


def print_cpu(result: dict[str, dict[str, Any]]) -> None:
    print(f"{'in-process CPU per decision (ms)':34}{'elicit mean':>12}{'p50':>8}{'process':>9}   {'raw VW mean':>11}{'p50':>8}"
          f"   {'ratio (mean)':>12}")
    for name, label in (("slate", "slate 50x5"), ("prompt", "prompt")):
        row = result[name]
        e, r = row["elicit"], row["raw"]
        print(f"{label:34}{e.mean():12.3f}{np.median(e):8.3f}{row['process']:9.3f}   {r.mean():11.3f}{np.median(r):8.3f}"
              f"   {e.mean() / r.mean():12.1f}")
    for name, label in (("slate", "slate 50x5"), ("prompt", "prompt")):
        commands = result[name]["commands"]
        listed = ", ".join(f"{command} {count:.2f}" for command, count in commands.items())
        print(f"store commands per {label} (one at a time): {sum(commands.values()):.2f} — {listed}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmbeddedMongo(tmp) as store:
        print_cpu(run(store.uri, args.requests))


if __name__ == "__main__":
    main()
