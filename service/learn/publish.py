"""Models that come from outside the learner's claim-learn-publish loop: an uploaded
model (``PUT /v1/models``) and one retrained under other learning settings (an applied
evaluation, imported settings; :mod:`service.learn.retrain`).

Either is published as the next version of its kind with a claim token of its own and
``decisions: 0``: it holds none of the decisions the learner claimed, so the learner's
next pass (``Store.release_unpublished``) releases any claim a pass racing this publish
made at the same version — they are learned again, on top of the new model, never lost.
A pass that loses the race to publish that version stops (``StoreError``) and the next
one continues from the published model.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from bandit.actions import ActionModel
from bandit.errors import InvalidInput, ModelError
from bandit.slates import SlateModel, slot_text
from service.store import Store

M = TypeVar("M")

#: One prediction per kind on a tiny example: a model that loads but cannot serve its
#: kind's examples is refused before it is published.
PROBES: dict[str, Callable[[Any], Any]] = {
    "slate": lambda model: model.slot_pmf("|U probe=1", ["|I id=a", "|I id=b"], slot_text({}, 0)),
    "prompt": lambda model: model.pmf("|U probe=1", ["|A action=none", "|A action=a"]),
}

#: A new model of each kind under given VW arguments (``--epsilon`` added by the model).
FACTORIES: dict[str, Callable[[float, str], Any]] = {
    "slate": lambda epsilon, args: SlateModel.new(epsilon=epsilon, args=args),
    "prompt": lambda epsilon, args: ActionModel.new(epsilon=epsilon, args=args),
}


def checked_model(kind: str, data: bytes, load: Callable[[bytes], M], reference: Any) -> M:
    """The model in ``data`` if VW loads it and it predicts what ``reference`` (a model
    under the configured arguments) predicts; :class:`InvalidInput` naming why not."""
    if not data:
        raise InvalidInput("the body is empty: send the model file as application/octet-stream", field="body")
    try:
        model = load(data)
    except ModelError as exc:
        raise InvalidInput(f"the file does not load in Vowpal Wabbit: {exc.message}", field="body") from exc
    found, wanted = model.vw.prediction_type, reference.vw.prediction_type  # type: ignore[attr-defined]
    if found != wanted:
        raise InvalidInput(f"a {kind} model must predict {wanted} (its configured arguments: {reference.vw.args!r}); "
                           f"this one predicts {found}", field="body")
    try:
        PROBES[kind](model)
    except ModelError as exc:
        raise InvalidInput(f"the model loads but cannot predict a {kind} example: {exc.message}", field="body") from exc
    return model


#: The VW options settings may carry, with how many values each takes. Settings arrive
#: over HTTP: anything else could make VW read or write a file or open a socket (a bare
#: word is a data file to VW), and ``--epsilon`` is ``EPSILON``'s.
ALLOWED_OPTIONS: dict[str, int] = {
    "--ccb_explore_adf": 0, "--cb_explore_adf": 0, "--quiet": 0, "--noconstant": 0, "--adaptive": 0,
    "--normalized": 0, "--invariant": 0, "--sgd": 0, "--coin": 0, "--ftrl": 0, "--softmax": 0, "--squarecb": 0,
    "-q": 1, "--quadratic": 1, "--cubic": 1, "--interactions": 1, "--ignore": 1, "--ignore_linear": 1,
    "--keep": 1, "--cb_type": 1, "-l": 1, "--learning_rate": 1, "--l1": 1, "--l2": 1, "--power_t": 1,
    "--initial_t": 1, "--decay_learning_rate": 1, "-b": 1, "--bit_precision": 1, "--first": 1, "--bag": 1,
    "--cover": 1, "--lambda": 1, "--gamma_scale": 1, "--random_seed": 1,
}


def _disallowed(args: str) -> str | None:
    """The first token of ``args`` that is not an allowed option or one of its values.

    >>> _disallowed("--ccb_explore_adf -q UA --l1=1e-6 -l 0.5"), _disallowed("--quiet /etc/passwd")
    (None, '/etc/passwd')
    >>> _disallowed("-f model.vw"), _disallowed("--epsilon 0.3")
    ('-f', '--epsilon')
    """
    tokens = iter(args.split())
    for token in tokens:
        name, _, inline = token.partition("=")
        arity = ALLOWED_OPTIONS.get(name)
        if arity is None or (inline and arity != 1):
            return name
        if arity and not inline:
            value = next(tokens, None)
            if value is None or (value.startswith("-") and not value.lstrip("-").replace(".", "", 1).isdigit()):
                return name
    return None


def checked_args(kind: str, args: str, epsilon: float, reference: Any) -> Any:
    """A fresh model under ``args`` if VW accepts them for ``kind``; :class:`InvalidInput` if not."""
    bad = _disallowed(args)
    if bad is not None:
        raise InvalidInput(f"{bad[:40]!r} is not an option learning settings may set (allowed: "
                           f"{', '.join(sorted(ALLOWED_OPTIONS))})", field=f"{kind}.vw_args")
    try:
        model = FACTORIES[kind](epsilon, args)
    except ModelError as exc:
        raise InvalidInput(exc.message, field=f"{kind}.vw_args") from exc
    if model.vw.prediction_type != reference.vw.prediction_type:
        raise InvalidInput(f"{kind} models predict {reference.vw.prediction_type}; {args!r} predicts "
                           f"{model.vw.prediction_type}", field=f"{kind}.vw_args")
    try:
        PROBES[kind](model)
    except ModelError as exc:
        raise InvalidInput(exc.message, field=f"{kind}.vw_args") from exc
    return model


def publish_outside_learner(store: Store, kind: str, data: bytes, meta: Mapping[str, Any], now_ms: int) -> dict[str, Any]:
    """Publish ``data`` as the next version of ``kind``; its index document (see the module doc)."""
    latest = store.latest_model_meta(kind)
    version = 1 if latest is None else int(latest["version"]) + 1
    examples = 0 if latest is None else int(latest.get("examples_seen", 0))
    doc = {"examples_seen": examples, **meta, "decisions": 0, "published_at": now_ms, "claim": uuid.uuid4().hex}
    store.save_model(kind, version, data, doc)
    found = store.model_meta(f"{kind}-v{version}")
    assert found is not None  # saved just now
    found.pop("file_id", None)
    return found
