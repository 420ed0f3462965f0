"""The one module that imports :mod:`vowpalwabbit`.

:class:`VWModel` is a thread-safe Vowpal Wabbit workspace that predicts and learns
multi-line (ADF) examples in VW's text format and round-trips through bytes, so models
can be stored in MongoDB and hot-loaded by other processes. VW failures become
:class:`bandit.errors.ModelError`.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pylibvw  # the extension under vowpalwabbit: see VWModel._run
import vowpalwabbit

from bandit.errors import ModelError

ActionScores = list[tuple[int, float]]


class VWModel:
    """A Vowpal Wabbit workspace behind a lock.

    >>> model = VWModel("--cb_explore_adf --epsilon 0.2 --quiet")
    >>> scores = model.predict_one(["shared |U user=a", "|A item=x", "|A item=y"])
    >>> sorted(index for index, _ in scores), round(sum(p for _, p in scores), 6)
    ([0, 1], 1.0)
    >>> clone = VWModel.from_bytes(model.to_bytes())
    >>> clone.predict_one(["shared |U user=a", "|A item=x", "|A item=y"]) == scores
    True
    """

    def __init__(self, args: str, *, _workspace: Any = None) -> None:
        self.args = args
        self._lock = threading.Lock()
        try:
            self._vw = _workspace if _workspace is not None else vowpalwabbit.Workspace(args)
        except Exception as exc:  # VW raises RuntimeError or its own error types
            raise ModelError(f"Vowpal Wabbit rejected arguments {args!r}: {exc}") from exc
        kind = self._vw.get_prediction_type()
        self._prediction = _PREDICTION_GETTERS.get(kind)

    @classmethod
    def from_bytes(cls, data: bytes, extra_args: str = "--quiet") -> VWModel:
        """Load a model saved by :meth:`to_bytes`; its reduction arguments are in the bytes."""
        path = _write_temp(data)
        try:
            workspace = vowpalwabbit.Workspace(f"{extra_args} -i {path}")
        except Exception as exc:
            raise ModelError(f"Vowpal Wabbit could not load a model of {len(data)} bytes: {exc}") from exc
        finally:
            os.unlink(path)
        return cls(f"{extra_args} -i <bytes>", _workspace=workspace)

    @property
    def prediction_type(self) -> str:
        """What this workspace predicts, by VW's name: ``DECISION_SCORES`` (CCB slates) or
        ``ACTION_PROBS`` (``cb_explore_adf``). A model loaded from bytes keeps the reduction
        it was saved with, so this is how an imported model is told apart from one of
        another kind (service/learn/publish.py)."""
        return vowpalwabbit.PredictionType(self._vw.get_prediction_type()).name

    def to_bytes(self) -> bytes:
        fd, path = tempfile.mkstemp(suffix=".vw")
        os.close(fd)
        try:
            with self._lock:
                self._vw.save(path)
            with open(path, "rb") as handle:
                return handle.read()
        finally:
            os.unlink(path)

    def predict_one(self, lines: Sequence[str]) -> Any:
        """Predict one multi-line example; returns VW's prediction object as is.

        ``--cb_explore_adf`` gives ``[(action, probability), ...]`` (we normalise the order),
        ``--ccb_explore_adf`` gives one such list per slot.
        """
        with self._lock:
            try:
                if self._prediction is None:
                    prediction = self._vw.predict(list(lines))
                else:
                    prediction = self._run(lines, pylibvw.vw.predict_multi, self._prediction)
            except Exception as exc:
                raise ModelError(f"Vowpal Wabbit could not predict: {exc}") from exc
        return _as_scores(prediction)

    @contextmanager
    def ccb_slots(self, head: Sequence[str]) -> Iterator[CCBSlots]:
        """Parse a CCB example's shared and action lines once, then ask for one slot at a
        time over any subset of the actions (:meth:`CCBSlots.predict`).

        A slate asks VW about the same 50 actions slot after slot, and parsing them was
        most of each predict; the answers are the ones a freshly parsed example gets
        (tests/bandit/test_vw.py). The workspace stays locked until the block ends."""
        with self._lock:
            try:
                examples = self._vw._parse("\n".join(head).replace("\r", "").strip())
            except Exception as exc:
                raise ModelError(f"Vowpal Wabbit could not parse a slate: {exc}") from exc
            slots = CCBSlots(self._vw, examples)
            try:
                yield slots
            finally:
                slots.finish()

    def learn_one(self, lines: Sequence[str]) -> None:
        with self._lock:
            try:
                self._run(lines, pylibvw.vw.learn_multi, None)
            except Exception as exc:
                raise ModelError(f"Vowpal Wabbit could not learn: {exc}") from exc

    def learn_many(self, examples: Iterable[Sequence[str]]) -> int:
        count = 0
        with self._lock:
            for lines in examples:
                try:
                    self._run(lines, pylibvw.vw.learn_multi, None)
                except Exception as exc:
                    raise ModelError(f"Vowpal Wabbit could not learn example {count}: {exc}") from exc
                count += 1
        return count

    def _run(self, lines: Sequence[str], step: Callable[[Any, Any], None], read: Callable[[Any], Any] | None) -> Any:
        """Parse, predict or learn, read the prediction, and return the examples to VW's pool.

        The same calls ``Workspace.predict``/``learn`` make, minus the Python wrapper
        object pyvw builds for every line: for a 50-action slot that halves the cost
        (0.5 → 0.21 ms), and the outputs are identical (tests/bandit/test_vw.py). Caller holds
        the lock."""
        text = "\n".join(lines).replace("\r", "").strip()
        examples = self._vw._parse(text)
        try:
            step(self._vw, examples)
            return None if read is None else read(examples[0])
        finally:
            pylibvw.vw._finish_example_multi_ex(self._vw, examples)


class CCBSlots:
    """The parsed shared example and actions of one CCB slate (:meth:`VWModel.ccb_slots`)."""

    def __init__(self, vw: Any, examples: list[Any]) -> None:
        self._vw, self._examples = vw, examples
        self._slots: list[list[Any]] = []

    def predict(self, keep: Sequence[int], slot_line: str) -> ActionScores:
        """VW's ``(index into keep, probability)`` for the slot ``slot_line`` over actions ``keep``
        (positions among the parsed actions, in order)."""
        try:
            slot = self._vw._parse(slot_line)
            self._slots.append(slot)
            actions = self._examples[1:]
            pylibvw.vw.predict_multi(self._vw, [self._examples[0], *(actions[i] for i in keep), *slot])
            # The shared example collects one decision per predict: this slot's is the last.
            return [(int(index), float(p)) for index, p in self._examples[0].get_decision_scores()[-1]]
        except Exception as exc:
            raise ModelError(f"Vowpal Wabbit could not predict a slot: {exc}") from exc

    def finish(self) -> None:
        """Return every parsed example to VW's pool."""
        for slot in self._slots:
            pylibvw.vw._finish_example_multi_ex(self._vw, slot)
        pylibvw.vw._finish_example_multi_ex(self._vw, self._examples)
        self._slots.clear()


# How Workspace.predict reads each prediction type we use (pyvw's Example.get_prediction).
_PREDICTION_GETTERS: dict[int, Callable[[Any], Any]] = {
    int(vowpalwabbit.PredictionType.ACTION_PROBS): lambda example: example.get_action_scores(),
    int(vowpalwabbit.PredictionType.ACTION_SCORES): lambda example: example.get_action_scores(),
    int(vowpalwabbit.PredictionType.DECISION_SCORES): lambda example: example.get_decision_scores(),
}


def _as_scores(prediction: Any) -> Any:
    """cb_explore_adf returns a flat list of probabilities indexed by action; make it
    ``[(action, p), ...]`` like ccb so callers see one shape."""
    if isinstance(prediction, list) and prediction and isinstance(prediction[0], float):
        return [(index, float(p)) for index, p in enumerate(prediction)]
    if isinstance(prediction, list) and prediction and isinstance(prediction[0], list):
        return [[(int(a), float(p)) for a, p in slot] for slot in prediction]
    return prediction


def _write_temp(data: bytes) -> str:
    fd, path = tempfile.mkstemp(suffix=".vw")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path
