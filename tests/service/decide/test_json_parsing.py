"""Request JSON goes through orjson when it can: it must read exactly what the standard
library reads (types included), refuse what elicit refuses, and never let two different
feature maps share a cache key."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bandit.errors import InvalidInput, MalformedRequest
from bandit.slates import features_json
from service.core import jsontext
from service.decide.requests import parse_json
from service.decide.text import may_hold

#: Text and numbers elicit accepts (service/decide/text.py): no NUL or lone surrogate in a
#: value, no control character at all in a key, integers of 64 bits. What it refuses is
#: the next tests'.
value_text = st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"))
key_text = st.text(alphabet=st.characters(exclude_categories=("Cs", "Cc")), max_size=8)
scalars = (st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | value_text)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key_text, inner, max_size=4),
                      max_leaves=20)


def typed(value: Any) -> Any:
    """``value`` with every scalar tagged by its type: 1, 1.0 and True are three things here."""
    if isinstance(value, dict):
        return ("dict", [(k, typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("list", [typed(v) for v in value])
    if isinstance(value, float):
        return ("float", math.copysign(1.0, value), value)  # -0.0 is not 0.0
    return (type(value).__name__, value)


@settings(max_examples=400, deadline=None)
@given(values, st.booleans())
def test_parse_json_reads_what_the_standard_library_reads(value: Any, spaced: bool) -> None:
    raw = json.dumps({"v": value}, ensure_ascii=not spaced, separators=(", ", ": ") if spaced else (",", ":")).encode()
    assert typed(parse_json(raw)) == typed(json.loads(raw))


@pytest.mark.parametrize("raw, message", [
    (b'{"x": NaN}', "non-finite number NaN"),
    (b'{"x": -Infinity}', "non-finite number -Infinity"),
    (b'{"x": 1e999}', "overflows to infinity"),
    (b'{"x": 1,}', "not valid JSON"),
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
])
def test_refusals_name_the_problem(raw: bytes, message: str) -> None:
    with pytest.raises(MalformedRequest, match=message) as caught:
        parse_json(raw)
    assert caught.value.field == "body"


@pytest.mark.parametrize("raw, field", [
    (b'{"context": {"a\\u0000b": 1}}', "context.a\\u0000b"),         # NUL in a key
    (b'{"context": {"a\\tb": 1}}', "context.a\\tb"),                 # any control character in a key
    (b'{"context": {"a\\u0085": 1}}', "context.a\\u0085"),           # C1 control, escaped
    ('{"context": {"a\u0085": 1}}'.encode(), "context.a\\u0085"),    # ... and written raw
    (b'{"candidates": [{"id": "x\\u0000"}]}', "candidates[0].id"),    # NUL in a value
    (b'{"user_id": "u\\udc00"}', "user_id"),                          # a lone surrogate
    (b'{"a": [[{"b": {"c": "\\ud800"}}]]}', "a[0][0].b.c"),           # deep down
])
def test_what_the_store_or_vw_cannot_hold_is_refused_naming_the_field(raw: bytes, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_json(raw)
    assert caught.value.status == 422 and caught.value.field == field


def test_control_characters_in_values_and_dollar_or_dotted_keys_are_kept() -> None:
    assert parse_json(b'{"context": {"$where": "x\\ty\\u0007", "geo.city": "a\\nb"}}') == {
        "context": {"$where": "x\ty\u0007", "geo.city": "a\nb"}}


def test_64_bit_integers_stay_exact_and_wider_ones_are_refused() -> None:
    # orjson reads up to 2**64 - 1, the standard library any width; BSON holds int64 only.
    assert parse_json(b'{"x": 9223372036854775807, "y": -9223372036854775808}') == {
        "x": 2**63 - 1, "y": -(2**63)}
    for raw, field in [(b'{"x": 9223372036854775808}', "x"), (b'{"c": {"y": -9223372036854775809}}', "c.y"),
                       (b'{"a": [1, 123456789012345678901234567890]}', "a[1]")]:
        with pytest.raises(InvalidInput) as caught:
            parse_json(raw)
        assert caught.value.status == 422 and caught.value.field == field


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=4), scalars | st.sampled_from([float("nan"), float("inf"), -0.0]), max_size=4),
       st.dictionaries(st.text(max_size=4), scalars | st.sampled_from([float("nan"), float("inf"), -0.0]), max_size=4))
def test_feature_keys_are_equal_exactly_for_equal_maps(a: dict[str, Any], b: dict[str, Any]) -> None:
    same = typed(a) == typed(b) or (json.dumps(a) == json.dumps(b) and "NaN" in json.dumps(a))  # NaN != NaN
    assert (features_json(a) == features_json(b)) == same


@pytest.mark.parametrize("a, b", [
    ({"x": float("nan")}, {"x": None}), ({"x": float("inf")}, {"x": None}), ({"x": -0.0}, {"x": 0.0}),
    ({"x": 1}, {"x": 1.0}), ({"x": 1}, {"x": True}), ({"x": 2**70}, {"x": float(2**70)}),
])
def test_maps_orjson_would_confuse_get_different_keys(a: dict[str, Any], b: dict[str, Any]) -> None:
    assert features_json(a) != features_json(b)


# Stored JSON (service/core/jsontext.py: the packed parts of every slate decision) must read back
# exactly what the standard library would have written and read, and refuse what it refuses.
stored_values = st.recursive(
    scalars | st.sampled_from([float("nan"), float("inf"), -0.0]) | st.text(alphabet=st.characters(categories=["Cs"])),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(max_size=8) | st.integers(-3, 3), inner, max_size=4),  # json writes int keys as text
    max_leaves=20,
)


@settings(max_examples=400, deadline=None)
@given(stored_values)
def test_stored_json_round_trips_as_the_standard_library_does(value: Any) -> None:
    try:
        expected = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except ValueError:  # a non-finite float: refused, as before
        with pytest.raises(ValueError):
            jsontext.dumps(value)
        return
    written = jsontext.dumps(value)
    assert typed(json.loads(written)) == typed(json.loads(expected))
    assert typed(jsontext.loads(written)) == typed(json.loads(expected))


@pytest.mark.parametrize("text", ['[123456789012345678901234567890]', '[1e-400]', '{"x": NaN}', '["\\ud800"]'])
def test_stored_json_reads_what_orjson_would_read_differently(text: str) -> None:
    assert typed(jsontext.loads(text)) == typed(json.loads(text))


#: may_hold's rule as one alternation (its definition before it was split into four searches
#: for speed): the oracle the split must agree with on every text.
ONE_ALTERNATION = re.compile(
    rb"\\u00[0-9a-fA-F]{2}|\\u007[fF]|\\u[dD][89a-fA-F][0-9a-fA-F]{2}|\\[bfnrt]|\x7f|\xc2[\x80-\x9f]|[0-9]{19}")
#: Bytes the rule reads, so that random texts hit its branches (and plain ASCII around them).
RULE_BYTES = st.sampled_from([b"\\", b"u", b"0", b"7", b"f", b"F", b"d", b"D", b"8", b"a", b"b", b"n", b"\x7f", b"\xc2",
                              b"\x80", b"\x9f", b"\xa0", b"1", b"9", b'"', b" "])


@settings(max_examples=2000, deadline=None)
@given(st.one_of(st.lists(RULE_BYTES, max_size=40).map(b"".join), st.binary(max_size=60),
                 st.integers(0, 10**25).map(lambda n: b'{"n": %d}' % n)))
def test_may_hold_is_the_one_alternation_it_replaced(raw: bytes) -> None:
    assert may_hold(raw) == (ONE_ALTERNATION.search(raw) is not None)
