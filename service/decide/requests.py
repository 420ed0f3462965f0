"""Request models: pydantic validates traffic once, at the edge, and names the field.

Feature dictionaries are checked by :func:`bandit.features.validate` (types, limits, VW
safety) after pydantic has checked the shape; size limits that come from configuration are
checked by :func:`check_limits`. Every failure becomes :class:`bandit.errors.InvalidInput`
(or a subclass) carrying the dotted path of the offending field.
"""

from __future__ import annotations

import json
import math
import re
from typing import Annotated, Any, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictFloat, StrictInt, ValidationError

from bandit.errors import InvalidInput, MalformedRequest
from bandit.features import validate as validate_features
from bandit.slates import features_json
from policies.rewards import ANSWER_VALUES, OUTCOME_TYPES, PROMPT_RESPONSES
from service.core.jsontext import may_exceed_orjson
from service.decide.text import check_text, may_hold

Id = Annotated[str, Field(min_length=1, max_length=256)]
Features = dict[str, Any]
OutcomeType = Literal[
    "click", "consume", "purchase", "skip", "thumbs_down", "thumbs_up", "double_thumbs_up", "reward"
]
assert set(OutcomeType.__args__) == set(OUTCOME_TYPES)  # type: ignore[attr-defined]
PromptResponseType = Literal["thumbs_down", "thumbs_up", "double_thumbs_up", "dismissed", "abandoned"]
assert set(PromptResponseType.__args__) == set(PROMPT_RESPONSES)  # type: ignore[attr-defined]
FeedbackValue = Literal["down", "up", "double_up"]
assert set(FeedbackValue.__args__) == set(ANSWER_VALUES.values())  # type: ignore[attr-defined]
EventId = Annotated[str, Field(min_length=1, max_length=128)]



class StrictModel(BaseModel):
    """A request body: unknown fields refused, no type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True)


class CandidateIn(StrictModel):
    id: Id
    features: Features = Field(default_factory=dict)
    category: Id | None = None
    creator: Id | None = None
    kind: Literal["single", "repeatable", "durable"] = "single"
    # The features' JSON (bandit/slates.py features_json), set by check_slate once validated:
    # the item text cache keys on it too, so a candidate's features are serialised once per request.
    _features_json: str | None = PrivateAttr(default=None)


class SlotIn(StrictModel):
    id: Id
    features: Features = Field(default_factory=dict)


class SlateRequest(StrictModel):
    user_id: Id
    context: Features = Field(default_factory=dict)
    candidates: list[CandidateIn] = Field(min_length=1)
    slots: Annotated[int, Field(ge=1)] | list[SlotIn]
    event_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    defer_activation: bool = False


class OutcomeIn(StrictModel):
    item_id: Id
    type: OutcomeType
    value: float = 1.0


class OutcomesRequest(StrictModel):
    outcomes: list[OutcomeIn] = Field(min_length=1, max_length=1000)
    outcome_id: Annotated[str, Field(min_length=1, max_length=128)] | None = None


class PromptRequest(StrictModel):
    user_id: Id
    item_id: Id
    context: Features = Field(default_factory=dict)
    event_id: EventId | None = None


class PromptResponseIn(StrictModel):
    response: PromptResponseType


class FeedbackIn(StrictModel):
    user_id: Id
    item_id: Id
    value: FeedbackValue
    visibility: Literal["private", "public"]


#: Arms per experiment: enough for a control, a treatment and a few variants.
MAX_ARMS = 8
Number = StrictInt | StrictFloat
#: Event time: epoch milliseconds (to the end of the year 9999) or an ISO date/time.
Time = Annotated[int, Field(ge=0, le=253_402_300_799_999)] | Annotated[str, Field(min_length=4, max_length=40)]


class ArmIn(StrictModel):
    name: str | None = None
    share: Number
    settings: dict[str, Any] = Field(default_factory=dict)


class ExperimentIn(StrictModel):  # PUT /v1/experiments/<name> (service/decide/experiments.py)
    arms: list[ArmIn] = Field(min_length=2, max_length=MAX_ARMS)
    enrolled: Number = 1.0
    start: Time | None = None
    stop: Time | None = None
    description: Annotated[str, Field(max_length=1000)] = ""


M = TypeVar("M", bound=BaseModel)


def _reject_constant(name: str) -> float:
    raise MalformedRequest(f"non-finite number {name} is not valid JSON", field="body")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses to inf
        raise MalformedRequest(f"number {text} overflows to infinity", field="body")
    return value


# A float literal can only overflow with a three-digit exponent or 309 digits in a row; a
# body without either (nearly all) is parsed without a Python call per number.
_MAY_OVERFLOW = re.compile(rb"[eE][+-]?[0-9]{3}|[0-9]{309}")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: NaN, ±Infinity and overflowing numbers (which Python's json accepts) are refused.

    >>> parse_json(b'{"x": 1.5e300, "y": 2}')
    {'x': 1.5e+300, 'y': 2}
    >>> parse_json(b'{"x": 1.5e3000}')
    Traceback (most recent call last):
    ...
    bandit.errors.MalformedRequest: number 1.5e3000 overflows to infinity
    """
    if not may_exceed_orjson(raw):
        # orjson (4x faster on a 50-candidate slate) gives what the standard library gives for
        # any body it accepts; whatever it refuses — bad JSON, NaN, other encodings, lone
        # surrogates — goes the standard library's way below, for the same answer and message.
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
        else:
            if may_hold(raw):  # keys and strings the store and VW can hold (service/decide/text.py)
                check_text(parsed)
            return parsed
    try:
        if _MAY_OVERFLOW.search(raw) is None:
            parsed = json.loads(raw, parse_constant=_reject_constant)
        else:
            parsed = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except MalformedRequest:
        raise
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedRequest(f"body is not valid JSON: {exc}", field="body") from exc
    except RecursionError as exc:  # thousands of nested brackets: bad input, not a server error
        raise MalformedRequest("body is nested too deeply", field="body") from exc
    if may_hold(raw):
        check_text(parsed)
    return parsed


def field_path(loc: tuple[Any, ...]) -> str:
    """``('candidates', 3, 'id')`` → ``candidates[3].id``; union branch tags dropped."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and ("[" in part or "-" in part or part in {"int", "str", "float", "bool"}):
            continue  # a union branch tag such as 'constrained-int' or 'list[SlotIn]', not a field
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def parse_model(model: type[M], payload: Any) -> M:
    if not isinstance(payload, dict):
        raise MalformedRequest("body must be a JSON object", field="body")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InvalidInput(first["msg"], field=field_path(tuple(first["loc"]))) from exc


def _finite(value: float, field: str) -> None:
    if not math.isfinite(value):
        raise InvalidInput("must be a finite number", field=field)


class _ValidatedFeatures:
    """Feature dicts already validated under a given limit: catalogue items repeat from
    request to request, and validation costs as much as encoding. Bounded like the text cache."""

    def __init__(self, limit: int = 200_000) -> None:
        self.limit = limit
        self.seen: set[tuple[int, str]] = set()

    def check(self, features: dict[str, Any], field: str, max_features: int) -> str:
        """Validate (once per distinct dict); returns the features' JSON (features_json)."""
        text = features_json(features)
        key = (max_features, text)
        if key in self.seen:
            return text
        validate_features(features, field=field, max_features=max_features)
        if len(self.seen) >= self.limit:
            self.seen.clear()
        self.seen.add(key)
        return text


_validate_item_features = _ValidatedFeatures().check


def check_slate(request: SlateRequest, *, max_candidates: int, max_features: int) -> list[SlotIn]:
    """Rules pydantic cannot express; returns the slots as a list."""
    if len(request.candidates) > max_candidates:
        raise InvalidInput(f"at most {max_candidates} candidates are allowed", field="candidates")
    validate_features(request.context, field="context", max_features=max_features)
    seen: set[str] = set()
    for index, candidate in enumerate(request.candidates):
        if candidate.id in seen:
            raise InvalidInput(f"duplicate candidate id {candidate.id!r}", field=f"candidates[{index}].id")
        seen.add(candidate.id)
        if candidate.features:
            candidate._features_json = _validate_item_features(candidate.features, f"candidates[{index}].features", max_features)
    # The count is checked before anything is built per slot: a client-given count must not
    # size an allocation (``"slots": 10**12`` would build slot objects until memory ran out).
    count = request.slots if isinstance(request.slots, int) else len(request.slots)
    if count > len(request.candidates):
        raise InvalidInput(f"{count} slots but only {len(request.candidates)} candidates", field="slots")
    if isinstance(request.slots, int):
        slots = [SlotIn(id=str(position), features={}) for position in range(request.slots)]
    else:
        slots = request.slots
        if not slots:
            raise InvalidInput("at least one slot is required", field="slots")
        slot_ids: set[str] = set()
        for index, slot in enumerate(slots):
            if slot.id in slot_ids:
                raise InvalidInput(f"duplicate slot id {slot.id!r}", field=f"slots[{index}].id")
            slot_ids.add(slot.id)
            validate_features(slot.features, field=f"slots[{index}].features", max_features=max_features)
    return slots


def check_outcomes(request: OutcomesRequest, served: set[str]) -> None:
    for index, outcome in enumerate(request.outcomes):
        _finite(outcome.value, f"outcomes[{index}].value")
        if outcome.item_id not in served:
            raise InvalidInput(f"item {outcome.item_id!r} was not in the slate", field=f"outcomes[{index}].item_id")


def check_prompt(request: PromptRequest, *, max_features: int) -> None:
    validate_features(request.context, field="context", max_features=max_features)


def check_limit(raw: str | None, *, default: int, maximum: int) -> int:
    """A ``?limit=`` query parameter: an integer in [1, maximum]."""
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= maximum:
        raise InvalidInput(f"limit must be an integer from 1 to {maximum}", field="limit")
    return int(raw)
