"""The learner's slate examples as VW text, built with per-learner caches.

A logged slate decision becomes one single-slot CCB example per served slot (see
:func:`learn_slate_decision`, the reference this must match line for line).
Building them through :func:`service.decide.slates.candidates_of` makes a ``Candidate`` per
candidate and a JSON key per item text lookup in every decision, although the same items,
satiation values, slots and contexts come back decision after decision: that was a third
of the learner's Python time. Here every such part is encoded once per learner and found
again by a cheap key.

Decisions come as the store keeps them (``Store.due_compact``): a candidate is a reference
``{"id", "item": <hash of its body>, "satiation"}`` and a served slot names its allowed
candidates by position (``allowed_at``), so an item's text is found by ``(id, hash)`` —
the hash names the body's content — and the body is read only the first time. Full
documents (``features`` inline, ``allowed`` ids: decisions logged before compaction)
work too; there the other keys are ``marshal`` (format 2) bytes of the value: C-fast, and faithful to both
content, key order and type — ``True``, ``1`` and ``"1"`` compare or print alike yet are
different VW text, and are different keys — while format 2 has no back-references, so
equal values give equal bytes.
A value marshal cannot write (not a plain JSON-like type) is encoded without caching.
"""

from __future__ import annotations

import marshal
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from bandit.features import encode
from bandit.slates import ITEM_TEXTS, SlateModel, action_line, satiation_text, shared_line, slot_line, slot_text
from service.log.decisions import candidates_of
from service.store.compact import candidate_satiations

Bodies = Callable[[Collection[str]], Mapping[str, Mapping[str, Any]]]
MARSHAL_FORMAT = 2  # the newest format without back-references (they follow object identity)


def learn_slate_decision(model: SlateModel, decision: Mapping[str, Any], rewards: list[float]) -> int:
    """One single-slot CCB example per served slot, over the candidates allowed there.

    The reference path, one ``learn_slot`` per slot; the learner itself learns the same
    examples, built with caches, through :class:`SlateExamples`."""
    by_id = {candidate.id: candidate for candidate in candidates_of(decision)}
    context_text = encode(decision["context"], "U")
    for choice, slot_reward in zip(decision["chosen"], rewards):
        allowed = choice["allowed"]
        slot = decision["slots"][choice["slot"]]
        model.learn_slot(
            context_text,
            [by_id[item_id].vw_text for item_id in allowed],
            slot_text(slot.get("features") or {}, choice["slot"]),
            chosen=allowed.index(choice["item_id"]),
            cost=-slot_reward,
            probability=choice["probability"],
        )
    return len(decision["chosen"])


class TextMemo:
    """Encoded text by the marshalled content it was encoded from; cleared when full.

    >>> memo = TextMemo(limit=2)
    >>> memo.get(("a", 1), lambda: "a:1"), memo.get(("a", 1), lambda: "recomputed")
    ('a:1', 'a:1')
    >>> memo.get(("a", True), lambda: "a=true")  # True is not 1 here
    'a=true'
    """

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self._texts: dict[bytes, str] = {}

    def text_of(self, value: Any, encode: Callable[[Any], str]) -> str:
        """``get(value, lambda: encode(value))`` without making the lambda (a hot path)."""
        try:
            key = marshal.dumps(value, MARSHAL_FORMAT)
        except ValueError:
            return encode(value)
        found = self._texts.get(key)
        return self._store(key, encode(value)) if found is None else found

    def _store(self, key: bytes, text: str) -> str:
        if len(self._texts) >= self.limit:
            self._texts.clear()  # a huge catalogue encodes again, no worse than before
        self._texts[key] = text
        return text

    def get(self, value: Any, compute: Callable[[], str]) -> str:
        try:
            key = marshal.dumps(value, MARSHAL_FORMAT)
        except ValueError:  # a type marshal does not know: correct, just not cached
            return compute()
        found = self._texts.get(key)
        return self._store(key, compute()) if found is None else found


class SlateExamples:
    """The text of a logged slate decision's learning examples, one per served slot.

    ``bodies`` reads logged item bodies by hash (``Store.logged_item_bodies``); only
    compact decisions need it.

    >>> decision = {
    ...     "context": {"device": "tv"},
    ...     "candidates": [{"id": "a", "features": {"x": 1}, "kind": "single", "satiation": {"exp_cat": 0.5}},
    ...                    {"id": "b", "item": "h1"}],
    ...     "slots": [{"id": "0", "features": {}}],
    ...     "chosen": [{"slot": 0, "item_id": "b", "allowed": ["a", "b"], "probability": 0.5}],
    ... }
    >>> examples = SlateExamples(bodies=lambda digests: {"h1": {"features": {}, "category": "c1"}})
    >>> for line in examples.examples(decision, [1.0])[0]:
    ...     print(line)
    ccb shared |U device=tv
    ccb action |I id=a kind=single |A x:1 |X exp_cat:0.5
    ccb action |I id=b kind=single category=c1
    ccb slot 1:-1.0:0.5 |S position=0
    """

    def __init__(self, bodies: Bodies | None = None, limit: int = 200_000) -> None:
        self._read_bodies = bodies
        self.limit = limit
        self._by_ref: dict[tuple[str, str], str] = {}  # (id, body hash) → item text
        self._items = TextMemo(limit)
        self._satiation = TextMemo(limit)
        self._slots = TextMemo(limit)
        self._contexts = TextMemo(limit)

    def prepare(self, decisions: Iterable[Mapping[str, Any]]) -> None:
        """Encode the referenced items not seen yet, their bodies read in one round trip
        (the learner does this for the next chunk while it learns this one)."""
        new = {(c["id"], c["item"]) for d in decisions for c in d.get("candidates") or () if "item" in c}
        new.difference_update(self._by_ref)
        if new:
            bodies = self._bodies({digest for _, digest in new})
            for item_id, digest in new:
                self._remember(item_id, digest, bodies[digest])

    def examples(self, decision: Mapping[str, Any], rewards: Sequence[float]) -> list[list[str]]:
        """One example (its lines) per served slot, labelled with the slot's reward."""
        candidates = decision["candidates"]
        satiations = candidate_satiations(decision)  # by position; parsed here, off the prefetch thread
        position_of: dict[str, int] = {}
        # Each candidate's action line and id once per decision: the slots share most candidates.
        lines: list[str | None] = [None] * len(candidates)
        ids = [candidate["id"] for candidate in candidates]
        context = decision["context"]
        shared = shared_line(self._contexts.text_of(context, _context_text))
        examples = []
        for choice, slot_reward in zip(decision["chosen"], rewards):
            if "allowed_at" in choice:
                positions = choice["allowed_at"]
            else:  # ids: the last candidate of an id, as ``learn_slate_decision``'s by-id map
                position_of = position_of or {c["id"]: position for position, c in enumerate(candidates)}
                positions = [position_of[item_id] for item_id in choice["allowed"]]
            for position in [position for position in positions if lines[position] is None]:
                lines[position] = action_line(self._candidate_text(candidates[position], satiations[position]))
            slot = choice["slot"]
            features = decision["slots"][slot].get("features") or {}
            slot_features = self._slots.get((features, slot), lambda: slot_text(features, slot))
            # The label exactly as SlateModel.learn_slot writes it.
            chosen = [ids[position] for position in positions].index(choice["item_id"])
            label = f"{chosen}:{-slot_reward!r}:{choice['probability']!r}"
            examples.append([shared, *[lines[position] for position in positions], slot_line(slot_features, label)])  # type: ignore[list-item]
        return examples

    def _candidate_text(self, candidate: Mapping[str, Any], values: Mapping[str, Any] | None) -> str:
        """What ``Candidate.vw_text`` gives for this logged candidate, expanded (compact.py)
        and read by ``candidates_of``; ``values`` its satiation features."""
        if "item" in candidate:
            ref = (candidate["id"], candidate["item"])
            item = self._by_ref.get(ref)
            if item is None:  # not prepared (or the cache was cleared since)
                item = self._remember(*ref, self._bodies([ref[1]])[ref[1]])
        else:
            item = self._item_text(candidate["id"], candidate)
        if not values:  # none, or empty: no X namespace (what satiation_text({}) says)
            return item
        satiation = self._satiation.text_of(values, satiation_text)
        return f"{item} {satiation}" if satiation else item

    def _item_text(self, item_id: str, body: Mapping[str, Any]) -> str:
        category, creator = body.get("category"), body.get("creator")
        kind, features = body.get("kind") or "single", body.get("features") or {}
        return self._items.get(
            (item_id, category, creator, kind, features),
            lambda: ITEM_TEXTS.text(ITEM_TEXTS.key(item_id, category, creator, kind, features),
                                    item_id, category, creator, kind, features),
        )

    def _remember(self, item_id: str, digest: str, body: Mapping[str, Any]) -> str:
        if len(self._by_ref) >= self.limit:
            self._by_ref.clear()
        text = self._by_ref[(item_id, digest)] = self._item_text(item_id, body)
        return text

    def _bodies(self, digests: Collection[str]) -> Mapping[str, Mapping[str, Any]]:
        if self._read_bodies is None:
            raise ValueError("a compact decision's item bodies need SlateExamples(bodies=...)")
        return self._read_bodies(digests)


def _context_text(context: Mapping[str, Any]) -> str:
    return encode(context, "U")
