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
from collections.abc import Iterable, Sequence
from typing import Any

import pylibvw
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
                prediction = self._vw.predict(list(lines))
            except Exception as exc:
                raise ModelError(f"Vowpal Wabbit could not predict: {exc}") from exc
        return _as_scores(prediction)

    def learn_one(self, lines: Sequence[str]) -> None:
        with self._lock:
            try:
                self._vw.learn(list(lines))
            except Exception as exc:
                raise ModelError(f"Vowpal Wabbit could not learn: {exc}") from exc

    def learn_many(self, examples: Iterable[Sequence[str]]) -> int:
        count = 0
        with self._lock:
            for lines in examples:
                try:
                    self._vw.learn(list(lines))
                except Exception as exc:
                    raise ModelError(f"Vowpal Wabbit could not learn example {count}: {exc}") from exc
                count += 1
        return count


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


def learn_texts(model: VWModel, examples: Iterable[str]) -> int:
    """Learn multi-line examples given as one text each (lines joined by ``\\n``), in order;
    returns how many. For the learner's batches, one lock for all of them.

    Same VW calls as :meth:`VWModel.learn_one` — parse, learn, finish — but on pylibvw's
    examples directly: pyvw wraps every parsed line in a Python ``Example`` object, which
    was half the time of learning a 50-candidate slot. The model learned is the same,
    byte for byte (tests/test_learner_fast.py).

    >>> a, b = VWModel("--cb_explore_adf --quiet"), VWModel("--cb_explore_adf --quiet")
    >>> lines = ["shared |U user=a", "0:-1:0.5 |A item=x", "|A item=y"]
    >>> a.learn_one(lines); learn_texts(b, ["\\n".join(lines)])
    1
    >>> a.to_bytes() == b.to_bytes()
    True
    """
    count = 0
    with model._lock:
        workspace = model._vw
        for text in examples:
            try:
                # The clean-up pyvw's ``parse`` does before the same call.
                parsed = pylibvw.vw._parse(workspace, text.replace("\r", "").strip())
                try:
                    pylibvw.vw.learn_multi(workspace, parsed)
                finally:
                    pylibvw.vw._finish_example_multi_ex(workspace, parsed)
            except Exception as exc:
                raise ModelError(f"Vowpal Wabbit could not learn example {count}: {exc}") from exc
            count += 1
    return count
