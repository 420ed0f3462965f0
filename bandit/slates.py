"""Slates on Vowpal Wabbit's conditional contextual bandit (``--ccb_explore_adf``).

Slots are filled in order without replacement. VW's CCB reduction conditions each slot on
the actions VW itself chose for the earlier slots; elicit must condition on what *it*
served — after per-slate caps that depend on the earlier choices (docs/design.md, "Not going
berserk") — so a slate is asked of VW one slot at a time: a CCB example with the shared
context, only the candidates still allowed for this slot, and one slot carrying the slot's
own features and its position. VW returns that slot's exploration distribution, which is
exactly the conditional distribution the policy samples from; learning uses the same
single-slot examples with the served slot's label.

Namespaces (the first letter is VW's interaction index): ``U`` shared context, ``A``
client item features, ``I`` item identity (id, category, creator, kind), ``X`` satiation
(the user's decayed exposure to the item's category and creator, policies/guards.py),
``S`` slot features and position. Default interactions: ``-q UA -q UI -q SA -q SI``;
satiation enters linearly, enough for VW to learn diminishing returns.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import orjson

from bandit.features import encode
from bandit.vw import VWModel

DEFAULT_SLATE_ARGS = "--ccb_explore_adf -q UA -q UI -q SA -q SI --quiet"


class ItemTextCache:
    """Encoded item text by (id, category, creator, kind, features), shared by all requests.

    Catalogue items come back request after request with the same features; encoding them
    is most of the CPU a slate costs, so each distinct item is encoded once per process.
    A key is the item's JSON, in the client's key order (cheap next to encoding). Bounded: past ``limit``
    entries the oldest half is dropped (dicts keep insertion order).

    >>> cache = ItemTextCache(limit=4)
    >>> key = cache.key("a", None, None, "single", {"x": 1})
    >>> cache.text(key, "a", None, None, "single", {"x": 1}), key in cache
    ('|I id=a kind=single |A x:1', True)
    >>> cache.key("a", None, None, "single", {"x": 1, "y": 2}) != cache.key("a", None, None, "single", {"y": 2, "x": 1})
    True
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._texts: dict[str, str] = {}
        self._lock = threading.Lock()

    @staticmethod
    def key(
        item_id: str, category: str | None, creator: str | None, kind: str, features: Mapping[str, Any],
        known_json: str | None = None,
    ) -> str:
        """``known_json``: :func:`features_json` of ``features``, when the caller has it."""
        try:  # 50 keys a slate: orjson's ~0.1 µs, not json's ~2; a key need only be one-to-one
            head = orjson.dumps([item_id, category, creator, kind]).decode()
        except TypeError:  # a lone surrogate in an id
            head = json.dumps([item_id, category, creator, kind], separators=(",", ":"), ensure_ascii=False)
        return head + (known_json if known_json is not None else features_json(features))

    def __contains__(self, key: str) -> bool:
        return key in self._texts

    def text(
        self, key: str, item_id: str, category: str | None, creator: str | None, kind: str, features: Mapping[str, Any]
    ) -> str:
        found = self._texts.get(key)
        if found is not None:
            return found
        identity: dict[str, Any] = {"id": item_id, "kind": kind}
        if category is not None:
            identity["category"] = category
        if creator is not None:
            identity["creator"] = creator
        text = " ".join(part for part in (encode(identity, "I"), encode(features, "A")) if part)
        with self._lock:
            if len(self._texts) >= self.limit:
                for stale in list(self._texts)[: self.limit // 2]:
                    del self._texts[stale]
            self._texts[key] = text
        return text


ITEM_TEXTS = ItemTextCache()


def features_json(features: Mapping[str, Any]) -> str:
    """JSON of a feature map in its own key order.

    Not sorted, on purpose: VW's text keeps the client's order (bandit/features.py), and VW
    sums in text order, so two orders of the same features are two texts whose predictions
    may differ in the last bits; a cache keyed on sorted JSON would serve one the other's.

    orjson writes it (~10x faster: 50 dumps a slate); a key only, never stored, so its float
    spelling ("1e-7") need not match the standard library's. Where orjson would write
    ``null`` for NaN or ±inf (or cannot write an integer beyond 64 bits) the standard
    library writes it instead, so no two different maps share a key.

    >>> features_json({"b": 1, "a": [2.5]}), features_json({"x": float("nan")}), features_json({"x": None})
    ('{"b":1,"a":[2.5]}', '{"x":NaN}', '{"x":null}')
    """
    try:
        text = orjson.dumps(features)
    except TypeError:
        text = b"null"
    if b"null" in text:
        return json.dumps(features, separators=(",", ":"), ensure_ascii=False)
    return text.decode()


@dataclass(frozen=True)
class Candidate:
    """One item a slate may hold, with the text VW sees for it encoded once."""

    id: str
    features: Mapping[str, Any] = field(default_factory=dict)
    category: str | None = None
    creator: str | None = None
    kind: str = "single"
    satiation: Mapping[str, Any] = field(default_factory=dict)  # per-user, computed by elicit
    features_json: str | None = field(default=None, compare=False, repr=False)  # if known: saves a dump

    @cached_property
    def item_key(self) -> str:
        return ITEM_TEXTS.key(self.id, self.category, self.creator, self.kind, self.features, self.features_json)

    @cached_property
    def vw_text(self) -> str:
        """The item's (cached) text plus this user's satiation features."""
        item = ITEM_TEXTS.text(self.item_key, self.id, self.category, self.creator, self.kind, self.features)
        satiation = satiation_text(self.satiation)
        return f"{item} {satiation}" if satiation else item


def satiation_text(values: Mapping[str, Any]) -> str:
    """The ``X`` namespace for elicit's own satiation features, written directly.

    Names are elicit's constants and values its own numbers and flags, so the general
    encoder's escaping and exact-float care (the slowest part of a slate) buy nothing
    here; a value VW reads a few ulps off is read the same way when learning.

    >>> satiation_text({"exp_cat": 1.25, "exhausted": False, "cons_cat": 0.0})
    '|X exp_cat:1.25 exhausted=false'
    """
    tokens = []
    for name, value in values.items():
        if isinstance(value, bool):
            tokens.append(f"{name}={'true' if value else 'false'}")
        elif value:
            tokens.append(f"{name}:{float(value)!r}")
    return f"|X {' '.join(tokens)}" if tokens else ""


def slot_text(features: Mapping[str, Any], position: int) -> str:
    """The slot's own features plus its position (so slot 0 and slot 4 can differ)."""
    return f"{encode({'position': str(position)}, 'S')} {encode(features, 'Sf')}".rstrip()


def slot_example(
    context_text: str, action_texts: Sequence[str], slot_features_text: str, label: str = ""
) -> list[str]:
    """A single-slot CCB example; ``label`` is ``"index:cost:probability"`` when learning."""
    return [*slate_head(context_text, action_texts), slot_line(slot_features_text, label)]


def slate_head(context_text: str, action_texts: Sequence[str]) -> list[str]:
    return [shared_line(context_text), *map(action_line, action_texts)]


# An empty feature part must still carry a bar, or VW reads the line as a bad label.
def shared_line(context_text: str) -> str:
    return f"ccb shared {context_text or '|'}"


def action_line(text: str) -> str:
    """One action's line; the learner keeps these for the actions a decision's slots share."""
    return f"ccb action {text or '|'}"


def slot_line(slot_features_text: str, label: str = "") -> str:
    return f"ccb slot {label} {slot_features_text or '|'}"


def _as_pmf(scores: Sequence[tuple[int, float]], size: int) -> np.ndarray:
    pmf = np.zeros(size, dtype=np.float64)
    for index, probability in scores:
        pmf[index] = probability
    return pmf


class SlateModel:
    """A CCB learner asked one slot at a time.

    >>> model = SlateModel.new(epsilon=0.2)
    >>> pmf = model.slot_pmf("|U user=a", ["|I id=x", "|I id=y", "|I id=z"], slot_text({}, 0))
    >>> pmf.round(4).tolist()
    [0.3333, 0.3333, 0.3333]
    """

    def __init__(self, vw: VWModel) -> None:
        self.vw = vw

    @classmethod
    def new(cls, epsilon: float = 0.1, args: str = DEFAULT_SLATE_ARGS) -> SlateModel:
        return cls(VWModel(f"{args} --epsilon {epsilon}"))

    def slot_pmf(self, context_text: str, action_texts: Sequence[str], slot_features_text: str) -> np.ndarray:
        """VW's exploration distribution over ``action_texts`` for one slot (float64)."""
        (scores,) = self.vw.predict_one(slot_example(context_text, action_texts, slot_features_text))
        return _as_pmf(scores, len(action_texts))

    @contextmanager
    def slate(self, context_text: str, action_texts: Sequence[str]) -> Iterator[Callable[[Sequence[int], str], np.ndarray]]:
        """Ask about one context and candidate list slot after slot, the actions parsed once:
        yields ``pmf(keep, slot_features_text)``, :meth:`slot_pmf` over ``action_texts[i]``
        for ``i`` in ``keep``.

        >>> model = SlateModel.new(epsilon=0.2)
        >>> with model.slate("|U user=a", ["|I id=x", "|I id=y", "|I id=z"]) as pmf:
        ...     pmf([0, 2], slot_text({}, 1)).tolist()
        [0.5, 0.5]
        """
        with self.vw.ccb_slots(slate_head(context_text, action_texts)) as slots:
            def pmf(keep: Sequence[int], slot_features_text: str) -> np.ndarray:
                return _as_pmf(slots.predict(keep, slot_line(slot_features_text)), len(keep))

            yield pmf

    def learn_slot(
        self,
        context_text: str,
        action_texts: Sequence[str],
        slot_features_text: str,
        chosen: int,
        cost: float,
        probability: float,
    ) -> None:
        label = f"{chosen}:{cost!r}:{probability!r}"
        self.vw.learn_one(slot_example(context_text, action_texts, slot_features_text, label))

    def to_bytes(self) -> bytes:
        return self.vw.to_bytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> SlateModel:
        return cls(VWModel.from_bytes(data))
