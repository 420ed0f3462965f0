"""bandit.features: no feature name or value can break the VW text, checked by VW itself."""

from __future__ import annotations

import functools
import math
import struct
import subprocess
import sys
import unicodedata
from collections import Counter
from typing import Any

import pytest
import vowpalwabbit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bandit.errors import FeatureError
from bandit.features import (
    MAX_TOKEN,
    _bounded,  # the digest shortening: the expected token of a long feature needs it
    encode,
    escape_token,
    nested_namespace,
    unescape_token,
    validate,
)

FLT_MAX = 3.4028234663852886e38
NASTY = ["", "7", "07", "-1", "a b", "x|y", "k:v", "a=b", "%", "%~", "%41", "'tag", "\t\n\r\x0b\x0c",
         "\x00", "\x85", "\u00a0", "\u2028", "\u3000", "\u200b", "\ud800", "\U0001f600", "shared"]
# st.text() alone rarely gives separators or 256+ characters: mix those in on purpose.
texts = st.one_of(st.text(), st.sampled_from(NASTY), st.text(min_size=250, max_size=600),
                  st.text(alphabet="ab7 |:=%\t\n", max_size=8))
numbers = st.one_of(st.floats(min_value=-FLT_MAX, max_value=FLT_MAX),  # finite, subnormals, -0.0
                    st.integers(min_value=-(2**100), max_value=2**100),
                    st.sampled_from([0, 1, -1, 10**7, 16777169, 2**24 + 1]))
leaves = st.one_of(texts, numbers, st.booleans(), st.lists(texts, max_size=4))
feature_dicts = st.dictionaries(texts, st.one_of(leaves, st.dictionaries(texts, leaves, max_size=4)),
                                max_size=6)


@functools.cache
def workspace() -> vowpalwabbit.Workspace:
    # One for the module, not a fixture: hypothesis would take a positional Workspace
    # argument for a test-class "self" (it has a setup_example method) and call it.
    return vowpalwabbit.Workspace("--quiet --noconstant")


def f32(x: float) -> float:
    return struct.unpack("f", struct.pack("f", float(x)))[0]


def expected_features(name: str, value: Any) -> list[tuple[str, str | None, float]]:
    """(name, categorical token or None for a number, value VW should hold), from the spec."""
    key = escape_token(name)
    if isinstance(value, bool):
        return [(name, _bounded(f"{key}={'true' if value else 'false'}"), 1.0)]
    if isinstance(value, str):
        return [(name, _bounded(f"{key}={escape_token(value)}"), 1.0)]
    if isinstance(value, list):
        return [(name, _bounded(f"{key}={escape_token(item)}"), 1.0) for item in value]
    return [] if f32(value) == 0 else [(name, None, f32(value))]


def vw_features(vw: vowpalwabbit.Workspace, text: str) -> dict[str, list[tuple[int, float]]]:
    """{namespace index letter: [(feature index, value)]} as VW itself parsed ``text``."""
    example = vw.parse(text)
    try:
        spaces = [example.get_ns(i) for i in range(example.num_namespaces())]
        return {ns.ns: [(example.feature(ns, j), example.feature_weight(ns, j))
                        for j in range(example.num_features_in(ns))] for ns in spaces}
    finally:
        vw.finish_example(example)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(features=feature_dicts)
def test_vw_reads_exactly_the_features_given(features: dict[str, Any]) -> None:
    vw = workspace()
    validate(features, field="context")
    text = encode(features, "ctx")
    wanted: dict[str, list[tuple[str, str | None, float]]] = {}
    for key, value in features.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                space = nested_namespace("ctx", key)
                wanted.setdefault(space, []).extend(expected_features(inner, inner_value))
        else:
            wanted.setdefault("ctx", []).extend(expected_features(key, value))
    wanted = {space: feats for space, feats in wanted.items() if feats}

    # The text: one '|space tok tok' segment per namespace that has features, tokens as specified.
    segments = [segment.split(" ") for segment in text[1:].split(" |")] if text else []
    assert text == "" or text[0] == "|"
    assert [segment[0] for segment in segments] == list(wanted)
    hashed = Counter()
    for segment, (space, feats) in zip(segments, wanted.items()):
        assert len(segment) - 1 == len(feats) and len(space) <= MAX_TOKEN
        for token, (name, categorical, value) in zip(segment[1:], feats):
            assert 0 < len(token) <= MAX_TOKEN
            if categorical is None:
                token, _, number = token.rpartition(":")
                assert not (token.isascii() and token.isdigit()) and float(number) != 0
                assert "%~" in token or unescape_token(token) == name
            else:
                assert token == categorical
            hashed[(vw.hash_feature(token, vw.hash_space(space)), value)] += 1

    # VW: as many features as the input has, in 'c' (every elicit namespace starts with it),
    # each under the intended name and namespace hash, each value the input's float32.
    got = vw_features(vw, text)
    assert set(got) == ({"c"} if wanted else set())
    assert len(got.get("c", [])) == sum(len(feats) for feats in wanted.values())
    assert Counter(got.get("c", [])) == hashed


def test_numbers_reach_vw_exactly_as_float32() -> None:
    vw = workspace()
    # VW's own fast parser reads these few ulps off or as 0; the encoding must route around it.
    values = [0.1, 1 / 3, -1 / 3, 0.30000000000000004, 2.5e-10, -1.5e-39, 1e-45, 1e-38, FLT_MAX,
              -FLT_MAX, 13, 10**7, -(10**7), 16777169, 2**24 + 1, 2**100, 1e16, 123456789.123]
    for value in values:
        got = vw_features(vw, encode({"x": value}, "ctx"))["c"]
        assert got == [(vw.hash_feature("x", vw.hash_space("ctx")), f32(value))], value


def test_zero_and_underflow_are_left_out() -> None:
    assert encode({"a": 0, "b": -0.0, "c": 1e-300, "d": 0.5}, "ctx") == "|ctx d:0.5e+0"
    assert encode({"a": 0, "geo": {"b": 0.0}}, "ctx") == ""


def test_all_digit_numeric_names_stay_distinct_in_vw() -> None:
    vw = workspace()
    # VW hashes an all-digit name as the integer, so "7" and "07" would be one feature.
    got = vw_features(vw, encode({"7": 1.5, "07": 2.5, "": 3.5}, "ctx"))["c"]
    assert len({index for index, _ in got}) == 3
    assert [value for _, value in got] == [1.5, 2.5, 3.5]


def test_each_separator_gets_its_own_feature() -> None:
    vw = workspace()
    features = {"a b": "c|d", "e:f": ["g h", "", "i\tj"], "|x": {"y z": 1.25, "k": True}}
    text = encode(features, "ctx")
    assert text == ("|ctx a%20b=c%7Cd e%3Af=g%20h e%3Af=% e%3Af=i%09j "
                    "|ctx_%7Cx y%20z:1.25e+0 k=true")
    got = vw_features(vw, text)["c"]
    assert [value for _, value in got] == [1.0, 1.0, 1.0, 1.0, 1.25, 1.0]
    assert got[4][0] == vw.hash_feature("y%20z", vw.hash_space("ctx_%7Cx"))


@settings(max_examples=500)
@given(text=texts)
def test_escape_token_leaves_nothing_vw_splits_on(text: str) -> None:
    token = escape_token(text)
    assert token and unescape_token(token) == text
    for ch in token:
        assert ch not in "|: =" and not ch.isspace()
        assert unicodedata.category(ch) not in {"Cc", "Cf", "Cs", "Zs", "Zl", "Zp"}
    assert "%~" not in token  # reserved for the digest shortening


pair_texts = st.one_of(st.text(alphabet="ab=%:| 7", max_size=5), st.sampled_from(NASTY),
                       st.text(alphabet="ab=", max_size=3).map(lambda s: "x" * 300 + s))


@settings(max_examples=500)
@given(a=st.tuples(pair_texts, pair_texts), b=st.tuples(pair_texts, pair_texts))
def test_distinct_name_value_pairs_give_distinct_tokens(a: tuple[str, str], b: tuple[str, str]) -> None:
    # Small alphabets make near-misses like ("a=b", "c") vs ("a", "b=c") common.
    assert (encode({a[0]: a[1]}, "ctx") == encode({b[0]: b[1]}, "ctx")) == (a == b)
    assert (escape_token(a[0]) == escape_token(b[0])) == (a[0] == b[0])
    # Numeric names too (their tokens drop the '=' half) and nested namespaces.
    assert (encode({a[0]: 2.0}, "ctx") == encode({b[0]: 2.0}, "ctx")) == (a[0] == b[0])
    assert (nested_namespace("ctx", a[0]) == nested_namespace("ctx", b[0])) == (a[0] == b[0])


def test_bools_are_categorical_and_alias_their_strings() -> None:
    assert encode({"ok": False, "on": True}, "ctx") == "|ctx ok=false on=true"
    as_bool, as_text = encode({"on": True}, "ctx"), encode({"on": "true"}, "ctx")
    assert as_bool == as_text == encode({"on": ["true"]}, "ctx")


def test_long_strings_are_bounded_and_still_distinct() -> None:
    base = "\u00a0" * 1000  # escapes to '%C2%A0': six characters, two bytes
    one, two = encode({"k": base + "a"}, "ctx"), encode({"k": base + "b"}, "ctx")
    assert one != two and len(one.split(" ")[1]) <= MAX_TOKEN
    assert "%~" in one and " " not in one.split(" ", 1)[1]
    head = one.split(" ")[1].partition("%~")[0]
    assert unescape_token(head) == "k=" + "\u00a0" * 36  # cut between characters, not inside one
    head = encode({"k": " " * 1000}, "ctx").split(" ")[1].partition("%~")[0]
    assert head == "k=" + "%20" * 73  # nor inside a '%20'


@pytest.mark.parametrize(
    ("features", "field", "message"),
    [
        ({"geo": {"x": {"y": 1}}}, "context.geo.x", "one level"),
        ({"lat": math.nan}, "context.lat", "finite"),
        ({"geo": {"lat": math.inf}}, "context.geo.lat", "finite"),
        ({"lat": -math.inf}, "context.lat", "finite"),
        ({"big": 1e39}, "context.big", "finite"),  # finite, but no float32 holds it
        ({"big": 10**400}, "context.big", "finite"),
        ({"city": None}, "context.city", "null"),
        ({"geo": {"city": None}}, "context.geo.city", "null"),
        ({"a.b": None}, 'context["a.b"]', "null"),
        ({"x": object()}, "context.x", "unsupported feature type"),
        ({"x": b"bytes"}, "context.x", "unsupported feature type"),
        ({"x": {1, 2}}, "context.x", "unsupported feature type"),
        ({1: "a"}, "context[1]", "names must be strings"),
        ({"geo": {2: "a"}}, "context.geo[2]", "names must be strings"),
        ({"tags": ["a", 1]}, "context.tags[1]", "list items must be strings"),
        ({"tags": [None]}, "context.tags[0]", "strings"),
        ({"geo": {"tags": ["a", ["b"]]}}, "context.geo.tags[1]", "list items must be strings"),
        ({"city": "x" * 1025}, "context.city", "longer than 1024"),
        ({"tags": ["ok", "x" * 1025]}, "context.tags[1]", "longer than 1024"),
        ({"geo": {"n" * 1025: 1}}, "context.geo." + "n" * 1025, "longer than 1024"),
        ({"tags": ["a"] * 201}, "context", "more than 200"),
        ({f"f{i}": i for i in range(150)} | {"geo": {f"g{i}": 0 for i in range(51)}}, "context",
         "more than 200"),  # nested ones count, and zeros do too though VW never sees them
        (["not", "a", "dict"], "context", "must be an object"),
    ],
)
def test_validate_names_the_field(features: Any, field: str, message: str) -> None:
    with pytest.raises(FeatureError, match=message) as caught:
        validate(features, field="context")
    assert caught.value.field == field
    assert isinstance(caught.value, ValueError) and caught.value.to_dict()["field"] == field


def test_validate_limits_and_prefix() -> None:
    validate({"tags": ["a"] * 199, "city": "x" * 1024}, field="context")  # at the limits: fine
    with pytest.raises(FeatureError) as caught:
        validate({"a": 1, "b": 2, "c": 3}, field="candidates[3].features", max_features=2)
    assert caught.value.field == "candidates[3].features"
    with pytest.raises(FeatureError) as caught:
        validate({"price": math.nan}, field="candidates[3].features", max_string=5)
    assert caught.value.field == "candidates[3].features.price"
    with pytest.raises(FeatureError) as caught:
        validate({"city": "abcdef"}, field="context", max_string=5)
    assert caught.value.field == "context.city"


def test_encode_refuses_what_vw_would_misread() -> None:
    for bad in ({"x": math.nan}, {"x": None}, {"x": [1]}, {"x": {"y": {}}}):
        with pytest.raises(FeatureError):
            encode(bad, "ctx")
    for namespace in ("", "ctx_geo", "1ctx", " ctx", "c|x", "ç"):
        with pytest.raises(ValueError):
            encode({"a": "b"}, namespace)


def test_features_module_stays_free_of_vowpalwabbit() -> None:
    # Only the VW wrapper may load the native library; this module is pure text.
    code = "import sys, bandit.features; sys.exit('vowpalwabbit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
