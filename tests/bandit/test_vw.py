"""The VW wrapper: round trips through bytes, concurrency, error mapping."""

from __future__ import annotations

import threading

import pytest

from bandit.errors import ModelError
from bandit.slates import SlateModel, slot_text
from bandit.vw import VWModel

ACTIONS = ["|I id=a", "|I id=b", "|I id=c"]


def test_bad_arguments_are_a_model_error() -> None:
    with pytest.raises(ModelError):
        VWModel("--no_such_option")
    with pytest.raises(ModelError):
        VWModel.from_bytes(b"not a model")


def test_trained_model_round_trips_through_bytes() -> None:
    model = SlateModel.new(epsilon=0.1)
    for _ in range(50):
        model.learn_slot("|U u=1", ACTIONS, slot_text({}, 0), chosen=1, cost=-1.0, probability=1 / 3)
        model.learn_slot("|U u=1", ACTIONS, slot_text({}, 0), chosen=0, cost=0.0, probability=1 / 3)
    pmf = model.slot_pmf("|U u=1", ACTIONS, slot_text({}, 0))
    # learned: b (cost −1) is greedy and gets 1 − ε + ε/3; the others ε/3 each
    assert pmf.argmax() == 1 and pmf[1] == pytest.approx(0.9 + 0.1 / 3, abs=1e-6)
    clone = SlateModel.from_bytes(model.to_bytes())
    assert clone.slot_pmf("|U u=1", ACTIONS, slot_text({}, 0)).tolist() == pmf.tolist()


def test_concurrent_predictions_and_learning_do_not_corrupt_the_model() -> None:
    model = SlateModel.new(epsilon=0.2)
    results: list[float] = []
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        try:
            for i in range(200):
                if i % 2:
                    model.learn_slot("|U u=1", ACTIONS, slot_text({}, 0), chosen=seed % 3, cost=-0.5, probability=0.3)
                results.append(float(model.slot_pmf("|U u=1", ACTIONS, slot_text({}, 0)).sum()))
        except BaseException as exc:  # surfaced below; a thread's exception is otherwise lost
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(results) == 800 and all(abs(total - 1.0) < 1e-5 for total in results)


@pytest.mark.parametrize("args", ["--ccb_explore_adf -q UA --epsilon 0.1 --quiet", "--cb_explore_adf -q UA --epsilon 0.1 --quiet"])
def test_raw_calls_learn_and_predict_exactly_as_pyvw_does(args: str) -> None:
    """VWModel skips pyvw's per-line wrappers (bandit/vw.py ``_run``); the model and the
    predictions must be bit-for-bit those of ``Workspace.learn``/``predict`` on the same
    stream, or the logged propensities would not be the policy's."""
    import random

    from bandit.vw import _as_scores

    rng = random.Random(5)
    ours, reference = VWModel(args), VWModel(args)  # reference driven through pyvw's own API
    ccb = args.startswith("--ccb")

    def example(label: bool) -> list[str]:
        actions = [f"|A x:{rng.random():.6f} id=i{k}" for k in range(rng.randint(2, 6))]
        chosen, cost, prob = rng.randrange(len(actions)), -float(rng.random() < 0.3), rng.uniform(0.1, 1.0)
        if ccb:
            return [f"ccb shared |U u={rng.randrange(4)}", *(f"ccb action {a}" for a in actions),
                    f"ccb slot {f'{chosen}:{cost}:{prob}' if label else ''} |S p=0"]
        return [f"shared |U u={rng.randrange(4)}",
                *((f"{k}:{cost}:{prob} " if label and k == chosen else "") + a for k, a in enumerate(actions))]

    for _ in range(300):
        lines = example(label=True)
        ours.learn_one(lines)
        reference._vw.learn(list(lines))
    for _ in range(50):
        lines = example(label=False)
        assert ours.predict_one(lines) == _as_scores(reference._vw.predict(list(lines)))


def test_a_slate_parsed_once_answers_every_slot_as_a_fresh_example_does() -> None:
    """``SlateModel.slate`` parses the shared and action lines once and asks slot after slot
    over subsets of them; each answer must be bit-for-bit what a freshly parsed single-slot
    example gets (the logged propensities are these numbers), whatever the subset, the
    slot's features, and however many slots were asked before."""
    import random

    import numpy as np

    rng = random.Random(11)
    model = SlateModel.new(epsilon=0.1, args="--ccb_explore_adf -q UA -q UI -q SA -q SI --quiet")

    def actions(count: int) -> list[str]:
        return [f"|I id=i{rng.randrange(40)} |A x:{rng.random():.6f} |X exp:{rng.random():.4f}" for _ in range(count)]

    for _ in range(400):  # a model whose greedy action differs between contexts and slots
        texts = actions(rng.randint(2, 12))
        model.learn_slot(f"|U u={rng.randrange(5)}", texts, slot_text({"f": rng.randrange(3)}, rng.randrange(5)),
                         rng.randrange(len(texts)), -float(rng.random() < 0.4), rng.uniform(0.1, 1.0))
    greedy_positions = set()
    for _ in range(60):
        context, texts = f"|U u={rng.randrange(5)}", actions(rng.randint(1, 30))
        questions = []
        for position in range(rng.randint(1, 6)):
            keep = sorted(rng.sample(range(len(texts)), rng.randint(1, len(texts))))
            questions.append((keep, slot_text({"f": rng.randrange(3)}, position)))
        with model.slate(context, texts) as pmf:
            answers = [pmf(keep, slot) for keep, slot in questions]
        for (keep, slot), answer in zip(questions, answers):
            fresh = model.slot_pmf(context, [texts[i] for i in keep], slot)
            assert answer.tolist() == fresh.tolist()
            greedy_positions.add(int(np.argmax(fresh)))
    assert len(greedy_positions) > 3  # the model is not answering the same thing every time


def test_replays_through_slate_sessions_give_what_slot_by_slot_questions_give() -> None:
    """The report replays the learned and greedy targets through slate sessions over a
    remembering model (VW parses each decision's candidates once); every probability must
    be bit for bit what asking slot by slot gives, and a model without sessions still
    fills slates (slot by slot)."""
    import random

    import numpy as np

    from bandit.slates import Candidate
    from policies.recalling_model import RecallingModel
    from policies.sampling import clean_pmf
    from policies.slate_baselines import CapFreeGreedySlatePolicy
    from policies.slates import LearnedSlatePolicy, fill_slate, replay_allowed

    rng = random.Random(4)
    model = SlateModel.new(epsilon=0.2)
    candidates = [Candidate(f"i{i}", {"x": rng.random()}) for i in range(8)]
    texts = [candidate.vw_text for candidate in candidates]
    for k in range(300):
        model.learn_slot(f"|U u={k % 3}", texts, slot_text({}, k % 3), rng.randrange(8), -float(rng.random() < 0.5), 0.2)
    slots = [(f"s{k}", {}) for k in range(3)]

    def slot_by_slot(policy: object, context: dict, served: list[int], masks: np.ndarray) -> list[float]:
        result = []
        for k, row in enumerate(masks):
            columns = np.flatnonzero(row)
            pmf = clean_pmf(policy.slot_distribution(context, [candidates[i] for i in columns], {}, k))  # type: ignore[attr-defined]
            result.append(float(pmf[int(np.searchsorted(columns, served[k]))]) if row[served[k]] else 0.0)
        return result

    for make in (LearnedSlatePolicy, CapFreeGreedySlatePolicy):
        fresh, remembering = make(model), make(RecallingModel(model))  # type: ignore[arg-type]
        for trial in range(30):
            context = {"u": str(trial % 3)}
            masks = np.array([[rng.random() < 0.8 for _ in candidates] for _ in slots])
            masks[:, 0] = True  # never an empty row
            served = [rng.randrange(len(candidates)) for _ in slots]  # sometimes not allowed: 0.0
            assert replay_allowed(remembering, context, candidates, slots, served, masks) == slot_by_slot(
                fresh, context, served, masks)

    class SlotByCall:  # a model with no slate sessions
        def __init__(self) -> None:
            self.calls = 0

        def slot_pmf(self, *args: object) -> np.ndarray:
            self.calls += 1
            return model.slot_pmf(*args)  # type: ignore[arg-type]

    stand_in = SlotByCall()
    direct = fill_slate(LearnedSlatePolicy(model), {"u": "a"}, candidates, slots, np.random.default_rng(3))
    via = fill_slate(LearnedSlatePolicy(stand_in), {"u": "a"}, candidates, slots, np.random.default_rng(3))  # type: ignore[arg-type]
    assert via == direct and stand_in.calls == len(slots)
